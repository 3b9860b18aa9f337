"""import affectkit without torch; clear errors when the op library is missing or
stale. Each scenario runs in a fresh interpreter, so what it imports (or breaks)
does not leak into this one."""

import subprocess
import sys
import textwrap
from importlib import metadata

import affectkit as ak

NO_TORCH = """
import sys

class NoTorch:  # makes torch uninstalled for this process
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, NoTorch())
"""


def run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_import_and_stft_without_torch():
    result = run(
        NO_TORCH
        + """
import numpy as np
import affectkit as ak
assert "torch" not in sys.modules
print(ak.stft(np.ones(4000)).shape, ak.power_spectrogram([np.ones(300, np.float32)])[0].dtype)
info = ak.build_info()
print(info["torch_ops"])
assert "torch" not in sys.modules
try:
    import affectkit.nn
except ImportError as error:
    print("nn:", type(error).__name__, error)
"""
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "(1025, 8) float32"
    assert lines[-1].startswith("nn: ModuleNotFoundError") and "torch" in lines[-1]


def test_import_affectkit_does_not_import_torch():
    result = run("import sys, affectkit, affectkit.features; affectkit.build_info(); print('torch' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    result = run("import sys, affectkit.nn; print('torch' in sys.modules)")  # the control: nn does import it
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_nn_without_op_library_says_how_to_build():
    result = run(
        """
        import affectkit._ops as ops
        from pathlib import Path
        ops.LIBRARY = Path("/nonexistent/_torch_ops.so")
        import affectkit.nn
        """
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "not built" in result.stderr and "--no-build-isolation" in result.stderr
    assert "pip install" in result.stderr


def test_nn_with_op_library_for_another_torch_names_both_versions():
    result = run(
        """
        import affectkit._ops as ops
        ops.installed_torch = lambda: "9.9.9"
        import affectkit.nn
        """
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "9.9.9" in result.stderr and ops_built_for() in result.stderr
    assert "--no-build-isolation" in result.stderr


def test_nn_with_a_stale_version_file_names_both_versions(tmp_path):
    """The other side of the mismatch: the library says it was built for another torch."""
    version_file = tmp_path / "_torch_ops_version.txt"
    version_file.write_text("1.2.3\n")
    result = run(
        f"""
        import affectkit._ops as ops
        from pathlib import Path
        ops._VERSION_FILE = Path({str(version_file)!r})
        import affectkit.nn
        """
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "1.2.3" in result.stderr and metadata.version("torch") in result.stderr
    assert "--no-build-isolation" in result.stderr


def test_nn_without_torch_installed_says_so():
    result = run(
        """
        import affectkit._ops as ops
        ops.installed_torch = lambda: None
        import affectkit.nn
        """
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "torch is not installed" in result.stderr


def ops_built_for():
    return ak.build_info()["torch_ops_built_for"]


def test_build_info_reports_the_build():
    info = ak.build_info()
    for key in ("version", "compiler", "simd", "fft_backend", "hardware_threads", "torch_ops", "torch_ops_built_for"):
        assert isinstance(info[key], (str, int)) and str(info[key]), key
    assert info["version"] == ak.__version__ == metadata.version("affectkit")
    assert "fftw" in info["fft_backend"].lower()
    assert int(info["hardware_threads"]) >= 1
    assert info["torch_ops"] == "available"  # the test set-up builds the op library
    assert info["torch_ops_built_for"] == metadata.version("torch")


def test_main_job_runs_on_demo_data_without_torch(tmp_path):
    arguments = ["--out", str(tmp_path / "report"), "--corpus-dir", str(tmp_path / "corpus"), "--cache-dir",
                 str(tmp_path / "cache"), "--quiet"]
    result = run(NO_TORCH + f"""
from affectkit.__main__ import main
status = main({arguments!r})
assert "torch" not in sys.modules
sys.exit(status)
""")
    assert result.returncode == 0, result.stderr
    assert "linear probe: UA" in result.stdout and (tmp_path / "report" / "report.md").is_file()
