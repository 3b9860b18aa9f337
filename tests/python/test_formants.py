"""ak.formants against Praat itself (praat-parselmouth), against the truth of synthetic
vowels, and its Burg LPC and root finder against short NumPy references.

Praat's algorithm is reproduced step by step (its resampler, pre-emphasis, Gaussian
window, Burg recursion, Newton-polished roots), so against Praat the
frame times are equal to 1e-12 s, the NaN pattern (formants found per frame) is
identical, and in every frame whose input window peaks at 1% of the clip's peak or more
the formant frequencies agree to 1e-9 relative and bandwidths to 1e-7 (measured: 7e-11
and ~1e-11; the task allowed 5%). Quieter frames are ill-conditioned: over digital
silence a frame holds only the resampling filter's leakage (~1e-17 of the peak), and
its "formants" amplify rounding differences (FFTW versus Praat's FFT) to ~1e-4; they
are compared to 1e-2."""

import logging

import numpy as np
import pytest

import affectkit as ak
from affectkit import _core
from affectkit.prosody.formants import FormantTrack, formants

parselmouth = pytest.importorskip("parselmouth")

log = logging.getLogger(__name__)


def praat_formants(y, sr, n_formants, time_step=0.0, **options):
    """(times, frequencies, bandwidths) from parselmouth, NaN where Praat has no formant."""
    track = parselmouth.Sound(y, sr).to_formant_burg(time_step=time_step or None, **options)
    times = np.asarray(track.xs())
    grid = [(i, t) for t in times for i in range(1, n_formants + 1)]
    f = np.array([track.get_value_at_time(i, t) for i, t in grid]).reshape(len(times), n_formants)
    b = np.array([track.get_bandwidth_at_time(i, t) for i, t in grid]).reshape(len(times), n_formants)
    return times, f, b


def window_peaks(y, sr, times, window_length=0.025):
    """Each frame's largest input |sample| within its 2 * window_length window."""
    centres = (np.arange(len(y)) + 0.5) / sr
    return np.array([np.abs(y[np.abs(centres - t) <= window_length]).max(initial=0.0) for t in times])


def assert_matches_praat(y, sr, **options):
    ours = formants(y, sr=sr, **options)
    times, f, b = praat_formants(y, sr, ours.frequencies.shape[-1], **options)
    assert ours.frequencies.shape == f.shape and ours.frequencies.dtype == np.float64
    np.testing.assert_allclose(ours.times, times, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(np.isnan(ours.frequencies), np.isnan(f))
    loud = window_peaks(y, sr, times, options.get("window_length", 0.025)) >= 0.01 * np.abs(y).max()
    np.testing.assert_allclose(ours.frequencies[loud], f[loud], rtol=1e-9)
    np.testing.assert_allclose(ours.bandwidths[loud], b[loud], rtol=1e-7)
    np.testing.assert_allclose(ours.frequencies[~loud], f[~loud], rtol=1e-2)
    np.testing.assert_allclose(ours.bandwidths[~loud], b[~loud], rtol=1e-2)
    error = np.abs(ours.frequencies[loud] - f[loud]) / f[loud]
    error = error[:, ~np.isnan(error).all(axis=0)]  # formant slots that are never filled
    log.info("vs Praat, F1..F%d relative error: max %s, median %s", error.shape[1],
             np.array2string(np.nanmax(error, axis=0), precision=1),
             np.array2string(np.nanmedian(error, axis=0), precision=1))
    return ours


@pytest.mark.parametrize("sr, vowel, f0, options", [
    (16000, "a", 120.0, {}),
    (16000, "i", 210.0, {}),
    (44100, "a", 120.0, {}),
    (44100, "u", 150.0, {}),
    (44100, "e", 120.0, dict(max_number_of_formants=5.5)),
    (16000, "o", 120.0, dict(time_step=0.01, window_length=0.03, maximum_formant=5000.0, pre_emphasis_from=100.0)),
    (11000, "i", 120.0, {}),  # already at 2 * maximum_formant: no resampling
    (8000, "e", 120.0, {}),   # maximum_formant above Nyquist: sinc upsampling
    (5500, "a", 120.0, {}),   # exactly twice the rate: Praat's FFT upsampling
    (22050, "o", (100.0, 250.0), dict(max_number_of_formants=4.0, maximum_formant=4500.0)),
])
def test_synthetic_vowels_match_praat(sr, vowel, f0, options):
    voice = ak.synthetic_voice(sr=sr, duration=1.0, f0=f0, vowel=vowel, jitter=0.01, shimmer=0.05, snr_db=30)
    assert_matches_praat(voice.y, sr, **options)


def test_noise_and_voiced_gaps_match_praat():
    rng = np.random.default_rng(0)
    assert_matches_praat(0.1 * rng.standard_normal(16000), 16000)
    gaps = ak.synthetic_voice(sr=16000, duration=1.0, f0=150.0, vowel="e", voiced=[(0.1, 0.4), (0.6, 0.9)])
    assert_matches_praat(gaps.y, 16000)  # digital silence between the voiced parts


def test_recorded_speech_matches_praat():
    from speech import human_voices

    for name, y, sr in human_voices()[:3]:
        assert_matches_praat(y, sr)


@pytest.mark.parametrize("n", [16, 30, 300, 799, 800])
def test_clips_shorter_than_a_window_give_one_frame_as_in_praat(n):
    """1 frame over the whole clip below 2 * window_length (800 samples at 16 kHz)."""
    y = ak.synthetic_voice(sr=16000, duration=0.1, vowel="a", snr_db=30).y[:n]
    assert len(assert_matches_praat(y, 16000).times) == 1


def test_tiny_clips_and_silence_have_no_formants():
    # Fewer than order + 1 = 11 samples at 11 kHz: no formants (Praat reports rounding
    # noise there, and crashes on 1 or 2 samples, so it is not called).
    for n in (1, 2, 5, 12):
        track = formants(np.full(n, 0.1), sr=16000)
        assert track.frequencies.shape == (1, 5) and np.isnan(track.frequencies).all()
    silent = formants(np.zeros(8000), sr=16000)
    assert np.isnan(silent.frequencies).all() and np.isnan(silent.bandwidths).all()


@pytest.mark.parametrize("sr", [16000, 44100])
@pytest.mark.parametrize("vowel, ceiling", [("a", 5500.0), ("e", 5500.0), ("i", 5500.0), ("o", 5000.0)])
def test_steady_vowels_match_their_true_formants(sr, vowel, ceiling):
    """The median of each of F1-F3 over the frames within 5% of the resonators'
    frequencies, every frame within 10% (measured: 3.8% and 8.8% at most). /o/ takes
    Praat's 5000 Hz ceiling for a male voice. /u/ is left out: at either ceiling Burg LPC
    (Praat's as ours) puts its F1 and F3 7-23% off, F2 and F1 merging in some frames;
    test_synthetic_vowels_match_praat covers it against Praat."""
    voice = ak.synthetic_voice(sr=sr, duration=1.0, f0=120.0, vowel=vowel, snr_db=30)
    track = formants(voice.y, sr=sr, maximum_formant=ceiling)
    truth = np.array(voice.formants[:3])
    median = np.abs(np.median(track.frequencies[:, :3], axis=0) - truth) / truth
    assert np.all(median < 0.05), median
    error = np.abs(track.frequencies[:, :3] - truth) / truth
    assert np.all(error < 0.10), np.nanmax(error, axis=0)


def test_shapes_lists_batches_and_threads():
    voices = [ak.synthetic_voice(sr=16000, duration=d, vowel=v, seed=i, snr_db=30).y
              for i, (d, v) in enumerate([(0.5, "a"), (0.5, "i"), (0.5, "u"), (0.5, "e"), (0.5, "o"), (0.5, "a")])]
    batch = np.stack(voices).reshape(2, 3, -1)
    together = formants(batch, sr=16000, num_threads=4)
    assert isinstance(together, FormantTrack)
    assert together.frequencies.shape == (2, 3, 72, 5) and together.bandwidths.shape == (2, 3, 72, 5)
    single = [formants(y, sr=16000, num_threads=1) for y in voices]
    assert single[0].frequencies.shape == (72, 5) and single[0].times.shape == (72,)
    for i, one in enumerate(single):
        np.testing.assert_array_equal(together.frequencies.reshape(6, 72, 5)[i], one.frequencies)
        np.testing.assert_array_equal(together.bandwidths.reshape(6, 72, 5)[i], one.bandwidths)
        np.testing.assert_array_equal(together.times, one.times)
    clips = [voices[0][:4000], voices[1], voices[2][:1234]]
    listed = formants(clips, sr=16000, num_threads=3)
    assert isinstance(listed, list) and len(listed) == 3
    for clip, track in zip(clips, listed):
        alone = formants(clip, sr=16000)
        for ours, expected in zip(track, alone):
            np.testing.assert_array_equal(ours, expected)
    assert formants([], sr=16000) == []
    assert formants(voices[0], sr=16000, max_number_of_formants=5.5).frequencies.shape == (72, 6)


def test_float32_is_computed_in_float64():
    y = ak.synthetic_voice(sr=16000, duration=0.5, vowel="a", snr_db=30).y
    y32 = y.astype(np.float32)
    single = formants(y32, sr=16000)
    assert single.frequencies.dtype == np.float64
    np.testing.assert_array_equal(single.frequencies, formants(y32.astype(np.float64), sr=16000).frequencies)
    # float32 rounding of the samples moves the formants by far less than a Hz
    np.testing.assert_allclose(single.frequencies[:, :4], formants(y, sr=16000).frequencies[:, :4], rtol=1e-4)


def reference_burg(x, order):
    """Burg's method as Praat's VECburg (Childers 1978, pp. 252-255): forward and
    backward prediction errors, a reflection coefficient per order that minimises their
    summed power, and the Levinson update of the predictor x[i] ~ sum_j a[j] x[i-1-j]."""
    forward, backward = x[:-1].astype(np.float64), x[1:].astype(np.float64)
    a, power = np.zeros(order), np.mean(x ** 2)
    for i in range(1, order + 1):
        m = len(x) - i
        k = 2 * (forward[:m] @ backward[:m]) / (forward[:m] @ forward[:m] + backward[:m] @ backward[:m])
        a[: i - 1] = a[: i - 1] - k * a[: i - 1][::-1]
        a[i - 1] = k
        power *= 1 - k * k
        forward, backward = forward[: m - 1] - k * backward[: m - 1], backward[1:m] - k * forward[1:m]
    return a, power


@pytest.mark.parametrize("order", [1, 2, 5, 10, 11, 16])
def test_burg_matches_numpy_reference(order):
    rng = np.random.default_rng(order)
    voice = ak.synthetic_voice(sr=11000, duration=0.1, vowel="e", snr_db=30).y[:550]
    window = np.exp(-48 * (np.arange(1, 551) - 275.5) ** 2 / 551 ** 2)
    for x in (rng.standard_normal(300), voice * window, np.cumsum(rng.standard_normal(1000))):
        a, power = _core.lpc_burg(x, order)
        expected_a, expected_power = reference_burg(x, order)
        np.testing.assert_allclose(a, expected_a, rtol=1e-9, atol=1e-12)
        assert power == pytest.approx(expected_power, rel=1e-9)
    a, power = _core.lpc_burg(np.zeros(100), order)
    assert power == 0 and not a.any()


def test_roots_match_numpy_roots():
    rng = np.random.default_rng(1)
    x = ak.synthetic_voice(sr=11000, duration=0.1, vowel="a", snr_db=30).y[:550]
    polynomials = []
    for order in (10, 40):
        a, _ = _core.lpc_burg(x, order)
        polynomials.append(np.concatenate([-a[::-1], [1.0]]))  # ascending: z^10 - a1 z^9 - ... - a10
    polynomials += [rng.standard_normal(degree + 1) for degree in (1, 2, 3, 7, 12, 20)]
    # Roots of equal modulus on the unit circle: QR's shifts cannot single one out.
    polynomials += [np.r_[-1.0, np.zeros(11), 1.0], np.r_[1.0, np.zeros(29), 1.0]]
    # A frame's LPC polynomial (benchmarks/bench_prosody.py, clip 8, frame 374) on which
    # one eigenvalue takes more than 30 QR steps (dlahqr allows 300 and shifts
    # exceptionally every 10): a 30-step limit lost all formants of that frame.
    polynomials.append(np.array([0.3245013289069581, -0.1375422157528628, -0.35553246841021452,
                                 -0.043351981885184049, 0.3184991584862224, -0.020272348254513909,
                                 0.4888741421168798, 0.17847546709662604, -0.5699273731543445,
                                 -0.76249056952362637, 1.0]))
    for c in polynomials:
        ours = _core.polynomial_roots(c)
        expected = list(np.roots(c[::-1]))
        assert len(ours) == len(expected)
        for z in ours:  # each of ours is one of numpy's, matched one to one
            nearest = int(np.argmin([abs(z - e) for e in expected]))
            assert abs(z - expected.pop(nearest)) <= 1e-9 * max(1.0, abs(z))
            assert abs(np.polyval(c[::-1], z)) <= 1e-10 * np.sum(np.abs(c) * max(1.0, abs(z)) ** np.arange(len(c)))


@pytest.mark.parametrize("argument, kwargs", [
    ("sr", dict(sr=0)),
    ("sr", dict(sr=-16000)),
    ("time_step", dict(time_step=-0.01)),
    ("time_step", dict(time_step=float("nan"))),
    ("max_number_of_formants", dict(max_number_of_formants=0)),
    ("max_number_of_formants", dict(max_number_of_formants=-5)),
    ("max_number_of_formants", dict(max_number_of_formants=1000)),
    ("maximum_formant", dict(maximum_formant=-5500)),
    ("maximum_formant", dict(maximum_formant=0)),
    ("maximum_formant", dict(maximum_formant=float("inf"))),
    ("window_length", dict(window_length=-0.025)),
    ("window_length", dict(window_length=0.0001)),  # 2 samples at 11 kHz < order + 1
    ("pre_emphasis_from", dict(pre_emphasis_from=-50)),
    ("num_threads", dict(num_threads=0)),
])
def test_bad_parameters_name_the_argument(argument, kwargs):
    kwargs = {"sr": 16000, **kwargs}
    with pytest.raises(ValueError, match=f"'{argument}'"):
        formants(np.zeros(8000), **kwargs)


def test_bad_signals():
    y = np.zeros(8000)
    for bad in (np.nan, np.inf, -np.inf):
        z = y.copy()
        z[123] = bad
        with pytest.raises(ValueError, match="'y'"):
            formants(z, sr=16000)
        with pytest.raises(ValueError, match="'y'"):
            formants([y, z], sr=16000)
    with pytest.raises(ValueError, match="'y'"):
        formants(np.zeros(0), sr=16000)
    with pytest.raises(ValueError, match="'y'"):
        formants(np.array(1.0), sr=16000)
    with pytest.raises(ValueError, match="'y'"):
        formants([np.zeros((2, 100))], sr=16000)
    with pytest.raises(TypeError, match="'y'"):
        formants(np.zeros(8000, np.int16), sr=16000)
    with pytest.raises(TypeError, match="'y'"):
        formants([y, y.astype(np.float32)], sr=16000)
    with pytest.raises(TypeError, match="'sr'"):
        formants(y, sr="fast")
