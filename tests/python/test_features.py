"""ak.stft / ak.power_spectrogram / ak.istft against librosa and the NumPy reference.

Tolerance (issue 2): max |affectkit - librosa| / max |librosa| below 1e-5 in float32
and 1e-12 in float64. librosa computes float32 input in float64 internally, so the
float32 bound is the float32 FFT's rounding relative to the peak.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import affectkit as ak
from reference import stft_ref

librosa = pytest.importorskip("librosa")

# librosa warns when a centred clip is shorter than n_fft; we test such clips on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.*too large:UserWarning")

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
FRAMINGS = [
    {},  # librosa's defaults: n_fft=2048, hop 512, Hann
    dict(n_fft=512, hop_length=160, win_length=400),  # 25 ms / 10 ms at 16 kHz
    dict(n_fft=511, hop_length=100),  # odd n_fft
    dict(n_fft=256, hop_length=64, center=False),
    dict(n_fft=400, window="hamming"),
    dict(n_fft=300, win_length=250, window=("kaiser", 8.0)),
    dict(n_fft=128, hop_length=128, window=np.random.default_rng(1).random(128)),
]


def relative_error(actual, expected):
    return np.max(np.abs(actual - expected)) / np.max(np.abs(expected))


def signal(n, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    return (np.sin(2 * np.pi * 220 * t * (1 + t)) + 0.3 * rng.standard_normal(n)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("framing", FRAMINGS, ids=range(len(FRAMINGS)))
def test_stft_matches_librosa(dtype, framing):
    y = signal(16000 + 123, dtype)
    expected = librosa.stft(y, **framing)
    actual = ak.stft(y, **framing)
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert relative_error(actual, expected) < TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pad_mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_every_pad_mode_matches_librosa(dtype, pad_mode):
    """librosa refuses 'wrap' (it pads only the edge frames); there np.pad of the
    whole signal, as the reference does, is the definition."""
    y = signal(3001, dtype, seed=2)
    if pad_mode == "wrap":
        window = ak.features.get_window("hann", 512, 512)
        expected = stft_ref(y, window, 512, 128, True, "wrap")
    else:
        expected = librosa.stft(y, n_fft=512, hop_length=128, pad_mode=pad_mode)
    actual = ak.stft(y, n_fft=512, hop_length=128, pad_mode=pad_mode)
    assert relative_error(actual, expected) < TOLERANCE[dtype]


@pytest.mark.parametrize("n", [1, 5, 100, 511])
def test_signal_shorter_than_n_fft_when_centred(n):
    y = signal(n, seed=n)
    expected = librosa.stft(y, n_fft=512, hop_length=128)
    np.testing.assert_allclose(ak.stft(y, n_fft=512, hop_length=128), expected, rtol=0, atol=1e-12 * max(1, np.abs(expected).max()))


def test_batch_shape_and_list_of_clips():
    batch = signal(3 * 4 * 2000).reshape(3, 4, 2000)
    S = ak.stft(batch, n_fft=256, hop_length=100)
    assert S.shape == (3, 4, 129, 21)
    np.testing.assert_array_equal(S[2, 1], ak.stft(batch[2, 1], n_fft=256, hop_length=100))
    clips = [signal(n, np.float32, seed=n) for n in (300, 4000, 257, 1)]
    spectra = ak.stft(clips, n_fft=256, hop_length=100)
    assert isinstance(spectra, list) and len(spectra) == 4
    for clip, spectrum in zip(clips, spectra):
        np.testing.assert_array_equal(spectrum, ak.stft(clip, n_fft=256, hop_length=100))
        assert relative_error(spectrum, librosa.stft(clip, n_fft=256, hop_length=100)) < 1e-5
    assert ak.stft([], n_fft=256) == []


def test_strided_input_is_read_correctly():
    y = signal(8000)
    np.testing.assert_array_equal(ak.stft(y[::2], n_fft=256), ak.stft(np.ascontiguousarray(y[::2]), n_fft=256))


def test_threads_give_identical_results():
    clips = [signal(16000, np.float32, seed=i) for i in range(7)]
    one = ak.power_spectrogram(clips, n_fft=512, hop_length=160, num_threads=1)
    two = ak.power_spectrogram(clips, n_fft=512, hop_length=160, num_threads=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("power", [1.0, 2.0, 1.5, 0.5])
def test_power_spectrogram_matches_librosa_magnitude(dtype, power):
    y = signal(12345, dtype)
    expected = np.abs(librosa.stft(y, n_fft=400, hop_length=160)) ** power
    actual = ak.power_spectrogram(y, n_fft=400, hop_length=160, power=power)
    assert actual.dtype == dtype
    assert relative_error(actual, expected) < 4 * TOLERANCE[dtype]


def well_conditioned(framing, n_frames, length):
    """Samples where the window's squared overlap-add is at least 1% of its peak.
    istft divides by that sum; where it is tiny (the first and last samples when
    center=False) both libraries amplify their own float rounding by up to 1e8,
    so only the well-conditioned samples can be compared at a fixed tolerance."""
    n_fft = framing.get("n_fft", 2048)
    win_length = framing.get("win_length", n_fft)
    hop = framing.get("hop_length", win_length // 4)
    window = ak.features.get_window(framing.get("window", "hann"), win_length, n_fft)
    envelope = np.zeros(n_fft + hop * (n_frames - 1))
    for t in range(n_frames):
        envelope[t * hop : t * hop + n_fft] += window**2
    if framing.get("center", True):
        envelope = envelope[n_fft // 2 :]
    envelope = np.pad(envelope, (0, max(0, length - envelope.size)))[:length]
    return envelope >= 0.01 * envelope.max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("framing", FRAMINGS[:5], ids=range(5))
@pytest.mark.parametrize("length", [None, 9000, 16123, 20000])
def test_istft_matches_librosa(dtype, framing, length):
    y = signal(16123, dtype)
    S = librosa.stft(y, **framing)
    expected = librosa.istft(S, length=length, **framing)
    actual = ak.istft(S, length=length, **framing)
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    mask = well_conditioned(framing, S.shape[-1], expected.shape[-1])
    scale = np.max(np.abs(expected))
    assert np.max(np.abs(actual - expected)[mask]) / scale < 10 * TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_istft_inverts_stft(dtype):
    y = signal(2 * 9999, dtype).reshape(2, 9999)
    back = ak.istft(ak.stft(y, n_fft=512, hop_length=128), hop_length=128, length=9999)
    assert back.shape == y.shape and back.dtype == dtype
    np.testing.assert_allclose(back, y, atol=10 * TOLERANCE[dtype])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 3000),
    n_fft=st.integers(1, 1024),
    hop=st.integers(1, 512),
    center=st.booleans(),
    pad_mode=st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]),
    seed=st.integers(0, 2**16),
)
def test_stft_fuzz_matches_reference_or_raises(n, n_fft, hop, center, pad_mode, seed):
    y = np.random.default_rng(seed).standard_normal(n)
    if pad_mode == "reflect" and center and n == 1 and n_fft > 1:
        pad_mode = "edge"  # numpy cannot reflect a single sample (ak repeats it, as 'edge')
    window = ak.features.get_window("hann", n_fft, n_fft)
    if not center and n < n_fft:
        with pytest.raises(ValueError, match="n_fft"):
            ak.stft(y, n_fft=n_fft, hop_length=hop, center=center, pad_mode=pad_mode)
        return
    expected = stft_ref(y, window, n_fft, hop, center, pad_mode)
    actual = ak.stft(y, n_fft=n_fft, hop_length=hop, center=center, pad_mode=pad_mode)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-10 * max(1.0, np.abs(expected).max()))
