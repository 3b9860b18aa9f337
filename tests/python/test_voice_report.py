"""ak.point_process and ak.voice_report against Praat itself (praat-parselmouth) and
against the truth of synthetic voices.

Against Praat: "To PointProcess (cc)" and every "Get jitter (...)" / "Get shimmer
(...)" measure are Praat's code ported step by step (same index rounding, same
long-double sums, no fused multiply-adds), so the tolerances are tight: the same
number of pulses with times within 1e-9 s and every measure within 1e-9 relative
(tighter than the 1e-6 asked for; on every signal here the results are
bit-identical: 0 difference in pulses and in all 14 measures).
"""

import warnings

import numpy as np
import pytest

import affectkit as ak
from affectkit.prosody.voice_report import VOICE_REPORT_MEASURES, point_process, voice_report
from speech import espeak, human_voices

parselmouth = pytest.importorskip("parselmouth")
from parselmouth.praat import call  # noqa: E402

JITTER = {"jitter_local": "Get jitter (local)", "jitter_local_absolute": "Get jitter (local, absolute)",
          "jitter_rap": "Get jitter (rap)", "jitter_ppq5": "Get jitter (ppq5)", "jitter_ddp": "Get jitter (ddp)"}
SHIMMER = {"shimmer_local": "Get shimmer (local)", "shimmer_local_db": "Get shimmer (local_dB)",
           "shimmer_apq3": "Get shimmer (apq3)", "shimmer_apq5": "Get shimmer (apq5)",
           "shimmer_apq11": "Get shimmer (apq11)", "shimmer_dda": "Get shimmer (dda)"}
PERIODS = {"num_periods": "Get number of periods", "mean_period": "Get mean period",
           "stdev_period": "Get stdev period"}
PITCH_NAMES = dict(time_step="time_step", pitch_floor="pitch_floor", pitch_ceiling="pitch_ceiling",
                   very_accurate="very_accurate", voicing_threshold="voicing_threshold",
                   silence_threshold="silence_threshold")


def praat_voice_report(y, sr, *, from_time=0.0, to_time=0.0, period_floor=0.0001, period_ceiling=0.02,
                       max_period_factor=1.3, max_amplitude_factor=1.6, method="ac", **pitch_options):
    """(pulse times, {measure: value}) from Praat through parselmouth."""
    sound = parselmouth.Sound(y, sr)
    options = {PITCH_NAMES[k]: v for k, v in pitch_options.items()}
    pitch = sound.to_pitch_ac(**options) if method == "ac" else sound.to_pitch_cc(**options)
    pulses = call([sound, pitch], "To PointProcess (cc)")
    times = np.array([call(pulses, "Get time from index", i)
                      for i in range(1, call(pulses, "Get number of points") + 1)])
    arguments = (from_time, to_time, period_floor, period_ceiling, max_period_factor)
    measures = {k: call(pulses, command, *arguments) for k, command in {**JITTER, **PERIODS}.items()}
    measures.update({k: call([sound, pulses], command, *arguments, max_amplitude_factor)
                     for k, command in SHIMMER.items()})
    low, high = (from_time, to_time) if to_time > from_time else (0.0, len(y) / sr)
    measures["num_pulses"] = int(np.count_nonzero((times >= low) & (times <= high)))
    return times, measures


def quietly(function, *args, **kwargs):
    """Calls function with its NaN warnings silenced (the Praat comparison checks the NaNs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ak.voice_report: NaN measures")
        return function(*args, **kwargs)


def assert_matches_praat(y, sr, **options):
    """Pulses and every measure as Praat's; returns our report."""
    measure_options = {k: options.pop(k) for k in list(options) if k in (
        "from_time", "to_time", "period_floor", "period_ceiling", "max_period_factor", "max_amplitude_factor")}
    times, expected = praat_voice_report(y, sr, **measure_options, **options)
    pulses = point_process(y, sr=sr, **options)
    assert pulses.shape == times.shape
    np.testing.assert_allclose(pulses, times, rtol=0, atol=1e-9)
    report = quietly(voice_report, y, sr=sr, **measure_options, **options)
    assert set(report) == set(VOICE_REPORT_MEASURES)
    for key, value in expected.items():
        np.testing.assert_allclose(report[key], value, rtol=1e-9, atol=0, equal_nan=True, err_msg=key)
    return report


def synthetic(sr, *, jitter=0.01, shimmer=0.05, snr_db=None, vowel="a", seed=0, **kwargs):
    return ak.synthetic_voice(sr=sr, duration=1.5, f0=lambda t: 140 + 40 * np.sin(2 * np.pi * 1.5 * t),
                              jitter=jitter, shimmer=shimmer, snr_db=snr_db, vowel=vowel, seed=seed,
                              voiced=[(0.1, 0.6), (0.8, 1.4)], **kwargs)


# ---------------------------------------------------------------- against Praat

@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100])
@pytest.mark.parametrize("jitter, shimmer, snr_db, vowel", [
    (0.0, 0.0, None, "a"), (0.005, 0.03, None, "i"), (0.02, 0.1, 20, "u"), (0.04, 0.2, 10, "e"),
])
def test_synthetic_voices_match_praat(sr, jitter, shimmer, snr_db, vowel):
    report = assert_matches_praat(synthetic(sr, jitter=jitter, shimmer=shimmer, snr_db=snr_db, vowel=vowel,
                                            seed=sr).y, sr)
    assert report["num_pulses"] > 100 and np.isfinite(report["shimmer_apq11"])


@pytest.mark.parametrize("options", [
    dict(from_time=0.3, to_time=1.2),
    dict(period_floor=0.8 / 600, period_ceiling=1.25 / 75),  # the periods Praat's "Voice report" uses
    dict(period_floor=0.0, period_ceiling=0.0),  # every interval is a period, even the unvoiced gap
    dict(max_period_factor=1.05, max_amplitude_factor=1.1),
    dict(pitch_floor=100.0, pitch_ceiling=300.0, time_step=0.005),
    dict(very_accurate=True, voicing_threshold=0.6),
    dict(method="cc"),
])
def test_parameters_match_praat(options):
    assert_matches_praat(synthetic(16000, jitter=0.02, shimmer=0.08, snr_db=25, seed=5).y, 16000, **options)


def test_human_voices_and_synthetic_speech_match_praat():
    for name, y, sr in human_voices():
        report = assert_matches_praat(y, sr)
        assert report["num_pulses"] > 50, name
        assert 0 < report["jitter_local"] < 0.05 and 0 < report["shimmer_local"] < 0.3, name
    y, sr = espeak("The quick brown fox jumps over the lazy dog, while the angry bird sings.", pitch=70)
    assert_matches_praat(y, sr)
    y, sr = espeak("Ah, what a wonderful day it is today.", pitch=30, speed=120)
    assert_matches_praat(y, sr)


# ---------------------------------------------------------------- against the truth

# Formant bandwidths three times Klatt's: each pulse's response dies out within
# its period, so the waveform's periods are the source's.
def wide_bandwidth_voice(sr, vowel, *, jitter, shimmer=0.05, snr_db=None, seed=0):
    formants, bandwidths = ak.synth.VOWELS[vowel]
    kept = [i for i, f in enumerate(formants) if f < 0.45 * sr]
    return ak.synthetic_voice(sr=sr, duration=2.0, f0=lambda t: 120 + 20 * np.sin(2 * np.pi * 0.8 * t),
                              jitter=jitter, shimmer=shimmer, snr_db=snr_db, seed=seed,
                              voiced=[(0.1, 0.9), (1.1, 1.9)], formants=[formants[i] for i in kept],
                              bandwidths=[3 * bandwidths[i] for i in kept])


@pytest.mark.parametrize("sr", [8000, 16000, 44100])
@pytest.mark.parametrize("vowel", ["a", "i", "u"])
@pytest.mark.parametrize("jitter, snr_db", [(0.005, None), (0.01, 30), (0.02, 20)])
def test_jitter_within_ten_percent_of_the_truth(sr, vowel, jitter, snr_db):
    """Jitter (local) within 10% of the generator's (the same definition on the true
    pulse instants), on voices whose formant bandwidths are three times Klatt's
    and whose voiced stretches end well inside the clip. Measured: within 4% for
    jitter of 0.5-2% at 8-44.1 kHz with SNR down to 20 dB.

    What breaks it (measured, not asserted): with Klatt's narrow bandwidths each
    pulse still rings in the next period and the cross-correlation sees a
    smoothed train, so jitter reads up to 25% low (/u/ at 16 kHz) or, where F1
    (270 Hz for /i/) interacts with the 8 kHz sampling, up to 80% high; at 4%
    jitter the estimate falls ~12% low; a generator pulse cut short at the end of
    the clip (voiced up to the last sample) adds one spurious period to the truth
    that Praat rightly never sees."""
    voice = wide_bandwidth_voice(sr, vowel, jitter=jitter, snr_db=snr_db, seed=int(1000 * jitter) + sr)
    report = voice_report(voice.y, sr=sr)
    assert report["jitter_local"] == pytest.approx(voice.jitter_local, rel=0.10)
    # the absolute jitter in seconds, over the same pulses
    assert report["jitter_local_absolute"] == pytest.approx(voice.jitter_local * report["mean_period"], rel=0.11)


def test_shimmer_against_the_truth():
    """Shimmer (local) against the generator's pulse amplitudes. Praat measures
    a period's amplitude as the RMS of the waveform under a Hann window spanning
    0.2 period to each side of the pulse, i.e. of the formant filters' response,
    which also holds the tail of the previous pulses and moves with jitter. What
    is defensible, and asserted:

    - wide bandwidths (3x Klatt's), 16 and 44.1 kHz, jitter up to 2%, SNR >= 20 dB:
      within 15% of the truth (measured: 1-13%, mostly 2-6% high);
    - Klatt's bandwidths: no shimmer in the source reads as < 0.3% (measured
      0.07-0.11%), and the measure grows with the true shimmer, but it is off by a
      vowel-dependent factor (measured: /a/ 10-15% high, /i/ 35-40% low, /u/
      within 5%) -- asserted only within a factor of 2.
    """
    worst = 0.0
    for sr in (16000, 44100):
        for vowel, jitter, snr_db in (("a", 0.005, None), ("i", 0.01, 30), ("u", 0.02, 20), ("a", 0.02, 30)):
            voice = wide_bandwidth_voice(sr, vowel, jitter=jitter, shimmer=0.05, snr_db=snr_db, seed=sr + 7)
            relative = voice_report(voice.y, sr=sr)["shimmer_local"] / voice.shimmer_local - 1
            worst = max(worst, abs(relative))
    assert worst < 0.15
    for vowel in "aiu":
        measured = []
        for shimmer in (0.0, 0.02, 0.05, 0.1, 0.2):
            voice = ak.synthetic_voice(sr=16000, duration=2.0, f0=130.0, shimmer=shimmer, seed=1, vowel=vowel,
                                       voiced=[(0.1, 1.9)])
            measured.append(voice_report(voice.y, sr=16000)["shimmer_local"])
            if shimmer > 0:
                assert 0.5 < measured[-1] / voice.shimmer_local < 2.0, (vowel, shimmer)
        assert measured[0] < 0.003
        assert np.all(np.diff(measured) > 0), vowel


# ---------------------------------------------------------------- the API

def test_lists_batches_threads_and_precision():
    clips = [synthetic(16000, seed=s).y[:n] for s, n in ((1, 24000), (2, 9000), (3, 16000))]
    reports = voice_report(clips, sr=16000, num_threads=3)
    pulses = point_process(clips, sr=16000, num_threads=2)
    assert isinstance(reports, list) and len(reports) == 3 and len(pulses) == 3
    for clip, report, times in zip(clips, reports, pulses):
        assert report == voice_report(clip, sr=16000, num_threads=1)
        np.testing.assert_array_equal(times, point_process(clip, sr=16000))
        assert isinstance(report["num_pulses"], int) and isinstance(report["jitter_local"], float)
        assert report["num_pulses"] == times.size
    # rows of an array with batch dimensions: arrays of the batch shape, nested lists of pulses
    batch = np.stack([clips[0][:9000], clips[1], clips[2][:9000], clips[0][5000:14000]]).reshape(2, 2, 9000)
    stacked = voice_report(batch, sr=16000)
    assert stacked["jitter_local"].shape == (2, 2) and stacked["num_pulses"].dtype == np.int64
    assert stacked["shimmer_local"][0, 1] == reports[1]["shimmer_local"]
    nested = point_process(batch, sr=16000)
    np.testing.assert_array_equal(nested[0][1], pulses[1])
    # float32 audio is analysed in float64, as Praat does
    single = clips[1].astype(np.float32)
    assert voice_report(single, sr=16000) == voice_report(single.astype(np.float64), sr=16000)
    assert point_process([], sr=16000) == [] and voice_report([], sr=16000) == []


def test_a_precomputed_pitch_gives_the_same_result():
    clips = [synthetic(16000, seed=s).y[:n] for s, n in ((4, 20000), (5, 12000))]
    for clip in clips:
        track = ak.pitch(clip, sr=16000, pitch_floor=90.0)
        assert voice_report(clip, sr=16000, pitch=track) == voice_report(clip, sr=16000, pitch_floor=90.0)
        np.testing.assert_array_equal(point_process(clip, sr=16000, pitch=track),
                                      point_process(clip, sr=16000, pitch_floor=90.0))
    tracks = ak.pitch(clips, sr=16000)
    assert voice_report(clips, sr=16000, pitch=tracks) == voice_report(clips, sr=16000)
    batch = np.stack([clips[0][:12000], clips[1]])
    np.testing.assert_array_equal(voice_report(batch, sr=16000, pitch=ak.pitch(batch, sr=16000))["jitter_rap"],
                                  voice_report(batch, sr=16000)["jitter_rap"])
    # a pitch track edited by hand: the first voiced stretch unvoiced
    track = ak.pitch(clips[0], sr=16000)
    edited = track._replace(f0=np.where(track.times < 0.7, np.nan, track.f0))
    pulses = point_process(clips[0], sr=16000, pitch=edited)
    assert pulses.size > 20 and pulses.min() > 0.6


def test_silence_unvoiced_and_short_voicing_give_nan_with_a_reason():
    with pytest.warns(UserWarning, match="no voiced frames"):
        silent = voice_report(np.zeros(16000), sr=16000)
    assert silent["num_pulses"] == 0 and silent["num_periods"] == 0
    assert all(np.isnan(silent[k]) for k in VOICE_REPORT_MEASURES if k.startswith(("jitter", "shimmer", "mean")))
    assert point_process(np.zeros(16000), sr=16000).shape == (0,)
    noise = np.random.default_rng(0).standard_normal(16000) * 0.1
    with pytest.warns(UserWarning, match="NaN measures"):
        voice_report(noise, sr=16000, voicing_threshold=0.99)  # nothing passes as voiced
    # 60 ms of voice: jitter (local) is defined, shimmer (apq11) needs more pulses
    short = ak.synthetic_voice(sr=16000, duration=0.5, f0=150.0, seed=2, voiced=[(0.2, 0.26)]).y
    with pytest.warns(UserWarning, match="too few.*shimmer_apq11"):
        report = voice_report(short, sr=16000)
    assert np.isfinite(report["jitter_local"]) and np.isnan(report["shimmer_apq11"])
    # in a batch, the warning names the clip
    with pytest.warns(UserWarning, match="1 of 2 clips: clip 1: no voiced frames"):
        reports = voice_report([synthetic(16000).y, np.zeros(8000)], sr=16000)
    assert np.isfinite(reports[0]["shimmer_local"]) and np.isnan(reports[1]["shimmer_local"])


def test_too_short_and_non_finite_clips_name_y():
    with pytest.raises(ValueError, match="'y'.*300 samples.*shorter than one pitch analysis window"):
        voice_report(np.ones(300), sr=16000)
    with pytest.raises(ValueError, match="'y': clip 1 has 100 samples"):
        point_process([np.ones(16000), np.ones(100)], sr=16000)
    with pytest.raises(ValueError, match="'y'.*finite"):
        voice_report(np.where(np.arange(16000) == 5, np.nan, 0.0), sr=16000)
    voice = synthetic(16000).y
    voice[9000] = np.inf
    with pytest.raises(ValueError, match="'y'.*finite"):
        point_process(voice, sr=16000, pitch=ak.pitch(np.nan_to_num(voice, posinf=0.0), sr=16000))
    with pytest.raises(TypeError, match="'y'.*int16"):
        voice_report(np.zeros(16000, np.int16), sr=16000)


@pytest.mark.parametrize("kwargs, error, argument", [
    (dict(period_floor=-0.001), ValueError, "'period_floor'"),
    (dict(period_floor=0.01, period_ceiling=0.005), ValueError, "'period_ceiling'"),
    (dict(period_ceiling=np.inf), ValueError, "'period_ceiling'"),
    (dict(max_period_factor=0.0), ValueError, "'max_period_factor'"),
    (dict(max_amplitude_factor=np.nan), ValueError, "'max_amplitude_factor'"),
    (dict(from_time=np.nan), ValueError, "'from_time'"),
    (dict(to_time=np.inf), ValueError, "'to_time'"),
    (dict(sr=0.0), ValueError, "'sr'"),
    (dict(pitch_floor=0.0), ValueError, "'pitch_floor'"),
    (dict(pitch_floor=500.0, pitch_ceiling=400.0), ValueError, "'pitch_ceiling'"),
    (dict(period_floor="short"), TypeError, "'period_floor'"),
    (dict(max_period_factor=True), TypeError, "'max_period_factor'"),
    (dict(octave_cots=0.02), TypeError, "octave_cots"),
    (dict(num_threads=0), ValueError, "'num_threads'"),
])
def test_bad_parameters_name_the_argument(kwargs, error, argument):
    arguments = dict(sr=16000.0)
    arguments.update(kwargs)
    with pytest.raises(error, match=argument):
        voice_report(synthetic(16000).y, **arguments)


def test_bad_pitch_tracks_name_pitch():
    y = synthetic(16000).y
    track = ak.pitch(y, sr=16000)
    with pytest.raises(ValueError, match="'pitch_floor'.*precomputed 'pitch'"):
        point_process(y, sr=16000, pitch=track, pitch_floor=100.0)
    with pytest.raises(TypeError, match="'pitch'.*PitchTrack"):
        voice_report(y, sr=16000, pitch=track.f0)
    with pytest.raises(ValueError, match="'pitch'.*list of 2 PitchTracks"):
        voice_report([y, y], sr=16000, pitch=[track])
    with pytest.raises(ValueError, match="'pitch'.*does not fit"):
        voice_report(np.stack([y, y]), sr=16000, pitch=track)
    with pytest.raises(ValueError, match="'pitch'.*finite"):
        voice_report(y, sr=16000, pitch=track._replace(f0=np.where(track.voiced, np.inf, np.nan)))
    with pytest.raises(ValueError, match="'pitch'.*increasing"):
        voice_report(y, sr=16000, pitch=track._replace(times=track.times[::-1].copy()))
