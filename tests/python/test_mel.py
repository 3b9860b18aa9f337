"""Mel filterbanks, mel spectrograms, dB, MFCC and deltas against librosa.

Tolerances (issue 3): max abs error relative to the reference's peak below 1e-5 in
float32 and 1e-10 in float64. librosa builds mel filters in float32 whatever the
signal's dtype; affectkit does the same, which is what makes float64 agree to ~1e-15.
Decibel outputs are compared in absolute dB (relative to the dB range's peak).
"""

import numpy as np
import pytest

import affectkit as ak

librosa = pytest.importorskip("librosa")

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}
pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.*too large:UserWarning")


def relative_error(actual, expected):
    return np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), np.finfo(np.float64).tiny)


def signals(sr, dtype):
    """Random noise, silence, a click train and a pure tone: each exercises another path
    (dense spectrum, amin floor / top_db, broadband impulses, one bin)."""
    n = int(1.3 * sr)
    t = np.arange(n) / sr
    clicks = np.zeros(n)
    clicks[:: sr // 10] = 1.0
    return {
        "noise": np.random.default_rng(0).standard_normal(n),
        "silence": np.zeros(n),
        "clicks": clicks,
        "tone": 0.5 * np.sin(2 * np.pi * 440.0 * t),
    }


GRID = [
    dict(sr=22050),
    dict(sr=16000, n_fft=512, hop_length=160, win_length=400, n_mels=80),
    dict(sr=16000, n_fft=400, hop_length=160, n_mels=64, htk=True, norm=None, center=False),
    dict(sr=8000, n_fft=256, hop_length=80, n_mels=40, fmin=100, fmax=3800, window="hamming", pad_mode="reflect"),
    dict(sr=44100, n_fft=1024, n_mels=128, htk=True, norm=2.0),
    dict(sr=16000, n_fft=512, n_mels=40, norm=np.inf, power=1.0),
]


@pytest.mark.parametrize("norm", [None, "slaney", 1.0, 2.0, np.inf])
@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mel_filters_equal_librosa(norm, htk, dtype):
    kw = dict(sr=16000, n_fft=512, n_mels=40, fmin=30.0, fmax=7600.0, htk=htk, norm=norm, dtype=dtype)
    np.testing.assert_array_equal(ak.mel_filters(**kw), librosa.filters.mel(**kw))


def test_mel_scale_conversions_equal_librosa():
    f = np.array([0.0, 50.0, 999.0, 1000.0, 1001.0, 8000.0])
    for htk in (False, True):
        np.testing.assert_allclose(ak.features.hz_to_mel(f, htk=htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-15)
        m = ak.features.hz_to_mel(f, htk=htk)
        np.testing.assert_allclose(ak.features.mel_to_hz(m, htk=htk), f, rtol=1e-12, atol=1e-9)
        assert ak.features.hz_to_mel(1500.0, htk=htk) == pytest.approx(librosa.hz_to_mel(1500.0, htk=htk), rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", GRID, ids=range(len(GRID)))
def test_melspectrogram_matches_librosa(dtype, kw):
    for name, y in signals(kw["sr"], dtype).items():
        y = y.astype(dtype)
        expected = librosa.feature.melspectrogram(y=y, **kw)
        actual = ak.melspectrogram(y, **kw)
        assert actual.dtype == dtype and actual.shape == expected.shape, name
        if name == "silence":
            assert np.all(actual == 0)
            continue
        assert relative_error(actual, expected) < TOLERANCE[dtype], name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", GRID[:4], ids=range(4))
@pytest.mark.parametrize("db", [dict(), dict(ref=np.max), dict(ref=3.0, amin=1e-6, top_db=None), dict(top_db=40.0)])
def test_log_mel_matches_librosa_power_to_db(dtype, kw, db):
    for name, y in signals(kw["sr"], dtype).items():
        y = y.astype(dtype)
        expected = librosa.power_to_db(librosa.feature.melspectrogram(y=y, **kw), **db)
        actual = ak.log_mel(y, **kw, **db)
        assert actual.dtype == dtype and actual.shape == expected.shape
        # dB values: absolute error against the dB peak magnitude
        assert relative_error(actual, expected) < 10 * TOLERANCE[dtype], name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", GRID[:4], ids=range(4))
@pytest.mark.parametrize("cepstral", [dict(), dict(n_mfcc=13, lifter=22), dict(n_mfcc=40, dct_type=3), dict(dct_type=1, norm=None)])
def test_mfcc_matches_librosa(dtype, kw, cepstral):
    kw = dict(kw)
    mel_norm = kw.pop("norm", "slaney")
    if cepstral.get("n_mfcc", 20) > kw.get("n_mels", 128):
        cepstral = dict(cepstral, n_mfcc=kw["n_mels"])
    for name, y in signals(kw["sr"], dtype).items():
        if name == "silence":
            continue
        y = y.astype(dtype)
        expected = librosa.feature.mfcc(y=y, mel_norm=mel_norm, **kw, **cepstral)
        actual = ak.mfcc(y, mel_norm=mel_norm, **kw, **cepstral)
        assert actual.dtype == dtype and actual.shape == expected.shape
        assert relative_error(actual, expected) < 10 * TOLERANCE[dtype], name


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("width", [3, 5, 9])
@pytest.mark.parametrize("mode", ["interp", "nearest", "mirror", "constant", "wrap"])
def test_delta_matches_librosa(order, width, mode):
    data = np.random.default_rng(width).standard_normal((2, 13, 50))
    np.testing.assert_allclose(ak.delta(data, width=width, order=order, mode=mode),
                               librosa.feature.delta(data, width=width, order=order, mode=mode), rtol=1e-12, atol=1e-12)


def test_mfcc_from_precomputed_log_mel_and_mel_from_spectrogram():
    y = signals(16000, np.float64)["noise"]
    S = ak.power_spectrogram(y, n_fft=512, hop_length=160)
    np.testing.assert_allclose(ak.melspectrogram(S=S, sr=16000, n_mels=40),
                               librosa.feature.melspectrogram(S=S, sr=16000, n_mels=40), rtol=1e-12)
    L = ak.log_mel(y, sr=16000, n_fft=512, hop_length=160, n_mels=40)
    np.testing.assert_allclose(ak.mfcc(S=L, n_mfcc=13), librosa.feature.mfcc(S=L, n_mfcc=13), rtol=1e-12, atol=1e-10)


def test_batches_and_lists_of_clips_match_one_by_one():
    """top_db applies per clip: each clip of a batch gives what it gives alone."""
    rng = np.random.default_rng(3)
    clips = [rng.standard_normal(n).astype(np.float32) * scale for n, scale in ((4000, 1.0), (9000, 0.01), (160, 5.0))]
    kw = dict(sr=16000, n_fft=512, hop_length=160, n_mels=40)
    listed = ak.log_mel(clips, **kw)
    for clip, spectrum in zip(clips, listed):
        np.testing.assert_array_equal(spectrum, ak.log_mel(clip, **kw))
        assert relative_error(spectrum, librosa.power_to_db(librosa.feature.melspectrogram(y=clip, **kw))) < 1e-4
    batch = np.stack([clips[0], clips[1][:4000]]).reshape(2, 1, 4000)
    stacked = ak.log_mel(batch, **kw)
    assert stacked.shape == (2, 1, 40, 26)
    np.testing.assert_array_equal(stacked[1, 0], ak.log_mel(clips[1][:4000], **kw))
    mf = ak.mfcc(clips, n_mfcc=13, **kw)
    assert [m.shape for m in mf] == [(13, 26), (13, 57), (13, 2)]
    d = ak.delta(mf, width=3, mode="nearest")  # the 2-frame clip is too short for interp
    assert [x.shape for x in d] == [m.shape for m in mf]
    np.testing.assert_array_equal(ak.log_mel(clips, ref=np.max, **kw)[1], ak.log_mel(clips[1], ref=np.max, **kw))


def test_threads_give_identical_results():
    clips = [np.random.default_rng(i).standard_normal(16000) for i in range(5)]
    one = ak.log_mel(clips, sr=16000, n_fft=512, hop_length=160, n_mels=80, num_threads=1)
    two = ak.log_mel(clips, sr=16000, n_fft=512, hop_length=160, n_mels=80, num_threads=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda y: ak.melspectrogram(y, sr=16000, fmax=9000), ValueError, "fmax"),
        (lambda y: ak.melspectrogram(y, sr=16000, fmin=-1), ValueError, "fmin"),
        (lambda y: ak.melspectrogram(y, sr=0), ValueError, "sr"),
        (lambda y: ak.melspectrogram(y, sr=16000, n_mels=0), ValueError, "n_mels"),
        (lambda y: ak.melspectrogram(y, sr=16000, norm="l2"), ValueError, "norm"),
        (lambda y: ak.melspectrogram(y.astype(np.int16), sr=16000), TypeError, "y"),
        (lambda y: ak.melspectrogram(np.where(np.arange(y.size) == 5, np.nan, y), sr=16000), ValueError, "y"),
        (lambda y: ak.melspectrogram(y, S=np.ones((1025, 3))), ValueError, "S"),
        (lambda y: ak.melspectrogram(sr=16000), ValueError, "y"),
        (lambda y: ak.log_mel(y, amin=0), ValueError, "amin"),
        (lambda y: ak.log_mel(y, top_db=-1), ValueError, "top_db"),
        (lambda y: ak.power_to_db(np.ones(3), amin=-1), ValueError, "amin"),
        (lambda y: ak.power_to_db(np.ones(3, complex)), TypeError, "S"),
        (lambda y: ak.mfcc(y, n_mfcc=0), ValueError, "n_mfcc"),
        (lambda y: ak.mfcc(y, dct_type=4), ValueError, "dct_type"),
        (lambda y: ak.mfcc(y, lifter=-1), ValueError, "lifter"),
        (lambda y: ak.delta(np.ones((3, 20)), width=4), ValueError, "width"),
        (lambda y: ak.delta(np.ones((3, 5)), width=9), ValueError, "width"),
        (lambda y: ak.delta(np.ones((3, 20)), order=0), ValueError, "order"),
    ],
)
def test_bad_input_names_the_argument(call, error, argument):
    y = np.random.default_rng(0).standard_normal(4000)
    with pytest.raises(error, match=f"'{argument}'"):
        call(y)


def test_empty_mel_filters_warn_as_librosa():
    with pytest.warns(UserWarning, match="Empty filters"):
        ak.mel_filters(sr=16000, n_fft=64, n_mels=128)
    with pytest.warns(UserWarning, match="Empty filters"):
        ak.melspectrogram(np.ones(2000), sr=16000, n_fft=64, n_mels=128)
