"""Resampling 44.1 kHz -> 16 kHz: affectkit against soxr (librosa's default backend),
scipy.signal.resample_poly and resampy, one thread, on 64 clips of 1-8 s.

    python benchmarks/bench_resample.py [--repeats N] [--quick] [--no-write]
"""

from harness import arguments, compare, limit_threads, report

limit_threads(1)

import numpy as np  # noqa: E402
import resampy  # noqa: E402
import scipy.signal  # noqa: E402
import soxr  # noqa: E402

import affectkit as ak  # noqa: E402

# (affectkit preset, soxr quality, resampy filter): soxr and resampy next to the preset
# whose filter is closest in length (resampy kaiser_fast: 24 zero crossings, roll-off
# 0.87; kaiser_best: 50, 0.92).
CASES = (("fast", None, "kaiser_fast"), ("hq", "HQ", None), ("vhq", "VHQ", "kaiser_best"))


def implementations(clips, res_type, quality, resampy_filter):
    group = {"affectkit": lambda: ak.resample(clips, orig_sr=44100, target_sr=16000, res_type=res_type, num_threads=1)}
    if quality:
        group[f"soxr {quality}"] = lambda: [soxr.resample(c, 44100, 16000, quality=quality) for c in clips]
    if resampy_filter:
        group[f"resampy {resampy_filter}"] = lambda: [resampy.resample(c, 44100, 16000, filter=resampy_filter)
                                                      for c in clips]
    group["scipy resample_poly"] = lambda: [scipy.signal.resample_poly(c, 160, 441) for c in clips]
    return group


def check(group):
    """Never time a wrong answer. The filters differ, so compare on tones inside every
    filter's passband (220 Hz to 6 kHz): all outputs agree to 1e-2 of the peak (the bound
    is set by kaiser_fast's passband ripple, 3e-3, and by the filters' different transients
    at the clip edges, up to 6e-3; inside the clips the others agree to 1e-3). resampy
    returns floor(n * 16000 / 44100) samples, one fewer than the others here."""
    reference = group["affectkit"]()
    for name, run in group.items():
        for a, b in zip(reference, run()):
            assert 0 <= a.size - b.size <= 1, name
            error = np.max(np.abs(a[:b.size] - b)) / np.max(np.abs(a))
            assert error < 1e-2, f"{name} differs from affectkit by {error:.2e} (relative to the peak)"


def main():
    args = arguments(__doc__.split("\n\n")[0])
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(int(s * 44100))).astype(np.float32)
             for s in rng.uniform(1, 8, 8 if args.quick else 64)]
    tones = []
    for seconds in (1.0, 2.3):
        t = np.arange(int(seconds * 44100)) / 44100
        tones.append(sum(0.2 * np.sin(2 * np.pi * f * t + f) for f in (220, 1000, 3100, 5300, 6000)).astype(np.float32))
    results = []
    for res_type, quality, resampy_filter in CASES:
        # The check also runs resampy once on every signal length, so numba's JIT
        # compilation (one per dtype) is done before compare's warm-up and timing.
        check(implementations(tones, res_type, quality, resampy_filter))
        results.append(compare(f"44.1 -> 16 kHz, {res_type}, 1 thread",
                               implementations(clips, res_type, quality, resampy_filter), args.repeats))
    seconds = sum(c.size for c in clips) / 44100
    report("Resampling", results, args,
           f"{len(clips)} clips of 1-8 s ({seconds:.0f} s) of float32 noise at 44.1 kHz. soxr runs its own "
           "filter (HQ: ~-120 dB, VHQ); scipy's resample_poly uses a Kaiser(5) FIR of 10*max(up, down) "
           "half-length; resampy (numba, parallel=False) interpolates its precomputed Kaiser-windowed sinc "
           "tables (kaiser_fast: 24 zero crossings, roll-off 0.87; kaiser_best: 50, 0.92), compiled by "
           "numba before timing (JIT excluded). affectkit's fast/hq/vhq: 20/32/64 zero crossings, -6 dB "
           "cutoff 0.90/0.94/0.97 (affectkit.features.resample). Outputs checked on tones from 220 Hz to "
           "6 kHz: all agree with affectkit to 1e-2 of the peak (resampy kaiser_fast's passband ripple and "
           "the filters' transients at the clip edges; inside the clips the others agree to 1e-3).")


if __name__ == "__main__":
    main()
