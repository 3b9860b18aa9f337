"""Band-limited resampling: polyphase windowed-sinc (Kaiser) in the core.

Quality presets (``res_type``), as trade-offs between speed and filter sharpness:

=========  ================================  ==========================
res_type   -6 dB cutoff (of lower Nyquist)   half-length (sinc zeros), Kaiser beta
=========  ================================  ==========================
'fast'     0.90                              20, 8
'hq'       0.94                              32, 10
'vhq'      0.97                              64, 12
=========  ================================  ==========================
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

import numpy as np

from .. import _core
from .._checks import as_bool, num_threads as _num_threads
from .spectrum import Signal, _maybe_pad, _signals

__all__ = ["resample", "RESAMPLE_PRESETS"]

RESAMPLE_PRESETS = {
    "fast": dict(cutoff=0.90, zeros=20, kaiser_beta=8.0),
    "hq": dict(cutoff=0.94, zeros=32, kaiser_beta=10.0),
    "vhq": dict(cutoff=0.97, zeros=64, kaiser_beta=12.0),
}


def _rate(name: str, value) -> Fraction:
    try:
        rate = Fraction(value).limit_denominator(1000)
    except (TypeError, ValueError):
        raise TypeError(f"invalid argument '{name}': must be a number of Hz, got {value!r}") from None
    if not rate > 0:
        raise ValueError(f"invalid argument '{name}': must be positive, got {value}")
    return rate


def resample(y: Signal, *, orig_sr: float, target_sr: float, res_type: str = "hq", fix: bool = True,
             scale: bool = False, num_threads: Optional[int] = None, pad: bool = False):
    """Resample from ``orig_sr`` to ``target_sr`` Hz, as ``librosa.resample``.

    Parameters
    ----------
    y : ndarray (..., n_samples) float32/float64, or list of 1-D arrays
    orig_sr, target_sr : float
        Sampling rates in Hz; their ratio is taken as an exact fraction.
    res_type : {'fast', 'hq', 'vhq'}
        Filter preset (see the module docs).
    fix : bool
        Must be True: the output has ``ceil(n * target_sr / orig_sr)`` samples.
    scale : bool
        Divide by ``sqrt(target_sr / orig_sr)`` to keep the signal's energy, as librosa.
    num_threads : int, optional
    pad : bool
        For a list of clips, return ``(array, lengths)`` zero-padded to the longest.

    Returns
    -------
    ndarray (..., ceil(n * target_sr / orig_sr)) in the input's dtype, or a list.
    """
    if res_type not in RESAMPLE_PRESETS:
        raise ValueError(f"invalid argument 'res_type': must be one of {sorted(RESAMPLE_PRESETS)}, got {res_type!r}")
    if not as_bool("fix", fix):
        raise ValueError("invalid argument 'fix': only fix=True (output length ceil(n * ratio)) is supported")
    ratio = _rate("target_sr", target_sr) / _rate("orig_sr", orig_sr)
    batch, dtype, batch_shape = _signals(y)
    if batch_shape is None and not batch:
        return _maybe_pad([], pad, core_ndim=1)
    if ratio == 1:
        return _maybe_pad([s.copy() for s in batch] if batch_shape is None else np.array(y, copy=True), pad, core_ndim=1)
    params = _core.ResampleParams()
    params.up, params.down = ratio.numerator, ratio.denominator
    for name, value in RESAMPLE_PRESETS[res_type].items():
        setattr(params, name, value)
    result = _core.resample(batch, params, _num_threads(num_threads))
    if scale:
        gain = float(np.sqrt(float(ratio)))
        result = [r / r.dtype.type(gain) for r in result] if batch_shape is None else result / result.dtype.type(gain)
    if batch_shape is not None:
        result = result.reshape(batch_shape + result.shape[-1:])
    return _maybe_pad(result, pad, core_ndim=1)
