"""Functional forms of affectkit's torch ops (autograd, torch.compile and export work)."""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch

from .. import _ops

_ops.load()

__all__ = ["causal_conv1d", "selective_scan", "selective_scan_ref"]


def causal_conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    activation: Optional[str] = None,
) -> torch.Tensor:
    """Depthwise causal 1-D convolution, as ``causal_conv1d_fn`` of the causal-conv1d
    package (the short convolution inside every Mamba block)::

        out[b, c, t] = act(bias[c] + sum_k weight[c, k] * x[b, c, t - width + 1 + k])

    with ``x`` zero before ``t = 0``. Same as ``F.conv1d(F.pad(x, (width - 1, 0)),
    weight[:, None], bias, groups=channels)``.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, length), float32 or float64, CPU
    weight : Tensor, shape (channels, width), any width >= 1
    bias : Tensor, shape (channels,), optional
    activation : None, 'silu' or 'swish'

    Returns
    -------
    Tensor, shape (batch, channels, length), the dtype of ``x``
    """
    if activation not in (None, "silu", "swish"):
        raise ValueError(
            f"invalid argument 'activation': must be None, 'silu' or 'swish', got {activation!r}"
        )
    return torch.ops.affectkit.causal_conv1d(x, weight, bias, activation is not None)


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor] = None,
    z: Optional[torch.Tensor] = None,
    delta_bias: Optional[torch.Tensor] = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
    """Mamba's selective scan with autograd, as ``selective_scan_fn`` of mamba-ssm
    (real ``A``); the maths is :func:`selective_scan_ref` (and ``ak.selective_scan``).

    Fused: no (batch, dim, length, state) tensor is made, in the forward or the
    backward (which recomputes the states from per-chunk checkpoints). Every input
    gets a gradient, the last state's included.

    Parameters
    ----------
    u, delta : Tensor, shape (batch, dim, length), float32 or float64, CPU
    A : Tensor, shape (dim, state)
    B, C : Tensor, shape (dim, state), (batch, state, length) or (batch, groups, state, length)
    D, delta_bias : Tensor, shape (dim,), optional
    z : Tensor, shape (batch, dim, length), optional
    delta_softplus : bool
    return_last_state : bool

    Returns
    -------
    out : Tensor, shape (batch, dim, length), the dtype of ``u``
    last_state : Tensor, shape (batch, dim, state), only if ``return_last_state``
    """
    out, last_state = torch.ops.affectkit.selective_scan(u, delta, A, B, C, D, z, delta_bias, bool(delta_softplus))
    return (out, last_state) if return_last_state else out


def selective_scan_ref(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor] = None,
    z: Optional[torch.Tensor] = None,
    delta_bias: Optional[torch.Tensor] = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
    """The selective scan in plain PyTorch, step by step: mamba-ssm's
    ``selective_scan_ref`` (same arguments as :func:`selective_scan`), except that
    it computes in the dtype of ``u`` (the original casts to float32) and does not
    make the (batch, dim, length, state) tensors up front. Slow; for tests."""
    if delta_bias is not None:
        delta = delta + delta_bias[:, None]
    if delta_softplus:
        delta = torch.nn.functional.softplus(delta)  # linear above its threshold, 20
    batch, dim, length = u.shape

    def per_dim(P: torch.Tensor) -> torch.Tensor:
        """B or C as (batch or 1, dim or 1, state, length)."""
        if P.dim() == 2:  # (dim, state): the same at every step
            return P[None, :, :, None].expand(-1, -1, -1, length)
        if P.dim() == 3:  # (batch, state, length)
            return P[:, None]
        return P.repeat_interleave(dim // P.shape[1], dim=1)  # (batch, groups, ...): d reads group d // (dim // groups)

    B, C = per_dim(B), per_dim(C)
    h = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(length):
        step = delta[:, :, t, None]
        h = torch.exp(step * A) * h + step * B[..., t] * u[:, :, t, None]
        ys.append((h * C[..., t]).sum(-1))
    y = torch.stack(ys, dim=2) if ys else u.new_zeros(batch, dim, 0)
    out = y if D is None else y + u * D[:, None]
    if z is not None:
        out = out * torch.nn.functional.silu(z)
    return (out, h) if return_last_state else out
