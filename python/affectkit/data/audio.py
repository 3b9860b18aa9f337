"""Reading audio files: soundfile to decode, channels mixed to mono, the core's
band-limited resampler (:func:`affectkit.resample`) to the sample rate asked for."""

from __future__ import annotations

import os
from typing import Optional, Tuple, Union

import numpy as np

from .._checks import as_int

__all__ = ["AudioError", "load_audio", "save_audio"]


class AudioError(ValueError):
    """An audio file that cannot be read or holds no usable samples; names the file."""


def load_audio(path: Union[str, "os.PathLike[str]"], *, sr: Optional[int] = 16000, mono: bool = True,
               dtype=np.float32) -> Tuple[np.ndarray, int]:
    """Reads ``path`` and returns ``(y, sr)``.

    Parameters
    ----------
    path : str or path
        Any format libsndfile reads (WAV, FLAC, OGG, AIFF, MP3 with libsndfile >= 1.1).
    sr : int or None
        Target sample rate in Hz; None keeps the file's rate.
    mono : bool
        Average the channels (``y`` is ``(n_samples,)``); otherwise ``(channels, n_samples)``.
    dtype : float32 or float64

    Returns
    -------
    y : ndarray, samples in [-1, 1]
    sr : int, the rate of ``y``

    Raises
    ------
    AudioError (a ValueError) naming the file when it is missing, unreadable, empty or
    holds NaN/Inf.
    """
    import soundfile

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"invalid argument 'path': must be a path, got {type(path).__name__}")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"invalid argument 'dtype': must be float32 or float64, got {np.dtype(dtype)}")
    target = None if sr is None else as_int("sr", sr, minimum=1)
    try:
        data, rate = soundfile.read(os.fspath(path), dtype="float64", always_2d=True)
    except Exception as error:  # soundfile raises LibsndfileError, RuntimeError, OSError, ...
        raise AudioError(f"cannot read audio file {os.fspath(path)!r}: {error}") from None
    if data.shape[0] == 0:
        raise AudioError(f"audio file {os.fspath(path)!r} holds no samples")
    if not np.isfinite(data).all():
        raise AudioError(f"audio file {os.fspath(path)!r} holds NaN or Inf samples")
    y = data.mean(axis=1) if mono else np.ascontiguousarray(data.T)
    if target is not None and target != rate:
        from ..features import resample

        y = resample(y, orig_sr=rate, target_sr=target)
        rate = target
    return y.astype(dtype, copy=False), int(rate)


def save_audio(path: Union[str, "os.PathLike[str]"], y: np.ndarray, sr: int) -> None:
    """Writes ``y`` ((n_samples,) or (channels, n_samples), in [-1, 1]) as 16-bit WAV."""
    import soundfile

    y = np.asarray(y)
    soundfile.write(os.fspath(path), y.T if y.ndim == 2 else y, as_int("sr", sr, minimum=1), subtype="PCM_16")
