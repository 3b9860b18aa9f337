"""Spectral features: STFT, inverse STFT and power spectrogram (librosa conventions).

Every function takes one signal ``(n_samples,)``, a batch ``(..., n_samples)``, or a
list of 1-D signals of different lengths, in float32 or float64; the output dtype
follows the input.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Union

import numpy as np

from .. import _core
from .._checks import INT64_MAX, as_bool, as_float, as_int, num_threads as _num_threads

__all__ = ["stft", "istft", "power_spectrogram", "get_window", "pad_batch"]

Signal = Union[np.ndarray, Sequence[np.ndarray]]

_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")

# The core's largest FFT (RealFFT). Checked before the window is built: a typo
# like n_fft=2**31 would otherwise allocate a 16 GB window and get the process
# killed before the core could refuse it.
_MAX_N_FFT = 2**30


def get_window(window: Any, win_length: int, n_fft: int, dtype: Any = np.float64) -> np.ndarray:
    """The analysis window as librosa builds it: periodic (``fftbins=True``) window of
    ``win_length`` samples, zero-padded on both sides to ``n_fft``.

    ``window`` is a name or tuple understood by ``scipy.signal.get_window`` (``"hann"``,
    ``("kaiser", 8.0)``, ...), a callable ``f(win_length) -> array``, or an array of
    ``win_length`` or ``n_fft`` values.
    """
    if win_length > n_fft:
        raise ValueError(
            f"invalid argument 'win_length': must be <= n_fft = {n_fft}, got {win_length}"
        )
    if callable(window):
        values = np.asarray(window(win_length), dtype=np.float64)
    elif isinstance(window, (str, tuple)) or np.isscalar(window):
        import scipy.signal  # imported here: scipy.signal takes ~0.2 s to import

        try:
            values = scipy.signal.get_window(window, win_length, fftbins=True)
        except ValueError as error:
            raise ValueError(f"invalid argument 'window': {error}") from None
    else:
        values = np.asarray(window)
        if np.iscomplexobj(values):  # a cast to float would drop the imaginary part silently
            raise TypeError(f"invalid argument 'window': must be real, got {values.dtype}")
        values = values.astype(np.float64)
        if values.ndim != 1 or values.shape[0] not in (win_length, n_fft):
            raise ValueError(
                f"invalid argument 'window': an array window must be 1-D with win_length = "
                f"{win_length} or n_fft = {n_fft} values, got shape {values.shape}"
            )
        if values.shape[0] == n_fft:
            return values.astype(dtype)
    if values.shape != (win_length,):
        raise ValueError(
            f"invalid argument 'window': must give {win_length} values, got shape {values.shape}"
        )
    left = (n_fft - win_length) // 2  # librosa.util.pad_center
    padded = np.zeros(n_fft, dtype=np.float64)
    padded[left : left + win_length] = values
    return padded.astype(dtype)


def map_frames(S, function):
    """``function`` (which treats every frame, the last axis, on its own) applied to an
    array, or to each array of a list as one call on their frames side by side: a
    list of clips costs one vectorised pass, not a Python loop of small ones."""
    if not isinstance(S, list):
        return function(np.asarray(S))
    arrays = [np.asarray(s) for s in S]
    if not arrays:
        return []
    if any(a.ndim == 0 or a.shape[:-1] != arrays[0].shape[:-1] or a.dtype != arrays[0].dtype for a in arrays):
        return [function(a) for a in arrays]  # nothing to join: item by item
    joined = function(np.concatenate(arrays, axis=-1))
    return np.split(joined, np.cumsum([a.shape[-1] for a in arrays])[:-1], axis=-1)


def pad_batch(items: Sequence[np.ndarray], *, axis: int = -1, pad_value: float = 0.0):
    """Stacks arrays that differ only in their length along ``axis`` (clips of different
    durations) into one array, padding at the end with ``pad_value``.

    Returns ``(batch, lengths)``: batch has shape ``(len(items), ...)`` with the longest
    length along ``axis``; ``lengths[i]`` is item i's own length (e.g. for a mask).
    """
    if isinstance(items, (str, bytes)) or not isinstance(items, (Sequence, np.ndarray)):
        raise TypeError(f"invalid argument 'items': must be a list of arrays, got {type(items).__name__}")
    items = [np.asarray(item) for item in items]
    if not items:
        raise ValueError("invalid argument 'items': nothing to pad")
    axis = as_int("axis", axis)
    for item in items:  # NaN is allowed: padding F0 tracks is a use
        if item.dtype.kind not in "biufc":
            raise TypeError(f"invalid argument 'items': must hold numeric arrays, got dtype {item.dtype}")
        if not -item.ndim <= axis < item.ndim:
            raise ValueError(f"invalid argument 'axis': {axis} is out of range for an item of shape {item.shape}")
    lengths = np.array([item.shape[axis] for item in items], dtype=np.int64)
    shape = list(items[0].shape)
    shape[axis] = int(lengths.max())
    batch = np.full([len(items)] + shape, pad_value, dtype=np.result_type(*items))
    for i, item in enumerate(items):
        others = [s for k, s in enumerate(item.shape) if k != axis % item.ndim]
        if others != [s for k, s in enumerate(shape) if k != axis % len(shape)]:
            raise ValueError(f"invalid argument 'items': item {i} has shape {item.shape}, which differs from "
                             f"item 0's {items[0].shape} in more than axis {axis}")
        index = [slice(None)] * item.ndim
        index[axis] = slice(0, item.shape[axis])
        batch[(i, *index)] = item
    return batch, lengths


def _maybe_pad(result, pad: bool, *, axis: int = -1, core_ndim: int = 2):
    """Applies pad=True: a list becomes (padded array, lengths); an array is returned
    with its (equal) lengths, shaped like its batch dimensions."""
    if not as_bool("pad", pad):
        return result
    if isinstance(result, list):
        if not result:
            raise ValueError("invalid argument 'y': pad=True needs at least one clip")
        return pad_batch(result, axis=axis)
    return result, np.full(result.shape[: result.ndim - core_ndim], result.shape[axis], dtype=np.int64)


def _framing(n_fft, hop_length, win_length, center, pad_mode):
    n_fft = as_int("n_fft", n_fft, minimum=1, maximum=_MAX_N_FFT)
    win_length = n_fft if win_length is None else as_int("win_length", win_length, minimum=1)
    if hop_length is None:
        hop_length = win_length // 4
        if hop_length < 1:
            raise ValueError(
                f"invalid argument 'hop_length': the default win_length // 4 is 0 for win_length = "
                f"{win_length}; pass a positive hop_length"
            )
    hop_length = as_int("hop_length", hop_length, maximum=INT64_MAX)
    if hop_length < 1:
        raise ValueError(
            f"invalid argument 'hop_length': must be a positive number of samples, got {hop_length}"
        )
    center = as_bool("center", center)
    if pad_mode not in _PAD_MODES:
        raise ValueError(
            f"invalid argument 'pad_mode': must be one of {', '.join(map(repr, _PAD_MODES))}, "
            f"got {pad_mode!r}"
        )
    return n_fft, hop_length, win_length, center


def _signals(y: Signal):
    """(core input, dtype, batch shape or None for a list, is_1d)."""
    if isinstance(y, np.ndarray):
        if y.ndim == 0:
            raise ValueError("invalid argument 'y': must have at least one dimension, got a scalar")
        rows = int(np.prod(y.shape[:-1]))  # not -1: a zero-length axis makes -1 ambiguous
        return y.reshape(rows, y.shape[-1]), y.dtype, y.shape[:-1]
    if isinstance(y, (list, tuple)):
        signals = [np.asarray(s) for s in y]
        for s in signals:
            if s.ndim != 1:
                raise ValueError(
                    f"invalid argument 'y': a list must hold 1-D signals, found shape {s.shape}"
                )
        return signals, None, None
    raise TypeError(
        f"invalid argument 'y': must be a numpy array or a list of 1-D arrays, got {type(y).__name__}"
    )


def _window_dtype(y, dtype):
    """The window's dtype: the signals' float32 or float64 (in native byte order, as
    the core converts a big-endian signal), float64 for anything the core refuses."""
    if dtype is None:  # a list: its first signal decides, as in the core
        dtype = y[0].dtype if len(y) else None
    if dtype is not None and dtype.kind == "f" and dtype.itemsize in (4, 8):
        return np.dtype(f"f{dtype.itemsize}")
    return np.dtype(np.float64)


def _check_fits(batch, batch_shape, n_fft: int) -> None:
    """Uncentred frames need n_fft samples. The core checks this too, but only after
    the window (n_fft values) has been built, which for a huge n_fft may not fit in
    memory; the message is the core's."""
    lengths = [batch.shape[-1]] if batch_shape is not None else [np.shape(s)[-1] for s in batch]
    shortest = min(lengths)
    if 1 <= shortest < n_fft:
        raise ValueError(
            f"invalid argument 'n_fft': is {n_fft} but the signal has only {shortest} samples "
            f"(center=False); use a shorter n_fft or center=True"
        )


def _run(y: Signal, core_call, window, n_fft, win_length, center: bool = True):
    batch, dtype, batch_shape = _signals(y)
    if batch_shape is None and not batch:
        return []
    if not center:
        _check_fits(batch, batch_shape, n_fft)
    w = get_window(window, win_length, n_fft, dtype=_window_dtype(batch, dtype))
    result = core_call(batch, w)
    if batch_shape is None:
        return result
    return result.reshape(batch_shape + result.shape[1:])


def stft(
    y: Signal,
    *,
    n_fft: int = 2048,
    hop_length: Optional[int] = None,
    win_length: Optional[int] = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    num_threads: Optional[int] = None,
    pad: bool = False,
):
    """Short-time Fourier transform, as ``librosa.stft``.

    Parameters
    ----------
    y : ndarray, shape (..., n_samples), float32 or float64; or list of 1-D arrays
        Audio signal(s). A list may hold clips of different lengths.
    n_fft : int
        FFT size in samples; the output has ``1 + n_fft // 2`` frequency bins.
    hop_length : int, optional
        Samples between frames; default ``win_length // 4``.
    win_length : int, optional
        Window length in samples (<= n_fft), zero-padded to ``n_fft``; default ``n_fft``.
    window : str, tuple, callable or array
        Window specification, as ``librosa.filters.get_window``.
    center : bool
        Pad ``n_fft // 2`` samples on both sides so frame ``t`` is centred at
        ``t * hop_length``.
    pad_mode : {'constant', 'edge', 'reflect', 'symmetric', 'wrap'}
        Padding used when ``center`` is true.
    num_threads : int, optional
        Threads to use; default all cores.
    pad : bool
        For a list of clips, return ``(array, lengths)``: the spectra zero-padded to
        the longest along the frame axis (see :func:`pad_batch`) and each clip's frames.

    Returns
    -------
    ndarray, shape (..., 1 + n_fft // 2, n_frames), complex64 or complex128
        ``n_frames = 1 + (n_samples + 2 * (n_fft // 2) * center - n_fft) // hop_length``.
        For a list input, a list of ``(1 + n_fft // 2, n_frames_i)`` arrays.
    """
    n_fft, hop_length, win_length, center = _framing(n_fft, hop_length, win_length, center, pad_mode)
    threads = _num_threads(num_threads)
    return _maybe_pad(_run(
        y,
        lambda batch, w: _core.stft(batch, w, n_fft, hop_length, center, pad_mode, threads),
        window, n_fft, win_length, center,
    ), pad)


def power_spectrogram(
    y: Signal,
    *,
    n_fft: int = 2048,
    hop_length: Optional[int] = None,
    win_length: Optional[int] = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    num_threads: Optional[int] = None,
    pad: bool = False,
):
    """``|stft(y)| ** power`` computed without storing the complex spectrum.

    Same arguments as :func:`stft` (``pad`` included), plus ``power`` (> 0; 1 for magnitude, 2 for
    power). Returns a real array of shape (..., 1 + n_fft // 2, n_frames) in the
    input's dtype (a list for a list input).
    """
    n_fft, hop_length, win_length, center = _framing(n_fft, hop_length, win_length, center, pad_mode)
    power = as_float("power", power)
    threads = _num_threads(num_threads)
    return _maybe_pad(_run(
        y,
        lambda batch, w: _core.power_spectrogram(
            batch, w, n_fft, hop_length, center, pad_mode, power, threads
        ),
        window, n_fft, win_length, center,
    ), pad)


def istft(
    stft_matrix: np.ndarray,
    *,
    hop_length: Optional[int] = None,
    win_length: Optional[int] = None,
    n_fft: Optional[int] = None,
    window: Any = "hann",
    center: bool = True,
    length: Optional[int] = None,
    num_threads: Optional[int] = None,
) -> np.ndarray:
    """Inverse STFT by weighted overlap-add, as ``librosa.istft``.

    Parameters
    ----------
    stft_matrix : ndarray, shape (..., 1 + n_fft // 2, n_frames), complex64 or complex128
    hop_length, win_length, window, center : as in :func:`stft`.
    n_fft : int, optional
        Default ``2 * (stft_matrix.shape[-2] - 1)``.
    length : int, optional
        Output length in samples (zero-padded or trimmed), as librosa.
    num_threads : int, optional
        Threads to use; default all cores.

    Returns
    -------
    ndarray, shape (..., n_samples), float32 for complex64 input, float64 for complex128
    """
    if not isinstance(stft_matrix, np.ndarray):
        raise TypeError(
            f"invalid argument 'stft_matrix': must be a numpy array, got {type(stft_matrix).__name__}"
        )
    if stft_matrix.ndim < 2:
        raise ValueError(
            "invalid argument 'stft_matrix': must have shape (..., 1 + n_fft // 2, n_frames), "
            f"got {stft_matrix.shape}"
        )
    if n_fft is None:
        if stft_matrix.shape[-2] < 2:
            raise ValueError(
                f"invalid argument 'stft_matrix': {stft_matrix.shape[-2]} frequency bin(s) give "
                f"n_fft = {2 * (stft_matrix.shape[-2] - 1)}; pass n_fft (1 for one bin)"
            )
        n_fft = 2 * (stft_matrix.shape[-2] - 1)
    n_fft, hop_length, win_length, center = _framing(n_fft, hop_length, win_length, center, "constant")
    if length is not None:
        length = as_int("length", length, minimum=0, maximum=INT64_MAX)
    threads = _num_threads(num_threads)
    single = stft_matrix.dtype.kind == "c" and stft_matrix.dtype.itemsize == 8  # complex64, either byte order
    real = np.float32 if single else np.float64
    w = get_window(window, win_length, n_fft, dtype=real)
    batch = stft_matrix.reshape((int(np.prod(stft_matrix.shape[:-2])),) + stft_matrix.shape[-2:])
    y = _core.istft(batch, w, n_fft, hop_length, center, length, threads)
    return y.reshape(stft_matrix.shape[:-2] + y.shape[-1:])
