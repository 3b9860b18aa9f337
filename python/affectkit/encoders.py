"""Sequence encoders on numpy arrays: Mamba's selective scan (and, in
:mod:`affectkit.nn`, the torch modules built on it)."""

from __future__ import annotations

from typing import Optional, Tuple, Union

import numpy as np

from . import _core
from ._checks import as_bool, num_threads as _num_threads

__all__ = ["selective_scan"]


def selective_scan(
    u: np.ndarray,
    delta: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    C: np.ndarray,
    D: Optional[np.ndarray] = None,
    z: Optional[np.ndarray] = None,
    delta_bias: Optional[np.ndarray] = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
    *,
    num_threads: Optional[int] = None,
) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Mamba's selective scan, as ``mamba_ssm.ops.selective_scan_interface.selective_scan_fn``
    (real ``A``)::

        dt[b, d, t] = delta[b, d, t] + delta_bias[d]       (softplus of it if delta_softplus)
        h[b, d, :]  = exp(dt A[d, :]) * h[b, d, :] + dt B[..., :, t] u[b, d, t],  h = 0 before t = 0
        out[b, d, t] = (C[..., :, t] . h[b, d, :] + D[d] u[b, d, t]) * silu(z[b, d, t])

    The softplus is torch's (linear above 20, as the reference). Runs fused in
    the core, parallel over batch x dim; memory is that of the inputs and outputs.

    Parameters
    ----------
    u, delta : ndarray, shape (batch, dim, length), float32 or float64
    A : ndarray, shape (dim, state)
    B, C : ndarray, shape (dim, state) (shared over time), (batch, state, length), or
        (batch, groups, state, length) with ``groups`` dividing ``dim`` (dim ``d`` reads
        group ``d // (dim // groups)``)
    D, delta_bias : ndarray, shape (dim,), optional
    z : ndarray, shape (batch, dim, length), optional: the output is gated by silu(z)
    delta_softplus : bool
    return_last_state : bool
        Also return the state after the last step.
    num_threads : int, optional
        Threads (default: every core this process may use).

    Every array has the dtype of ``u``; all must be finite.

    Returns
    -------
    out : ndarray, shape (batch, dim, length), the dtype of ``u``
    last_state : ndarray, shape (batch, dim, state), only if ``return_last_state``
    """
    out, last_state = _core.selective_scan(
        u, delta, A, B, C, D, z, delta_bias, as_bool("delta_softplus", delta_softplus), _num_threads(num_threads)
    )
    return (out, last_state) if as_bool("return_last_state", return_last_state) else out
