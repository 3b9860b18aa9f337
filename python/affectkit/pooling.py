"""Pooling of frame embeddings to one vector per sequence, in the C++ core (float32):
the computations of :mod:`affectkit.nn.pooling`'s modules, from their state dicts.

>>> ak.pooling.statistics_pooling(embeddings, lengths)            # (batch, 2 dim)
>>> ak.pooling.frame_attention_pooling(embeddings, state, lengths, num_heads=4)
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

from . import _core
from ._checks import as_float, as_int, num_threads as _num_threads
from .attention import check_keys, lengths_mask, state_dict_arrays

__all__ = ["statistics_pooling", "attentive_statistics_pooling", "frame_attention_pooling"]


def _frames(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"invalid argument 'x': must have shape (batch, frames, dim), got {x.shape}")
    return x


def _mask(x: np.ndarray, lengths: Any) -> Optional[np.ndarray]:
    if lengths is None:
        return None
    return lengths_mask(lengths, x.shape[0], x.shape[1])[1]


def _eps(eps: Any) -> float:
    eps = as_float("eps", eps)
    if not (eps >= 0 and np.isfinite(eps)):
        raise ValueError(f"invalid argument 'eps': must be non-negative and finite, got {eps}")
    return eps


def statistics_pooling(x: np.ndarray, lengths: Optional[np.ndarray] = None, *, eps: float = 1e-12,
                       num_threads: Optional[int] = None) -> np.ndarray:
    """Mean and standard deviation of each sequence's valid frames.

    Parameters
    ----------
    x : float32 array, shape (batch, frames, dim)
    lengths : int array, shape (batch,), optional
        Valid frames per sequence (each >= 1); None: all frames.
    eps : float
        Floor of the variance: std = sqrt(max(var, eps)), var the biased variance.
    num_threads : int, optional

    Returns
    -------
    float32 array, shape (batch, 2 dim): [mean, std]
    """
    x = _frames(x)
    return _core.statistics_pooling(x, _mask(x, lengths), _eps(eps), _num_threads(num_threads))


def attentive_statistics_pooling(x: np.ndarray, state_dict: Mapping[str, Any], lengths: Optional[np.ndarray] = None,
                                 *, eps: float = 1e-12, num_threads: Optional[int] = None) -> np.ndarray:
    """Attentive statistics pooling (Okabe et al., 2018) with the weights of an
    :class:`affectkit.nn.AttentiveStatisticsPooling`: frame weights
    alpha = softmax_t(score . tanh(projection(x_t))) over the valid frames, then the
    alpha-weighted mean and standard deviation.

    Parameters
    ----------
    x : float32 array, shape (batch, frames, dim)
    state_dict : mapping
        ``projection.weight`` (attention_dim, dim), ``projection.bias`` (attention_dim,),
        ``score.weight`` (1, attention_dim); numpy arrays or torch tensors.
    lengths, eps, num_threads : as :func:`statistics_pooling`

    Returns
    -------
    float32 array, shape (batch, 2 dim)
    """
    x = _frames(x)
    arrays = state_dict_arrays(state_dict)
    projection = arrays.get("projection.weight")
    attention_dim = projection.shape[0] if projection is not None and projection.ndim == 2 else -1
    check_keys(arrays, {"projection.weight": (attention_dim, x.shape[2]), "projection.bias": (attention_dim,),
                        "score.weight": (1, attention_dim)})
    weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
    return _core.attentive_statistics_pooling(x, _mask(x, lengths), weights, _eps(eps), _num_threads(num_threads))


def frame_attention_pooling(x: np.ndarray, state_dict: Mapping[str, Any], lengths: Optional[np.ndarray] = None,
                            *, num_heads: int, num_threads: Optional[int] = None) -> np.ndarray:
    """Frame-level attention pooling with the weights of an
    :class:`affectkit.nn.FrameAttentionPooling`: multi-head self-attention over each
    sequence's valid frames, h = MHSA(x), then alpha = softmax_t(score . h_t) and the
    weighted sum of h.

    Parameters
    ----------
    x : float32 array, shape (batch, frames, dim)
    state_dict : mapping
        ``attention.in_proj_weight`` (3 dim, dim), ``attention.in_proj_bias``,
        ``attention.out_proj.weight`` (dim, dim), ``attention.out_proj.bias``,
        ``score.weight`` (1, dim).
    lengths : int array, shape (batch,), optional
    num_heads : int
        Attention heads; must divide dim.
    num_threads : int, optional

    Returns
    -------
    float32 array, shape (batch, dim)
    """
    x = _frames(x)
    d = x.shape[2]
    arrays = state_dict_arrays(state_dict)
    check_keys(arrays, {"attention.in_proj_weight": (3 * d, d), "attention.in_proj_bias": (3 * d,),
                        "attention.out_proj.weight": (d, d), "attention.out_proj.bias": (d,),
                        "score.weight": (1, d)})
    weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
    return _core.frame_attention_pooling(x, _mask(x, lengths), weights, as_int("num_heads", num_heads, minimum=1),
                                         _num_threads(num_threads))
