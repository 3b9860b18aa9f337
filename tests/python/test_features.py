"""ak.stft / ak.power_spectrogram / ak.istft against librosa and the NumPy references.

Tolerance: max |affectkit - expected| / max |expected| below 1e-5 in float32 and
1e-12 in float64. librosa computes float32 input with float32 FFTs and float64
input in float64, so the bound is one FFT's rounding relative to the peak; the
references compute everything in float64.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import affectkit as ak
from reference import istft_ref, stft_ref

librosa = pytest.importorskip("librosa")

# librosa warns when a centred clip is shorter than n_fft; we test such clips on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.*too large:UserWarning")

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
PAD_MODES = ["constant", "edge", "reflect", "symmetric", "wrap"]
FRAMINGS = [
    {},  # librosa's defaults: n_fft=2048, hop 512, Hann
    dict(n_fft=512, hop_length=160, win_length=400),  # 25 ms / 10 ms at 16 kHz
    dict(n_fft=511, hop_length=100),  # odd n_fft
    dict(n_fft=256, hop_length=64, center=False),
    dict(n_fft=400, window="hamming"),
    dict(n_fft=300, win_length=250, window=("kaiser", 8.0)),
    dict(n_fft=128, hop_length=128, window=np.random.default_rng(1).random(128)),  # array of n_fft values
    dict(n_fft=256, win_length=200, hop_length=50, window=np.random.default_rng(2).random(200)),  # of win_length
    dict(n_fft=255, hop_length=300, center=False),  # hop > n_fft: samples skipped
]


def relative_error(actual, expected):
    return np.max(np.abs(actual - expected)) / np.max(np.abs(expected))


def signal(n, dtype=np.float64, seed=0):
    """A chirp plus noise: energy in every bin, and no two frames alike."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    return (np.sin(2 * np.pi * 220 * t * (1 + t)) + 0.3 * rng.standard_normal(n)).astype(dtype)


def hann(n_fft, win_length=None):
    return ak.features.get_window("hann", win_length or n_fft, n_fft)


def window_of(framing):
    n_fft = framing.get("n_fft", 2048)
    return ak.features.get_window(framing.get("window", "hann"), framing.get("win_length", n_fft), n_fft)


def hop_of(framing):
    n_fft = framing.get("n_fft", 2048)
    return framing.get("hop_length", framing.get("win_length", n_fft) // 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("framing", FRAMINGS, ids=range(len(FRAMINGS)))
def test_stft_matches_librosa_and_reference(dtype, framing):
    y = signal(16000 + 123, dtype)
    expected = librosa.stft(y, **framing)
    actual = ak.stft(y, **framing)
    assert actual.dtype == expected.dtype == {np.float32: np.complex64, np.float64: np.complex128}[dtype]
    assert actual.shape == expected.shape
    assert relative_error(actual, expected) < TOLERANCE[dtype]
    reference = stft_ref(y, window_of(framing), framing.get("n_fft", 2048), hop_of(framing),
                         framing.get("center", True))
    assert relative_error(actual, reference) < TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pad_mode", PAD_MODES)
@pytest.mark.parametrize("n", [3001, 700])  # librosa pads the two ends apart / the whole signal
def test_every_pad_mode_matches_librosa(dtype, pad_mode, n):
    """librosa refuses 'wrap' (it pads only the edge frames); there np.pad of the
    whole signal, as the reference does, is the definition."""
    y = signal(n, dtype, seed=2)
    expected_ref = stft_ref(y, hann(512), 512, 128, True, pad_mode)
    actual = ak.stft(y, n_fft=512, hop_length=128, pad_mode=pad_mode)
    assert relative_error(actual, expected_ref) < TOLERANCE[dtype]
    if pad_mode != "wrap":
        expected = librosa.stft(y, n_fft=512, hop_length=128, pad_mode=pad_mode)
        assert relative_error(actual, expected) < TOLERANCE[dtype]
    # the padding matters: the edge frames differ between modes
    if pad_mode != "constant":
        assert relative_error(actual[:, 0], ak.stft(y, n_fft=512, hop_length=128)[:, 0]) > 1e-3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pad_mode", PAD_MODES)
@pytest.mark.parametrize("n", [1, 2, 5, 100, 511])
def test_signal_shorter_than_n_fft_when_centred(dtype, pad_mode, n):
    """Pads longer than the signal: numpy reflects / wraps again and again (and a
    single sample reflects to itself); librosa pads such clips whole with np.pad."""
    y = signal(n, dtype, seed=n)
    actual = ak.stft(y, n_fft=512, hop_length=128, pad_mode=pad_mode)
    expected = stft_ref(y, hann(512), 512, 128, True, pad_mode)
    assert actual.shape == expected.shape == (257, 1 + n // 128)
    assert relative_error(actual, expected) < TOLERANCE[dtype]
    if pad_mode != "wrap":
        assert relative_error(actual, librosa.stft(y, n_fft=512, hop_length=128, pad_mode=pad_mode)) < TOLERANCE[dtype]


def test_reflect_pad_repeats_like_numpy():
    """Three samples, pad 8: numpy's 'reflect' bounces 1 2 3 2 1 2 3 ...; a frame
    of ones as window makes the padded frame visible through the inverse FFT."""
    y = np.array([1.0, 2.0, 3.0])
    S = ak.stft(y, n_fft=16, hop_length=16, window=np.ones(16), pad_mode="reflect")
    frame = np.fft.irfft(S[:, 0], 16)
    np.testing.assert_allclose(frame, np.pad(y, 8, mode="reflect")[:16], atol=1e-14)
    np.testing.assert_allclose(frame[:9], [1, 2, 3, 2, 1, 2, 3, 2, 1], atol=1e-14)


def test_reflect_tail_follows_numpy_where_librosa_cuts_the_tail_short():
    """librosa 0.11 pads the end of a long clip by reflecting only a short tail
    slice; when hop_length > n_fft / 2 that slice can hold fewer than pad + 1
    samples, and numpy then reflects within the slice, so librosa's last frame
    differs from padding the whole signal (its own definition and older
    versions). affectkit pads the whole signal; every other frame matches librosa."""
    n, n_fft, hop = 2985, 856, 995
    y = signal(n, seed=5)
    actual = ak.stft(y, n_fft=n_fft, hop_length=hop, pad_mode="reflect")
    assert relative_error(actual, stft_ref(y, hann(n_fft), n_fft, hop, True, "reflect")) < 1e-12
    expected = librosa.stft(y, n_fft=n_fft, hop_length=hop, pad_mode="reflect")
    assert relative_error(actual[:, :-1], expected[:, :-1]) < 1e-12


def test_batch_shape_and_list_of_clips():
    batch = signal(3 * 4 * 2000).reshape(3, 4, 2000)
    S = ak.stft(batch, n_fft=256, hop_length=100)
    assert S.shape == (3, 4, 129, 21)
    assert relative_error(S, librosa.stft(batch, n_fft=256, hop_length=100)) < 1e-12
    np.testing.assert_array_equal(S[2, 1], ak.stft(batch[2, 1], n_fft=256, hop_length=100))
    clips = [signal(n, np.float32, seed=n) for n in (300, 4000, 257, 1)]
    for container in (list, tuple):
        spectra = ak.stft(container(clips), n_fft=256, hop_length=100)
        assert isinstance(spectra, list) and len(spectra) == 4
        for clip, spectrum in zip(clips, spectra):
            assert spectrum.dtype == np.complex64
            np.testing.assert_array_equal(spectrum, ak.stft(clip, n_fft=256, hop_length=100))
            assert relative_error(spectrum, librosa.stft(clip, n_fft=256, hop_length=100)) < 1e-5
    assert ak.stft([], n_fft=256) == []


def test_power_spectrogram_of_a_list_equals_per_signal_calls():
    clips = [signal(n, seed=n) for n in (5000, 123, 16000)]
    for clip, P in zip(clips, ak.power_spectrogram(clips, n_fft=400, hop_length=160, power=1.5)):
        np.testing.assert_array_equal(P, ak.power_spectrogram(clip, n_fft=400, hop_length=160, power=1.5))


def test_strided_big_endian_and_unaligned_input_are_read_correctly():
    y = signal(8000)
    expected = ak.stft(np.ascontiguousarray(y[::2]), n_fft=256)
    np.testing.assert_array_equal(ak.stft(y[::2], n_fft=256), expected)
    np.testing.assert_array_equal(ak.stft(y[::2].astype(">f8"), n_fft=256), expected)
    unaligned = np.frombuffer(bytearray(8 * 4000 + 1), dtype=np.float64, offset=1, count=4000)
    assert not unaligned.flags.aligned
    unaligned[:] = y[::2]  # the buffer is writable: frombuffer of a bytearray
    np.testing.assert_array_equal(ak.stft(unaligned, n_fft=256), expected)
    y32 = y.astype(np.float32)
    np.testing.assert_array_equal(ak.stft(y32.astype(">f4"), n_fft=256), ak.stft(y32, n_fft=256))
    S = ak.stft(y, n_fft=256)
    np.testing.assert_array_equal(ak.istft(S.astype(">c16")), ak.istft(S))
    np.testing.assert_array_equal(ak.istft(S[:, ::2]), ak.istft(np.ascontiguousarray(S[:, ::2])))


def test_threads_give_identical_results():
    """Frame counts that are not multiples of the core's frame blocks, and more
    signals than threads, so the two runs split the work differently."""
    clips = [signal(16000 + 37 * i, np.float32, seed=i) for i in range(7)]
    batch = signal(5 * 9001, seed=9).reshape(5, 9001)
    for name, call in [
        ("stft list", lambda t: ak.stft(clips, n_fft=512, hop_length=160, num_threads=t)),
        ("power list", lambda t: ak.power_spectrogram(clips, n_fft=512, hop_length=160, num_threads=t)),
        ("stft batch", lambda t: ak.stft(batch, n_fft=400, hop_length=100, num_threads=t)),
        ("istft batch", lambda t: ak.istft(ak.stft(batch, n_fft=400, hop_length=100), n_fft=400,
                                           hop_length=100, num_threads=t)),
    ]:
        one, two = call(1), call(2)
        for a, b in zip(one, two):
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("power", [1.0, 2.0, 1.5, 0.5])
def test_power_spectrogram_matches_librosa_magnitude(dtype, power):
    """|X|**p moves the relative error of X by a factor p (d(x^p)/x^p = p dx/x),
    so the bound is the STFT's times max(1, p)."""
    y = signal(12345, dtype)
    expected = np.abs(librosa.stft(y, n_fft=400, hop_length=160)) ** power
    actual = ak.power_spectrogram(y, n_fft=400, hop_length=160, power=power)
    assert actual.dtype == dtype
    assert actual.shape == expected.shape
    assert relative_error(actual, expected) < max(1, power) * TOLERANCE[dtype]
    reference = np.abs(stft_ref(y, hann(400), 400, 160)) ** power
    assert relative_error(actual, reference) < max(1, power) * TOLERANCE[dtype]


def well_conditioned(framing, n_frames, length):
    """Samples where the window's squared overlap-add is at least 1% of its peak.
    istft divides by that sum; where it is tiny (the first and last samples when
    center=False) both libraries amplify their own float rounding by up to 1e8,
    so only the well-conditioned samples can be compared at a fixed tolerance."""
    n_fft = framing.get("n_fft", 2048)
    hop = hop_of(framing)
    window = window_of(framing)
    envelope = np.zeros(n_fft + hop * (n_frames - 1))
    for t in range(n_frames):
        envelope[t * hop : t * hop + n_fft] += window**2
    if framing.get("center", True):
        envelope = envelope[n_fft // 2 :]
    envelope = np.pad(envelope, (0, max(0, length - envelope.size)))[:length]
    return envelope >= 0.01 * envelope.max(initial=0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("framing", FRAMINGS[:6], ids=range(6))
@pytest.mark.parametrize("length", [None, 9000, 16123, 20000])  # natural length is 16123 when centred
def test_istft_matches_librosa(dtype, framing, length):
    y = signal(16123, dtype)
    S = librosa.stft(y, **framing)
    expected = librosa.istft(S, length=length, **framing)
    actual = ak.istft(S, length=length, **framing)
    assert actual.dtype == expected.dtype == dtype
    assert actual.shape == expected.shape
    mask = well_conditioned(framing, S.shape[-1], expected.shape[-1])
    assert mask[:16000].mean() > 0.95  # nearly every sample the frames cover is compared
    scale = np.max(np.abs(expected))
    assert np.max(np.abs(actual - expected)[mask]) / scale < TOLERANCE[dtype]
    if length is not None and length > 16123 + 2048:
        assert not np.any(actual[16123 + 2048 :])  # past the last frame: zeros


@pytest.mark.parametrize("n_fft", [512, 511, 6, 7])  # even / odd: the last bin is / is not Nyquist
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("length", [None, 100, 3000])
def test_istft_of_any_complex_matrix_matches_librosa_and_reference(n_fft, center, length):
    """Not the STFT of a signal: DC and Nyquist bins have imaginary parts, which the
    inverse real FFT must ignore as numpy's irfft does."""
    rng = np.random.default_rng(n_fft)
    S = rng.standard_normal((n_fft // 2 + 1, 20)) + 1j * rng.standard_normal((n_fft // 2 + 1, 20))
    hop = max(1, n_fft // 4)
    actual = ak.istft(S, n_fft=n_fft, hop_length=hop, center=center, length=length)
    expected = librosa.istft(S, n_fft=n_fft, hop_length=hop, center=center, length=length)
    assert actual.shape == expected.shape
    assert relative_error(actual, expected) < 1e-12
    reference = istft_ref(S, hann(n_fft), n_fft, hop, center, length)
    assert relative_error(actual, reference) < 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("framing", [dict(n_fft=512, hop_length=128), dict(n_fft=511, hop_length=100),
                                     dict(n_fft=400, win_length=300, hop_length=75, window="hamming")])
def test_istft_inverts_stft(dtype, framing):
    y = signal(2 * 9999, dtype).reshape(2, 9999)
    S = ak.stft(y, **framing)
    assert S.dtype == {np.float32: np.complex64, np.float64: np.complex128}[dtype]
    back = ak.istft(S, length=9999, **framing)
    assert back.shape == y.shape and back.dtype == dtype
    np.testing.assert_allclose(back, y, rtol=0, atol=TOLERANCE[dtype] * np.abs(y).max())


def test_istft_batch_and_length_zero():
    S = ak.stft(signal(3 * 2000).reshape(3, 2000), n_fft=256, hop_length=64)
    y = ak.istft(S, hop_length=64)
    assert y.shape == (3, 256 + 64 * (S.shape[-1] - 1) - 256)  # librosa's natural length
    np.testing.assert_array_equal(y[1], ak.istft(S[1], hop_length=64))
    assert ak.istft(S, hop_length=64, length=0).shape == (3, 0)


def test_quiet_frame_next_to_a_loud_one_keeps_its_own_precision():
    """Each frame's spectrum should carry rounding relative to its own size, as a
    plain real FFT gives, not to its neighbour's: digital silence stays (near)
    zero and a frame 100 dB below the next one keeps a float32-sized relative error."""
    rng = np.random.default_rng(0)
    y = np.zeros(512 * 8, np.float32)
    y[0:512] = 100 * rng.standard_normal(512)  # loud frame 0
    y[512:1024] = 1e-3 * rng.standard_normal(512)  # quiet frame 1
    y[1024:1536] = 100 * rng.standard_normal(512)  # loud frame 2; frame 3 is silence
    S = ak.stft(y, n_fft=512, hop_length=512, center=False)
    expected = stft_ref(y, hann(512), 512, 512, center=False)
    assert np.abs(S[:, 3]).max() < 1e-12  # silence
    assert relative_error(S[:, 1], expected[:, 1]) < 1e-5


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 3000),
    n_fft=st.integers(1, 1024),
    hop=st.integers(1, 512),
    center=st.booleans(),
    pad_mode=st.sampled_from(PAD_MODES),
    single=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_stft_fuzz_matches_librosa_or_reference_or_raises(n, n_fft, hop, center, pad_mode, single, seed):
    """Any framing either raises ValueError naming n_fft (uncentred signal shorter
    than n_fft) or matches librosa where librosa accepts the call and pads the
    whole signal, and the np.pad reference everywhere."""
    dtype = np.float32 if single else np.float64
    y = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    kwargs = dict(n_fft=n_fft, hop_length=hop, center=center, pad_mode=pad_mode)
    if not center and n < n_fft:
        with pytest.raises(ValueError, match="'n_fft'"):
            ak.stft(y, **kwargs)
        return
    actual = ak.stft(y, **kwargs)
    expected = stft_ref(y, hann(n_fft), n_fft, hop, center, pad_mode)
    assert actual.shape == expected.shape
    assert actual.dtype == (np.complex64 if single else np.complex128)
    scale = max(1.0, np.abs(expected).max())
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[dtype] * scale)
    pad = n_fft // 2
    start_k, tail_k = -(-pad // hop), (n + pad - n_fft) // hop + 1
    librosa_cuts_tail = (  # see test_reflect_tail_follows_numpy_where_librosa_cuts_the_tail_short
        center and tail_k > start_k and tail_k * hop - pad + n_fft <= n + pad
        and n - (tail_k * hop - pad) < pad + (pad_mode == "reflect")
    )
    if pad_mode == "wrap" or n_fft < 2 or librosa_cuts_tail:  # librosa refuses or pads differently
        return
    expected = librosa.stft(y, **kwargs)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[dtype] * scale)


@settings(max_examples=200, deadline=None)
@given(
    n_fft=st.integers(2, 600),
    hop_fraction=st.floats(0.05, 1.5),
    n_frames=st.integers(1, 40),
    center=st.booleans(),
    length=st.one_of(st.none(), st.integers(1, 20000)),
    seed=st.integers(0, 2**16),
)
def test_istft_fuzz_matches_librosa(n_fft, hop_fraction, n_frames, center, length, seed):
    """Random complex matrices, hops shorter and longer than the window: equal to
    librosa on the samples where the window's overlap-add is not tiny."""
    hop = max(1, int(hop_fraction * n_fft))
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((n_fft // 2 + 1, n_frames)) + 1j * rng.standard_normal((n_fft // 2 + 1, n_frames))
    framing = dict(n_fft=n_fft, hop_length=hop, center=center)
    actual = ak.istft(S, length=length, **framing)
    expected = librosa.istft(S, length=length, **framing)
    assert actual.shape == expected.shape
    mask = well_conditioned(framing, n_frames, expected.shape[-1])
    if expected.size and mask.any():
        scale = max(1e-300, np.abs(expected[mask]).max())
        assert np.max(np.abs(actual - expected)[mask]) / scale < 1e-10
