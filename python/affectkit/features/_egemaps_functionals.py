"""openSMILE's eGeMAPSv02 functionals (config egemaps/v02/eGeMAPSv02.conf and the files
it includes), applied to per-frame LLD contours.

Each function reproduces one openSMILE component on one contour, as its C++ source
(openSMILE 3, src/functionals/*.cpp and src/dspcore/contourSmoother.cpp) computes it,
quirks included; the comments name the quirk. Contours are short (one value per 10 ms),
so plain NumPy and Python loops over the few local extrema are fast enough.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

#: The 88 columns of eGeMAPSv02's functionals, in openSMILE's order.
F0 = "F0semitoneFrom27.5Hz_sma3nz"
_CONTOUR_FUNCTIONALS = ("amean", "stddevNorm", "percentile20.0", "percentile50.0", "percentile80.0",
                        "pctlrange0-2", "meanRisingSlope", "stddevRisingSlope", "meanFallingSlope",
                        "stddevFallingSlope")
VOICE_LLDS = ("jitterLocal", "shimmerLocaldB", "HNRdBACF", "logRelF0-H1-H2", "logRelF0-H1-A3",
              "F1frequency", "F1bandwidth", "F1amplitudeLogRelF0", "F2frequency", "F2bandwidth",
              "F2amplitudeLogRelF0", "F3frequency", "F3bandwidth", "F3amplitudeLogRelF0")
# (voiced name, unvoiced name or None, row in egemaps_lld) of the spectral LLDs split by voicing.
_SPECTRAL_SPLIT = (("alphaRatioV", "alphaRatioUV", 1), ("hammarbergIndexV", "hammarbergIndexUV", 2),
                   ("slopeV0-500", "slopeUV0-500", 3), ("slopeV500-1500", "slopeUV500-1500", 4),
                   ("spectralFluxV", "spectralFluxUV", 5), ("mfcc1V", None, 6), ("mfcc2V", None, 7),
                   ("mfcc3V", None, 8), ("mfcc4V", None, 9))
_UNSPLIT = (("spectralFlux_sma3", 5), ("mfcc1_sma3", 6), ("mfcc2_sma3", 7), ("mfcc3_sma3", 8), ("mfcc4_sma3", 9))
TEMPORAL = ("loudnessPeaksPerSec", "VoicedSegmentsPerSec", "MeanVoicedSegmentLengthSec",
            "StddevVoicedSegmentLengthSec", "MeanUnvoicedSegmentLength", "StddevUnvoicedSegmentLength")

FUNCTIONAL_NAMES: Tuple[str, ...] = tuple(
    [f"{F0}_{f}" for f in _CONTOUR_FUNCTIONALS]
    + [f"loudness_sma3_{f}" for f in _CONTOUR_FUNCTIONALS]
    + [f"{name}_{f}" for name, _ in _UNSPLIT for f in ("amean", "stddevNorm")]
    + [f"{name}_sma3nz_{f}" for name in VOICE_LLDS for f in ("amean", "stddevNorm")]
    + [f"{v}_sma3nz_{f}" for v, _, _ in _SPECTRAL_SPLIT for f in ("amean", "stddevNorm")]
    + [f"{uv}_sma3nz_amean" for _, uv, _ in _SPECTRAL_SPLIT if uv is not None]
    + list(TEMPORAL)
    + ["equivalentSoundLevel_dBp"]
)

_VOICED_THRESHOLD = 0.000001  # cValbasedSelector threshold on F0 (semitones; 0 = unvoiced)
# The LPC formant frequencies and bandwidths enter the functionals on voiced frames only
# (the LLD table shows them on every frame); the formant amplitudes are 0 off voicing already.
_MASKED_BY_VOICING = ("F1frequency", "F1bandwidth", "F2frequency", "F2bandwidth", "F3frequency", "F3bandwidth")


def smooth3(x: np.ndarray, *, nonzero: bool = False) -> np.ndarray:
    """cContourSmoother, smaWin = 3: the mean of each frame and its two neighbours, the
    first and last frame repeated beyond the ends. ``nonzero`` is noZeroSma: zeros stay
    zero and do not enter their neighbours' means."""
    x = np.asarray(x, dtype=np.float64)
    padded = np.concatenate([x[:1], x, x[-1:]])
    windows = np.stack([padded[:-2], padded[1:-1], padded[2:]])
    if not nonzero:
        return windows.sum(axis=0) / 3.0
    counts = np.count_nonzero(windows, axis=0)
    return np.where(windows[1] != 0.0, windows.sum(axis=0) / np.maximum(counts, 1), 0.0)


def moments(x: np.ndarray) -> Tuple[float, float]:
    """(amean, stddevNorm) as cFunctionalMoments with stddevNorm = 2 and no ratio limit:
    the population standard deviation over the signed mean (over 1 if the mean is 0);
    0 and 0 for an empty contour (openSMILE's fill for a functional that returns nothing)."""
    if x.size == 0:
        return 0.0, 0.0
    mean = float(np.mean(x))
    variance = float(np.mean((x - mean) ** 2))
    if variance <= 0.0:
        return mean, 0.0
    return mean, float(np.sqrt(variance) / (mean if mean != 0.0 else 1.0))


def percentiles(x: np.ndarray, ps: Sequence[float] = (0.2, 0.5, 0.8)) -> List[float]:
    """cFunctionalPercentiles with interp = 1: linear interpolation between the sorted
    values at p (N - 1), then pctlrange0-2 = |p80 - p20|."""
    if x.size == 0:
        return [0.0] * (len(ps) + 1)
    s = np.sort(x)
    values = []
    for p in ps:
        idx = p * (s.size - 1)
        lo, hi = int(np.floor(idx)), int(np.ceil(idx))
        values.append(float(s[lo] * (hi - idx) + s[hi] * (idx - lo)) if lo != hi else float(s[lo]))
    return values + [abs(values[-1] - values[0])]


def extrema(x: np.ndarray) -> List[Tuple[int, float, int]]:
    """cFunctionalPeaks2's peak picking (relThresh 0.1, no dynamic threshold): the local
    maxima (kind 1) and minima (kind 0) of x[2:-2] as (kind, value, index), pruned in
    its three passes. The passes compare each extremum with the previous one, dropped or
    not (lastVal), as the source does."""
    n = x.size
    threshold = 0.1 * (float(x.max()) - float(x.min()))
    found = []
    for i in range(2, n - 2):
        if x[i] > x[i - 1] and x[i] > x[i + 1]:
            found.append([1, float(x[i]), i])
        elif x[i] < x[i - 1] and x[i] < x[i + 1]:
            found.append([0, float(x[i]), i])
    alive = [True] * len(found)
    # Pass 1: drop maxima that rise less than the threshold; of close maxima keep a higher one.
    last_value = last_min = last_max = float(x[0])
    min_flag = False
    last_max_at = None
    for k, (kind, value, _) in enumerate(found):
        if kind == 1:
            if abs(value - last_value) < threshold:
                if value - last_min < threshold:
                    alive[k] = False
                else:
                    if value > last_max * 1.05:
                        if last_max_at is not None:
                            alive[last_max_at] = False
                        last_max, last_max_at = value, k
                    elif min_flag:
                        last_max, last_max_at = value, k
                    else:
                        alive[k] = False
                    min_flag = False
            else:
                min_flag = False
                last_max, last_max_at = value, k
        elif abs(value - last_value) >= threshold:
            min_flag = True
            last_min = value
        last_value = value
    # Pass 2: drop minima less than the threshold below the previous maximum.
    last_max = float(x[0])
    for k, (kind, value, _) in enumerate(found):
        if not alive[k]:
            continue
        if kind == 0 and last_max - value < threshold:
            alive[k] = False
        elif kind == 1:
            last_max = value
    # Pass 3: of consecutive maxima keep the highest, of consecutive minima the lowest.
    previous_kind, best = None, None
    for k, (kind, value, _) in enumerate(found):
        if not alive[k]:
            continue
        if kind != previous_kind:
            previous_kind, best = kind, k
        elif (kind == 1 and value > found[best][1]) or (kind == 0 and value < found[best][1]):
            alive[best] = False
            best = k
        else:
            alive[k] = False
    return [tuple(e) for e, keep in zip(found, alive) if keep]


def slopes(x: np.ndarray, period: float) -> List[float]:
    """cFunctionalPeaks2's meanRisingSlope, stddevRisingSlope, meanFallingSlope and
    stddevFallingSlope (units per second), from the pruned extrema: a rising slope from
    each minimum (or the start) to the next maximum, a falling one (positive) from each
    maximum to the next minimum. openSMILE's quirks, kept: the stretch after the last
    extremum adds one more slope of the other kind as (last value - extremum) / time,
    so a "falling" slope there is negative; it counts in the mean (and in the divisor of
    the variance) but not in the sum of squares; with no extremum at all the one slope
    is (x[-1] - x[0]) / N per frame, not per second."""
    n = x.size
    if n == 0:
        return [0.0] * 4
    rising, falling = [], []
    last_max = last_min = float(x[0])
    last_max_at = last_min_at = 0
    last_is_max = None
    for kind, value, at in extrema(x):
        if kind == 0:
            last_min, last_min_at = value, at
            if at - last_max_at > 0:
                falling.append((last_max - last_min) / ((at - last_max_at) * period))
                last_is_max = False
        else:
            last_max, last_max_at = value, at
            if at - last_min_at > 0:
                rising.append((last_max - last_min) / ((at - last_min_at) * period))
                last_is_max = True
    inner_rising, inner_falling = list(rising), list(falling)
    if last_is_max is True and n - 1 - last_max_at > 0:
        falling.append((float(x[-1]) - last_max) / ((n - 1 - last_max_at) * period))
    elif last_is_max is False and n - 1 - last_min_at > 0:
        rising.append((float(x[-1]) - last_min) / ((n - 1 - last_min_at) * period))
    elif last_is_max is None:
        slope = (float(x[-1]) - float(x[0])) / n
        if slope > 0:
            rising = [slope]
        elif slope < 0:
            falling = [slope]

    def mean_std(all_slopes, inner):
        if not all_slopes:
            return 0.0, 0.0
        mean = sum(all_slopes) / len(all_slopes)
        squares = sum((s - mean) ** 2 for s in inner)
        variance = squares / len(all_slopes) if len(all_slopes) > 1 else squares
        return mean, float(np.sqrt(variance)) if variance > 0 else 0.0

    return [*mean_std(rising, inner_rising), *mean_std(falling, inner_falling)]


def peaks_per_second(x: np.ndarray, period: float) -> float:
    """cFunctionalPeaks2 numPeaks with norm = seconds: pruned maxima per second."""
    if x.size == 0:
        return 0.0
    return sum(1 for kind, _, _ in extrema(x) if kind == 1) / (x.size * period)


def segments(x: np.ndarray, period: float, *, voiced: bool) -> Tuple[float, float, float]:
    """cFunctionalSegments, algorithm nonX (voiced: runs of non-zero values) or eqX
    (runs of zeros), X = 0, segMinLng 3, pauseMinLng 2, norm = seconds: (segments per
    second, mean length, population std of the lengths). A segment needs 3 frames of its
    kind; a single frame of the other kind does not end it, two do. openSMILE's length
    is last frame - first frame (one frame less than the run), kept."""
    if x.size == 0:
        return 0.0, 0.0, 0.0
    inside = (x != 0.0) if voiced else (x == 0.0)
    lengths = []
    state, run, gap, start = 0, 0, 0, 0  # state 0 outside, 1 candidate, 2 segment
    for i, v in enumerate(inside):
        if v:
            if state == 1:
                gap = 0
                run += 1
                if run >= 3:
                    run, state = 0, 2
            elif state == 0:
                run, start, state = run + 1, i, 1
            else:
                gap = 0
        else:
            if state == 2:
                run = 0
                gap += 1
                if gap >= 2:
                    lengths.append(i - gap - start)
                    state, gap = 0, 0
            elif state == 1:
                gap += 1
                if gap >= 2:
                    state, gap, run = 0, 0, 0
    if state == 2:
        lengths.append(x.size - (gap + 1) - start)
    count = len(lengths)
    mean = sum(lengths) / count if count > 1 else float(sum(lengths))
    std = float(np.sqrt(sum((n - mean) ** 2 for n in lengths) / count)) if count > 1 else 0.0
    return count / (x.size * period), mean * period, std * period


def functionals(spectral: np.ndarray, f0: np.ndarray, voice: np.ndarray, leq: float,
                period: float) -> Dict[str, float]:
    """The 88 functionals of one clip from its unsmoothed LLDs.

    spectral : (10, n20) egemaps_lld rows of every 20 ms frame, unsmoothed.
    f0 : (n60,) F0 in semitones above 27.5 Hz per 60 ms frame, 0 where unvoiced.
    voice : (14, n60) the voice LLDs of :data:`VOICE_LLDS` per 60 ms frame, unsmoothed,
        0 where unvoiced (NaN rows propagate NaN into their functionals).
    leq : equivalentSoundLevel_dBp. period : frame step (s).
    """
    out: Dict[str, float] = {}
    # The functionals see one frame less than there are 60 ms frames (the last one is
    # still in openSMILE's pitch smoother when the input ends), but the 3-frame
    # smoothing before them sees that frame too: smooth every 60 ms frame, then cut.
    n60 = f0.size - 1
    voiced = f0 > _VOICED_THRESHOLD

    def smooth_nonzero(x: np.ndarray) -> np.ndarray:
        return smooth3(x, nonzero=True)[:n60]

    def contour(prefix: str, x: np.ndarray) -> None:
        mean, std_norm = moments(x)
        values = [mean, std_norm, *percentiles(x), *slopes(x, period)]
        out.update({f"{prefix}_{f}": v for f, v in zip(_CONTOUR_FUNCTIONALS, values)})

    f0_smooth = smooth_nonzero(f0)
    contour(F0, f0_smooth[f0_smooth != 0.0])  # nonZeroFuncts: the voiced frames, run together
    loudness = smooth3(spectral[0])
    contour("loudness_sma3", loudness)
    for name, row in _UNSPLIT:
        out[f"{name}_amean"], out[f"{name}_stddevNorm"] = moments(smooth3(spectral[row]))
    for name, row in zip(VOICE_LLDS, voice):
        if name in _MASKED_BY_VOICING:  # gemapsv01b_formantVoiced
            row = np.where(voiced, row, 0.0)
        smooth = smooth_nonzero(row)
        out[f"{name}_sma3nz_amean"], out[f"{name}_sma3nz_stddevNorm"] = moments(smooth[smooth != 0.0])
    for v_name, _, row in _SPECTRAL_SPLIT:
        smooth = smooth_nonzero(np.where(voiced, spectral[row, :f0.size], 0.0))
        out[f"{v_name}_sma3nz_amean"], out[f"{v_name}_sma3nz_stddevNorm"] = moments(smooth[smooth != 0.0])
    for _, uv_name, row in _SPECTRAL_SPLIT:
        if uv_name is not None:
            smooth = smooth_nonzero(np.where(voiced, 0.0, spectral[row, :f0.size]))
            out[f"{uv_name}_sma3nz_amean"] = moments(smooth[smooth != 0.0])[0]
    out["loudnessPeaksPerSec"] = peaks_per_second(loudness, period)
    (out["VoicedSegmentsPerSec"], out["MeanVoicedSegmentLengthSec"],
     out["StddevVoicedSegmentLengthSec"]) = segments(f0_smooth, period, voiced=True)
    _, out["MeanUnvoicedSegmentLength"], out["StddevUnvoicedSegmentLength"] = segments(f0_smooth, period, voiced=False)
    out["equivalentSoundLevel_dBp"] = float(leq)
    return {name: out[name] for name in FUNCTIONAL_NAMES}
