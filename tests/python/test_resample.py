"""ak.resample: passband ripple and stopband attenuation measured on tones, and
agreement with soxr (the resampler librosa uses by default) on speech-band signals."""

import numpy as np
import pytest

import affectkit as ak

soxr = pytest.importorskip("soxr")

RATES = [(44100, 16000), (16000, 8000), (8000, 16000), (16000, 48000), (22050, 16000), (48000, 44100)]


def tone_gain(f, orig_sr, target_sr, res_type):
    """Amplitude out / amplitude in for a tone of f Hz, away from the edges (least squares)."""
    t = np.arange(int(orig_sr)) / orig_sr
    out = ak.resample(np.sin(2 * np.pi * f * t), orig_sr=orig_sr, target_sr=target_sr, res_type=res_type)
    t_out = np.arange(out.size) / target_sr
    middle = slice(out.size // 4, 3 * out.size // 4)
    basis = np.stack([np.sin(2 * np.pi * f * t_out), np.cos(2 * np.pi * f * t_out)], axis=1)[middle]
    if f >= target_sr / 2:  # aliased: measure the output's RMS relative to the tone's
        return np.sqrt(2 * np.mean(out[middle] ** 2))
    coef, *_ = np.linalg.lstsq(basis, out[middle], rcond=None)
    return np.hypot(*coef)


@pytest.mark.parametrize("orig_sr, target_sr", RATES)
@pytest.mark.parametrize("res_type, ripple_db, stop_db", [("fast", 0.05, 75), ("hq", 0.001, 90), ("vhq", 0.001, 100)])
def test_passband_ripple_and_stopband_attenuation(orig_sr, target_sr, res_type, ripple_db, stop_db):
    nyquist = min(orig_sr, target_sr) / 2
    passband = np.linspace(50, 0.8 * nyquist, 7)
    gains_db = [20 * np.log10(tone_gain(f, orig_sr, target_sr, res_type)) for f in passband]
    assert max(abs(g) for g in gains_db) < ripple_db, gains_db
    if target_sr < orig_sr:  # tones above the new Nyquist must not alias back
        stopband = np.linspace(1.0 * target_sr / 2 + 0.02 * target_sr, 0.95 * orig_sr / 2, 5)
        leaks_db = [20 * np.log10(tone_gain(f, orig_sr, target_sr, res_type) + 1e-300) for f in stopband]
        assert max(leaks_db) < -stop_db, leaks_db


@pytest.mark.parametrize("orig_sr, target_sr", RATES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_agrees_with_soxr_on_speech_band_signals(orig_sr, target_sr, dtype):
    rng = np.random.default_rng(0)
    t = np.arange(orig_sr) / orig_sr
    band = 0.8 * min(orig_sr, target_sr) / 2
    y = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) for f in rng.uniform(80, band, 12)) / 12
    y = y.astype(dtype)
    ours = ak.resample(y, orig_sr=orig_sr, target_sr=target_sr, res_type="vhq")
    theirs = soxr.resample(y, orig_sr, target_sr, quality="VHQ")
    assert ours.shape == theirs.shape and ours.dtype == dtype
    middle = slice(200, -200)  # the two handle the signal's ends differently
    assert np.max(np.abs(ours[middle] - theirs[middle])) < 2e-4  # two different ~-120 dB filters


def test_lengths_batches_lists_and_scale():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((2, 3, 1001))
    out = ak.resample(y, orig_sr=16000, target_sr=22050)
    assert out.shape == (2, 3, int(np.ceil(1001 * 22050 / 16000)))
    np.testing.assert_array_equal(out[1, 2], ak.resample(y[1, 2], orig_sr=16000, target_sr=22050))
    clips = [rng.standard_normal(n).astype(np.float32) for n in (1, 7, 16000)]
    listed = ak.resample(clips, orig_sr=16000, target_sr=8000)
    assert [c.size for c in listed] == [1, 4, 8000]
    for clip, r in zip(clips, listed):
        np.testing.assert_array_equal(r, ak.resample(clip, orig_sr=16000, target_sr=8000))
    np.testing.assert_allclose(ak.resample(y, orig_sr=16000, target_sr=8000, scale=True),
                               ak.resample(y, orig_sr=16000, target_sr=8000) / np.sqrt(0.5), rtol=1e-12)
    np.testing.assert_array_equal(ak.resample(y, orig_sr=16000, target_sr=16000), y)
    one = ak.resample(clips, orig_sr=44100, target_sr=16000, num_threads=1)
    two = ak.resample(clips, orig_sr=44100, target_sr=16000, num_threads=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda y: ak.resample(y, orig_sr=0, target_sr=16000), ValueError, "orig_sr"),
        (lambda y: ak.resample(y, orig_sr=16000, target_sr=-1), ValueError, "target_sr"),
        (lambda y: ak.resample(y, orig_sr="16k", target_sr=8000), TypeError, "orig_sr"),
        (lambda y: ak.resample(y, orig_sr=16000, target_sr=8000, res_type="soxr_hq"), ValueError, "res_type"),
        (lambda y: ak.resample(y, orig_sr=16000, target_sr=8000, fix=False), ValueError, "fix"),
        (lambda y: ak.resample(y.astype(np.int16), orig_sr=16000, target_sr=8000), TypeError, "y"),
        (lambda y: ak.resample(np.where(np.arange(y.size) == 3, np.nan, y), orig_sr=16000, target_sr=8000), ValueError, "y"),
        (lambda y: ak.resample(y[:0], orig_sr=16000, target_sr=8000), ValueError, "y"),
    ],
)
def test_bad_input_names_the_argument(call, error, argument):
    y = np.random.default_rng(0).standard_normal(1000)
    with pytest.raises(error, match=f"'{argument}'"):
        call(y)
