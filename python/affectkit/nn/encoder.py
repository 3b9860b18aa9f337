"""The protocol every affectkit frame encoder follows (attention, Mamba, ...), so that
pooling heads, probes and benchmarks can take any of them."""

from __future__ import annotations

from typing import Optional, Protocol, Tuple, runtime_checkable

import torch

__all__ = ["FrameEncoder", "full_lengths", "padding_mask"]


@runtime_checkable
class FrameEncoder(Protocol):
    """``forward(features, lengths) -> (embeddings, lengths)``.

    features : float tensor, shape (batch, frames, dim)

    lengths : int64 tensor, shape (batch,), the valid frames of each sequence (the
        rest is padding), or None when every frame is valid

    embeddings : float tensor, shape (batch, out_frames, d_model); frames past a
        sequence's output length are padding (zero for affectkit's encoders)

    lengths : int64 tensor, shape (batch,), the output lengths
    """

    d_model: int

    def forward(self, features: torch.Tensor,
                lengths: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]: ...


def full_lengths(features: torch.Tensor) -> torch.Tensor:
    """Lengths when none are given: every frame of every sequence."""
    return torch.full((features.shape[0],), features.shape[1], dtype=torch.int64, device=features.device)


def padding_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(batch, frames) bool, True at padded frames (PyTorch's key_padding_mask convention)."""
    return torch.arange(frames, device=lengths.device)[None, :] >= lengths[:, None]


def check_lengths(features: torch.Tensor, lengths: Optional[torch.Tensor], module: Optional[torch.nn.Module] = None,
                  dim: Optional[int] = None, *, name: str = "features", lengths_name: str = "lengths") -> torch.Tensor:
    """Checks features (batch, frames, dim) (with the dtype of ``module``'s parameters
    and ``dim`` features when given) and lengths (batch,) in [0, frames]; returns int64
    lengths (all frames when None). Errors call the two arguments ``name`` and
    ``lengths_name``."""
    parameter = next(module.parameters(), None) if module is not None else None
    dtype = parameter.dtype if parameter is not None else None
    if not isinstance(features, torch.Tensor) or not features.is_floating_point():
        raise TypeError(f"invalid argument '{name}': must be a floating-point tensor, got "
                        f"{getattr(features, 'dtype', type(features).__name__)}")
    if dtype is not None and features.dtype != dtype:
        raise TypeError(f"invalid argument '{name}': must have the module's dtype {dtype}, got {features.dtype}")
    if features.dim() != 3 or (dim is not None and features.shape[2] != dim):
        raise ValueError(f"invalid argument '{name}': must have shape (batch, frames, "
                         f"{'dim' if dim is None else dim}), got {tuple(features.shape)}")
    if lengths is None:
        return full_lengths(features)
    if not isinstance(lengths, torch.Tensor) or lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise TypeError(f"invalid argument '{lengths_name}': must be an integer tensor, got "
                        f"{getattr(lengths, 'dtype', type(lengths).__name__)}")
    if lengths.shape != (features.shape[0],):
        raise ValueError(f"invalid argument '{lengths_name}': must have shape (batch,) = ({features.shape[0]},), "
                         f"got {tuple(lengths.shape)}")
    if lengths.numel() and (int(lengths.min()) < 0 or int(lengths.max()) > features.shape[1]):
        raise ValueError(f"invalid argument '{lengths_name}': must lie in [0, frames = {features.shape[1]}], "
                         f"got {lengths.tolist()}")
    return lengths.to(torch.int64)
