"""affectkit: fast, reference-exact speech-emotion and paralinguistic research tools.

NumPy in, NumPy out; torch is imported only by :mod:`affectkit.nn`.

>>> import affectkit as ak
>>> S = ak.log_mel(clips, sr=16000, n_fft=512, hop_length=160, win_length=400, n_mels=80)
"""

from __future__ import annotations

from . import features, prosody
from ._build import build_info
from ._version import __version__
from .features import *  # noqa: F401,F403  (the feature functions, listed in features.__all__)
from .prosody import *  # noqa: F401,F403  (listed in prosody.__all__)
from .synth import SyntheticVoice, synthetic_voice
from . import ot, pooling, prompts
from .attention import TransformerEncoderInference
from . import encoders
from .encoders import *  # noqa: F401,F403  (listed in encoders.__all__)

__all__ = ["__version__", "build_info", "features", "prosody", "SyntheticVoice", "synthetic_voice",
           "TransformerEncoderInference", "encoders", "ot", "pooling", "prompts", *features.__all__, *prosody.__all__,
           *encoders.__all__]

# The research layer (docs/research.md) is imported on first use: ak.data, ak.metrics, ...
_RESEARCH_MODULES = ("augment", "cache", "data", "eval", "metrics", "corpus")


def __getattr__(name):
    if name in _RESEARCH_MODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'affectkit' has no attribute {name!r}")
