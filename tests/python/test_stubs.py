"""The shipped type stubs agree with the compiled module (mypy's stubtest)."""

import subprocess
import sys

import pytest

pytest.importorskip("mypy")


def test_core_stub_matches_the_compiled_module():
    result = subprocess.run([sys.executable, "-m", "mypy.stubtest", "affectkit._core"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
