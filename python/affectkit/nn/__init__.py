"""Torch modules and functions backed by affectkit's op library (``torch.ops.affectkit``).

Importing this package loads the op library; if it was not built, or was built
for another torch, the ImportError says how to rebuild it.
"""

from .. import _ops

_ops.load()

from . import functional  # noqa: E402
from .attention import AttentionEncoder  # noqa: E402
from .encoder import FrameEncoder  # noqa: E402
from .mamba import Mamba, MambaEncoder, RMSNorm  # noqa: E402
from .pooling import AttentiveStatisticsPooling, FrameAttentionPooling, StatisticsPooling  # noqa: E402
from .fusion import HadamardOTFusion, PooledFusion, RenyiAlignedFusion  # noqa: E402

__all__ = ["functional", "AttentionEncoder", "FrameEncoder", "StatisticsPooling", "AttentiveStatisticsPooling",
           "FrameAttentionPooling", "Mamba", "MambaEncoder", "RMSNorm",
           "HadamardOTFusion", "PooledFusion", "RenyiAlignedFusion"]
