"""Synthetic voices with known ground truth: glottal pulses at known instants and
amplitudes (so F0, jitter and shimmer are known by construction), shaped by a glottal
low-pass, a cascade of formant resonators (known formant frequencies and bandwidths)
and lip radiation, with noise at a known SNR.

>>> voice = ak.synthetic_voice(sr=16000, duration=1.0, f0=(120, 180), jitter=0.01)
>>> voice.y, voice.pulse_times, voice.jitter_local  # signal and its truth

Pulses are band-limited impulses placed at exact (fractional-sample) instants, so
period perturbations much smaller than a sample survive into the waveform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np

from ._checks import as_int

__all__ = ["SyntheticVoice", "synthetic_voice", "VOWELS"]

# Formant frequencies and bandwidths (Hz) of adult male vowels, after Peterson & Barney
# (1952) averages and Klatt's (1980) bandwidths: F1-F5.
VOWELS = {
    "a": ((730.0, 1090.0, 2440.0, 3400.0, 4300.0), (60.0, 90.0, 120.0, 200.0, 250.0)),
    "i": ((270.0, 2290.0, 3010.0, 3500.0, 4300.0), (50.0, 100.0, 150.0, 200.0, 250.0)),
    "u": ((300.0, 870.0, 2240.0, 3400.0, 4300.0), (50.0, 80.0, 120.0, 200.0, 250.0)),
    "e": ((530.0, 1840.0, 2480.0, 3400.0, 4300.0), (60.0, 100.0, 120.0, 200.0, 250.0)),
    "o": ((570.0, 840.0, 2410.0, 3400.0, 4300.0), (60.0, 80.0, 120.0, 200.0, 250.0)),
}

F0 = Union[float, Tuple[float, float], Callable[[np.ndarray], np.ndarray]]


@dataclass
class SyntheticVoice:
    """A generated voice and its truth. Times in seconds, frequencies in Hz."""

    y: np.ndarray  # (n_samples,) float64
    sr: int
    pulse_times: np.ndarray  # glottal closure instants
    pulse_amplitudes: np.ndarray  # relative excitation amplitude of each pulse
    voiced_intervals: Sequence[Tuple[float, float]]
    formants: Tuple[float, ...]
    bandwidths: Tuple[float, ...]
    f0_contour: Callable[[np.ndarray], np.ndarray] = field(repr=False)

    @property
    def periods(self) -> np.ndarray:
        """Intervals between consecutive pulses of the same voiced interval."""
        return np.concatenate([np.diff(t) for t in self._pulses_by_interval()]) if len(self.pulse_times) else np.zeros(0)

    def _pulses_by_interval(self):
        return [self.pulse_times[(self.pulse_times >= a) & (self.pulse_times < b)] for a, b in self.voiced_intervals]

    def _amplitudes_by_interval(self):
        return [self.pulse_amplitudes[(self.pulse_times >= a) & (self.pulse_times < b)] for a, b in self.voiced_intervals]

    @property
    def jitter_local(self) -> float:
        """Mean absolute difference of consecutive periods over the mean period (Praat's
        'jitter (local)' definition applied to the true periods)."""
        diffs = np.concatenate([np.abs(np.diff(np.diff(t))) for t in self._pulses_by_interval()])
        return float(np.mean(diffs) / np.mean(self.periods))

    @property
    def shimmer_local(self) -> float:
        """Mean absolute difference of consecutive pulse amplitudes over the mean amplitude."""
        amplitudes = self._amplitudes_by_interval()
        diffs = np.concatenate([np.abs(np.diff(a)) for a in amplitudes])
        return float(np.mean(diffs) / np.mean(np.concatenate(amplitudes)))

    def f0(self, times: np.ndarray) -> np.ndarray:
        """The F0 contour the pulses follow, NaN outside the voiced intervals."""
        times = np.asarray(times, dtype=np.float64)
        inside = np.zeros(times.shape, bool)
        for a, b in self.voiced_intervals:
            inside |= (times >= a) & (times < b)
        return np.where(inside, self.f0_contour(times), np.nan)


def _contour(f0: F0, duration: float) -> Callable[[np.ndarray], np.ndarray]:
    if callable(f0):
        return lambda t: np.asarray(f0(t), dtype=np.float64) * np.ones_like(t)
    if isinstance(f0, (tuple, list)):
        start, end = (float(v) for v in f0)
        return lambda t: start * (end / start) ** (np.asarray(t) / duration)  # a glide, linear in octaves
    value = float(f0)
    return lambda t: np.full(np.shape(t), value)


def _bandlimited_impulses(n: int, sr: int, times: np.ndarray, amplitudes: np.ndarray,
                          half_width: int = 32, cutoff: float = 0.9) -> np.ndarray:
    """Sum of impulses at fractional instants, each a Kaiser-windowed sinc (low-passed
    at ``cutoff`` x Nyquist) centred on its instant."""
    # One spare sample: a pulse in the last fractional sample before the end (when
    # duration * sr is not whole) has its kernel centre at index n.
    out = np.zeros(n + 2 * half_width + 1)
    offsets = np.arange(-half_width, half_width + 1)
    window = np.kaiser(offsets.size, 8.0)  # the same for every pulse
    for time, amplitude in zip(times, amplitudes):
        position = time * sr
        centre = int(np.floor(position))
        x = offsets - (position - centre)
        kernel = cutoff * np.sinc(cutoff * x) * window
        out[centre + half_width + offsets[0]: centre + half_width + offsets[-1] + 1] += amplitude * kernel
    return out[half_width:half_width + n]


def _resonator(x: np.ndarray, frequency: float, bandwidth: float, sr: int) -> np.ndarray:
    """Klatt's (1980) digital resonator: unit gain at 0 Hz, a pole pair at
    ``frequency`` with ``bandwidth`` (Hz)."""
    import scipy.signal

    c = -np.exp(-2 * np.pi * bandwidth / sr)
    b = 2 * np.exp(-np.pi * bandwidth / sr) * np.cos(2 * np.pi * frequency / sr)
    a = 1 - b - c
    return scipy.signal.lfilter([a], [1, -b, -c], x)


def synthetic_voice(
    *,
    sr: int = 16000,
    duration: float = 1.0,
    f0: F0 = 120.0,
    jitter: float = 0.0,
    shimmer: float = 0.0,
    vowel: str = "a",
    formants: Optional[Sequence[float]] = None,
    bandwidths: Optional[Sequence[float]] = None,
    voiced: Optional[Sequence[Tuple[float, float]]] = None,
    snr_db: Optional[float] = None,
    amplitude: float = 0.3,
    seed: int = 0,
) -> SyntheticVoice:
    """A vowel-like voice with known F0, jitter, shimmer and formants.

    Parameters
    ----------
    sr : int
        Sample rate (Hz).
    duration : float
        Seconds.
    f0 : float, (start, end) or callable
        F0 in Hz: constant, a glide from start to end (linear in octaves), or a function
        of time (seconds, array) returning Hz.
    jitter, shimmer : float
        Relative standard deviation of each period (jitter) and of each pulse's amplitude
        (shimmer), drawn independently per pulse; the realised values are in the result
        (``jitter_local``, ``shimmer_local``).
    vowel : str
        One of :data:`VOWELS` ('a', 'e', 'i', 'o', 'u'), its formants below 0.45 ``sr``;
        ``formants``/``bandwidths`` override it.
    voiced : list of (start, end) seconds, optional
        Where the voice sounds (default: everywhere); silence elsewhere (plus noise).
    snr_db : float, optional
        White noise at this signal-to-noise ratio over the voiced part.
    amplitude : float
        Peak amplitude of the result (before noise).

    Returns
    -------
    SyntheticVoice
        ``y`` (float64) and the truth: pulse times and amplitudes, F0 contour, formants.
    """
    sr = as_int("sr", sr, minimum=1)
    if not duration > 0:
        raise ValueError(f"invalid argument 'duration': must be positive, got {duration}")
    if vowel not in VOWELS:
        raise ValueError(f"invalid argument 'vowel': must be one of {sorted(VOWELS)}, got {vowel!r}")
    if not 0 <= jitter < 0.5 or not 0 <= shimmer < 0.5:
        raise ValueError(f"invalid argument 'jitter'/'shimmer': must lie in [0, 0.5), got {jitter}, {shimmer}")
    default_f, default_b = VOWELS[vowel]
    if formants is None:  # the vowel's formants that fit below 0.45 sr (F4, F5 drop out at 8 kHz)
        kept = [i for i, f in enumerate(default_f) if f < 0.45 * sr]
        default_f, default_b = tuple(default_f[i] for i in kept), tuple(default_b[i] for i in kept)
    formants = tuple(float(f) for f in (default_f if formants is None else formants))
    bandwidths = tuple(float(b) for b in (default_b if bandwidths is None else bandwidths))
    if len(bandwidths) != len(formants):
        raise ValueError("invalid argument 'bandwidths': need one per formant")
    if any(not 0 < f < sr / 2 for f in formants):
        raise ValueError(f"invalid argument 'formants': must lie below Nyquist ({sr / 2} Hz), got {formants}")
    intervals = [(0.0, float(duration))] if voiced is None else [(float(a), float(b)) for a, b in voiced]
    if any(not 0 <= a < b <= duration for a, b in intervals):
        raise ValueError(f"invalid argument 'voiced': intervals must lie within [0, {duration}], got {intervals}")
    contour = _contour(f0, duration)
    rng = np.random.default_rng(seed)
    n = int(round(sr * duration))

    # Pulses follow the F0 contour's phase (its integral), so the rate around any
    # instant is the contour there; jitter scales each period independently.
    grid = np.arange(int(np.ceil(duration * sr * 4)) + 2) / (sr * 4)
    rate = contour(grid)
    if np.any(~np.isfinite(rate)) or np.any(rate <= 0):
        raise ValueError("invalid argument 'f0': must be positive and finite over the duration")
    phase = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(grid))])
    times, amplitudes = [], []
    for start, end in intervals:
        t = start + 0.002
        while t < end:
            times.append(t)
            amplitudes.append(max(0.05, 1.0 + shimmer * rng.standard_normal()))
            period = np.interp(np.interp(t, grid, phase) + 1.0, phase, grid) - t
            t += period * max(0.5, 1.0 + jitter * rng.standard_normal())
    pulse_times, pulse_amplitudes = np.array(times), np.array(amplitudes)

    source = _bandlimited_impulses(n, sr, pulse_times, pulse_amplitudes)
    # Glottal spectrum falls ~12 dB/octave above ~100 Hz: two one-pole low-passes.
    import scipy.signal

    pole = np.exp(-2 * np.pi * 100.0 / sr)
    source = scipy.signal.lfilter([1 - pole], [1, -pole], source)
    source = scipy.signal.lfilter([1 - pole], [1, -pole], source)
    y = source
    for frequency, bandwidth in zip(formants, bandwidths):
        y = _resonator(y, frequency, bandwidth, sr)
    y = np.diff(y, prepend=0.0)  # lip radiation: +6 dB/octave
    peak = np.max(np.abs(y))
    if peak > 0:
        y *= amplitude / peak
    if snr_db is not None:
        voiced_mask = np.zeros(n, bool)
        for start, end in intervals:
            voiced_mask[int(start * sr):int(end * sr)] = True
        power = np.mean(y[voiced_mask] ** 2) if voiced_mask.any() else 0.0
        y = y + np.sqrt(power / 10 ** (snr_db / 10)) * rng.standard_normal(n)
    return SyntheticVoice(y=y, sr=sr, pulse_times=pulse_times, pulse_amplitudes=pulse_amplitudes,
                          voiced_intervals=intervals, formants=formants, bandwidths=bandwidths,
                          f0_contour=contour)
