"""Spectral and temporal descriptors against librosa.feature (same tolerances as the
spectra: 1e-5 relative to the peak in float32, 1e-10 in float64)."""

import numpy as np
import pytest

import affectkit as ak
import affectkit.features as F

librosa = pytest.importorskip("librosa")

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


def relative_error(actual, expected):
    return np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300)


def signals(sr, dtype):
    n = int(0.9 * sr)
    t = np.arange(n) / sr
    clicks = np.zeros(n)
    clicks[:: sr // 20] = 1.0
    return {
        "noise": np.random.default_rng(0).standard_normal(n).astype(dtype),
        "tone": (0.5 * np.sin(2 * np.pi * 440 * t)).astype(dtype),
        "clicks": clicks.astype(dtype),
        "silence": np.zeros(n, dtype),
    }


FRAMINGS = [dict(sr=22050), dict(sr=16000, n_fft=512, hop_length=160, win_length=400, pad_mode="reflect"),
            dict(sr=16000, n_fft=400, hop_length=100, center=False)]

PAIRS = [
    (F.spectral_centroid, librosa.feature.spectral_centroid, {}),
    (F.spectral_bandwidth, librosa.feature.spectral_bandwidth, {}),
    (F.spectral_bandwidth, librosa.feature.spectral_bandwidth, dict(p=1.0, norm=False)),
    (F.spectral_rolloff, librosa.feature.spectral_rolloff, dict(roll_percent=0.5)),
    (F.spectral_flatness, librosa.feature.spectral_flatness, {}),
    (F.spectral_contrast, librosa.feature.spectral_contrast, {}),
    (F.spectral_contrast, librosa.feature.spectral_contrast, dict(n_bands=4, fmin=100.0, linear=True)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("framing", FRAMINGS, ids=range(len(FRAMINGS)))
@pytest.mark.parametrize("ours, theirs, extra", PAIRS, ids=[f"{p[0].__name__}-{i}" for i, p in enumerate(PAIRS)])
def test_spectral_descriptor_matches_librosa(dtype, framing, ours, theirs, extra):
    kw = dict(framing)
    if ours is F.spectral_flatness:
        kw.pop("sr")
    for name, y in signals(framing["sr"], dtype).items():
        if name == "silence" and ours in (F.spectral_rolloff, F.spectral_contrast):
            continue  # librosa divides 0 by 0 there (NaN / -inf-inf); see test_silence
        expected = theirs(y=y, **kw, **extra)
        actual = ours(y, **kw, **extra)
        assert actual.shape == expected.shape, name
        if name == "silence":  # librosa's float32 accumulations are off by ~1e-6 here
            np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12 if dtype == np.float64 else 1e-5)
            continue
        bound = TOLERANCE[dtype]
        if ours is F.spectral_contrast:
            # dB differences, absolute against max(1 dB, peak); a pure tone's valleys sit at
            # the FFT's rounding floor, whose dB differs between FFT libraries by ~1e-9 dB.
            error = np.max(np.abs(actual - expected)) / max(1.0, np.max(np.abs(expected)))
            bound = max(bound, 1e-8)
        else:
            error = relative_error(actual, expected)
        if ours is F.spectral_flatness and dtype == np.float32:
            # a geometric mean over every bin: for tones and clicks it is set by bins at the
            # FFT's rounding floor, where FFTW and pocketfft differ before librosa rounds
            # to float32 (on the same spectrum they agree to 1e-5: test_flatness_of_same_S)
            bound = 1e-4
        assert error < bound, name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [{}, dict(frame_length=400, hop_length=160), dict(center=False, frame_length=256, hop_length=64)])
def test_zero_crossing_rate_and_rms_match_librosa(dtype, kw):
    for name, y in signals(16000, dtype).items():
        np.testing.assert_allclose(F.zero_crossing_rate(y, **kw), librosa.feature.zero_crossing_rate(y=y, **kw), rtol=0, atol=1e-12)
        expected = librosa.feature.rms(y=y, dtype=dtype, **kw)  # librosa's rms defaults to float32
        np.testing.assert_allclose(F.rms(y, **kw), expected, rtol=10 * TOLERANCE[dtype], atol=1e-30)


def test_rms_from_spectrogram_matches_librosa():
    y = signals(16000, np.float64)["noise"]
    S = np.abs(librosa.stft(y, n_fft=512, hop_length=128))
    np.testing.assert_allclose(F.rms(S=S, frame_length=512), librosa.feature.rms(S=S, frame_length=512, dtype=np.float64),
                               rtol=1e-12)


def test_flatness_of_same_S():
    S = np.abs(librosa.stft(signals(16000, np.float32)["tone"]))
    np.testing.assert_allclose(F.spectral_flatness(S=S), librosa.feature.spectral_flatness(S=S), rtol=1e-5)


def test_flux_and_slope_from_their_definitions():
    rng = np.random.default_rng(1)
    S = rng.random((257, 30))
    flux = F.spectral_flux(S=S)
    assert flux.shape == (1, 30) and flux[0, 0] == 0
    np.testing.assert_allclose(flux[0, 1:], np.linalg.norm(S[:, 1:] - S[:, :-1], axis=0), rtol=1e-12)
    freq = np.fft.rfftfreq(512, 1 / 16000)
    band = (freq >= 500) & (freq <= 1500)
    slope = F.spectral_slope(S=S, sr=16000, fmin=500, fmax=1500)
    expected = [np.polyfit(freq[band], S[band, t], 1)[0] for t in range(30)]
    np.testing.assert_allclose(slope[0], expected, rtol=1e-9)
    # a spectrum falling 1 unit per kHz has slope -1e-3 per Hz
    line = np.tile((8 - freq / 1000)[:, None], (1, 3))
    np.testing.assert_allclose(F.spectral_slope(S=line, sr=16000), -1e-3, rtol=1e-12)


def test_lists_and_batches_match_single_calls():
    clips = [signals(16000, np.float32)["noise"][:n] for n in (3000, 9000)]
    for feature in (F.spectral_centroid, F.spectral_bandwidth, F.spectral_rolloff, F.spectral_flatness,
                    F.spectral_contrast, F.spectral_slope, F.rms, F.zero_crossing_rate, F.spectral_flux):
        listed = feature(clips)
        for clip, value in zip(clips, listed):
            np.testing.assert_array_equal(value, feature(clip))
    batch = np.stack([clips[1][:3000], clips[0]])
    np.testing.assert_array_equal(F.spectral_centroid(batch)[1], F.spectral_centroid(clips[0]))


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda y: F.spectral_rolloff(y, roll_percent=1.5), ValueError, "roll_percent"),
        (lambda y: F.spectral_contrast(y, sr=16000, fmin=2000.0), ValueError, "n_bands"),
        (lambda y: F.spectral_contrast(y, quantile=0.0), ValueError, "quantile"),
        (lambda y: F.spectral_flatness(y, amin=0.0), ValueError, "amin"),
        (lambda y: F.spectral_bandwidth(y, p=0), ValueError, "'p'"),
        (lambda y: F.spectral_slope(y, sr=16000, fmin=100, fmax=9000), ValueError, "fmax"),
        (lambda y: F.zero_crossing_rate(y.astype(np.int16)), TypeError, "y"),
        (lambda y: F.rms(np.full(10, np.nan)), ValueError, "y"),
        (lambda y: F.rms(y[:100], center=False), ValueError, "frame_length"),
        (lambda y: F.spectral_centroid(), ValueError, "y"),
        (lambda y: F.spectral_centroid(y, S=np.ones((1025, 2))), ValueError, "S"),
    ],
)
def test_bad_input_names_the_argument(call, error, argument):
    y = signals(16000, np.float64)["noise"]
    argument = argument if argument.startswith("'") else f"'{argument}'"
    with pytest.raises(error, match=argument):
        call(y)
