"""Glottal pulses, jitter and shimmer as Praat's voice report, batched over clips.

``ak.point_process`` is Praat's ``Sound & Pitch: To PointProcess (cc)``;
``ak.voice_report`` adds Praat's ``Get jitter (...)`` and ``Get shimmer (...)``
measures on those pulses. Both compute ``ak.pitch`` first unless given a pitch track.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._checks import as_float, float64_signal, num_threads as _num_threads
from ..features.spectrum import Signal, _signals
from .pitch import PitchTrack, pitch as _pitch

__all__ = ["point_process", "voice_report", "VOICE_REPORT_MEASURES"]

#: The keys of ``ak.voice_report``'s result, in Praat's order, with their units.
VOICE_REPORT_MEASURES = {
    "num_pulses": "count", "num_periods": "count", "mean_period": "s", "stdev_period": "s",
    "jitter_local": "fraction", "jitter_local_absolute": "s", "jitter_rap": "fraction",
    "jitter_ppq5": "fraction", "jitter_ddp": "fraction",
    "shimmer_local": "fraction", "shimmer_local_db": "dB", "shimmer_apq3": "fraction",
    "shimmer_apq5": "fraction", "shimmer_apq11": "fraction", "shimmer_dda": "fraction",
}

Report = Dict[str, Any]


class _Clips:
    """The clips of y as float64 rows, and how to put per-clip results back in y's shape."""

    def __init__(self, y: Signal):
        batch, _, batch_shape = _signals(y)
        self.batch_shape: Optional[Tuple[int, ...]] = None if batch_shape is None else tuple(batch_shape)
        if self.batch_shape is None:
            self.rows: List[np.ndarray] = [float64_signal(s) for s in batch]
        else:
            matrix = float64_signal(batch)
            self.rows = [matrix[i] for i in range(matrix.shape[0])]

    def __len__(self) -> int:
        return len(self.rows)

    def nest(self, items: list):
        """A list for a list input, the item for 1-D input, nested lists for a batch."""
        if self.batch_shape is None:
            return items
        if self.batch_shape == ():
            return items[0]

        def split(flat: list, shape: Tuple[int, ...]):
            if len(shape) == 1:
                return flat
            size = len(flat) // shape[0] if shape[0] else 0
            return [split(flat[i * size:(i + 1) * size], shape[1:]) for i in range(shape[0])]

        return split(items, self.batch_shape)


def _frame_step(times: np.ndarray, hint: Optional[float] = None) -> float:
    """The frame step dx with times == times[0] + dx * arange(n) bit for bit (ak.pitch
    builds frame times so, and Praat's frame arithmetic needs dx itself, not a
    rounded difference): the hint if it fits, else the nearest double to the mean
    spacing that fits, else the mean spacing."""
    index = np.arange(times.size)
    if hint is not None and np.array_equal(times[0] + hint * index, times):
        return float(hint)
    estimate = (times[-1] - times[0]) / (times.size - 1)
    below = above = estimate
    for _ in range(8):  # a few ulps either side, nearest first
        for candidate in (below, above):
            if np.array_equal(times[0] + candidate * index, times):
                return float(candidate)
        below, above = np.nextafter(below, -np.inf), np.nextafter(above, np.inf)
    return float(estimate)


def _contour_of(times: Any, f0: Any, duration: float, what: str,
                step_hint: Optional[float] = None) -> Tuple[np.ndarray, float, float]:
    """(f0 with 0 where unvoiced, first frame time, frame step) of a pitch track."""
    times = np.asarray(times, dtype=np.float64)
    f0 = np.asarray(f0, dtype=np.float64)
    if times.ndim != 1 or f0.ndim != 1 or times.size != f0.size:
        raise ValueError(f"invalid argument 'pitch': {what} must have 1-D times and f0 of one length, "
                         f"got shapes {times.shape} and {f0.shape}")
    if times.size == 0:
        raise ValueError(f"invalid argument 'pitch': {what} has no frames (its clip was shorter than one pitch "
                         f"analysis window)")
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise ValueError(f"invalid argument 'pitch': {what} must have finite, increasing frame times")
    # A single frame says nothing of the frame step: it stands for the whole clip.
    step = _frame_step(times, step_hint) if times.size > 1 else max(duration, 1e-9)
    return np.ascontiguousarray(np.where(np.isnan(f0), 0.0, f0)), float(times[0]), step


def _praat_step(pitch_options: Dict[str, Any]) -> Optional[float]:
    """The frame step ak.pitch uses (Praat's: the time step, or a quarter of the
    analysis window of periods_per_window periods of pitch_floor), as a hint."""
    try:
        if float(pitch_options.get("time_step", 0.0)) > 0:
            return float(pitch_options["time_step"])
        periods = pitch_options.get("periods_per_window")
        if periods is None:
            periods = 1.0 if pitch_options.get("method", "ac") == "cc" else 3.0
        return float(periods) / float(pitch_options.get("pitch_floor", 75.0)) / 4.0
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _contours(clips: _Clips, sr: float, pitch: Any, pitch_options: Dict[str, Any], num_threads: int):
    """(f0 rows, first frame times, frame steps) of every clip: from ak.pitch with
    pitch_options, or from the given PitchTrack(s)."""
    durations = [row.size / sr for row in clips.rows]
    if pitch is None and not len(clips):
        contours = []
    elif pitch is None:
        # ak.pitch warns of a clip without frames; here that is an error. (The
        # filter is process-wide while it is on, as Python's warnings are.)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="invalid argument 'y'.*shorter than one", category=UserWarning)
            tracks = _pitch(clips.rows, sr=sr, num_threads=num_threads, **pitch_options)
        for index, (row, track) in enumerate(zip(clips.rows, tracks)):
            if track.times.size == 0:
                where = "" if clips.batch_shape == () else f"clip {index} "
                floor = pitch_options.get("pitch_floor", 75.0)
                raise ValueError(
                    f"invalid argument 'y': {where}has {row.size} samples ({row.size / sr:.4g} s), shorter than one "
                    f"pitch analysis window (3 periods of pitch_floor = {floor} Hz, {3 / float(floor):.4g} s, for "
                    f"the default method 'ac'); Praat cannot analyse it either")
        hint = _praat_step(pitch_options)
        contours = [_contour_of(t.times, t.f0, d, "pitch", hint) for t, d in zip(tracks, durations)]
    elif pitch_options:
        name = next(iter(pitch_options))
        raise ValueError(f"invalid argument '{name}': a pitch option cannot be given with a precomputed 'pitch'")
    elif clips.batch_shape is None:
        if not isinstance(pitch, (list, tuple)) or len(pitch) != len(clips):
            got = f"{type(pitch).__name__} of {len(pitch)}" if isinstance(pitch, (list, tuple)) else type(pitch).__name__
            raise ValueError(f"invalid argument 'pitch': a list of {len(clips)} clips needs a list of "
                             f"{len(clips)} PitchTracks, got {got}")
        contours = []
        for i, (track, duration) in enumerate(zip(pitch, durations)):
            if not isinstance(track, PitchTrack):
                raise TypeError(f"invalid argument 'pitch': pitch[{i}] must be an ak.PitchTrack, "
                                f"got {type(track).__name__}")
            contours.append(_contour_of(track.times, track.f0, duration, f"pitch[{i}]"))
    else:
        if not isinstance(pitch, PitchTrack):
            raise TypeError(f"invalid argument 'pitch': must be an ak.PitchTrack, got {type(pitch).__name__}")
        f0 = np.asarray(pitch.f0)
        if f0.shape[:-1] != clips.batch_shape:
            raise ValueError(f"invalid argument 'pitch': f0 of shape {f0.shape} does not fit y's batch shape "
                             f"{clips.batch_shape}")
        rows = f0.reshape(len(clips), f0.shape[-1])
        contours = [_contour_of(pitch.times, rows[i], durations[i], "pitch") for i in range(len(clips))]
    return [c[0] for c in contours], [c[1] for c in contours], [c[2] for c in contours]


def point_process(
    y: Signal,
    *,
    sr: float,
    pitch: Union[None, PitchTrack, Sequence[PitchTrack]] = None,
    num_threads: Optional[int] = None,
    **pitch_options: Any,
) -> Union[np.ndarray, list]:
    """Glottal pulse times as Praat's ``Sound & Pitch: To PointProcess (cc)``.

    In each voiced stretch of the pitch contour, the first pulse is the largest
    ``|y|`` within half a period of the stretch's middle; from there Praat walks out
    to both sides one period at a time, placing the next pulse where the waveform
    over one period best matches the waveform around the last pulse (normalised
    cross-correlation at lags of 0.8 to 1.25 local periods, parabolically refined).
    A match is kept if its correlation exceeds 0.3 and its peak 1% of the clip's
    peak (beyond the stretch's edges: 0.7 and 2.33%).

    Parameters
    ----------
    y : ndarray (..., n_samples) or list of 1-D arrays
        float32 or float64 audio (computed in float64, as Praat does).
    sr : float
        Sample rate (Hz).
    pitch : PitchTrack or list of PitchTrack, optional
        The contour to follow (from :func:`ak.pitch`; NaN is unvoiced): one track
        whose ``f0`` is (..., n_frames) for an array ``y``, a list of tracks for a
        list. Default: ``ak.pitch(y, sr=sr, **pitch_options)``.
    num_threads : int, optional
        Clips are analysed in parallel.
    **pitch_options
        ``ak.pitch``'s keywords (``pitch_floor=75``, ``pitch_ceiling=600``,
        ``very_accurate``, ...), only when ``pitch`` is None.

    Returns
    -------
    ndarray or list
        Pulse times (s, ascending, float64; the first sample is at 0.5 / sr as in
        Praat) of a 1-D ``y``; a list of such arrays for a list (nested lists for an
        array with batch dimensions). Silence and unvoiced clips give no pulses.

    Raises ValueError naming ``y`` for NaN or infinite samples and for a clip
    shorter than one pitch analysis window (``3 / pitch_floor`` s).
    """
    params = _core.VoiceReportParams()
    params.sample_rate = as_float("sr", sr)
    _core.check_voice_report_params(params)
    sr = params.sample_rate
    threads = _num_threads(num_threads)
    clips = _Clips(y)
    f0, first_times, time_steps = _contours(clips, sr, pitch, pitch_options, threads)
    pulses = _core.point_process(clips.rows, f0, first_times, time_steps, sr, threads) if len(clips) else []
    return clips.nest(list(pulses))


def _undefined_reasons(report: Dict[str, np.ndarray], f0: List[np.ndarray], ranged: bool) -> List[str]:
    reasons = []
    for i, contour in enumerate(f0):
        missing = [k for k, v in report.items() if v.dtype.kind == "f" and np.isnan(v[i])]
        if not missing:
            reasons.append("")
        elif not np.any(contour > 0):
            reasons.append("no voiced frames (silence or an unvoiced sound), so no glottal pulses")
        else:
            where = " in the time range" if ranged else ""
            reasons.append(f"{report['num_pulses'][i]} pulses and {report['num_periods'][i]} periods{where} are too "
                           f"few (within the period and amplitude-factor limits) for {', '.join(missing)}")
    return reasons


def voice_report(
    y: Signal,
    *,
    sr: float,
    pitch: Union[None, PitchTrack, Sequence[PitchTrack]] = None,
    pitch_floor: float = 75.0,
    pitch_ceiling: float = 600.0,
    from_time: float = 0.0,
    to_time: float = 0.0,
    period_floor: float = 0.0001,
    period_ceiling: float = 0.02,
    max_period_factor: float = 1.3,
    max_amplitude_factor: float = 1.6,
    num_threads: Optional[int] = None,
    **pitch_options: Any,
) -> Union[Report, List[Report]]:
    """Jitter and shimmer as Praat's voice report: the pulses of
    :func:`point_process` measured with Praat's ``Get jitter (local)...`` (and rap,
    ppq5, ddp, local absolute) and ``Get shimmer (local)...`` (and local dB, apq3,
    apq5, apq11, dda), with Praat's parameters and defaults.

    An interval between consecutive pulses is a *period* if it lies within
    [``period_floor``, ``period_ceiling``]; jitter compares consecutive periods
    whose ratio is at most ``max_period_factor``. The amplitude of a period is the
    RMS of ``y`` under a Hann window from 0.2 of the previous period before its pulse
    to 0.2 of the next period after it (pulses whose two periods pass the rules
    only); shimmer compares consecutive amplitudes whose ratio is at most
    ``max_amplitude_factor``. Relative measures divide by the mean period (jitter) or
    the mean amplitude (shimmer).

    Parameters
    ----------
    y : ndarray (..., n_samples) or list of 1-D arrays
        float32 or float64 audio (computed in float64, as Praat does).
    sr : float
        Sample rate (Hz).
    pitch : PitchTrack or list of PitchTrack, optional
        A precomputed contour (see :func:`point_process`); then ``pitch_floor``,
        ``pitch_ceiling`` and ``pitch_options`` are not used.
    pitch_floor, pitch_ceiling : float
        Hz, for ``ak.pitch`` (Praat's "To Pitch (ac)" defaults 75 and 600).
    from_time, to_time : float
        Time range (s) of the measures; ``to_time <= from_time`` (default 0, 0): the
        whole clip. Pulses are found on the whole clip either way.
    period_floor, period_ceiling : float
        Shortest and longest period (s); Praat's defaults 0.0001 and 0.02 (50 Hz).
        Equal values count every interval as a period. (Praat's "Voice report"
        command itself uses ``0.8 / pitch_ceiling`` and ``1.25 / pitch_floor``.)
    max_period_factor : float
        Largest ratio of consecutive periods (1.3).
    max_amplitude_factor : float
        Largest ratio of consecutive amplitudes (1.6).
    num_threads : int, optional
        Clips are analysed in parallel.
    **pitch_options
        Further ``ak.pitch`` keywords (``time_step``, ``very_accurate``,
        ``voicing_threshold``, ...).

    Returns
    -------
    dict
        For a 1-D ``y``, Python numbers under the keys of
        :data:`VOICE_REPORT_MEASURES`:

        - ``num_pulses``, ``num_periods``: pulses in the time range, intervals that
          count as periods (int);
        - ``mean_period``, ``stdev_period``: s;
        - ``jitter_local``: mean absolute difference of consecutive periods over the
          mean period (a fraction: Praat's report prints it x 100 as %);
          ``jitter_local_absolute``: the same difference in s; ``jitter_rap``,
          ``jitter_ppq5``: mean absolute deviation of a period from the average of
          3 / 5 neighbouring periods, over the mean period; ``jitter_ddp``: 3 x rap;
        - ``shimmer_local``: mean absolute difference of consecutive amplitudes over
          the mean amplitude (fraction); ``shimmer_local_db``: mean
          ``|20 log10(a1 / a2)|`` (dB); ``shimmer_apq3``, ``shimmer_apq5``,
          ``shimmer_apq11``: mean absolute deviation from the average of 3 / 5 / 11
          neighbouring amplitudes, over the mean amplitude; ``shimmer_dda``: 3 x apq3.

        For an array with batch dimensions, each value is an array of the batch
        shape; for a list, a list of such dicts. A measure Praat leaves undefined
        (too few pulses or periods, e.g. a silent or unvoiced clip) is NaN, and a
        UserWarning gives the reason for each such clip. More keys (e.g.
        harmonicity) may be added; code should look measures up by name.

    Raises ValueError naming ``y`` for NaN or infinite samples and for a clip
    shorter than one pitch analysis window, and naming the argument for a bad
    parameter.

    Differences from Praat
    ----------------------
    None beyond rounding: pulses and measures agree with praat-parselmouth 0.4.7
    (Praat 6.1.38) on synthetic voices at 8-44.1 kHz, the alsa-utils recordings and
    espeak-ng speech (tests hold 1e-9; measured: pulse times within 5e-16 s, measures
    within 1e-13 relative: the correlation sums are vectorised). Where Praat would
    search the same place forever (a voiced frame near Nyquist), the pulse search
    stops. Praat analyses a
    stereo Sound's channels together; here every row of ``y`` is its own clip, so
    average the channels first to reproduce that. Praat's voice report also prints
    pitch statistics, voicing and voice breaks, not computed here.
    """
    params = _core.VoiceReportParams()
    params.sample_rate = sr = as_float("sr", sr)
    for name, value in dict(from_time=from_time, to_time=to_time, period_floor=period_floor,
                            period_ceiling=period_ceiling, max_period_factor=max_period_factor,
                            max_amplitude_factor=max_amplitude_factor).items():
        setattr(params, name, as_float(name, value))
    _core.check_voice_report_params(params)
    threads = _num_threads(num_threads)
    clips = _Clips(y)
    if pitch is None:
        pitch_options = dict(pitch_options, pitch_floor=pitch_floor, pitch_ceiling=pitch_ceiling)
    f0, first_times, time_steps = _contours(clips, sr, pitch, pitch_options, threads)
    if len(clips):
        report = _core.voice_report(clips.rows, f0, first_times, time_steps, params, threads)
    else:
        report = {k: np.zeros(0, np.int64 if unit == "count" else np.float64)
                  for k, unit in VOICE_REPORT_MEASURES.items()}

    reasons = _undefined_reasons(report, f0, params.to_time > params.from_time)
    bad = [(i, r) for i, r in enumerate(reasons) if r]
    if bad:
        if clips.batch_shape == ():
            message = f"ak.voice_report: NaN measures: {bad[0][1]}"
        else:
            listed = "; ".join(f"clip {i}: {r}" for i, r in bad[:5]) + ("; ..." if len(bad) > 5 else "")
            message = f"ak.voice_report: NaN measures for {len(bad)} of {len(clips)} clips: {listed}"
        warnings.warn(message, UserWarning, stacklevel=2)

    def scalars(i: int) -> Report:
        return {k: (int(v[i]) if v.dtype.kind == "i" else float(v[i])) for k, v in report.items()}

    if clips.batch_shape is None:
        return [scalars(i) for i in range(len(clips))]
    if clips.batch_shape == ():
        return scalars(0)
    return {k: v.reshape(clips.batch_shape) for k, v in report.items()}
