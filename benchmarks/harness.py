"""The benchmark harness: affectkit and its anchors timed in one process.

Each case runs every implementation once to warm up (plans, caches, lazy
imports), then ``repeats`` rounds in which every implementation is timed once,
in an order rotated from round to round so that none always runs first. The
report gives medians (and the interquartile range) per implementation and the
ratio anchor median / affectkit median ("x faster"). Each table goes into
docs/benchmarks.md as a section with the command that reproduces it and the machine
and library versions it was measured with; a rerun replaces the section of the same
title in place (new titles are appended), so the file holds one current section each.

Thread count matters for every number: scripts call :func:`limit_threads`
before importing numpy or torch when they compare single-threaded code.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Dict, List, Optional

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
INTRO = """# Benchmarks

Every table below was written by a script in `benchmarks/`, whose command is given with
it; a rerun of the script replaces its section. affectkit and the libraries it is compared
with run in the same process on the same inputs, interleaved (every round times each
implementation once, in a rotating order), after a warm-up call; times are medians over
the rounds, with the interquartile range, and the ratio is the anchor's median divided by
affectkit's ("x faster"). Outputs are checked against each other before timing. Tests
never assert timings.

"""


def limit_threads(threads: int = 1) -> None:
    """Caps BLAS/OpenMP threads of numpy, scipy and torch; call before importing them."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per case")
    parser.add_argument("--quick", action="store_true", help="small inputs, few rounds (smoke test)")
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not append to {RESULTS.name}")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help=f"the Markdown file to write the sections into (default: docs/{RESULTS.name})")
    args = parser.parse_args()
    if args.quick:
        args.repeats = min(args.repeats, 3)
    return args


@dataclass
class Result:
    case: str
    times: Dict[str, List[float]] = field(default_factory=dict)  # seconds per round

    def median(self, name: str) -> float:
        return _quantile(self.times[name], 0.5)

    def iqr(self, name: str) -> float:
        return _quantile(self.times[name], 0.75) - _quantile(self.times[name], 0.25)


def _quantile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def compare(case: str, implementations: Dict[str, Callable[[], object]], repeats: int) -> Result:
    """Times each implementation (the first is affectkit) interleaved over ``repeats`` rounds."""
    names = list(implementations)
    for name in names:
        implementations[name]()  # warm-up
    result = Result(case, {name: [] for name in names})
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            implementations[name]()
            result.times[name].append(time.perf_counter() - start)
    print(format_rows([result]), flush=True)
    return result


def machine() -> Dict[str, str]:
    """The facts a reader needs to compare these numbers with theirs."""
    cpu = platform.processor() or platform.machine()
    try:
        # A virtual machine's model name can hide the generation ("AMD EPYC" on both Zen 4
        # and Zen 5, whose AVX-512 speeds differ twofold): family and model say it.
        fields = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        cpu = fields.get("model name", cpu)
        if "cpu family" in fields and "model" in fields:
            cpu += f" (family {fields['cpu family']}, model {fields['model']})"
    except OSError:
        pass
    facts = {"date": datetime.date.today().isoformat(), "cpu": f"{cpu}, {os.cpu_count()} cores",
             "python": platform.python_version()}
    for package in ("affectkit", "numpy", "scipy", "librosa", "torch", "kaldi-native-fbank", "soxr", "resampy",
                    "numba", "python-speech-features", "gammatone", "praat-parselmouth", "opensmile"):
        try:
            facts[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    import affectkit

    info = affectkit.build_info()
    facts["affectkit build"] = f"{info['compiler']}, {info['simd']}, {info['fft_backend']}"
    return facts


def format_rows(results: List[Result]) -> str:
    lines = []
    for result in results:
        names = list(result.times)
        base = result.median(names[0])
        for name in names:
            ratio = result.median(name) / base
            lines.append(
                f"| {result.case} | {name} | {1e3 * result.median(name):.2f} | "
                f"{1e3 * result.iqr(name):.2f} | {'1 (reference)' if name == names[0] else f'{ratio:.2f}x'} |"
            )
    return "\n".join(lines)


def report(title: str, results: List[Result], args: argparse.Namespace, notes: Optional[str] = None) -> str:
    """Markdown section for results; written to docs/benchmarks.md unless --no-write."""
    command = "python " + " ".join([os.path.relpath(sys.argv[0], RESULTS.parent.parent)] + sys.argv[1:])
    facts = "\n".join(f"- {key}: {value}" for key, value in machine().items())
    section = (
        f"## {title}\n\n`{command}`\n\n{facts}\n\n" + (f"{notes}\n\n" if notes else "")
        + f"{args.repeats} interleaved rounds; ratio = implementation median / affectkit median "
        "(above 1: affectkit is faster).\n\n"
        "| case | implementation | median ms | IQR ms | time vs affectkit |\n|---|---|---|---|---|\n"
        + format_rows(results) + "\n\n"
    )
    print(section)
    if not args.no_write:
        write_section(title, section, args.output)
    return section


def write_section(title: str, section: str, path: Path = RESULTS) -> None:
    """Replaces the section headed ``## title`` in ``path`` (docs/benchmarks.md; up to the
    next ``## `` heading), or appends it when there is none."""
    text = path.read_text() if path.exists() else INTRO
    heading = f"## {title}\n"
    start = 0 if text.startswith(heading) else text.find("\n" + heading) + 1  # 0: not found
    if start or text.startswith(heading):
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + ("" if end < 0 else text[end + 1:])
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
