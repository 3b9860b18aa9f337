"""F0 and harmonics-to-noise ratio by Praat's periodicity analysis (``Sound: To Pitch
(ac)/(cc)...``, ``Sound: To Harmonicity (cc)/(ac)...``), batched over clips."""

from __future__ import annotations

import warnings
from typing import Any, List, NamedTuple, Optional, Union

import numpy as np

from .. import _core
from .._checks import as_bool, as_float, as_int, float64_signal, num_threads as _num_threads
from ..features.spectrum import Signal, _signals

__all__ = ["PitchTrack", "HarmonicityTrack", "pitch", "harmonicity"]


class PitchTrack(NamedTuple):
    """A pitch contour: frame centres (s), F0 (Hz, NaN where unvoiced) and the
    strength of the chosen candidate (normalised correlation, 0..1)."""

    times: np.ndarray  # (n_frames,)
    f0: np.ndarray  # (..., n_frames)
    strength: np.ndarray  # (..., n_frames)

    @property
    def voiced(self) -> np.ndarray:
        """True where a frame is voiced."""
        return ~np.isnan(self.f0)


class HarmonicityTrack(NamedTuple):
    """Harmonics-to-noise ratio per frame: frame centres (s) and HNR (dB, NaN where
    Praat writes -200, i.e. unvoiced). ``np.nanmean(hnr)`` is Praat's ``Get mean``."""

    times: np.ndarray  # (n_frames,)
    hnr: np.ndarray  # (..., n_frames)


def _params(sr: Any, method: str, max_candidates: Any, very_accurate: Any, **values: Any):
    if method not in ("ac", "cc"):
        raise ValueError(f"invalid argument 'method': must be 'ac' or 'cc', got {method!r}")
    p = _core.PraatPitchParams()
    for name, value in dict(values, sr=sr).items():
        setattr(p, "sample_rate" if name == "sr" else name, as_float(name, value))
    p.cross_correlation = method == "cc"
    p.max_candidates = as_int("max_candidates", max_candidates)
    p.very_accurate = as_bool("very_accurate", very_accurate)
    _core.pitch_frames(0, p)  # checks the parameters before any work
    return p


def _analyse(y: Signal, params, num_threads, window_seconds: float, make):
    """Runs the core's path search on every clip; make(times, frequency, strength)
    turns one clip's (or the batch's) raw rows into the result."""
    batch, _, batch_shape = _signals(y)
    if batch_shape is None:
        batch = [float64_signal(s) for s in batch]
        lengths = [s.shape[-1] for s in batch]
    else:
        batch = float64_signal(batch)
        lengths = [batch.shape[-1]]
    if any(_core.pitch_frames(n, params)[0] == 0 for n in lengths):
        warnings.warn(f"invalid argument 'y': a signal is shorter than one analysis window ({window_seconds:.4g} s "
                      f"for pitch_floor = {params.pitch_floor} Hz); it gives 0 frames", UserWarning, stacklevel=3)
    rows = _core.pitch(batch, params, _num_threads(num_threads))

    def result(n: int, values: np.ndarray):
        count, first, step = _core.pitch_frames(n, params)
        return make(first + step * np.arange(count), values[..., 0, :], values[..., 1, :])

    if batch_shape is None:
        return [result(n, r) for n, r in zip(lengths, rows)]
    whole = result(lengths[0], rows)
    return type(whole)(whole[0], *(a.reshape(batch_shape + a.shape[-1:]) for a in whole[1:]))


def pitch(
    y: Signal,
    *,
    sr: float,
    method: str = "ac",
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
    periods_per_window: Optional[float] = None,
    num_threads: Optional[int] = None,
) -> Union[PitchTrack, List[PitchTrack]]:
    """F0 as Praat's ``Sound: To Pitch (ac)...`` (Boersma 1993) or, with
    ``method='cc'``, ``To Pitch (cc)...``, with Praat's parameters and defaults.

    Each frame's autocorrelation (Hanning window of 3 periods of ``pitch_floor``, or a
    Gaussian of 6 with ``very_accurate``) is divided by the window's ('cc': the
    normalised cross-correlation of one period with the signal after it); its peaks
    become candidates, refined by sinc interpolation; a Viterbi path through the
    candidates weighs ``octave_cost`` (per octave below the ceiling),
    ``octave_jump_cost`` and ``voiced_unvoiced_cost`` (per 10 ms) against the
    strengths, and frames quieter than ``silence_threshold`` (relative to the clip's
    peak) lean to unvoiced.

    Parameters
    ----------
    y : ndarray (..., n_samples) or list of 1-D arrays
        float32 or float64 audio (computed in float64, as Praat does).
    sr : float
        Sample rate (Hz).
    method : 'ac' or 'cc'
    time_step : float
        Seconds between frames; 0 = a quarter window (0.01 s for 3 periods of 75 Hz).
    pitch_floor, pitch_ceiling : float
        Hz. The ceiling is clipped to Nyquist.
    max_candidates, very_accurate, silence_threshold, voicing_threshold, octave_cost, octave_jump_cost, voiced_unvoiced_cost :
        Praat's analysis and path-finder settings.
    periods_per_window : float, optional
        Window length in periods of the floor; Praat's commands use 3 ('ac') and 1 ('cc').
    num_threads : int, optional

    Returns
    -------
    PitchTrack
        ``times`` (n_frames,) in s (frame centres, first sample at t = 0.5 / sr as in
        Praat), ``f0`` (..., n_frames) in Hz with NaN where unvoiced, ``strength``
        (..., n_frames). A list of PitchTrack for a list input. A clip shorter than one
        analysis window gives zero frames and a warning.
    """
    ppw = (3.0 if method == "ac" else 1.0) if periods_per_window is None else periods_per_window
    params = _params(sr, method, max_candidates, very_accurate, time_step=time_step, pitch_floor=pitch_floor,
                     pitch_ceiling=pitch_ceiling, periods_per_window=ppw, silence_threshold=silence_threshold,
                     voicing_threshold=voicing_threshold, octave_cost=octave_cost, octave_jump_cost=octave_jump_cost,
                     voiced_unvoiced_cost=voiced_unvoiced_cost)
    ceiling = min(params.pitch_ceiling, 0.5 * params.sample_rate)

    def track(times, frequency, strength):
        voiced = (frequency > 0) & (frequency < ceiling)  # Praat's voicing rule
        return PitchTrack(times, np.where(voiced, frequency, np.nan), strength)

    window = ppw * (2 if very_accurate and method == "ac" else 1) / params.pitch_floor
    return _analyse(y, params, num_threads, window, track)


def harmonicity(
    y: Signal,
    *,
    sr: float,
    method: str = "cc",
    time_step: float = 0.01,
    minimum_pitch: float = 75.0,
    silence_threshold: float = 0.1,
    periods_per_window: Optional[float] = None,
    num_threads: Optional[int] = None,
) -> Union[HarmonicityTrack, List[HarmonicityTrack]]:
    """Harmonics-to-noise ratio as Praat's ``Sound: To Harmonicity (cc)...`` (or
    ``(ac)...``): the strength r of the best periodicity candidate per frame (pitch
    analysis with no voicing threshold and no path costs, ceiling at Nyquist, the
    accurate sinc refinement) as ``10 log10(r / (1 - r))`` dB.

    Parameters
    ----------
    y : ndarray (..., n_samples) or list of 1-D arrays
    sr : float
        Sample rate (Hz).
    method : 'cc' or 'ac'
    time_step, minimum_pitch, silence_threshold : float
        Praat's defaults: 0.01 s, 75 Hz, 0.1.
    periods_per_window : float, optional
        Praat's defaults: 1.0 ('cc'), 4.5 ('ac').

    Returns
    -------
    HarmonicityTrack
        ``times`` (n_frames,) s and ``hnr`` (..., n_frames) dB; NaN where Praat writes
        -200 (unvoiced frames), so that ``np.nanmean`` is Praat's mean HNR.
    """
    ppw = (1.0 if method == "cc" else 4.5) if periods_per_window is None else periods_per_window
    params = _params(sr, method, 15, True, time_step=time_step, pitch_floor=minimum_pitch, pitch_ceiling=0.5 * float(sr),
                     periods_per_window=ppw, silence_threshold=silence_threshold, voicing_threshold=0.0,
                     octave_cost=0.0, octave_jump_cost=0.0, voiced_unvoiced_cost=0.0)

    def track(times, frequency, strength):
        with np.errstate(divide="ignore"):
            hnr = 10.0 * np.log10(strength / (1.0 - strength))
        hnr = np.where(strength <= 1e-15, -150.0, np.where(strength > 1.0 - 1e-15, 150.0, hnr))
        return HarmonicityTrack(times, np.where(frequency == 0.0, np.nan, hnr))

    window = ppw * (2 if method == "ac" else 1) / params.pitch_floor
    return _analyse(y, params, num_threads, window, track)
