"""ak.pitch against Praat itself (praat-parselmouth) and against the truth of synthetic
voices. Praat's algorithm is reproduced step by step (same frames, window, FFT-based
autocorrelation, sinc interpolation, peak refinement and path finder), so the
tolerances are tight: F0 within 1e-6 relative where both are voiced (Praat's Brent
refinement stops at its tolerance, ~1e-8 of the lag; ours finds the maximum itself),
identical voicing, strengths within 1e-9, frame times equal to 1e-12 s."""

import numpy as np
import pytest

import affectkit as ak
from speech import espeak, human_voices

parselmouth = pytest.importorskip("parselmouth")

PRAAT_NAMES = dict(time_step="time_step", pitch_floor="pitch_floor", pitch_ceiling="pitch_ceiling",
                   max_candidates="max_number_of_candidates", very_accurate="very_accurate",
                   silence_threshold="silence_threshold", voicing_threshold="voicing_threshold",
                   octave_cost="octave_cost", octave_jump_cost="octave_jump_cost",
                   voiced_unvoiced_cost="voiced_unvoiced_cost")


def praat_pitch(y, sr, method="ac", **options):
    kwargs = {PRAAT_NAMES[k]: v for k, v in options.items()}
    if kwargs.get("time_step", None) == 0.0:
        kwargs["time_step"] = None
    sound = parselmouth.Sound(y, sr)
    p = sound.to_pitch_ac(**kwargs) if method == "ac" else sound.to_pitch_cc(**kwargs)
    f = p.selected_array["frequency"]
    return p.xs(), np.where((f > 0) & (f < p.ceiling), f, np.nan), p.selected_array["strength"]


def assert_matches_praat(y, sr, **options):
    track = ak.pitch(y, sr=sr, **options)
    times, f0, strength = praat_pitch(y, sr, **options)
    assert track.times.shape == times.shape
    np.testing.assert_allclose(track.times, times, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(np.isnan(track.f0), np.isnan(f0))
    np.testing.assert_allclose(track.f0, f0, rtol=1e-6)
    np.testing.assert_allclose(track.strength, strength, rtol=0, atol=1e-9)
    return track


def wobbling_voice(sr, seed=0, **kwargs):
    return ak.synthetic_voice(sr=sr, duration=1.5, f0=lambda t: 140 + 40 * np.sin(2 * np.pi * 1.5 * t),
                              jitter=0.02, shimmer=0.1, seed=seed, snr_db=15,
                              voiced=[(0.1, 0.6), (0.8, 1.4)], **kwargs)


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100])
@pytest.mark.parametrize("very_accurate", [False, True])
def test_synthetic_voices_match_praat(sr, very_accurate):
    assert_matches_praat(wobbling_voice(sr, seed=sr, vowel="i").y, sr, very_accurate=very_accurate)


@pytest.mark.parametrize("options", [
    dict(pitch_floor=100.0, pitch_ceiling=400.0, time_step=0.005),
    dict(pitch_floor=50.0, pitch_ceiling=800.0, max_candidates=4),
    dict(pitch_floor=100.0, pitch_ceiling=300.0, max_candidates=2),  # more peaks than places: the weakest go
    dict(silence_threshold=0.1, voicing_threshold=0.6, octave_cost=0.05, octave_jump_cost=0.8,
         voiced_unvoiced_cost=0.3),
    dict(pitch_ceiling=20000.0),  # clipped to Nyquist, as Praat does
])
def test_parameters_match_praat(options):
    voice = ak.synthetic_voice(sr=16000, duration=1.2, f0=(220, 110), jitter=0.01, snr_db=20, seed=3, vowel="o")
    assert_matches_praat(voice.y, 16000, **options)


def test_human_voices_and_synthetic_speech_match_praat():
    for name, y, sr in human_voices():
        assert_matches_praat(y, sr)
        assert_matches_praat(y, sr, very_accurate=True)
    y, sr = espeak("The quick brown fox jumps over the lazy dog, while the angry bird sings.", pitch=70)
    track = assert_matches_praat(y, sr)
    assert 0.3 < np.mean(track.voiced) < 0.9  # speech: voiced and unvoiced stretches


@pytest.mark.parametrize("very_accurate", [False, True])
def test_cross_correlation_method_matches_praat(very_accurate):
    for sr in (8000, 22050):
        assert_matches_praat(wobbling_voice(sr, seed=5, vowel="e").y, sr, method="cc", very_accurate=very_accurate)
    name, y, sr = human_voices()[0]
    assert_matches_praat(y, sr, method="cc", very_accurate=very_accurate)


@pytest.mark.parametrize("method", ["cc", "ac"])
def test_harmonicity_matches_praat(method):
    """HNR per frame within 1e-9 dB of Praat's To Harmonicity, same unvoiced frames
    (-200 in Praat, NaN here), and np.nanmean equal to Praat's Get mean."""
    from parselmouth.praat import call

    signals = [(wobbling_voice(sr, seed=sr, vowel="a").y, sr) for sr in (8000, 16000, 44100)]
    signals += [(y, sr) for _, y, sr in human_voices()[:3]]
    for y, sr in signals:
        track = ak.harmonicity(y, sr=sr, method=method)
        sound = parselmouth.Sound(y, sr)
        praat = call(sound, "To Harmonicity (cc)" if method == "cc" else "To Harmonicity (ac)",
                     0.01, 75.0, 0.1, 1.0 if method == "cc" else 4.5)
        expected = np.where(praat.values[0] == -200, np.nan, praat.values[0])
        np.testing.assert_allclose(track.times, praat.xs(), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(np.isnan(track.hnr), np.isnan(expected))
        np.testing.assert_allclose(track.hnr, expected, rtol=0, atol=1e-9)
        assert np.nanmean(track.hnr) == pytest.approx(call(praat, "Get mean", 0, 0), abs=1e-9)


def test_harmonicity_rises_with_snr():
    """Synthetic truth: the HNR follows the SNR of the added noise (monotonic, and
    within a few dB of it for a clean periodic source)."""
    means = [np.nanmean(ak.harmonicity(ak.synthetic_voice(sr=16000, duration=1.0, snr_db=snr, seed=1).y,
                                       sr=16000).hnr) for snr in (0, 10, 20, 30)]
    assert np.all(np.diff(means) > 5)
    assert abs(means[1] - 10) < 4 and abs(means[2] - 20) < 4


@pytest.mark.parametrize("sr, vowel, snr_db", [(16000, "a", 20), (8000, "u", 15), (44100, "i", 30)])
def test_synthetic_truth_f0_within_one_percent_and_voicing(sr, vowel, snr_db):
    """An intonation-like contour (110-170 Hz at 0.7 Hz) in noise: F0 within 1% of the
    contour on every clearly voiced frame, voicing right on more than 98% of frames."""
    voice = ak.synthetic_voice(sr=sr, duration=1.5, f0=lambda t: 140 + 30 * np.sin(2 * np.pi * 0.7 * t),
                               seed=7, snr_db=snr_db, vowel=vowel, voiced=[(0.1, 0.6), (0.8, 1.4)])
    track = ak.pitch(voice.y, sr=sr)
    truth = voice.f0(track.times)
    # frames whose 40 ms window lies wholly inside or outside a voiced interval
    edges = np.array([t for interval in voice.voiced_intervals for t in interval])
    clear = np.min(np.abs(track.times[:, None] - edges[None, :]), axis=1) > 0.03
    voiced_truth = ~np.isnan(truth)
    assert np.mean(track.voiced[clear] == voiced_truth[clear]) > 0.98
    both = clear & voiced_truth & track.voiced
    assert np.max(np.abs(track.f0[both] - truth[both]) / truth[both]) < 0.01


def test_batches_lists_threads_and_precision():
    clips = [wobbling_voice(16000, seed=s).y[:n] for s, n in ((1, 24000), (2, 9000), (3, 16000))]
    listed = ak.pitch(clips, sr=16000, num_threads=2)
    for clip, track in zip(clips, listed):
        single = ak.pitch(clip, sr=16000, num_threads=1)
        np.testing.assert_array_equal(track.f0, single.f0)
        np.testing.assert_array_equal(track.times, single.times)
    batch = np.stack([clips[0][:9000], clips[1]]).reshape(2, 1, 9000)
    stacked = ak.pitch(batch, sr=16000)
    assert stacked.f0.shape == (2, 1, listed[1].f0.size)
    np.testing.assert_array_equal(stacked.f0[1, 0], listed[1].f0)
    # float32 audio is analysed in float64, as Praat does
    np.testing.assert_array_equal(ak.pitch(clips[1].astype(np.float32), sr=16000).f0,
                                  ak.pitch(clips[1].astype(np.float32).astype(np.float64), sr=16000).f0)


def test_silence_dc_clipping_and_short_signals():
    sr = 16000
    silent = ak.pitch(np.zeros(sr), sr=sr)
    assert silent.f0.size > 0 and np.all(np.isnan(silent.f0)) and np.all(silent.strength == 0)
    assert np.all(np.isnan(ak.pitch(np.full(sr, 0.5), sr=sr).f0))  # DC only
    clipped = np.clip(4 * wobbling_voice(sr).y, -0.3, 0.3)
    assert_matches_praat(clipped, sr)
    with pytest.warns(UserWarning, match="'y'.*shorter than one analysis window"):
        short = ak.pitch(np.ones(300), sr=sr)  # 40 ms are needed for a 75 Hz floor
    assert short.f0.shape == (0,) and short.times.shape == (0,)


@pytest.mark.parametrize("kwargs, error, argument", [
    (dict(pitch_floor=500.0, pitch_ceiling=400.0), ValueError, "pitch_ceiling"),
    (dict(pitch_floor=0.0), ValueError, "pitch_floor"),
    (dict(pitch_floor=np.nan), ValueError, "pitch_floor"),
    (dict(time_step=-0.01), ValueError, "time_step"),
    (dict(max_candidates=1), ValueError, "max_candidates"),
    (dict(sr=0.0), ValueError, "'sr'"),
    (dict(sr=1000.0, pitch_floor=600.0, pitch_ceiling=900.0), ValueError, "pitch_floor"),  # 3-sample window
    (dict(octave_cost="high"), TypeError, "octave_cost"),
])
def test_bad_parameters_name_the_argument(kwargs, error, argument):
    arguments = dict(sr=16000.0)
    arguments.update(kwargs)
    with pytest.raises(error, match=argument):
        ak.pitch(np.zeros(16000), **arguments)


def test_bad_signals_name_the_argument():
    with pytest.raises(TypeError, match="'y'"):
        ak.pitch(np.zeros(16000, np.int16), sr=16000)
    with pytest.raises(ValueError, match="'y'.*finite"):
        ak.pitch(np.where(np.arange(16000) == 5, np.nan, 0.0), sr=16000)
