"""Bad input raises TypeError/ValueError naming the argument; never a crash."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import affectkit as ak

Y = np.random.default_rng(0).standard_normal(4000)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda: ak.stft(Y.astype(np.int16)), TypeError, "y"),
        (lambda: ak.stft(Y.astype(np.float16)), TypeError, "y"),
        (lambda: ak.stft(Y.astype(np.complex128)), TypeError, "y"),
        (lambda: ak.stft("not audio"), TypeError, "y"),
        (lambda: ak.stft(np.array(1.0)), ValueError, "y"),
        (lambda: ak.stft(np.float64(1.0)), TypeError, "y"),
        (lambda: ak.stft(np.where(np.arange(4000) == 1234, np.nan, Y)), ValueError, "y"),
        (lambda: ak.stft(np.where(np.arange(4000) == 7, np.inf, Y).astype(np.float32)), ValueError, "y"),
        (lambda: ak.stft(Y[:1000], n_fft=2048, center=False), ValueError, "n_fft"),
        (lambda: ak.stft(Y, hop_length=0), ValueError, "hop_length"),
        (lambda: ak.stft(Y, hop_length=-1), ValueError, "hop_length"),
        (lambda: ak.stft(Y, n_fft=0), ValueError, "n_fft"),
        (lambda: ak.stft(Y, n_fft=2.5), TypeError, "n_fft"),
        (lambda: ak.stft(Y, n_fft=True), TypeError, "n_fft"),
        (lambda: ak.stft(Y, n_fft=256, win_length=512), ValueError, "win_length"),
        (lambda: ak.stft(Y, pad_mode="mirror"), ValueError, "pad_mode"),
        (lambda: ak.stft(Y, n_fft=256, window=np.ones(100)), ValueError, "window"),
        (lambda: ak.stft(Y, n_fft=256, window="no-such-window"), ValueError, "window"),
        (lambda: ak.stft(Y, n_fft=256, window=np.full(256, np.nan)), ValueError, "window"),
        (lambda: ak.stft(Y[:0]), ValueError, "y"),
        (lambda: ak.stft([Y, Y.astype(np.float32)]), TypeError, "y"),
        (lambda: ak.stft([Y, Y.reshape(2, -1)]), ValueError, "y"),
        (lambda: ak.stft(Y, num_threads=0), ValueError, "num_threads"),
        (lambda: ak.stft(Y, num_threads=1.5), TypeError, "num_threads"),
        (lambda: ak.power_spectrogram(Y, power=0), ValueError, "power"),
        (lambda: ak.power_spectrogram(Y, power=-1.0), ValueError, "power"),
        (lambda: ak.power_spectrogram(Y, power=np.nan), ValueError, "power"),
        (lambda: ak.power_spectrogram(Y, power="2"), TypeError, "power"),
        (lambda: ak.istft(np.zeros((1025, 4), np.complex64), n_fft=512), ValueError, "stft_matrix"),
        (lambda: ak.istft(np.zeros((1025, 4))), TypeError, "stft_matrix"),
        (lambda: ak.istft(np.zeros(1025, np.complex128)), ValueError, "stft_matrix"),
        (lambda: ak.istft(np.zeros((1025, 0), np.complex128)), ValueError, "stft_matrix"),
        (lambda: ak.istft(np.full((1025, 3), np.nan, np.complex128)), ValueError, "stft_matrix"),
        (lambda: ak.istft(np.zeros((1025, 3), np.complex128), length=-5), ValueError, "length"),
        (lambda: ak.istft([[1j]]), TypeError, "stft_matrix"),
    ],
)
def test_bad_call_names_the_argument(call, error, argument):
    with pytest.raises(error, match=f"'{argument}'"):
        call()


@settings(max_examples=100, deadline=None)
@given(
    shape=st.lists(st.integers(0, 40), min_size=0, max_size=3),
    dtype=st.sampled_from([np.float32, np.float64, np.int32, np.complex64, np.bool_]),
    n_fft=st.integers(-4, 64),
    hop=st.integers(-4, 64),
    win_length=st.one_of(st.none(), st.integers(-4, 80)),
    center=st.booleans(),
    pad_mode=st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap", "bogus"]),
)
def test_odd_inputs_raise_cleanly_or_succeed(shape, dtype, n_fft, hop, win_length, center, pad_mode):
    """Any combination either returns a spectrogram of the documented shape or
    raises TypeError/ValueError that names an argument; the process never dies."""
    y = np.ones(shape, dtype=dtype)
    try:
        S = ak.stft(y, n_fft=n_fft, hop_length=hop, win_length=win_length, center=center, pad_mode=pad_mode)
    except (TypeError, ValueError) as error:
        assert "invalid argument '" in str(error)
        return
    assert S.shape[:-2] == y.shape[:-1]
    assert S.shape[-2] == n_fft // 2 + 1
