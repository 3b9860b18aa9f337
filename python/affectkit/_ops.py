"""Loads the torch op library (``_torch_ops.so``) into ``torch.ops.affectkit``.

The library is compiled against one torch version; loading it into another
fails with undefined symbols, so the version it was built for is checked first
and a mismatch is reported with the command that rebuilds it.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Optional

_HERE = Path(__file__).resolve().parent
LIBRARY = _HERE / "_torch_ops.so"
_VERSION_FILE = _HERE / "_torch_ops_version.txt"

REBUILD = (
    "install torch first (pip install torch==2.13.0), then rebuild affectkit against it "
    "without build isolation: pip install --no-build-isolation --force-reinstall --no-deps "
    "<path to the affectkit source>"
)

_loaded = False


def built_for() -> Optional[str]:
    """The torch version the op library was built against, or None if it was not built."""
    if not LIBRARY.exists() or not _VERSION_FILE.exists():
        return None
    return _VERSION_FILE.read_text().strip()


def installed_torch() -> Optional[str]:
    """The installed torch version, read from package metadata (torch is not imported)."""
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None


def status() -> str:
    """'available', or why the ops cannot be loaded."""
    built, installed = built_for(), installed_torch()
    if built is None:
        return "not built: " + REBUILD
    if installed is None:
        return f"built for torch {built}, but torch is not installed"
    if installed != built:
        return f"built for torch {built}, but torch {installed} is installed: " + REBUILD
    return "available"


def load() -> None:
    """Registers ``torch.ops.affectkit``; ImportError saying how to build it otherwise."""
    global _loaded
    if _loaded:
        return
    problem = status()
    if problem != "available":
        raise ImportError(f"affectkit's torch op library is {problem}")
    import torch

    torch.ops.load_library(str(LIBRARY))
    _loaded = True
