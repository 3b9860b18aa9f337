"""F0 by probabilistic YIN (pYIN; Mauch & Dixon 2014) exactly as ``librosa.pyin``: the
frame analysis and the Viterbi decoder run in the core, batched over clips."""

from __future__ import annotations

import functools
import warnings
from typing import Any, List, NamedTuple, Optional, Tuple, Union

import numpy as np

from .. import _core
from .._checks import INT64_MAX, as_bool, as_float, as_int, num_threads as _num_threads
from ..features.spectrum import _PAD_MODES, Signal, _signals

__all__ = ["PyinTrack", "pyin"]


class PyinTrack(NamedTuple):
    """librosa.pyin's result; unpacks as ``f0, voiced_flag, voiced_prob = ak.pyin(...)``."""

    f0: np.ndarray  # (..., n_frames) Hz, fill_na where unvoiced
    voiced_flag: np.ndarray  # (..., n_frames) bool
    voiced_prob: np.ndarray  # (..., n_frames)


@functools.lru_cache(maxsize=32)
def _threshold_prior(n_thresholds: int, alpha: float, beta: float) -> np.ndarray:
    """Prior mass of each threshold, as librosa: the beta distribution's CDF at
    np.linspace(0, 1, n_thresholds + 1), differenced. Computed by scipy (boost's
    incomplete beta), so that the masses -- down to the exact zeros of the upper
    thresholds, which decide which troughs are candidates -- are librosa's."""
    import scipy.stats  # imported here: scipy.stats takes a while to import

    thresholds = np.linspace(0, 1, n_thresholds + 1)
    prior = np.diff(scipy.stats.beta.cdf(thresholds, alpha, beta))
    prior.setflags(write=False)
    return prior


def _beta_parameters(value: Any) -> Tuple[float, float]:
    try:
        alpha, beta = value
    except (TypeError, ValueError):
        raise TypeError(f"invalid argument 'beta_parameters': must be a pair (a, b), got {value!r}") from None
    alpha, beta = as_float("beta_parameters", alpha), as_float("beta_parameters", beta)
    if not (alpha > 0 and beta > 0 and np.isfinite(alpha) and np.isfinite(beta)):
        raise ValueError(f"invalid argument 'beta_parameters': both shape parameters must be positive and finite, "
                         f"got {value!r}")
    return alpha, beta


def pyin(
    y: Signal,
    *,
    fmin: float,
    fmax: float,
    sr: float = 22050,
    frame_length: int = 2048,
    win_length: Optional[int] = None,
    hop_length: Optional[int] = None,
    n_thresholds: int = 100,
    beta_parameters: Tuple[float, float] = (2, 18),
    boltzmann_parameter: float = 2,
    resolution: float = 0.1,
    max_transition_rate: float = 35.92,
    switch_prob: float = 0.01,
    no_trough_prob: float = 0.01,
    fill_na: Optional[float] = np.nan,
    center: bool = True,
    pad_mode: str = "constant",
    num_threads: Optional[int] = None,
) -> Union[PyinTrack, List[PyinTrack]]:
    """Fundamental frequency by probabilistic YIN, as ``librosa.pyin`` (same arguments,
    defaults and results), computed in the C++ core.

    Each frame's YIN curve (the cumulative mean normalised difference function, from
    the autocorrelation by FFT) gives its troughs between the periods of ``fmax`` and
    ``fmin``; each trough takes the prior mass of the thresholds it lies below (a beta
    distribution over ``n_thresholds`` thresholds), shared by a Boltzmann prior that
    favours short periods; the lowest trough also takes ``no_trough_prob`` of the
    mass of the thresholds it is not below. Troughs, refined by parabolic
    interpolation, fall into pitch bins of ``resolution`` semitones; a Viterbi path over
    voiced and unvoiced copies of the bins, with transitions of at most
    ``max_transition_rate`` octaves per second (triangular weights) and
    ``switch_prob`` between voiced and unvoiced, gives the F0 and the voicing. The
    decoder is librosa's to the tie, but costs the transition band per state, not all
    states.

    Parameters
    ----------
    y : ndarray (..., n_samples) or list of 1-D arrays
        float32 or float64 audio (computed in float64: float32 input gives librosa's
        result for ``y.astype(np.float64)``).
    fmin, fmax : float
        Hz; ``0 < fmin < fmax <= sr / 2``.
    sr : float
        Sample rate (Hz).
    frame_length : int
        Samples per frame; must exceed ``sr / fmin + 1``. Fewer than two periods of
        ``fmin`` per frame give a warning, as in librosa.
    win_length : None
        Deprecated in librosa 0.11 and ignored (a FutureWarning when given).
    hop_length : int, optional
        Samples between frames; default ``frame_length // 4``.
    n_thresholds, beta_parameters, boltzmann_parameter, resolution, max_transition_rate, switch_prob, no_trough_prob :
        librosa's pYIN parameters.
    fill_na : float or None
        F0 of unvoiced frames; None keeps the decoded (best guess) pitch.
    center, pad_mode :
        Pad ``frame_length // 2`` samples on both sides (numpy.pad's 'constant',
        'edge', 'reflect', 'symmetric' or 'wrap') so that frame t is centred at
        ``t * hop_length``.
    num_threads : int, optional
        Threads (frames of all clips in parallel, then one path per clip); default all.

    Returns
    -------
    PyinTrack
        ``(f0, voiced_flag, voiced_prob)``, each (..., n_frames) with ``n_frames = 1 +
        (n_samples + 2 * (frame_length // 2) * center - frame_length) // hop_length``:
        F0 in Hz (float64), bool, and float64. A list of PyinTrack for a list input.
    """
    fmin, fmax, sr = as_float("fmin", fmin), as_float("fmax", fmax), as_float("sr", sr)
    frame_length = as_int("frame_length", frame_length, minimum=1, maximum=INT64_MAX)
    if win_length is not None:
        warnings.warn("The win_length parameter has been deprecated in librosa 0.11.0 and has no effect.",
                      FutureWarning, stacklevel=2)
    hop_length = frame_length // 4 if hop_length is None else hop_length
    hop_length = as_int("hop_length", hop_length, maximum=INT64_MAX)
    n_thresholds = as_int("n_thresholds", n_thresholds, minimum=1, maximum=10**7)
    prior = _threshold_prior(n_thresholds, *_beta_parameters(beta_parameters))
    floats = {name: as_float(name, value) for name, value in (
        ("boltzmann_parameter", boltzmann_parameter), ("resolution", resolution),
        ("max_transition_rate", max_transition_rate), ("switch_prob", switch_prob),
        ("no_trough_prob", no_trough_prob))}
    fill = None if fill_na is None else as_float("fill_na", fill_na)
    center = as_bool("center", center)
    if pad_mode not in _PAD_MODES:
        raise ValueError(f"invalid argument 'pad_mode': must be one of {', '.join(map(repr, _PAD_MODES))}, "
                         f"got {pad_mode!r}")
    threads = _num_threads(num_threads)

    batch, _, batch_shape = _signals(y)
    if batch_shape is None and not batch:
        return []
    rows = _core.pyin(batch, sr, fmin, fmax, frame_length, hop_length, prior, floats["boltzmann_parameter"],
                      floats["resolution"], floats["max_transition_rate"], floats["switch_prob"],
                      floats["no_trough_prob"], center, pad_mode, threads)
    if sr / fmin >= frame_length // 2:  # librosa's advice, once the parameters are known to be valid
        warnings.warn(f"With fmin={fmin:.3f}, sr={sr} and frame_length={frame_length}, less than two periods of "
                      f"fmin fit into the frame, which can cause inaccurate pitch detection. Consider increasing "
                      f"to fmin={sr / (frame_length / 2):.3f} or frame_length={int(np.ceil(sr / fmin) * 2 + 1)}.",
                      UserWarning, stacklevel=2)

    def track(values: np.ndarray, shape) -> PyinTrack:
        f0, voiced, prob = (values[..., k, :].reshape(shape + values.shape[-1:]) for k in range(3))
        voiced = voiced > 0.5
        if fill is not None:
            f0 = np.where(voiced, f0, fill)
        return PyinTrack(np.ascontiguousarray(f0), voiced, np.ascontiguousarray(prob))

    if batch_shape is None:
        return [track(r, ()) for r in rows]
    return track(rows, tuple(batch_shape))
