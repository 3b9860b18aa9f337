"""Transformer encoder in torch (PyTorch's scaled-dot-product attention) with the
parameter names of ``torch.nn.TransformerEncoder``, so that a model trained here runs
in the C++ core through :class:`affectkit.TransformerEncoderInference`
(``encoder.to_inference()``)."""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .encoder import check_lengths, padding_mask

__all__ = ["AttentionEncoder", "MultiHeadSelfAttention", "TransformerLayer", "sinusoidal_positions"]


class MultiHeadSelfAttention(nn.Module):
    """``nn.MultiheadAttention``'s parameters (``in_proj_weight`` (3 d, d),
    ``in_proj_bias``, ``out_proj``) for self-attention, computed by
    ``F.scaled_dot_product_attention`` on (batch, frames, d) inputs."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"invalid argument 'num_heads': must divide embed_dim = {embed_dim}, got {num_heads}")
        self.num_heads = num_heads
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)  # as nn.MultiheadAttention
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, key_padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        batch, frames, d = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(batch, frames, self.num_heads, d // self.num_heads).transpose(1, 2) for t in (q, k, v))
        mask = None
        if key_padding_mask is not None:
            # SDPA's boolean mask is True where attention is allowed; a sequence with no
            # valid frame may attend to all (its outputs are padding) rather than give NaN.
            keep = ~key_padding_mask | key_padding_mask.all(dim=1, keepdim=True)
            mask = keep[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(batch, frames, d))


class TransformerLayer(nn.Module):
    """``nn.TransformerEncoderLayer`` (batch first) with the same parameter names:
    ``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2``."""

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, dropout: float, activation: str,
                 norm_first: bool, layer_norm_eps: float) -> None:
        super().__init__()
        self.self_attn = MultiHeadSelfAttention(d_model, num_heads, dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.activation = F.relu if activation == "relu" else F.gelu
        self.norm_first = norm_first

    def _attention(self, x: torch.Tensor, key_padding_mask: Optional[torch.Tensor]) -> torch.Tensor:
        return self.dropout(self.self_attn(x, key_padding_mask))

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, x: torch.Tensor, key_padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.norm_first:
            x = x + self._attention(self.norm1(x), key_padding_mask)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._attention(x, key_padding_mask))
        return self.norm2(x + self._feed_forward(x))


def sinusoidal_positions(frames: int, d_model: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(frames, d_model): sin(t / 10000^(2i/d)) in even columns, cos in odd ones
    (Vaswani et al., 2017); the core's table, computed in float64."""
    t = torch.arange(frames, dtype=torch.float64)[:, None]
    frequency = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    table = torch.zeros(frames, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(t * frequency)
    table[:, 1::2] = torch.cos(t * frequency[: d_model // 2])
    return table.to(dtype)


class AttentionEncoder(nn.Module):
    """A transformer frame encoder that follows :class:`affectkit.nn.FrameEncoder`.

    features (batch, frames, input_dim) -> optional ``input_proj`` (Linear to d_model)
    -> + positional embedding -> ``layers`` (``nn.TransformerEncoderLayer`` semantics)
    -> optional final ``norm`` -> embeddings (batch, frames, d_model), zero at padded
    frames. Its state dict has ``torch.nn.TransformerEncoder``'s keys (plus
    ``input_proj.*``, ``positional.weight``, ``norm.*`` when present), so either one's
    weights load into the other and into :class:`affectkit.TransformerEncoderInference`.

    Parameters
    ----------
    d_model, num_heads, num_layers, dim_feedforward, dropout, activation ('relu' or
    'gelu'), norm_first, layer_norm_eps : as ``nn.TransformerEncoderLayer``
    input_dim : int, optional
        Features per input frame; a linear projection to d_model is added when given.
    positional : 'none', 'sinusoidal' or 'learned'
    max_frames : int
        Rows of the learned positional table (``positional='learned'`` only).
    final_norm : bool
        A LayerNorm after the last layer (usual with pre-norm layers).
    """

    def __init__(self, d_model: int = 256, num_heads: int = 4, num_layers: int = 6, dim_feedforward: int = 1024,
                 dropout: float = 0.1, activation: str = "relu", norm_first: bool = False,
                 layer_norm_eps: float = 1e-5, input_dim: Optional[int] = None, positional: str = "sinusoidal",
                 max_frames: int = 4096, final_norm: bool = False) -> None:
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise ValueError(f"invalid argument 'activation': must be 'relu' or 'gelu', got {activation!r}")
        if positional not in ("none", "sinusoidal", "learned"):
            raise ValueError(f"invalid argument 'positional': must be 'none', 'sinusoidal' or 'learned', "
                             f"got {positional!r}")
        self.d_model = d_model
        self.config: Dict[str, Any] = dict(num_heads=num_heads, norm_first=norm_first, activation=activation,
                                           layer_norm_eps=layer_norm_eps, positional=positional)
        self.input_proj = nn.Linear(input_dim, d_model) if input_dim is not None else None
        self.positional = nn.Embedding(max_frames, d_model) if positional == "learned" else None
        self.layers = nn.ModuleList(
            TransformerLayer(d_model, num_heads, dim_feedforward, dropout, activation, norm_first, layer_norm_eps)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps) if final_norm else None

    def forward(self, features: torch.Tensor,
                lengths: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        input_dim = self.input_proj.in_features if self.input_proj is not None else self.d_model
        lengths = check_lengths(features, lengths, self, input_dim)
        frames = features.shape[1]
        x = self.input_proj(features) if self.input_proj is not None else features
        if self.positional is not None:
            if frames > self.positional.num_embeddings:
                raise ValueError(f"invalid argument 'features': {frames} frames, more than the "
                                 f"{self.positional.num_embeddings} learned positions")
            x = x + self.positional.weight[:frames]
        elif self.config["positional"] == "sinusoidal":
            x = x + sinusoidal_positions(frames, self.d_model, x.dtype).to(x.device)
        mask = padding_mask(lengths, frames)
        for layer in self.layers:
            x = layer(x, mask)
        if self.norm is not None:
            x = self.norm(x)
        return x.masked_fill(mask[..., None], 0.0), lengths

    def to_inference(self):
        """This encoder's weights in the C++ core (:class:`affectkit.TransformerEncoderInference`, float32)."""
        from ..attention import TransformerEncoderInference

        state = {k: v.detach().cpu().float().numpy() for k, v in self.state_dict().items()}
        return TransformerEncoderInference(state, **self.config)
