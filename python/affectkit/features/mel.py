"""Mel filterbanks, mel spectrograms, decibels, MFCCs and deltas (librosa conventions).

The mel spectrogram is computed in one fused pass in the core (frame, window, FFT,
|X|**power, mel bands applied as sparse runs, optional dB); the filterbank itself
is built here with librosa's formulas and cached.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, List, Optional, Union

import numpy as np

from .. import _core
from .._checks import as_bool, as_float, as_int, finite_array, num_threads as _num_threads
from .spectrum import Signal, _framing, _maybe_pad, _run, map_frames

__all__ = [
    "hz_to_mel", "mel_to_hz", "mel_frequencies", "mel_filters", "melspectrogram",
    "power_to_db", "amplitude_to_db", "log_mel", "mfcc", "delta",
]

Spectrogram = Union[np.ndarray, List[np.ndarray]]

# Slaney's Auditory Toolbox mel scale: linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies, *, htk: bool = False):
    """Hz to mels: HTK ``2595 log10(1 + f / 700)`` or Slaney (librosa's default)."""
    frequencies = np.asanyarray(frequencies)
    if htk:
        return 2595.0 * np.log10(1.0 + frequencies / 700.0)
    mels = frequencies / _F_SP
    if frequencies.ndim:
        log_t = frequencies >= _MIN_LOG_HZ
        mels[log_t] = _MIN_LOG_MEL + np.log(frequencies[log_t] / _MIN_LOG_HZ) / _LOG_STEP
    elif frequencies >= _MIN_LOG_HZ:
        mels = _MIN_LOG_MEL + np.log(frequencies / _MIN_LOG_HZ) / _LOG_STEP
    return mels


def mel_to_hz(mels, *, htk: bool = False):
    """Mels to Hz, the inverse of :func:`hz_to_mel`."""
    mels = np.asanyarray(mels)
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    freqs = _F_SP * mels
    if mels.ndim:
        log_t = mels >= _MIN_LOG_MEL
        freqs[log_t] = _MIN_LOG_HZ * np.exp(_LOG_STEP * (mels[log_t] - _MIN_LOG_MEL))
    elif mels >= _MIN_LOG_MEL:
        freqs = _MIN_LOG_HZ * np.exp(_LOG_STEP * (mels - _MIN_LOG_MEL))
    return freqs


def mel_frequencies(n_mels: int = 128, *, fmin: float = 0.0, fmax: float = 11025.0, htk: bool = False) -> np.ndarray:
    """``n_mels`` frequencies (Hz) equally spaced on the mel scale from fmin to fmax."""
    mels = np.linspace(hz_to_mel(fmin, htk=htk), hz_to_mel(fmax, htk=htk), n_mels)
    return mel_to_hz(mels, htk=htk)


def mel_filters(
    *,
    sr: float,
    n_fft: int,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: Optional[float] = None,
    htk: bool = False,
    norm: Union[None, str, float] = "slaney",
    dtype: Any = np.float32,
) -> np.ndarray:
    """Mel filterbank, as ``librosa.filters.mel``: triangles in Hz between mel-spaced
    edges.

    Parameters
    ----------
    sr : float
        Sampling rate (Hz).
    n_fft : int
        FFT size; the filters cover its ``1 + n_fft // 2`` bins.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Lowest and highest edge (Hz); ``fmax`` defaults to ``sr / 2``.
    htk : bool
        HTK mel scale instead of Slaney's.
    norm : None, 'slaney' or float
        'slaney' divides each triangle by its width in Hz (constant energy per band);
        a number p normalises each filter to unit Lp norm (``np.inf`` for max).
    dtype : float32 or float64

    Returns
    -------
    ndarray, shape (n_mels, 1 + n_fft // 2)

    Warns if some filters are empty (n_mels too large for n_fft and sr), as librosa.
    """
    sr = float(sr)
    if not sr > 0:
        raise ValueError(f"invalid argument 'sr': must be a positive sampling rate, got {sr}")
    n_fft = as_int("n_fft", n_fft, minimum=1)
    n_mels = as_int("n_mels", n_mels, minimum=1)
    fmax = sr / 2 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax:
        raise ValueError(f"invalid argument 'fmin': must satisfy 0 <= fmin < fmax = {fmax}, got {fmin}")
    if fmax > sr / 2:
        raise ValueError(f"invalid argument 'fmax': must be at most the Nyquist frequency {sr / 2}, got {fmax}")
    if not (norm is None or norm == "slaney" or (not isinstance(norm, str) and float(norm) > 0)):
        raise ValueError(f"invalid argument 'norm': must be None, 'slaney' or a positive number, got {norm!r}")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"invalid argument 'dtype': must be float32 or float64, got {np.dtype(dtype)}")
    bank = _mel_filters(sr, n_fft, n_mels, float(fmin), fmax, bool(htk), norm, np.dtype(dtype).name)
    if bank.empty_bands:
        warnings.warn(
            f"Empty filters detected in mel frequency basis (n_mels={n_mels}, n_fft={n_fft}, sr={sr}): "
            "some channels will produce empty responses. Increase n_fft or reduce n_mels.",
            UserWarning, stacklevel=2,
        )
    return bank.matrix.astype(dtype)  # a copy: the cached bank stays read-only


class _Bank:
    def __init__(self, matrix: np.ndarray, empty_bands: bool):
        self.matrix = matrix
        self.matrix.flags.writeable = False
        self.empty_bands = empty_bands


@functools.lru_cache(maxsize=64)
def _mel_filters(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype) -> _Bank:
    # librosa.filters.mel, operation for operation, so that float32 rounds alike.
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=dtype)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    elif norm is not None:  # librosa.util.normalize: lengths in float64, result in dtype
        p = float(norm)
        magnitude = np.abs(weights).astype(np.float64)
        length = np.max(magnitude, axis=-1, keepdims=True) if np.isinf(p) else \
            np.sum(magnitude**p, axis=-1, keepdims=True) ** (1.0 / p)
        length[length < np.finfo(weights.dtype).tiny] = 1.0
        weights = (weights / length).astype(dtype)
    empty = not np.all((mel_f[:-2] == 0) | (weights.max(axis=1) > 0))
    return _Bank(weights, empty)


def _mel_basis(dtype, sr, n_fft, n_mels, fmin, fmax, htk, norm) -> np.ndarray:
    # librosa.feature.melspectrogram builds its filters in float32 (mel's default
    # dtype) whatever the signal's precision; so do we, to give its numbers.
    basis = mel_filters(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    return basis.astype(dtype, copy=False)


def _signal_dtype(y) -> Any:
    if isinstance(y, np.ndarray):
        first = y
    else:  # a list of signals, or something the core will refuse with a clear message
        first = np.asarray(y[0]) if isinstance(y, (list, tuple)) and len(y) else np.zeros(0)
    return first.dtype if first.dtype in (np.float32, np.float64) else np.float64


def _filterbank(y, sr, n_fft, hop_length, win_length, window, center, pad_mode, power,
                n_mels, fmin, fmax, htk, norm, decibels, ref, amin, top_db, num_threads):
    n_fft, hop_length, win_length, center = _framing(n_fft, hop_length, win_length, center, pad_mode)
    power = as_float("power", power)
    basis = _mel_basis(_signal_dtype(y), sr, n_fft, n_mels, fmin, fmax, htk, norm)
    threads = _num_threads(num_threads)
    return _run(
        y,
        lambda batch, w: _core.filterbank_spectrogram(
            batch, w, basis, n_fft, hop_length, center, pad_mode, power, decibels,
            float(amin), float(ref), None if top_db is None else float(top_db), threads),
        window, n_fft, win_length,
    )


def melspectrogram(
    y: Optional[Signal] = None,
    *,
    sr: float = 22050,
    S: Optional[np.ndarray] = None,
    n_fft: int = 2048,
    hop_length: int = 512,  # librosa.feature's default (not win_length // 4 as in stft)
    win_length: Optional[int] = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: Optional[float] = None,
    htk: bool = False,
    norm: Union[None, str, float] = "slaney",
    num_threads: Optional[int] = None,
    pad: bool = False,
) -> Spectrogram:
    """Mel spectrogram, as ``librosa.feature.melspectrogram``: ``mel_filters @ |stft(y)|**power``.

    Parameters
    ----------
    y : ndarray (..., n_samples) float32/float64, or list of 1-D arrays
        Audio; or give ``S`` instead.
    sr : float
        Sampling rate (Hz).
    S : ndarray (..., 1 + n_fft // 2, n_frames), optional
        A precomputed (power) spectrogram to project onto the mel bands.
    n_fft, hop_length, win_length, window, center, pad_mode : as :func:`affectkit.stft`.
    power : float
        Exponent of the magnitude (2: power, 1: magnitude).
    n_mels, fmin, fmax, htk, norm : as :func:`mel_filters`.
    num_threads : int, optional
    pad : bool
        For a list of clips, return ``(array, lengths)`` padded along frames.

    Returns
    -------
    ndarray (..., n_mels, n_frames) in the input's dtype (a list for a list input).
    """
    if S is not None:
        if y is not None:
            raise ValueError("invalid argument 'S': give either y or S, not both")
        S = np.asarray(S)
        basis = _mel_basis(S.dtype if S.dtype in (np.float32, np.float64) else np.float64, sr,
                           2 * (S.shape[-2] - 1), n_mels, fmin, fmax, htk, norm)
        return np.einsum("...ft,mf->...mt", S, basis, optimize=True)
    if y is None:
        raise ValueError("invalid argument 'y': give an audio signal y or a spectrogram S")
    return _maybe_pad(_filterbank(y, sr, n_fft, hop_length, win_length, window, center, pad_mode, power,
                                  n_mels, fmin, fmax, htk, norm, False, 1.0, 1e-10, None, num_threads), pad)


def _check_db(ref, amin, top_db):
    if not float(amin) > 0:
        raise ValueError(f"invalid argument 'amin': must be strictly positive, got {amin}")
    if top_db is not None and not float(top_db) >= 0:
        raise ValueError(f"invalid argument 'top_db': must be non-negative or None, got {top_db}")


def power_to_db(S, *, ref: Union[float, Callable] = 1.0, amin: float = 1e-10,
                top_db: Optional[float] = 80.0) -> Spectrogram:
    """Power to decibels, as ``librosa.power_to_db``:
    ``10 log10(max(amin, S)) - 10 log10(max(amin, ref))``, then values more than
    ``top_db`` below the maximum are raised to it.

    ``ref`` may be a callable (e.g. ``np.max``) applied to ``S``. For a list of
    spectrograms each one is converted on its own (its own max and ref)."""
    _check_db(ref, amin, top_db)
    if isinstance(S, list):
        return [power_to_db(s, ref=ref, amin=amin, top_db=top_db) for s in S]
    if np.iscomplexobj(S):
        raise TypeError("invalid argument 'S': must be real (a power spectrogram); use np.abs(S)**2")
    S = finite_array("S", S)
    ref_value = ref(S) if callable(ref) else np.abs(ref)
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref_value))
    if top_db is not None:
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


def amplitude_to_db(S, *, ref: Union[float, Callable] = 1.0, amin: float = 1e-5,
                    top_db: Optional[float] = 80.0) -> Spectrogram:
    """Amplitude to decibels, as ``librosa.amplitude_to_db``: ``power_to_db(S**2,
    ref=ref**2, amin=amin**2, top_db)``."""
    _check_db(ref, amin, top_db)
    if isinstance(S, list):
        return [amplitude_to_db(s, ref=ref, amin=amin, top_db=top_db) for s in S]
    magnitude = np.abs(finite_array("S", S, complex_ok=True))
    ref_value = ref(magnitude) if callable(ref) else np.abs(ref)
    # Squares above the dtype's range (|S| > 1.8e19 in float32) are taken in float64, not Inf.
    wide = magnitude.dtype.kind == "f" and magnitude.max() > np.sqrt(np.finfo(magnitude.dtype).max)
    power = np.square(magnitude, dtype=np.float64 if wide else None)
    return power_to_db(power, ref=ref_value**2, amin=amin**2, top_db=top_db).astype(magnitude.dtype, copy=False)


def log_mel(
    y: Signal,
    *,
    sr: float = 22050,
    n_fft: int = 2048,
    hop_length: int = 512,  # librosa.feature's default (not win_length // 4 as in stft)
    win_length: Optional[int] = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: Optional[float] = None,
    htk: bool = False,
    norm: Union[None, str, float] = "slaney",
    ref: Union[float, Callable] = 1.0,
    amin: float = 1e-10,
    top_db: Optional[float] = 80.0,
    num_threads: Optional[int] = None,
    pad: bool = False,
) -> Spectrogram:
    """``power_to_db(melspectrogram(y, ...), ref, amin, top_db)`` in one fused pass.

    Arguments as :func:`melspectrogram` (``pad`` included) and :func:`power_to_db`; ``top_db`` applies
    per clip (each clip of a batch as if it were alone). Returns
    (..., n_mels, n_frames) in dB, or a list for a list input.
    """
    _check_db(ref, amin, top_db)
    if callable(ref):  # the reference depends on each clip's values: not fused
        S = melspectrogram(y, sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                           window=window, center=center, pad_mode=pad_mode, power=power,
                           n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm,
                           num_threads=num_threads)
        if isinstance(S, list):
            return _maybe_pad(power_to_db(S, ref=ref, amin=amin, top_db=top_db), pad)
        clips = S.reshape((-1,) + S.shape[-2:])
        return _maybe_pad(np.stack([power_to_db(c, ref=ref, amin=amin, top_db=top_db) for c in clips]).reshape(S.shape)
                          if len(clips) else S, pad)
    return _maybe_pad(_filterbank(y, sr, n_fft, hop_length, win_length, window, center, pad_mode, power,
                                  n_mels, fmin, fmax, htk, norm, True, ref, amin, top_db, num_threads), pad)


def mfcc(
    y: Optional[Signal] = None,
    *,
    sr: float = 22050,
    S: Optional[np.ndarray] = None,
    n_mfcc: int = 20,
    dct_type: int = 2,
    norm: Optional[str] = "ortho",
    lifter: float = 0,
    mel_norm: Union[None, str, float] = "slaney",
    pad: bool = False,
    **kwargs: Any,
) -> Spectrogram:
    """Mel-frequency cepstral coefficients, as ``librosa.feature.mfcc``: the DCT
    (type ``dct_type``, ``norm``) of the log-mel spectrogram over the mel axis,
    first ``n_mfcc`` coefficients, optional liftering
    ``M[n] *= 1 + (lifter / 2) sin(pi (n + 1) / lifter)``.

    ``S`` may give a log-mel spectrogram (..., n_mels, n_frames); otherwise
    ``log_mel(y, sr=sr, norm=mel_norm, **kwargs)`` is used (``top_db`` per clip).
    Returns (..., n_mfcc, n_frames), or a list for a list input (``(array, lengths)``
    padded along frames with ``pad=True``).
    """
    import scipy.fft

    n_mfcc = as_int("n_mfcc", n_mfcc, minimum=1)
    if dct_type not in (1, 2, 3):
        raise ValueError(f"invalid argument 'dct_type': must be 1, 2 or 3, got {dct_type!r}")
    if not float(lifter) >= 0:
        raise ValueError(f"invalid argument 'lifter': must be a non-negative number, got {lifter}")
    if S is None:
        if y is None:
            raise ValueError("invalid argument 'y': give an audio signal y or a log-mel spectrogram S")
        S = log_mel(y, sr=sr, norm=mel_norm, **kwargs)
    elif y is not None:
        raise ValueError("invalid argument 'S': give either y or S, not both")

    def cepstrum(log_mel_spectrum: np.ndarray) -> np.ndarray:
        M = scipy.fft.dct(log_mel_spectrum, axis=-2, type=dct_type, norm=norm)[..., :n_mfcc, :]
        if lifter > 0:
            LI = np.sin(np.pi * np.arange(1, 1 + n_mfcc, dtype=M.dtype) / lifter)
            M *= (1 + (lifter / 2) * LI)[:, np.newaxis]
        return M

    return _maybe_pad(map_frames(S, cepstrum), pad)


def delta(data, *, width: int = 9, order: int = 1, axis: int = -1, mode: str = "interp") -> Spectrogram:
    """Delta features, as ``librosa.feature.delta``: the ``order``-th derivative of a
    local polynomial fit (Savitzky-Golay, ``scipy.signal.savgol_filter``) over
    ``width`` frames along ``axis``. A list is processed item by item.
    """
    import scipy.signal

    if isinstance(data, list):
        return [delta(d, width=width, order=order, axis=axis, mode=mode) for d in data]
    data = finite_array("data", data)
    width = as_int("width", width)
    order = as_int("order", order, minimum=1)
    axis = as_int("axis", axis)
    if not -data.ndim <= axis < data.ndim:
        raise ValueError(f"invalid argument 'axis': {axis} is out of range for data of shape {data.shape}")
    if width < 3 or width % 2 != 1:
        raise ValueError(f"invalid argument 'width': must be an odd integer >= 3, got {width}")
    if mode == "interp" and width > data.shape[axis]:
        raise ValueError(
            f"invalid argument 'width': with mode='interp' it must be at most the {data.shape[axis]} "
            f"frames along axis {axis}, got {width}"
        )
    return scipy.signal.savgol_filter(data, width, deriv=order, polyorder=order, axis=axis, mode=mode)
