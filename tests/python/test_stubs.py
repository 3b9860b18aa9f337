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


def test_typing_files_ship_with_the_package():
    """PEP 561: py.typed marks the inline annotations of the Python modules as the types
    (they need no .pyi); the compiled module's types are in _core.pyi."""
    from importlib.resources import files

    package = files("affectkit")
    assert package.joinpath("py.typed").is_file()
    assert package.joinpath("_core.pyi").is_file()
