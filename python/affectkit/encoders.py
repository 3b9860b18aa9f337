"""Sequence encoders on numpy arrays: Mamba's selective scan, and inference of a
Mamba stack from its state dict, on whole sequences or streamed chunk by chunk
(the torch modules are in :mod:`affectkit.nn`)."""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from . import _core
from ._checks import as_bool, as_float, num_threads as _num_threads
from .attention import _lengths

__all__ = ["selective_scan", "MambaStack", "MambaStream"]


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
    (real or complex ``A``)::

        dt[b, d, t] = delta[b, d, t] + delta_bias[d]       (softplus of it if delta_softplus)
        h[b, d, :]  = exp(dt A[d, :]) * h[b, d, :] + dt B[..., :, t] u[b, d, t],  h = 0 before t = 0
        out[b, d, t] = (C[..., :, t] . h[b, d, :] + D[d] u[b, d, t]) * silu(z[b, d, t])

    The softplus is torch's (linear above 20, as the reference). Runs fused in
    the core, parallel over batch x dim; memory is that of the inputs and outputs.

    Parameters
    ----------
    u, delta : ndarray, shape (batch, dim, length), float32 or float64
    A : ndarray, shape (dim, state), the dtype of ``u`` or its complex type
        (complex64 / complex128)
    B, C : ndarray, shape (dim, state) (shared over time), (batch, state, length), or
        (batch, groups, state, length) with ``groups`` dividing ``dim`` (dim ``d`` reads
        group ``d // (dim // groups)``). With complex ``A`` (as mamba-ssm): shared ones
        are complex like ``A``; variable ones are real with (real, imag) pairs along
        time, last axis ``2 * length``; the readout ``C . h`` becomes ``2 Re(C . h)``.
    D, delta_bias : ndarray, shape (dim,), optional
    z : ndarray, shape (batch, dim, length), optional: the output is gated by silu(z)
    delta_softplus : bool
    return_last_state : bool
        Also return the state after the last step.
    num_threads : int, optional
        Threads (default: every core this process may use).

    Every other array has the dtype of ``u``; all must be finite.

    Returns
    -------
    out : ndarray, shape (batch, dim, length), the dtype of ``u``
    last_state : ndarray, shape (batch, dim, state), the dtype of ``A``; only if
        ``return_last_state``
    """
    out, last_state = _core.selective_scan(
        u, delta, A, B, C, D, z, delta_bias, as_bool("delta_softplus", delta_softplus), _num_threads(num_threads)
    )
    return (out, last_state) if as_bool("return_last_state", return_last_state) else out


def _as_numpy(value: Any) -> np.ndarray:
    """A state-dict value (numpy array or torch tensor) as a numpy array, without importing torch."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


class MambaStack:
    """A stack of Mamba-1 blocks run by the core from its state dict: the weights of
    :class:`affectkit.nn.MambaEncoder`, Hugging Face ``MambaModel`` /
    ``MambaForCausalLM`` or mamba-ssm's ``MambaLMHeadModel`` (torch tensors or numpy
    arrays; token embedding and LM head are ignored, an ``input_proj`` is applied).

    ``stack(x)`` runs whole sequences; ``stack.stream()`` returns a
    :class:`MambaStream` that takes a sequence a few frames at a time, carrying the
    conv and SSM states, with the same result.

    A bidirectional state dict (``affectkit.nn.MambaEncoder(bidirectional=True)``:
    ``conv1d_b``, ``x_proj_b``, ``dt_proj_b``, ``A_b_log``, ``D_b``) runs as that
    encoder does: a second scan over the time-reversed sequence, reversed back and
    combined by ``bidirectional_combine``. It runs whole sequences only: streaming is
    unidirectional by nature (the reversed scan starts from the last frame, which a
    stream has not received yet), so ``stream()`` raises.

    A padded batch takes ``lengths`` (as MambaEncoder): each sequence runs on its
    own frames only, as if alone (the reversed scan starts at its last valid frame),
    and its padded frames are zero.

    Parameters
    ----------
    state_dict : mapping of str to array
    norm_eps : float
        Epsilon of the norms (1e-5 as mamba-ssm and MambaEncoder; Hugging Face's
        ``layer_norm_epsilon``).
    bidirectional_combine : {"sum", "mean", "concat"}
        For a bidirectional state dict: the ``bidirectional_combine`` its
        MambaEncoder was built with (unused for a unidirectional one).
    dtype : float32 or float64, optional
        Precision to run in (default: that of the weights).
    num_threads : int, optional
        Threads over the batch (default: every core this process may use).
    """

    def __init__(self, state_dict: Mapping[str, Any], *, norm_eps: float = 1e-5,
                 bidirectional_combine: str = "sum", dtype: Any = None, num_threads: Optional[int] = None):
        weights: Dict[str, np.ndarray] = {}
        for key, value in state_dict.items():
            key = key[len("backbone."):] if key.startswith("backbone.") else key
            if key not in ("embeddings.weight", "embedding.weight", "lm_head.weight"):
                weights[key] = _as_numpy(value)
        if bidirectional_combine not in ("sum", "mean", "concat"):
            raise ValueError("invalid argument 'bidirectional_combine': must be 'sum', 'mean' or 'concat', "
                             f"got {bidirectional_combine!r}")
        self.bidirectional = any(re.search(r"\.mixer\.(A_b_log|D_b|conv1d_b|x_proj_b|dt_proj_b)", key) for key in weights)
        self.combine = bidirectional_combine if self.bidirectional else "none"
        layers = sorted({int(m.group(1)) for key in weights for m in [re.match(r"layers\.(\d+)\.", key)] if m})
        if not layers or layers != list(range(len(layers))):
            raise ValueError(f"invalid argument 'state_dict': needs layers.0 ... layers.N-1, found layers {layers}")
        try:
            A_log, conv, dt_proj = (weights[f"layers.0.mixer.{name}"] for name in ("A_log", "conv1d.weight",
                                                                                  "dt_proj.weight"))
        except KeyError as missing:
            raise ValueError(f"invalid argument 'state_dict': no {missing}") from None
        if A_log.ndim != 2 or conv.ndim != 3 or dt_proj.ndim != 2:
            raise ValueError("invalid argument 'state_dict': layers.0.mixer.A_log, conv1d.weight and dt_proj.weight "
                             f"must be 2-, 3- and 2-D, got shapes {A_log.shape}, {conv.shape}, {dt_proj.shape}")
        self.dtype = np.dtype(A_log.dtype if dtype is None else dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"invalid argument 'dtype': must be float32 or float64, got {self.dtype}")
        self.weights = {key: np.ascontiguousarray(value, dtype=self.dtype) for key, value in weights.items()}
        self.n_layer = len(layers)
        self.d_inner, self.d_state = A_log.shape
        self.d_conv, self.dt_rank = conv.shape[-1], dt_proj.shape[1]
        self.norm_eps = as_float("norm_eps", norm_eps)
        self.num_threads = _num_threads(num_threads)
        self.input_proj = (self.weights.pop("input_proj.weight", None), self.weights.pop("input_proj.bias", None))

    def run(self, x: np.ndarray, conv_state: Optional[np.ndarray] = None, ssm_state: Optional[np.ndarray] = None,
            lengths: Optional[np.ndarray] = None) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
        """x (batch, frames, input_dim) from the given states (None: zeros) ->
        (out (batch, frames, d_model), conv_state (batch, n_layer, d_inner, d_conv - 1),
        ssm_state (batch, n_layer, d_inner, d_state)). A bidirectional stack takes
        and returns no states (None): whole sequences only. lengths (batch,) ints in
        [0, frames], optional: the valid frames of each sequence (None: all); the
        states returned are those after each sequence's last valid frame."""
        x = np.asarray(x)
        if lengths is not None:
            if x.ndim != 3:
                raise ValueError(f"invalid argument 'x': must have shape (batch, frames, input_dim), got {x.shape}")
            lengths = _lengths(lengths, x.shape[0], x.shape[1])
        if x.dtype != self.dtype:
            raise TypeError(f"invalid argument 'x': must have the stack's dtype {self.dtype}, got {x.dtype}")
        weight, bias = self.input_proj
        if weight is not None:
            if x.ndim != 3 or x.shape[-1] != weight.shape[1]:
                raise ValueError(f"invalid argument 'x': must have shape (batch, frames, {weight.shape[1]}), "
                                 f"got {x.shape}")
            x = x @ weight.T + (0 if bias is None else bias)
        return _core.mamba_stack(self.weights, x, conv_state, ssm_state, lengths, self.n_layer, self.d_inner,
                                 self.d_state, self.d_conv, self.dt_rank, self.norm_eps, self.combine, self.num_threads)

    def __call__(self, x: np.ndarray, lengths: Optional[np.ndarray] = None) -> np.ndarray:
        """Whole sequences: x (batch, frames, input_dim), lengths (batch,) optional
        (valid frames; None: all) -> (batch, frames, d_model), zero past each length."""
        return self.run(x, lengths=lengths)[0]

    def stream(self) -> "MambaStream":
        """A stream starting from zero states (unidirectional stacks only)."""
        if self.bidirectional:
            raise ValueError("invalid argument 'state_dict': a bidirectional stack cannot stream: its time-reversed "
                             "scan starts from the last frame, which a stream has not received yet; run whole "
                             "sequences with stack(x)")
        return MambaStream(self)


class MambaStream:
    """A :class:`MambaStack` fed a few frames at a time (e.g. 10 ms of features):
    ``stream(chunk)`` returns the chunk's outputs, equal to those of the whole
    sequence, and keeps the conv and SSM states for the next chunk."""

    def __init__(self, stack: MambaStack):
        self.stack = stack
        self.conv_state: Optional[np.ndarray] = None
        self.ssm_state: Optional[np.ndarray] = None

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        """chunk (batch, frames, input_dim) -> (batch, frames, d_model); the batch
        stays the same for the whole stream."""
        out, self.conv_state, self.ssm_state = self.stack.run(chunk, self.conv_state, self.ssm_state)
        return out

    def reset(self) -> None:
        """Start a new sequence."""
        self.conv_state = self.ssm_state = None
