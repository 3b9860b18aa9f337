"""Bad input raises TypeError/ValueError whose message names the argument (and,
where there is one, the bad value); never a crash. The fuzz runs in this process,
so a segfault fails the whole run."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import affectkit as ak

Y = np.random.default_rng(0).standard_normal(4000)
S = np.zeros((1025, 4), np.complex128)


@pytest.mark.parametrize(
    "call, error, argument, value",
    [
        (lambda: ak.stft(Y.astype(np.int16)), TypeError, "y", "int16"),
        (lambda: ak.stft(Y.astype(np.float16)), TypeError, "y", "float16"),
        (lambda: ak.stft(Y.astype(np.complex128)), TypeError, "y", "complex128"),
        (lambda: ak.stft(Y.astype(">i2")), TypeError, "y", "i2"),
        (lambda: ak.stft("not audio"), TypeError, "y", "str"),
        (lambda: ak.stft(s for s in [Y]), TypeError, "y", "generator"),
        (lambda: ak.stft(np.array(1.0)), ValueError, "y", "scalar"),
        (lambda: ak.stft(np.float64(1.0)), TypeError, "y", ""),
        (lambda: ak.stft(np.where(np.arange(4000) == 1234, np.nan, Y)), ValueError, "y", "nan"),
        (lambda: ak.stft(np.where(np.arange(4000) == 7, np.inf, Y).astype(np.float32)), ValueError, "y", "inf"),
        (lambda: ak.stft(np.where(np.arange(4000) == 7, -np.inf, Y)), ValueError, "y", "inf"),
        (lambda: ak.stft(Y[:1000], n_fft=2048, center=False), ValueError, "n_fft", "1000"),
        (lambda: ak.stft(Y, hop_length=0), ValueError, "hop_length", "0"),
        (lambda: ak.stft(Y, hop_length=-1), ValueError, "hop_length", "-1"),
        (lambda: ak.stft(Y, hop_length=2**70), ValueError, "hop_length", str(2**70)),
        (lambda: ak.stft(Y, hop_length=10.0), TypeError, "hop_length", "10.0"),
        (lambda: ak.stft(Y, n_fft=3), ValueError, "hop_length", "win_length // 4"),  # default hop is 0
        (lambda: ak.stft(Y, n_fft=0), ValueError, "n_fft", "0"),
        (lambda: ak.stft(Y, n_fft=-5), ValueError, "n_fft", "-5"),
        (lambda: ak.stft(Y, n_fft=2.5), TypeError, "n_fft", "2.5"),
        (lambda: ak.stft(Y, n_fft=True), TypeError, "n_fft", "True"),
        (lambda: ak.stft(Y, n_fft="512"), TypeError, "n_fft", "512"),
        # larger than the core's FFT: refused before a 16 GB window is built
        (lambda: ak.stft(Y, n_fft=2**31), ValueError, "n_fft", str(2**31)),
        (lambda: ak.stft(Y, n_fft=2**30, center=False), ValueError, "n_fft", "4000"),
        (lambda: ak.stft(Y, n_fft=256, win_length=512), ValueError, "win_length", "512"),
        (lambda: ak.stft(Y, win_length=0), ValueError, "win_length", "0"),
        (lambda: ak.stft(Y, pad_mode="mirror"), ValueError, "pad_mode", "mirror"),
        (lambda: ak.stft(Y, pad_mode=None), ValueError, "pad_mode", "None"),
        (lambda: ak.stft(Y, center="no"), TypeError, "center", "no"),
        (lambda: ak.stft(Y, n_fft=256, window=np.ones(100)), ValueError, "window", "100"),
        (lambda: ak.stft(Y, n_fft=256, window=np.ones((16, 16))), ValueError, "window", "(16, 16)"),
        (lambda: ak.stft(Y, n_fft=256, window=np.ones(256) * 1j), TypeError, "window", "complex"),
        (lambda: ak.stft(Y, n_fft=256, window=lambda n: np.ones(n + 1)), ValueError, "window", "257"),
        (lambda: ak.stft(Y, n_fft=256, window="no-such-window"), ValueError, "window", "no-such-window"),
        (lambda: ak.stft(Y, n_fft=256, window=np.full(256, np.nan)), ValueError, "window", "nan"),
        (lambda: ak.stft(Y[:0]), ValueError, "y", "0"),
        (lambda: ak.stft(np.zeros((3, 0))), ValueError, "y", "0"),
        (lambda: ak.stft([Y, Y.astype(np.float32)]), TypeError, "y", "float32"),
        (lambda: ak.stft([Y.astype(np.float32), Y]), TypeError, "y", "float64"),
        (lambda: ak.stft([Y, Y.astype(np.int32)]), TypeError, "y", "int32"),
        (lambda: ak.stft([Y, Y.reshape(2, -1)]), ValueError, "y", "(2, 2000)"),
        (lambda: ak.stft([Y, 1.0]), ValueError, "y", "()"),
        (lambda: ak.stft([Y, Y[:0]]), ValueError, "y", "0"),
        (lambda: ak.stft([Y, np.full(10, np.nan)]), ValueError, "y", "nan"),
        (lambda: ak.stft(Y, num_threads=0), ValueError, "num_threads", "0"),
        (lambda: ak.stft(Y, num_threads=-2), ValueError, "num_threads", "-2"),
        (lambda: ak.stft(Y, num_threads=1.5), TypeError, "num_threads", "1.5"),
        (lambda: ak.stft(Y, num_threads=2**40), ValueError, "num_threads", str(2**40)),
        (lambda: ak.power_spectrogram(Y, power=0), ValueError, "power", "0"),
        (lambda: ak.power_spectrogram(Y, power=-1.0), ValueError, "power", "-1"),
        (lambda: ak.power_spectrogram(Y, power=np.nan), ValueError, "power", "nan"),
        (lambda: ak.power_spectrogram(Y, power=np.inf), ValueError, "power", "inf"),
        (lambda: ak.power_spectrogram(Y, power="2"), TypeError, "power", "2"),
        (lambda: ak.power_spectrogram(Y, power=True), TypeError, "power", "True"),
        (lambda: ak.istft(np.zeros((1025, 4), np.complex64), n_fft=512), ValueError, "stft_matrix", "1025"),
        (lambda: ak.istft(np.zeros((1025, 4))), TypeError, "stft_matrix", "float64"),
        (lambda: ak.istft(np.zeros((1025, 4), np.float32)), TypeError, "stft_matrix", "float32"),
        (lambda: ak.istft(np.zeros(1025, np.complex128)), ValueError, "stft_matrix", "(1025,)"),
        (lambda: ak.istft(np.zeros((1025, 0), np.complex128)), ValueError, "stft_matrix", "0"),
        (lambda: ak.istft(np.zeros((1, 4), np.complex128)), ValueError, "stft_matrix", "1 frequency bin"),
        (lambda: ak.istft(np.full((1025, 3), np.nan, np.complex128)), ValueError, "stft_matrix", "nan"),
        # the index counts complex values (row-major), not their real and imaginary parts
        (lambda: ak.istft(np.where(np.arange(15).reshape(5, 3) == 11, 1j * np.nan, 0j)), ValueError,
         "stft_matrix", "flat index 11"),
        (lambda: ak.istft(np.full((1025, 3), complex(0, np.inf), np.complex64)), ValueError, "stft_matrix", "inf"),
        (lambda: ak.istft(S, length=-5), ValueError, "length", "-5"),
        (lambda: ak.istft(S, length=10.0), TypeError, "length", "10.0"),
        (lambda: ak.istft(S, hop_length=0), ValueError, "hop_length", "0"),
        (lambda: ak.istft(S, hop_length=2**62), ValueError, "hop_length", str(2**62)),  # overflows int64
        (lambda: ak.istft(S, win_length=4096), ValueError, "win_length", "4096"),
        (lambda: ak.istft(S, window=np.ones(7)), ValueError, "window", "7"),
        (lambda: ak.istft([[1j]]), TypeError, "stft_matrix", "list"),
    ],
)
def test_bad_call_names_the_argument(call, error, argument, value):
    with pytest.raises(error, match=f"invalid argument '{argument}'") as raised:
        call()
    assert value.lower() in str(raised.value).lower()


@settings(max_examples=200, deadline=None)
@given(
    shape=st.lists(st.integers(0, 40), min_size=0, max_size=3),
    dtype=st.sampled_from([np.float32, np.float64, ">f8", np.int32, np.complex64, np.bool_, np.float16]),
    fill=st.sampled_from([1.0, np.nan, np.inf, 0.0]),
    n_fft=st.integers(-4, 64),
    hop=st.integers(-4, 64),
    win_length=st.one_of(st.none(), st.integers(-4, 80)),
    center=st.booleans(),
    pad_mode=st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap", "bogus"]),
    as_list=st.booleans(),
    power=st.one_of(st.none(), st.floats(-2, 3), st.just(float("nan"))),
)
def test_odd_inputs_raise_cleanly_or_succeed(shape, dtype, fill, n_fft, hop, win_length, center, pad_mode,
                                             as_list, power):
    """Any combination either returns spectra of the documented shape or raises
    TypeError/ValueError that names an argument; the process never dies."""
    with np.errstate(invalid="ignore"):
        y = np.full(shape, fill).astype(dtype)
    if as_list:
        y = list(y) if y.ndim else [y]
    kwargs = dict(n_fft=n_fft, hop_length=hop, win_length=win_length, center=center, pad_mode=pad_mode)
    try:
        if power is None:
            S = ak.stft(y, **kwargs)
        else:
            S = ak.power_spectrogram(y, power=power, **kwargs)
    except (TypeError, ValueError) as error:
        assert "invalid argument '" in str(error)
        return
    for signal, spectrum in (zip(y, S) if as_list else [(y, S)]):
        assert spectrum.shape[:-2] == signal.shape[:-1]
        assert spectrum.shape[-2] == n_fft // 2 + 1
        assert np.all(np.isfinite(spectrum))


@settings(max_examples=200, deadline=None)
@given(
    shape=st.lists(st.integers(0, 20), min_size=0, max_size=4),
    dtype=st.sampled_from([np.complex64, np.complex128, np.float64, np.int64]),
    n_fft=st.one_of(st.none(), st.integers(-2, 40)),
    hop=st.one_of(st.none(), st.integers(-2, 50)),
    win_length=st.one_of(st.none(), st.integers(-2, 45)),
    center=st.booleans(),
    length=st.one_of(st.none(), st.integers(-3, 300)),
)
def test_odd_istft_inputs_raise_cleanly_or_succeed(shape, dtype, n_fft, hop, win_length, center, length):
    S = np.ones(shape, dtype=dtype)
    try:
        y = ak.istft(S, n_fft=n_fft, hop_length=hop, win_length=win_length, center=center, length=length)
    except (TypeError, ValueError) as error:
        assert "invalid argument '" in str(error)
        return
    assert y.shape[:-1] == S.shape[:-2]
    if length is not None:
        assert y.shape[-1] == length
    assert np.all(np.isfinite(y))


# ---- the torch op ---------------------------------------------------------


@pytest.fixture(scope="module")
def torch_op():
    torch = pytest.importorskip("torch")
    import affectkit.nn.functional as AF

    return torch, AF.causal_conv1d


def conv_inputs(torch, batch=2, channels=4, length=10, width=3, dtype=None):
    g = torch.Generator().manual_seed(0)
    dtype = dtype or torch.float32
    return (torch.randn(batch, channels, length, generator=g, dtype=dtype),
            torch.randn(channels, width, generator=g, dtype=dtype),
            torch.randn(channels, generator=g, dtype=dtype))


@pytest.mark.parametrize(
    "make, error, argument",
    [
        (lambda x, w, b: (x[0], w, b), ValueError, "x"),
        (lambda x, w, b: (x[None], w, b), ValueError, "x"),
        (lambda x, w, b: (x, w[:, None, :], b), ValueError, "weight"),  # mamba-ssm's (channels, 1, width)
        (lambda x, w, b: (x, w[:3], b), ValueError, "weight"),
        (lambda x, w, b: (x, w[:, :0], b), ValueError, "weight"),
        (lambda x, w, b: (x, w[0], b), ValueError, "weight"),
        (lambda x, w, b: (x, w, b[:2]), ValueError, "bias"),
        (lambda x, w, b: (x, w, b[:, None]), ValueError, "bias"),
        (lambda x, w, b: (x, w.double(), b), TypeError, "weight"),
        (lambda x, w, b: (x, w, b.double()), TypeError, "bias"),
        (lambda x, w, b: (x.double(), w, b), TypeError, "weight"),
        (lambda x, w, b: (x.long(), w.long(), b.long()), TypeError, "x"),
        (lambda x, w, b: (x.int(), w, b), TypeError, "x"),
        (lambda x, w, b: (x, w.int(), b), TypeError, "weight"),
        (lambda x, w, b: (x.half(), w.half(), b.half()), TypeError, "x"),
        (lambda x, w, b: (x.bfloat16(), w.bfloat16(), b.bfloat16()), TypeError, "x"),
        (lambda x, w, b: (x.to(x.dtype.to_complex()), w, b), TypeError, "x"),
    ],
)
def test_causal_conv1d_bad_input_names_the_argument(torch_op, make, error, argument):
    torch, causal_conv1d = torch_op
    with pytest.raises(error, match=f"invalid argument '{argument}'"):
        causal_conv1d(*make(*conv_inputs(torch)))


@pytest.mark.parametrize("activation", ["relu", "SiLU", "", 1, True])
def test_causal_conv1d_bad_activation(torch_op, activation):
    torch, causal_conv1d = torch_op
    with pytest.raises(ValueError, match="invalid argument 'activation'") as raised:
        causal_conv1d(*conv_inputs(torch), activation=activation)
    assert repr(activation) in str(raised.value)


@settings(max_examples=200, deadline=None)
@given(
    x_shape=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    w_shape=st.lists(st.integers(0, 6), min_size=1, max_size=3),
    b_shape=st.one_of(st.none(), st.lists(st.integers(0, 6), min_size=0, max_size=2)),
    dtypes=st.tuples(*[st.sampled_from(["float32", "float64", "int64"])] * 3),
    silu=st.booleans(),
)
def test_causal_conv1d_odd_inputs_match_reference_or_raise(torch_op, x_shape, w_shape, b_shape, dtypes, silu):
    """Random ranks, sizes (zeros included) and dtypes: the op agrees with the
    reference or raises TypeError/ValueError naming its argument."""
    torch, causal_conv1d = torch_op
    from reference import causal_conv1d_ref

    x = torch.ones(x_shape, dtype=getattr(torch, dtypes[0]))
    w = torch.full(w_shape, 0.5, dtype=getattr(torch, dtypes[1]))
    b = None if b_shape is None else torch.full(b_shape, 0.25, dtype=getattr(torch, dtypes[2]))
    activation = "silu" if silu else None
    try:
        out = causal_conv1d(x, w, b, activation)
    except (TypeError, ValueError) as error:
        assert "invalid argument '" in str(error)
        return
    assert out.shape == x.shape and out.dtype == x.dtype
    if out.numel():  # F.conv1d, in the reference, refuses empty inputs
        torch.testing.assert_close(out, causal_conv1d_ref(x, w, b, activation))
