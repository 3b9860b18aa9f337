"""Functional forms of affectkit's torch ops (autograd, torch.compile and export work)."""

from __future__ import annotations

from typing import Optional

import torch

from .. import _ops

_ops.load()

__all__ = ["causal_conv1d"]


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
