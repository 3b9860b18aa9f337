from __future__ import annotations

from typing import Dict

from . import _core, _ops


def build_info() -> Dict[str, str]:
    """How this affectkit was built: version, compiler, C++ standard, architecture
    and SIMD flags, FFT backend, hardware threads, and the torch op library's state
    (``torch_ops``: 'available' or why not; ``torch_ops_built_for``: torch version).
    Torch is not imported."""
    info = dict(_core.build_info())
    info["torch_ops"] = _ops.status()
    info["torch_ops_built_for"] = _ops.built_for() or "none"
    info["torch_installed"] = _ops.installed_torch() or "none"
    return info
