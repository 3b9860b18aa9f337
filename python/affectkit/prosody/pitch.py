"""F0 by Praat's autocorrelation method (``Sound: To Pitch (ac)...``), batched."""

from __future__ import annotations

import warnings
from typing import List, NamedTuple, Optional, Union

import numpy as np

from .. import _core
from .._checks import as_bool, as_int, num_threads as _num_threads
from ..features.spectrum import Signal, _signals

__all__ = ["PitchTrack", "pitch"]


class PitchTrack(NamedTuple):
    """A pitch contour: frame centres (s), F0 (Hz, NaN where unvoiced) and the
    strength of the chosen candidate (normalised autocorrelation, 0..1)."""

    times: np.ndarray  # (n_frames,)
    f0: np.ndarray  # (..., n_frames)
    strength: np.ndarray  # (..., n_frames)

    @property
    def voiced(self) -> np.ndarray:
        """True where a frame is voiced."""
        return ~np.isnan(self.f0)


def _params(sr, time_step, pitch_floor, pitch_ceiling, max_candidates, very_accurate, silence_threshold,
            voicing_threshold, octave_cost, octave_jump_cost, voiced_unvoiced_cost):
    p = _core.PraatPitchParams()
    for name, value in dict(sample_rate=sr, time_step=time_step, pitch_floor=pitch_floor, pitch_ceiling=pitch_ceiling,
                            silence_threshold=silence_threshold, voicing_threshold=voicing_threshold,
                            octave_cost=octave_cost, octave_jump_cost=octave_jump_cost,
                            voiced_unvoiced_cost=voiced_unvoiced_cost).items():
        argument = "sr" if name == "sample_rate" else name
        try:
            setattr(p, name, float(value))
        except (TypeError, ValueError):
            raise TypeError(f"invalid argument '{argument}': must be a number, got {value!r}") from None
    p.max_candidates = as_int("max_candidates", max_candidates)
    p.very_accurate = as_bool("very_accurate", very_accurate)
    return p


def _float64(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind != "f" or y.dtype.itemsize not in (4, 8):
        raise TypeError(f"invalid argument 'y': must be float32 or float64, got {y.dtype}")
    return y.astype(np.float64, copy=False)


def pitch(
    y: Signal,
    *,
    sr: float,
    time_step: float = 0.0,
    pitch_floor: float = 75.0,
    pitch_ceiling: float = 600.0,
    max_candidates: int = 15,
    very_accurate: bool = False,
    silence_threshold: float = 0.03,
    voicing_threshold: float = 0.45,
    octave_cost: float = 0.01,
    octave_jump_cost: float = 0.35,
    voiced_unvoiced_cost: float = 0.14,
    num_threads: Optional[int] = None,
) -> Union[PitchTrack, List[PitchTrack]]:
    """F0 as Praat's ``Sound: To Pitch (ac)...`` (Boersma 1993), with Praat's
    parameters and defaults.

    Each frame's autocorrelation (Hanning window of 3 periods of ``pitch_floor``, or a
    Gaussian of 6 with ``very_accurate``) is divided by the window's; its peaks become
    candidates, refined by sinc interpolation; a Viterbi path through the candidates
    weighs ``octave_cost`` (per octave below the ceiling), ``octave_jump_cost`` and
    ``voiced_unvoiced_cost`` (per 10 ms) against the strengths, and frames quieter than
    ``silence_threshold`` (relative to the clip's peak) lean to unvoiced.

    Parameters
    ----------
    y : ndarray (..., n_samples) or list of 1-D arrays
        float32 or float64 audio (computed in float64, as Praat does).
    sr : float
        Sample rate (Hz).
    time_step : float
        Seconds between frames; 0 = a quarter window (0.01 s for a 75 Hz floor).
    pitch_floor, pitch_ceiling : float
        Hz. The ceiling is clipped to Nyquist.
    max_candidates, very_accurate, silence_threshold, voicing_threshold, octave_cost,
    octave_jump_cost, voiced_unvoiced_cost :
        Praat's analysis and path-finder settings.
    num_threads : int, optional

    Returns
    -------
    PitchTrack
        ``times`` (n_frames,) in s (frame centres, first sample at t = 0.5 / sr as in
        Praat), ``f0`` (..., n_frames) in Hz with NaN where unvoiced, ``strength``
        (..., n_frames). A list of PitchTrack for a list input. A clip shorter than one
        analysis window gives zero frames and a warning.
    """
    params = _params(sr, time_step, pitch_floor, pitch_ceiling, max_candidates, very_accurate, silence_threshold,
                     voicing_threshold, octave_cost, octave_jump_cost, voiced_unvoiced_cost)
    batch, _, batch_shape = _signals(y)
    if batch_shape is None:
        batch = [_float64(s) for s in batch]
        lengths = [s.shape[-1] for s in batch]
    else:
        batch = _float64(batch)
        lengths = [batch.shape[-1]]
    _core.pitch_frames(0, params)  # checks the parameters before any work
    if any(_core.pitch_frames(n, params)[0] == 0 for n in lengths):
        warnings.warn(
            f"invalid argument 'y': a signal is shorter than one pitch analysis window "
            f"({(6 if very_accurate else 3) / pitch_floor:.4g} s for pitch_floor = {pitch_floor} Hz); "
            f"it gives 0 frames", UserWarning, stacklevel=2)
    rows = _core.pitch(batch, params, _num_threads(num_threads))

    def track(n: int, values: np.ndarray) -> PitchTrack:
        count, first, step = _core.pitch_frames(n, params)
        f0 = values[..., 0, :]
        return PitchTrack(first + step * np.arange(count), np.where(f0 > 0, f0, np.nan), values[..., 1, :])

    if batch_shape is None:
        return [track(n, r) for n, r in zip(lengths, rows)]
    result = track(lengths[0], rows)
    return PitchTrack(result.times, result.f0.reshape(batch_shape + result.f0.shape[-1:]),
                      result.strength.reshape(batch_shape + result.strength.shape[-1:]))
