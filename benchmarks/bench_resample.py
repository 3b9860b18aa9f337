"""Resampling 44.1 kHz -> 16 kHz: affectkit against soxr (librosa's default backend) and
scipy.signal.resample_poly, one thread, on 64 clips of 1-8 s.

    python benchmarks/bench_resample.py [--repeats N] [--quick] [--no-write]
"""

from harness import arguments, compare, limit_threads, report

limit_threads(1)

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402
import soxr  # noqa: E402

import affectkit as ak  # noqa: E402


def main():
    args = arguments(__doc__.split("\n\n")[0])
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(int(s * 44100))).astype(np.float32)
             for s in rng.uniform(1, 8, 8 if args.quick else 64)]
    results = []
    for res_type, quality in (("hq", "HQ"), ("vhq", "VHQ")):
        results.append(compare(f"44.1 -> 16 kHz, {res_type}, 1 thread", {
            "affectkit": lambda r=res_type: ak.resample(clips, orig_sr=44100, target_sr=16000, res_type=r, num_threads=1),
            f"soxr {quality}": lambda q=quality: [soxr.resample(c, 44100, 16000, quality=q) for c in clips],
            "scipy resample_poly": lambda: [scipy.signal.resample_poly(c, 160, 441) for c in clips],
        }, args.repeats))
    seconds = sum(c.size for c in clips) / 44100
    report("Resampling", results, args,
           f"{len(clips)} clips of 1-8 s ({seconds:.0f} s) of float32 noise at 44.1 kHz. soxr runs its own "
           "filter (HQ: ~-120 dB, VHQ); scipy's resample_poly uses a Kaiser(5) FIR of 10*max(up, down) "
           "half-length. affectkit's hq/vhq: see affectkit.features.resample.")


if __name__ == "__main__":
    main()
