"""Cochleagram: ERB-spaced 4th-order gammatone filterbank and per-frame RMS envelopes,
the auditory "second view" next to the mel spectrogram in dual-view emotion models.

Filters follow Slaney's implementation of the Patterson-Holdsworth filterbank (Apple
TR #35, 1993; Auditory Toolbox MakeERBFilters/ERBFilterBank): Glasberg & Moore ERB
``24.7 + f / 9.26449`` Hz, bandwidth ``1.019 * 2 pi * ERB``, four cascaded biquads with
unit gain at the centre frequency.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import _core
from .._checks import as_int, num_threads as _num_threads
from .spectrum import Signal, _maybe_pad, _signals

__all__ = ["erb_frequencies", "gammatone_coefficients", "cochleagram"]

_EAR_Q = 9.26449  # Glasberg and Moore
_MIN_BW = 24.7


def erb_frequencies(n_channels: int, *, fmin: float, fmax: float) -> np.ndarray:
    """``n_channels`` centre frequencies (Hz) equally spaced on the ERB-rate scale, from
    fmin up to just below fmax, in ascending order (Slaney's ERBSpace, reversed)."""
    n_channels = as_int("n_channels", n_channels, minimum=1)
    if not 0 < fmin < fmax:
        raise ValueError(f"invalid argument 'fmin': need 0 < fmin < fmax, got fmin={fmin}, fmax={fmax}")
    fraction = np.arange(1, n_channels + 1) / n_channels
    q = _EAR_Q * _MIN_BW
    descending = -q + np.exp(fraction * (np.log(fmin + q) - np.log(fmax + q))) * (fmax + q)
    return descending[::-1].copy()


def gammatone_coefficients(sr: float, centre_freqs: np.ndarray, width: float = 1.0) -> np.ndarray:
    """MakeERBFilters coefficient rows ``[A0, A11, A12, A13, A14, A2, B0, B1, B2, gain]``,
    one per centre frequency (Hz)."""
    cf = np.asarray(centre_freqs, dtype=np.float64)
    T = 1.0 / sr
    erb = width * (cf / _EAR_Q + _MIN_BW)
    B = 1.019 * 2 * np.pi * erb
    arg = 2 * np.pi * cf * T
    vec = np.exp(2j * arg)
    rt_pos, rt_neg = np.sqrt(3 + 2**1.5), np.sqrt(3 - 2**1.5)
    common = -T * np.exp(-B * T)
    k = [np.cos(arg) + rt_pos * np.sin(arg), np.cos(arg) - rt_pos * np.sin(arg),
         np.cos(arg) + rt_neg * np.sin(arg), np.cos(arg) - rt_neg * np.sin(arg)]
    gain_arg = np.exp(1j * arg - B * T)
    gain = np.abs(np.prod([vec - gain_arg * ki for ki in k], axis=0)
                  * (T * np.exp(B * T) / (-1 / np.exp(B * T) + 1 + vec * (1 - np.exp(B * T)))) ** 4)
    ones = np.ones_like(cf)
    return np.column_stack([T * ones, *(common * ki for ki in k), 0 * ones, ones,
                            -2 * np.cos(arg) / np.exp(B * T), np.exp(-2 * B * T), gain])


def cochleagram(
    y: Signal,
    *,
    sr: float = 16000,
    n_channels: int = 64,
    fmin: float = 50.0,
    fmax: Optional[float] = None,
    win_length: Optional[int] = None,
    hop_length: Optional[int] = None,
    num_threads: Optional[int] = None,
    pad: bool = False,
):
    """Gammatone cochleagram: RMS envelope of each ERB-spaced gammatone channel per frame.

    Parameters
    ----------
    y : ndarray (..., n_samples) float32/float64, or list of 1-D arrays
    sr : float
        Sampling rate (Hz).
    n_channels : int
        Number of gammatone channels.
    fmin, fmax : float
        Centre frequencies span [fmin, fmax) Hz on the ERB scale; fmax defaults to sr / 2.
    win_length, hop_length : int, optional
        Frame length and hop in samples; default 25 ms and 10 ms. Frames are not
        centred (as the gammatone package's gtgram): ``1 + (n - win_length) // hop_length``.
    num_threads : int, optional
    pad : bool
        For a list of clips, return ``(array, lengths)`` padded along frames.

    Returns
    -------
    ndarray (..., n_channels, n_frames), channels in ascending frequency (see
    :func:`erb_frequencies`), in the input's dtype; a list for a list input.
    """
    sr = float(sr)
    if not sr > 0:
        raise ValueError(f"invalid argument 'sr': must be positive, got {sr}")
    fmax = sr / 2 if fmax is None else float(fmax)
    if fmax > sr / 2:
        raise ValueError(f"invalid argument 'fmax': must be at most Nyquist ({sr / 2} Hz), got {fmax}")
    win_length = int(0.025 * sr) if win_length is None else as_int("win_length", win_length)
    hop_length = int(0.010 * sr) if hop_length is None else as_int("hop_length", hop_length)
    coefficients = gammatone_coefficients(sr, erb_frequencies(n_channels, fmin=float(fmin), fmax=fmax))
    batch, dtype, batch_shape = _signals(y)
    if batch_shape is None and not batch:
        return _maybe_pad([], pad)
    result = _core.cochleagram(batch, coefficients, win_length, hop_length, _num_threads(num_threads))
    if batch_shape is not None:
        result = result.reshape(batch_shape + result.shape[1:])
    return _maybe_pad(result, pad)
