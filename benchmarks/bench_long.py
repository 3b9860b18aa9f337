"""One hour of audio through affectkit: time and peak memory per call.

Each case runs in a fresh process on one hour of a 16 kHz synthetic voice (a
10 s gliding vowel tiled, so pitch and voice measures have voiced frames). The
peak is the process's resident high-water mark during the call minus its
resident size just before (the kernel's counter is reset first, through
/proc/self/clear_refs), next to the sizes of the input and the output.

    python benchmarks/bench_long.py [--quick] [--no-write]
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Dict

from harness import arguments, machine, write_section

CASES: Dict[str, str] = {
    "fbank, 80 bins, float32": "ak.fbank(y32, num_mel_bins=80)",
    "log-mel, 64 bands, n_fft 512, float32": "ak.log_mel(y32, sr=SR, n_fft=512, hop_length=160, n_mels=64)",
    "eGeMAPS LLDs (opensmile's energy/spectral set), float32": "ak.egemaps_lld(y32, sr=SR)",
    "eGeMAPSv02, the 88 functionals, float32": "ak.egemaps(y32, sr=SR)",
    "pitch, Praat ac, float64": "ak.pitch(y64, sr=SR)",
    "harmonicity, Praat cc, float64": "ak.harmonicity(y64, sr=SR)",
    "pYIN, librosa defaults at 16 kHz, float64": "ak.pyin(y64, sr=SR, fmin=65.0, fmax=1000.0)",
}

CHILD = r"""
import json, resource, sys, time
import numpy as np
import affectkit as ak
SR = 16000
seconds = float(sys.argv[1])
voice = ak.synthetic_voice(sr=SR, duration=10.0, f0=(110.0, 180.0), vowel="a", jitter=0.01, snr_db=30, seed=0)
y64 = np.tile(voice.y, int(seconds // 10))
y32 = y64.astype(np.float32)
call = sys.argv[2]
eval(call.replace("y64", "y64[:SR]").replace("y32", "y32[:SR]"))  # warm-up: plans, windows, imports

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
before = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM to the current resident size
start = time.perf_counter()
out = eval(call)
elapsed = time.perf_counter() - start
peak = status("VmHWM:")

def nbytes(x):
    if hasattr(x, "memory_usage"):  # a pandas DataFrame (ak.egemaps)
        return int(x.memory_usage(deep=True).sum())
    if isinstance(x, np.ndarray):
        return x.nbytes
    if isinstance(x, (list, tuple)):
        return sum(nbytes(v) for v in x)
    if isinstance(x, dict):
        return sum(nbytes(v) for v in x.values())
    if hasattr(x, "__dict__"):
        return sum(nbytes(v) for v in vars(x).values())
    return 0

source = y32 if "y32" in call else y64
print(json.dumps({"seconds": elapsed, "extra": peak - before, "input": source.nbytes, "output": nbytes(out)}))
"""


def main() -> None:
    args = arguments(__doc__.split("\n\n")[0])
    seconds = 60.0 if args.quick else 3600.0
    rows = []
    for name, call in CASES.items():
        done = subprocess.run([sys.executable, "-c", CHILD, str(seconds), call], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{name}: {done.stderr}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        mb = 1 / 2**20
        rows.append(f"| {name} | {r['seconds']:.2f} | {seconds / r['seconds']:,.0f}x | {r['input'] * mb:,.0f} | "
                    f"{r['output'] * mb:,.0f} | {r['extra'] * mb:,.0f} | {r['extra'] / r['input']:.2f} |")
        print(rows[-1], flush=True)
    label = "one hour" if seconds == 3600 else f"{seconds:.0f} s"
    title = "Long inputs: one hour of audio, time and peak memory"
    command = "python benchmarks/bench_long.py" + (" --quick" if args.quick else "")
    facts = "\n".join(f"- {key}: {value}" for key, value in machine().items())
    section = (
        f"## {title}\n\n`{command}`\n\n{facts}\n\n"
        f"{label} of 16 kHz audio per call, all cores, each case in a fresh process after a 1 s warm-up call. "
        "Peak = resident high-water mark during the call minus resident size before it "
        "(so it includes the output).\n\n"
        "| call | s | x real time | input MB | output MB | peak MB | peak / input |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n\n"
    )
    print(section)
    if not args.no_write:
        write_section(title, section, args.output)


if __name__ == "__main__":
    main()
