"""Pooling of frame embeddings (batch, frames, dim) to one vector per sequence, over
each sequence's valid frames (``lengths``), in plain torch (autograd as usual). The
numpy functions of :mod:`affectkit.pooling` run the same computations in the C++ core
from these modules' state dicts."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .attention import MultiHeadSelfAttention
from .encoder import check_lengths, padding_mask

__all__ = ["StatisticsPooling", "AttentiveStatisticsPooling", "FrameAttentionPooling"]


def _pooling_mask(x: torch.Tensor, lengths: Optional[torch.Tensor], module: nn.Module,
                  dim: Optional[int] = None) -> torch.Tensor:
    lengths = check_lengths(x, lengths, module, dim)
    if lengths.numel() and int(lengths.min()) < 1:
        raise ValueError(f"invalid argument 'lengths': every sequence needs a valid frame to pool, "
                         f"got {lengths.tolist()}")
    return padding_mask(lengths, x.shape[1])


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over frames (dim 1) with padded frames at weight 0."""
    return scores.masked_fill(mask, float("-inf")).softmax(dim=1)


def weighted_statistics(x: torch.Tensor, weights: torch.Tensor, eps: float) -> torch.Tensor:
    """[sum_t w_t x_t, sqrt(max(sum_t w_t (x_t - mean)^2, eps))] for (batch, frames)
    weights that sum to 1 over each sequence."""
    mean = torch.einsum("bt,btd->bd", weights, x)
    variance = torch.einsum("bt,btd->bd", weights, (x - mean[:, None]).square())
    return torch.cat([mean, variance.clamp(min=eps).sqrt()], dim=-1)


class StatisticsPooling(nn.Module):
    """Mean and standard deviation over the valid frames: (batch, frames, dim) ->
    (batch, 2 dim), std = sqrt(max(biased variance, eps)) (SpeechBrain's statistics
    pooling of x-vectors and ECAPA-TDNN)."""

    def __init__(self, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        mask = _pooling_mask(x, lengths, self)
        weights = (~mask).to(x.dtype)
        return weighted_statistics(x, weights / weights.sum(dim=1, keepdim=True), self.eps)


class AttentiveStatisticsPooling(nn.Module):
    """Attentive statistics pooling (Okabe, Koshinaka & Shinoda, Interspeech 2018):
    e_t = score(tanh(projection(x_t))), alpha = softmax of e over the valid frames,
    output [sum alpha x, sqrt(max(sum alpha (x - mean)^2, eps))], (batch, 2 dim).

    Parameters: ``projection`` (Linear input_dim -> attention_dim), ``score`` (Linear
    attention_dim -> 1 without bias: a bias would not change the softmax)."""

    def __init__(self, input_dim: int, attention_dim: int = 128, eps: float = 1e-12) -> None:
        super().__init__()
        self.projection = nn.Linear(input_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)
        self.eps = eps

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        mask = _pooling_mask(x, lengths, self, self.projection.in_features)
        weights = _masked_softmax(self.score(torch.tanh(self.projection(x))).squeeze(-1), mask)
        return weighted_statistics(x, weights, self.eps)


class FrameAttentionPooling(nn.Module):
    """Frame-level attention pooling: multi-head self-attention over the valid frames
    (``attention``, nn.MultiheadAttention's parameters), then a learned per-frame weight
    alpha = softmax of ``score(h_t)`` over the valid frames and the weighted sum
    sum alpha h: (batch, frames, dim) -> (batch, dim). The design described for arXiv
    2512.04551 (self-attention, then a learned weighted sum of frames)."""

    def __init__(self, input_dim: int, num_heads: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.attention = MultiHeadSelfAttention(input_dim, num_heads, dropout)
        self.score = nn.Linear(input_dim, 1, bias=False)

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        mask = _pooling_mask(x, lengths, self, self.score.in_features)
        h = self.attention(x, mask)
        weights = _masked_softmax(self.score(h).squeeze(-1), mask)
        return torch.einsum("bt,btd->bd", weights, h)
