"""Spectral and temporal descriptors with librosa's definitions: centroid,
bandwidth, roll-off, flatness, contrast, zero-crossing rate, RMS, plus spectral
flux and the spectral slope over a band.

Spectral descriptors take audio (the magnitude spectrogram is computed by the core,
batched and threaded) or a precomputed magnitude spectrogram ``S``; every function
accepts one signal, a batch ``(..., n)`` or a list of clips (-> a list). Outputs keep
librosa's shape ``(..., 1, n_frames)`` (contrast: ``(..., n_bands + 1, n_frames)``).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .._checks import as_int
from .mel import power_to_db
from .spectrum import map_frames, power_spectrogram, stft

__all__ = [
    "spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "spectral_flatness",
    "spectral_contrast", "spectral_flux", "spectral_slope", "zero_crossing_rate", "rms",
]


def _with_spectrum_doc(function):
    """Fills the shared parameter descriptions into a descriptor's docstring."""
    function.__doc__ = function.__doc__.replace("{spectrum}", _SPECTRUM_DOC)
    return function


def _magnitude(y, S, n_fft, hop_length, win_length, window, center, pad_mode, num_threads):
    if S is not None:
        if y is not None:
            raise ValueError("invalid argument 'S': give either y or S, not both")
        return S if isinstance(S, list) else np.asarray(S)
    if y is None:
        raise ValueError("invalid argument 'y': give an audio signal y or a magnitude spectrogram S")
    # Descriptors weight every bin (bandwidth by (f - centroid)**2), so the float32
    # FFT's absolute rounding in near-empty bins would show. Like librosa, float32
    # audio is transformed in float64 and the spectrum rounded to complex64.
    single = (isinstance(y, np.ndarray) and y.dtype == np.float32) or \
        (isinstance(y, list) and len(y) > 0 and np.asarray(y[0]).dtype == np.float32)
    framing = dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                   center=center, pad_mode=pad_mode, num_threads=num_threads)
    if not single:
        return power_spectrogram(y, power=1.0, **framing)
    y64 = [np.asarray(s, np.float64) for s in y] if isinstance(y, list) else y.astype(np.float64)
    spectra = stft(y64, **framing)
    if isinstance(spectra, list):
        return [np.abs(s.astype(np.complex64)) for s in spectra]
    return np.abs(spectra.astype(np.complex64))


def _each(S, feature: Callable[[np.ndarray], np.ndarray]):
    """feature(S) for an array, or for each spectrogram of a list (for features that
    look at more than one frame; per-frame features use map_frames)."""
    return [feature(np.asarray(s)) for s in S] if isinstance(S, list) else feature(S)


def _normalize_columns(S: np.ndarray) -> np.ndarray:
    """librosa.util.normalize(S, norm=1, axis=-2): sums in float64; columns summing
    below `tiny` are left alone."""
    length = np.sum(np.abs(S).astype(np.float64), axis=-2, keepdims=True)
    length[length < np.finfo(S.dtype).tiny] = 1.0
    return S / length


def _freqs(sr: float, n_bins: int, dtype) -> np.ndarray:
    return np.fft.rfftfreq(n=2 * (n_bins - 1), d=1.0 / sr).astype(np.float64)[:, None]


_SPECTRUM_DOC = """
    Parameters
    ----------
    y : ndarray (..., n_samples) or list of 1-D arrays, optional
    sr : float
        Sampling rate (Hz).
    S : ndarray (..., 1 + n_fft // 2, n_frames) or list, optional
        Magnitude spectrogram, instead of y.
    n_fft, hop_length, win_length, window, center, pad_mode, num_threads :
        As :func:`affectkit.stft` (hop_length defaults to 512, as librosa.feature).
"""


@_with_spectrum_doc
def spectral_centroid(y=None, *, sr: float = 22050, S=None, n_fft: int = 2048, hop_length: int = 512,
                      win_length: Optional[int] = None, window: Any = "hann", center: bool = True,
                      pad_mode: str = "constant", num_threads: Optional[int] = None):
    """Spectral centroid (Hz) per frame: ``sum_f f S[f] / sum_f S[f]``.
    {spectrum}
    Returns (..., 1, n_frames); 0 for silent frames."""
    S = _magnitude(y, S, n_fft, hop_length, win_length, window, center, pad_mode, num_threads)
    return map_frames(S, lambda s: np.sum(_freqs(sr, s.shape[-2], s.dtype) * _normalize_columns(s), axis=-2, keepdims=True))


@_with_spectrum_doc
def spectral_bandwidth(y=None, *, sr: float = 22050, S=None, n_fft: int = 2048, hop_length: int = 512,
                       win_length: Optional[int] = None, window: Any = "hann", center: bool = True,
                       pad_mode: str = "constant", norm: bool = True, p: float = 2.0,
                       num_threads: Optional[int] = None):
    """p-th order spectral bandwidth (Hz): ``(sum_f S[f] |f - centroid|**p) ** (1/p)``,
    with S normalised per frame when ``norm``.
    {spectrum}"""
    if not float(p) > 0:
        raise ValueError(f"invalid argument 'p': must be positive, got {p}")
    S = _magnitude(y, S, n_fft, hop_length, win_length, window, center, pad_mode, num_threads)

    def bandwidth(s):
        freq = _freqs(sr, s.shape[-2], s.dtype)
        normalized = _normalize_columns(s)
        centroid = np.sum(freq * normalized, axis=-2, keepdims=True)
        weights = normalized if norm else s
        return np.sum(weights * np.abs(freq - centroid) ** p, axis=-2, keepdims=True) ** (1.0 / p)

    return map_frames(S, bandwidth)


@_with_spectrum_doc
def spectral_rolloff(y=None, *, sr: float = 22050, S=None, n_fft: int = 2048, hop_length: int = 512,
                     win_length: Optional[int] = None, window: Any = "hann", center: bool = True,
                     pad_mode: str = "constant", roll_percent: float = 0.85, num_threads: Optional[int] = None):
    """Roll-off frequency (Hz): the lowest bin frequency below which ``roll_percent`` of
    the frame's magnitude lies.
    {spectrum}"""
    if not 0.0 < roll_percent < 1.0:
        raise ValueError(f"invalid argument 'roll_percent': must lie in (0, 1), got {roll_percent}")
    S = _magnitude(y, S, n_fft, hop_length, win_length, window, center, pad_mode, num_threads)

    def rolloff(s):
        total = np.cumsum(s, axis=-2)
        threshold = roll_percent * total[..., -1:, :]
        freq = _freqs(sr, s.shape[-2], s.dtype)
        return np.min(np.where(total < threshold, np.inf, freq), axis=-2, keepdims=True)

    return map_frames(S, rolloff)


@_with_spectrum_doc
def spectral_flatness(y=None, *, S=None, n_fft: int = 2048, hop_length: int = 512,
                      win_length: Optional[int] = None, window: Any = "hann", center: bool = True,
                      pad_mode: str = "constant", amin: float = 1e-10, power: float = 2.0,
                      num_threads: Optional[int] = None):
    """Spectral flatness (Wiener entropy): geometric over arithmetic mean of
    ``max(amin, S**power)`` per frame, in [0, 1].
    {spectrum}"""
    if not float(amin) > 0:
        raise ValueError(f"invalid argument 'amin': must be strictly positive, got {amin}")
    S = _magnitude(y, S, n_fft, hop_length, win_length, window, center, pad_mode, num_threads)

    def flatness(s):
        # Threshold in the input's precision as librosa, accumulate in float64: a float32
        # sum down the bin axis of a C-ordered array is sequential and drifts by ~1e-4.
        # Where the float32 power overflows (|S| > 1e19) it is taken in float64 instead of Inf.
        with np.errstate(over="ignore"):
            powered = s**power
        thresholded = np.maximum(amin, powered).astype(np.float64)
        overflow = np.isinf(thresholded) & np.isfinite(s)
        if overflow.any():
            thresholded[overflow] = s[overflow].astype(np.float64) ** power
        ratio = np.exp(np.mean(np.log(thresholded), axis=-2, keepdims=True)) / np.mean(thresholded, axis=-2, keepdims=True)
        return ratio.astype(s.dtype)

    return map_frames(S, flatness)


@_with_spectrum_doc
def spectral_contrast(y=None, *, sr: float = 22050, S=None, n_fft: int = 2048, hop_length: int = 512,
                      win_length: Optional[int] = None, window: Any = "hann", center: bool = True,
                      pad_mode: str = "constant", fmin: float = 200.0, n_bands: int = 6,
                      quantile: float = 0.02, linear: bool = False, num_threads: Optional[int] = None):
    """Spectral contrast (Jiang et al. 2002) in octave bands from ``fmin``: the dB
    difference between the mean of the top and bottom ``quantile`` of each band.
    {spectrum}
    Returns (..., n_bands + 1, n_frames)."""
    n_bands = as_int("n_bands", n_bands, minimum=1)
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"invalid argument 'quantile': must lie in (0, 1), got {quantile}")
    if not fmin > 0:
        raise ValueError(f"invalid argument 'fmin': must be positive, got {fmin}")
    octaves = np.zeros(n_bands + 2)
    octaves[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    if np.any(octaves[:-1] >= 0.5 * sr):
        raise ValueError(f"invalid argument 'n_bands': the bands from fmin={fmin} Hz exceed Nyquist ({sr / 2} Hz); "
                         "use fewer bands or a lower fmin")
    S = _magnitude(y, S, n_fft, hop_length, win_length, window, center, pad_mode, num_threads)

    def contrast(s):  # librosa.feature.spectral_contrast, band by band
        freq = _freqs(sr, s.shape[-2], s.dtype)[:, 0]
        shape = list(s.shape)
        shape[-2] = n_bands + 1
        valley, peak = np.zeros(shape), np.zeros(shape)
        for k, (f_low, f_high) in enumerate(zip(octaves[:-1], octaves[1:])):
            band = (freq >= f_low) & (freq <= f_high)
            idx = np.flatnonzero(band)
            if k > 0:
                band[idx[0] - 1] = True
            if k == n_bands:
                band[idx[-1] + 1:] = True
            sub = s[..., band, :]
            if k < n_bands:
                sub = sub[..., :-1, :]
            count = int(max(np.rint(quantile * np.sum(band)), 1))
            ordered = np.sort(sub, axis=-2)
            valley[..., k, :] = np.mean(ordered[..., :count, :], axis=-2)
            peak[..., k, :] = np.mean(ordered[..., -count:, :], axis=-2)
        return peak - valley if linear else power_to_db(peak) - power_to_db(valley)

    return map_frames(S, contrast)


def _root_sum_squares(x: np.ndarray, mean: bool = False) -> np.ndarray:
    """sqrt(sum of x**2) (or of its mean) over axis -2, keeping it; the squares are
    summed in float64, so float32 values up to 1e38 do not overflow to Inf."""
    squares = np.square(x, dtype=np.float64)
    total = squares.mean(axis=-2, keepdims=True) if mean else squares.sum(axis=-2, keepdims=True)
    return np.sqrt(total).astype(x.dtype, copy=False)


@_with_spectrum_doc
def spectral_flux(y=None, *, S=None, n_fft: int = 2048, hop_length: int = 512,
                  win_length: Optional[int] = None, window: Any = "hann", center: bool = True,
                  pad_mode: str = "constant", num_threads: Optional[int] = None):
    """Spectral flux: the L2 norm of the frame-to-frame change of the magnitude
    spectrum, ``sqrt(sum_f (S[f, t] - S[f, t-1])**2)``; 0 for the first frame.
    (openSMILE's cSpectral flux without its per-frame normalisation.)
    {spectrum}"""
    S = _magnitude(y, S, n_fft, hop_length, win_length, window, center, pad_mode, num_threads)

    return _each(S, lambda s: _root_sum_squares(np.diff(s, axis=-1, prepend=s[..., :1])))


@_with_spectrum_doc
def spectral_slope(y=None, *, sr: float = 22050, S=None, n_fft: int = 2048, hop_length: int = 512,
                   win_length: Optional[int] = None, window: Any = "hann", center: bool = True,
                   pad_mode: str = "constant", fmin: float = 0.0, fmax: Optional[float] = None,
                   num_threads: Optional[int] = None):
    """Spectral slope over [fmin, fmax] Hz: the least-squares slope of the magnitude
    spectrum against frequency (per Hz), per frame (eGeMAPS uses 0-500 and 500-1500 Hz
    on a dB spectrum: pass ``S=amplitude_to_db(S)`` for that).
    {spectrum}"""
    S = _magnitude(y, S, n_fft, hop_length, win_length, window, center, pad_mode, num_threads)
    fmax = sr / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sr / 2:
        raise ValueError(f"invalid argument 'fmax': need 0 <= fmin < fmax <= {sr / 2}, got fmin={fmin}, fmax={fmax}")

    def slope(s):
        freq = _freqs(sr, s.shape[-2], s.dtype)[:, 0]
        band = (freq >= fmin) & (freq <= fmax)
        if band.sum() < 2:
            raise ValueError(f"invalid argument 'fmax': [{fmin}, {fmax}] Hz holds fewer than 2 FFT bins")
        f = freq[band] - freq[band].mean()
        values = s[..., band, :]
        centred = values - values.mean(axis=-2, keepdims=True)
        return np.sum(f[:, None] * centred, axis=-2, keepdims=True) / np.sum(f**2)

    return map_frames(S, slope)


def _frames(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """(..., frame_length, n_frames) view, as librosa.util.frame."""
    if y.shape[-1] < frame_length:
        raise ValueError(f"invalid argument 'frame_length': {frame_length} exceeds the signal's "
                         f"{y.shape[-1]} samples (after padding)")
    windows = np.lib.stride_tricks.sliding_window_view(y, frame_length, axis=-1)[..., ::hop_length, :]
    return np.swapaxes(windows, -1, -2)


def _framed(y, frame_length: int, hop_length: int, center: bool, pad_mode: str):
    """Frames (..., frame_length, n_frames) of a signal, or a list of them for a list;
    ``center`` pads frame_length // 2 samples each side first."""
    if isinstance(y, list):
        return [_framed(s, frame_length, hop_length, center, pad_mode) for s in y]
    if center:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(frame_length // 2, frame_length // 2)], mode=pad_mode)
    return _frames(y, frame_length, hop_length)


def _audio(y, name="y"):
    if isinstance(y, list):
        return [_audio(s) for s in y]
    y = np.asarray(y)
    if y.dtype not in (np.float32, np.float64):
        raise TypeError(f"invalid argument '{name}': must be float32 or float64, got {y.dtype}")
    if y.ndim == 0 or y.shape[-1] == 0:
        raise ValueError(f"invalid argument '{name}': must have at least one sample, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"invalid argument '{name}': must be finite")
    return y


def zero_crossing_rate(y, *, frame_length: int = 2048, hop_length: int = 512, center: bool = True,
                       threshold: float = 1e-10):
    """Fraction of sign changes per frame, as librosa: samples with ``|y| <= threshold``
    count as zero (positive); ``center`` pads frame_length // 2 edge samples each side.

    Returns (..., 1, n_frames), or a list for a list input."""
    frame_length = as_int("frame_length", frame_length, minimum=1)
    hop_length = as_int("hop_length", hop_length, minimum=1)
    y = _audio(y)

    def rate(frames):
        frames = np.where(np.abs(frames) <= threshold, 0, frames) if threshold > 0 else frames
        sign = np.signbit(frames)
        crossings = np.concatenate([np.zeros_like(sign[..., :1, :]), sign[..., 1:, :] != sign[..., :-1, :]], axis=-2)
        return np.mean(crossings, axis=-2, keepdims=True)

    return map_frames(_framed(y, frame_length, hop_length, center, "edge"), rate)


def rms(y=None, *, S=None, frame_length: int = 2048, hop_length: int = 512, center: bool = True,
        pad_mode: str = "constant"):
    """Root-mean-square energy per frame, as ``librosa.feature.rms`` (from audio, or
    from a magnitude spectrogram S with Parseval's relation).

    Returns (..., 1, n_frames), or a list for a list input."""
    frame_length = as_int("frame_length", frame_length, minimum=1)
    hop_length = as_int("hop_length", hop_length, minimum=1)
    if S is not None:
        def from_spectrum(s):
            if s.shape[-2] != frame_length // 2 + 1:
                raise ValueError(f"invalid argument 'S': {s.shape[-2]} bins do not match frame_length={frame_length}")
            x = np.abs(s) ** 2
            x[..., 0, :] *= 0.5
            if frame_length % 2 == 0:
                x[..., -1, :] *= 0.5
            return np.sqrt(2 * np.sum(x, axis=-2, keepdims=True) / frame_length**2)
        return map_frames(S, from_spectrum)
    if y is None:
        raise ValueError("invalid argument 'y': give an audio signal y or a magnitude spectrogram S")
    y = _audio(y)

    return map_frames(_framed(y, frame_length, hop_length, center, pad_mode), lambda frames: _root_sum_squares(frames, mean=True))
