"""benchmarks/harness.py writes sections into the file it is given; benchmarks/run_all reads
the ratios back from such tables (for its figure)."""

import argparse
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import harness  # noqa: E402


def run_all_module():
    loader = importlib.machinery.SourceFileLoader("run_all", str(BENCHMARKS / "run_all"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("run_all", loader))
    loader.exec_module(module)
    return module


def result(case, affectkit_ms, anchor_ms):
    return harness.Result(case, {"affectkit": [affectkit_ms / 1e3] * 3, "anchor": [anchor_ms / 1e3] * 3})


def test_report_writes_to_the_output_path_and_replaces_its_section(tmp_path):
    output = tmp_path / "tables.md"
    args = argparse.Namespace(repeats=3, no_write=False, output=output)
    harness.report("First", [result("case a", 2.0, 6.0)], args)
    harness.report("Second", [result("case b", 4.0, 2.0)], args)
    harness.report("First", [result("case a", 2.0, 10.0)], args)  # a rerun replaces the section in place
    text = output.read_text()
    assert text.startswith(harness.INTRO) and text.count("## First") == 1
    assert text.index("## First") < text.index("## Second")
    assert run_all_module().ratios(output) == [("First", "case a", "anchor", 5.0), ("Second", "case b", "anchor", 0.5)]


def test_ratios_of_the_published_tables():
    rows = run_all_module().ratios(harness.RESULTS)
    assert rows and all(ratio > 0 for *_, ratio in rows)
    sections = {section for section, *_ in rows}
    assert "STFT and power spectrogram, one thread" in sections
