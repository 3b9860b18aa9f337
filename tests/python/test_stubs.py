"""The shipped type stubs agree with the compiled module (mypy's stubtest)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")


def test_core_stub_matches_the_compiled_module():
    allowlist = Path(__file__).with_name("stubtest_allowlist.txt")
    result = subprocess.run([sys.executable, "-m", "mypy.stubtest", "affectkit._core", "--allowlist", str(allowlist)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
