"""Kaldi-compatible filterbank and MFCC features (compute-fbank-feats /
compute-mfcc-feats), with Kaldi's option names, batched and multi-threaded.

Differences from Kaldi's defaults, on purpose:

- ``dither`` defaults to 0 (Kaldi: 1.0, meant for int16-scale input; on audio in
  [-1, 1] it would swamp the signal). Dither noise is reproducible: it depends on
  ``seed`` and on the frame index only, not on threads or chunking; it is not
  Kaldi's random sequence.
- Input is used at its own scale. Kaldi reads int16 samples; pass ``y * 32768`` for
  Kaldi's numbers from audio in [-1, 1] (only log-energies shift otherwise:
  ``2 log(32768)``, except near the epsilon floors).
"""

from __future__ import annotations

import warnings
from typing import List, Optional, Sequence, Union

import numpy as np

from .. import _core
from .._checks import as_bool, as_float, as_int, num_threads as _num_threads
from .spectrum import Signal, _maybe_pad, _signals

__all__ = ["fbank", "kaldi_mfcc", "KaldiFbankStream"]

Features = Union[np.ndarray, List[np.ndarray]]

# Kaldi floors mel energies (and the log energy) at float epsilon, whatever the precision.
FLT_EPSILON = float(np.finfo(np.float32).eps)


def _options_of(arguments: dict) -> dict:
    """The Kaldi options among a function's arguments (its locals())."""
    return {name: value for name, value in arguments.items() if name in _FIELDS}


# Each KaldiOptions field and how its Python value is checked.
_FIELDS = {
    "sample_frequency": float, "frame_length": float, "frame_shift": float, "dither": float,
    "seed": lambda v: as_int("seed", v, minimum=0), "preemphasis_coefficient": float,
    "remove_dc_offset": bool, "window_type": str, "round_to_power_of_two": bool,
    "blackman_coeff": float, "snip_edges": bool, "num_mel_bins": int, "low_freq": float,
    "high_freq": float, "use_energy": bool, "energy_floor": float, "raw_energy": bool,
    "use_log_fbank": bool, "use_power": bool, "mel_floor": float, "htk_compat": bool,
    "num_ceps": int, "cepstral_lifter": float,
}
_CORE_NAMES = {"frame_length": "frame_length_ms", "frame_shift": "frame_shift_ms"}


def _options(**values):
    """The core's KaldiOptions from Kaldi-named keyword values."""
    o = _core.KaldiOptions()
    for name, value in values.items():
        kind = _FIELDS[name]
        if kind is bool:
            value = as_bool(name, value)
        elif kind is int:
            value = as_int(name, value)
        elif kind is float:
            value = as_float(name, value)
        else:
            value = kind(value)
        setattr(o, _CORE_NAMES.get(name, name), value)
    return o


def _compute(y: Signal, options, num_threads, first_frame=None) -> Features:
    batch, dtype, batch_shape = _signals(y)
    if batch_shape is None and not batch:
        return []
    lengths = [s.shape[-1] for s in batch] if batch_shape is None else [batch.shape[-1]]
    if options.snip_edges and any(n < _core.kaldi_window_size(options) for n in lengths):
        warnings.warn(
            f"invalid argument 'y': a signal is shorter than one frame "
            f"({_core.kaldi_window_size(options)} samples) with snip_edges=True; it gives 0 frames",
            UserWarning, stacklevel=3,
        )
    result = _core.kaldi_features(batch, options, first_frame, _num_threads(num_threads))
    if batch_shape is None:
        return result
    return result.reshape(batch_shape + result.shape[1:])


def fbank(
    y: Signal,
    *,
    sample_frequency: float = 16000.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    dither: float = 0.0,
    seed: int = 0,
    preemphasis_coefficient: float = 0.97,
    remove_dc_offset: bool = True,
    window_type: str = "povey",
    round_to_power_of_two: bool = True,
    blackman_coeff: float = 0.42,
    snip_edges: bool = True,
    num_mel_bins: int = 23,
    low_freq: float = 20.0,
    high_freq: float = 0.0,
    use_energy: bool = False,
    energy_floor: float = 0.0,
    raw_energy: bool = True,
    use_log_fbank: bool = True,
    use_power: bool = True,
    mel_floor: float = FLT_EPSILON,
    htk_compat: bool = False,
    num_threads: Optional[int] = None,
    pad: bool = False,
) -> Features:
    """Kaldi filterbank features (``compute-fbank-feats``).

    Parameters
    ----------
    y : ndarray (..., n_samples) float32/float64, or list of 1-D arrays
    sample_frequency : float
        Hz.
    frame_length, frame_shift : float
        Milliseconds (Kaldi rounds ``sample_frequency * ms / 1000`` down to samples).
    dither, seed : float, int
        Gaussian dither of standard deviation ``dither`` (see the module docs).
    preemphasis_coefficient, remove_dc_offset, window_type, round_to_power_of_two, blackman_coeff, snip_edges :
        Kaldi's frame-extraction options; ``window_type`` is 'povey', 'hamming',
        'hanning', 'rectangular' or 'blackman'. ``snip_edges=False`` centres frames
        and reflects the signal at its ends.
    num_mel_bins, low_freq, high_freq :
        Triangular bins equally spaced on Kaldi's mel scale ``1127 ln(1 + f / 700)``;
        ``high_freq <= 0`` means Nyquist + high_freq.
    use_energy, energy_floor, raw_energy :
        Prepend the log frame energy (before pre-emphasis and window when raw).
    use_log_fbank, use_power :
        Log of the mel energies; power or magnitude spectrum.
    mel_floor : float
        Mel energies are floored here before the log: Kaldi's float epsilon, HTK's 1.0
        (kaldi-native-fbank's ``eps``).
    htk_compat : bool
        Put the energy last instead of first, as HTK does.
    num_threads : int, optional
    pad : bool
        For a list of clips, return ``(array, lengths)`` padded along frames (axis -2).

    Returns
    -------
    ndarray (..., n_frames, num_mel_bins + use_energy), time-major as Kaldi; a list for
    a list input. ``n_frames = 1 + (n - frame) // shift`` with snip_edges, else
    ``(n + shift // 2) // shift``.
    """
    options = _options(**_options_of(locals()))
    return _maybe_pad(_compute(y, options, num_threads), pad, axis=-2)


def kaldi_mfcc(
    y: Signal,
    *,
    sample_frequency: float = 16000.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    dither: float = 0.0,
    seed: int = 0,
    preemphasis_coefficient: float = 0.97,
    remove_dc_offset: bool = True,
    window_type: str = "povey",
    round_to_power_of_two: bool = True,
    blackman_coeff: float = 0.42,
    snip_edges: bool = True,
    num_mel_bins: int = 23,
    low_freq: float = 20.0,
    high_freq: float = 0.0,
    num_ceps: int = 13,
    cepstral_lifter: float = 22.0,
    use_energy: bool = True,
    energy_floor: float = 0.0,
    raw_energy: bool = True,
    use_power: bool = True,
    mel_floor: float = FLT_EPSILON,
    htk_compat: bool = False,
    num_threads: Optional[int] = None,
    pad: bool = False,
) -> Features:
    """Kaldi MFCCs (``compute-mfcc-feats``): orthonormal DCT-II of the log mel energies,
    first ``num_ceps`` coefficients, lifter ``1 + (Q / 2) sin(pi n / Q)``, and C0
    replaced by the log energy when ``use_energy``. ``htk_compat`` puts C0 (times
    sqrt 2, HTK's DCT scale) or the energy last, as HTK orders them. Kaldi's MFCCs
    always use the power spectrum; ``use_power=False`` bins magnitudes instead, as
    HTK does by default (USEPOWER=F). Other options (``pad`` included) as :func:`fbank`.

    Returns (..., n_frames, num_ceps), time-major; a list for a list input.
    """
    if as_int("num_ceps", num_ceps) < 1:
        raise ValueError(f"invalid argument 'num_ceps': must be at least 1, got {num_ceps}")
    options = _options(**_options_of(locals()))
    return _maybe_pad(_compute(y, options, num_threads), pad, axis=-2)


def _option_defaults(function) -> dict:
    import inspect

    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "num_threads"}


class KaldiFbankStream:
    """Streaming Kaldi features: feed chunks with :meth:`accept_waveform` and get the
    frames each chunk completes. Their concatenation equals one call of
    :func:`fbank` (or :func:`kaldi_mfcc` with ``mfcc=True``) on the whole signal,
    dither included.

    Only ``snip_edges=True`` (Kaldi's default, and what online decoding uses): with
    ``snip_edges=False`` the last frames depend on the total length.

    >>> stream = KaldiFbankStream(num_mel_bins=80)
    >>> frames = [stream.accept_waveform(chunk) for chunk in chunks]  # (n_new, 80) each
    """

    def __init__(self, *, mfcc: bool = False, **options):
        function = kaldi_mfcc if mfcc else fbank
        defaults = _option_defaults(function)
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            raise TypeError(f"invalid argument '{unknown[0]}': not an option of {function.__name__}")
        merged = {**defaults, **options}
        if not merged["snip_edges"]:
            raise ValueError("invalid argument 'snip_edges': streaming supports only snip_edges=True")
        self._options = _options(**_options_of(merged), **({} if mfcc else {"num_ceps": 0}))
        self._size = _core.kaldi_window_size(self._options)
        self._shift = _core.kaldi_window_shift(self._options)
        self._buffer: Optional[np.ndarray] = None
        self._frames_done = 0

    @property
    def num_frames_done(self) -> int:
        """Frames emitted so far."""
        return self._frames_done

    def accept_waveform(self, chunk: np.ndarray) -> np.ndarray:
        """Appends 1-D samples; returns the newly complete frames (n_new, n_features)."""
        chunk = np.asarray(chunk)
        if chunk.ndim != 1:
            raise ValueError(f"invalid argument 'chunk': must be 1-D, got shape {chunk.shape}")
        self._buffer = chunk.copy() if self._buffer is None else np.concatenate([self._buffer, chunk])
        n = self._buffer.size
        n_frames = 0 if n < self._size else 1 + (n - self._size) // self._shift
        used = (n_frames - 1) * self._shift + self._size if n_frames else 0
        # One frame's worth of samples when none is complete: gives the right (0, F) shape.
        window = self._buffer[:used] if n_frames else np.zeros(0, self._buffer.dtype)
        frames = _core.kaldi_features([window], self._options, [self._frames_done], 1)[0]
        self._frames_done += n_frames
        self._buffer = self._buffer[n_frames * self._shift:]
        return frames
