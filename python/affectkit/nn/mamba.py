"""Mamba (Gu & Dao 2023) on affectkit's CPU kernels: the Mamba-1 block, a stack of
them as a sequence encoder, and the bidirectional variant of Vision Mamba / Audio
Mamba (Zhu et al. 2024; Erol et al. 2024).

Parameter names are mamba-ssm's (``in_proj``, ``conv1d``, ``x_proj``, ``dt_proj``,
``A_log``, ``D``, ``out_proj``; ``layers.{i}.mixer`` / ``layers.{i}.norm`` /
``norm_f`` in a stack), so the state dicts of Hugging Face ``MambaModel`` and of
mamba-ssm's ``MambaLMHeadModel`` load into :class:`MambaEncoder` as they are (the
token embedding and the LM head are dropped; a ``backbone.`` prefix is stripped).
The backward branch of the bidirectional block uses Vision Mamba's names
(``conv1d_b``, ``x_proj_b``, ``dt_proj_b``, ``A_b_log``, ``D_b``).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple, Union

import torch
from torch import nn

from . import functional as AF
from .encoder import check_lengths

__all__ = ["Mamba", "MambaEncoder", "RMSNorm"]

_COMBINE = ("sum", "mean", "concat")


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last dimension (mamba-ssm's and
    Hugging Face's MambaRMSNorm; computed in float32 or wider)."""

    def __init__(self, hidden_size: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wide = x.to(torch.promote_types(x.dtype, torch.float32))
        wide = wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * wide.to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


def _reverse_within_lengths(x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
    """x (batch, channels, length) with each sequence's first lengths[b] steps in
    reverse order (the padding stays where it is). Its own inverse."""
    if lengths is None:
        return x.flip(-1)
    t = torch.arange(x.shape[-1], device=x.device)
    index = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)  # (batch, length)
    return x.gather(-1, index[:, None, :].expand_as(x))


def _linear_over_channels(weight: torch.Tensor, bias: Optional[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """A linear layer over the channels of x (batch, in, length) -> a contiguous
    (batch, out, length), what the conv and the scan read in place. A batched matmul
    with the weight expanded (stride 0): BLAS reads x in its own layout (x may be a
    transposed view). weight @ x would fold the batch into rows when the weight
    requires grad, and copy x and the result to and from (batch, length, channels)."""
    y = torch.bmm(weight.expand(x.shape[0], -1, -1), x)
    return y if bias is None else y + bias[:, None]


def _check_dtype(x: torch.Tensor, argument: str, dtype: torch.dtype) -> None:
    if x.dtype != dtype:
        raise TypeError(f"invalid argument '{argument}': must have the module's dtype {dtype}, got {x.dtype}")


class Mamba(nn.Module):
    """The Mamba-1 block (mamba-ssm's ``Mamba`` mixer), on (batch, length, d_model).

    in_proj to x and the gate z; causal depthwise conv1d + SiLU on x; x_proj to
    (dt, B, C) per step; dt_proj; the selective scan with D, z, softplus(dt +
    dt_proj.bias); out_proj. Initialised as in the paper's code: A = -[1..d_state]
    per channel (S4D-real), D = 1, dt_proj.bias = softplus^-1 of dt drawn
    log-uniformly in [dt_min, dt_max].

    Parameters
    ----------
    d_model : int
        Input and output width.
    d_state, d_conv, expand : int
        State size, conv width, d_inner = expand * d_model.
    dt_rank : int or "auto"
        Rank of the dt projection; "auto" is ceil(d_model / 16).
    dt_min, dt_max, dt_init, dt_scale, dt_init_floor :
        The dt initialisation of mamba-ssm (dt_init "random" or "constant").
    conv_bias, bias : bool
        Bias of conv1d; bias of in_proj and out_proj.
    bidirectional : bool
        Add a time-reversed scan with its own conv1d_b, x_proj_b, dt_proj_b, A_b_log
        and D_b (Vision Mamba's "v2" block); in_proj and out_proj are shared.
    bidirectional_combine : "sum", "mean" or "concat"
        How the two directions meet before out_proj: their sum, their mean (Vision
        Mamba's ``if_devide_out``), or concatenated channels (out_proj then takes
        2 d_inner inputs).
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: Union[int, str] = "auto",
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init: str = "random",
        dt_scale: float = 1.0,
        dt_init_floor: float = 1e-4,
        conv_bias: bool = True,
        bias: bool = False,
        bidirectional: bool = False,
        bidirectional_combine: str = "sum",
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
    ):
        super().__init__()
        for name, value in (("d_model", d_model), ("d_state", d_state), ("d_conv", d_conv), ("expand", expand)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"invalid argument '{name}': must be a positive int, got {value!r}")
        if dt_init not in ("random", "constant"):
            raise ValueError(f"invalid argument 'dt_init': must be 'random' or 'constant', got {dt_init!r}")
        if bidirectional_combine not in _COMBINE:
            raise ValueError(f"invalid argument 'bidirectional_combine': must be one of {_COMBINE}, "
                             f"got {bidirectional_combine!r}")
        if not 0 < dt_min <= dt_max:
            raise ValueError(f"invalid argument 'dt_min': must satisfy 0 < dt_min <= dt_max, got {dt_min}, {dt_max}")
        factory = dict(device=device, dtype=dtype)
        self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
        self.d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else dt_rank
        if not isinstance(self.dt_rank, int) or self.dt_rank < 1:
            raise ValueError(f"invalid argument 'dt_rank': must be 'auto' or a positive int, got {dt_rank!r}")
        self.bidirectional, self.bidirectional_combine = bool(bidirectional), bidirectional_combine

        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=bias, **factory)
        for suffix in ("", "_b") if bidirectional else ("",):
            self._add_scan_parameters(suffix, conv_bias, dt_min, dt_max, dt_init, dt_scale, dt_init_floor, factory)
        out_features = 2 * self.d_inner if bidirectional and bidirectional_combine == "concat" else self.d_inner
        self.out_proj = nn.Linear(out_features, d_model, bias=bias, **factory)

    def _add_scan_parameters(self, suffix, conv_bias, dt_min, dt_max, dt_init, dt_scale, dt_init_floor, factory):
        """conv1d, x_proj, dt_proj, A_log, D of one direction (suffix "" or "_b")."""
        d_inner, d_state, dt_rank = self.d_inner, self.d_state, self.dt_rank
        conv = nn.Conv1d(d_inner, d_inner, self.d_conv, groups=d_inner, padding=self.d_conv - 1, bias=conv_bias,
                         **factory)
        x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False, **factory)
        dt_proj = nn.Linear(dt_rank, d_inner, bias=True, **factory)
        with torch.no_grad():
            std = dt_rank**-0.5 * dt_scale
            if dt_init == "constant":
                nn.init.constant_(dt_proj.weight, std)
            else:
                nn.init.uniform_(dt_proj.weight, -std, std)
            dt = torch.exp(torch.rand(d_inner, **factory) * (math.log(dt_max) - math.log(dt_min))
                           + math.log(dt_min)).clamp(min=dt_init_floor)
            dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        dt_proj.bias._no_reinit = True  # type: ignore[attr-defined]  # (mamba-ssm's marker)
        A = torch.arange(1, d_state + 1, dtype=torch.float32, device=factory["device"]).repeat(d_inner, 1)
        A_log = nn.Parameter(torch.log(A).to(factory["dtype"] or torch.get_default_dtype()))
        D = nn.Parameter(torch.ones(d_inner, **factory))
        A_log._no_weight_decay = D._no_weight_decay = True  # type: ignore[attr-defined]
        a_name = "A_log" if not suffix else "A_b_log"
        for name, module in ((f"conv1d{suffix}", conv), (f"x_proj{suffix}", x_proj), (f"dt_proj{suffix}", dt_proj),
                             (a_name, A_log), (f"D{suffix}", D)):
            setattr(self, name, module)

    def _scan(self, x: torch.Tensor, z: torch.Tensor, suffix: str) -> torch.Tensor:
        """One direction on x, z (batch, d_inner, length): conv, projections, scan."""
        conv: nn.Conv1d = getattr(self, f"conv1d{suffix}")
        x_proj: nn.Linear = getattr(self, f"x_proj{suffix}")
        dt_proj: nn.Linear = getattr(self, f"dt_proj{suffix}")
        A_log: torch.Tensor = getattr(self, "A_log" if not suffix else "A_b_log")
        D: torch.Tensor = getattr(self, f"D{suffix}")
        x = AF.causal_conv1d(x, conv.weight.squeeze(1), conv.bias, "silu")
        # x_proj by its row blocks, so that dt, B and C each come out contiguous.
        w_dt, w_B, w_C = x_proj.weight.split([self.dt_rank, self.d_state, self.d_state])
        dt = _linear_over_channels(dt_proj.weight, None, _linear_over_channels(w_dt, None, x))  # bias: in the scan
        B, C = _linear_over_channels(w_B, None, x), _linear_over_channels(w_C, None, x)
        return AF.selective_scan(x, dt, -torch.exp(A_log), B, C, D, z,
                                 delta_bias=dt_proj.bias, delta_softplus=True)

    def forward(self, hidden_states: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """hidden_states (batch, length, d_model) -> (batch, length, d_model).

        lengths (batch,) int64, optional: the valid steps of each sequence. The forward
        scan is causal, so padding after them changes nothing; the reversed scan of a
        bidirectional block reverses each sequence within its length.
        """
        if hidden_states.dim() != 3 or hidden_states.shape[-1] != self.d_model:
            raise ValueError(f"invalid argument 'hidden_states': must have shape (batch, length, {self.d_model}), "
                             f"got {tuple(hidden_states.shape)}")
        _check_dtype(hidden_states, "hidden_states", self.in_proj.weight.dtype)
        # in_proj by its two row blocks, straight into (batch, d_inner, length): x and z
        # contiguous for the conv and the scan, without transposed copies.
        bias = self.in_proj.bias.chunk(2) if self.in_proj.bias is not None else (None, None)
        x, z = (_linear_over_channels(w, b, hidden_states.mT) for w, b in zip(self.in_proj.weight.chunk(2), bias))
        y = self._scan(x, z, "")
        if self.bidirectional:
            y_b = _reverse_within_lengths(
                self._scan(_reverse_within_lengths(x, lengths), _reverse_within_lengths(z, lengths), "_b"), lengths)
            if self.bidirectional_combine == "concat":
                y = torch.cat([y, y_b], dim=1)
            else:
                y = (y + y_b) / 2 if self.bidirectional_combine == "mean" else y + y_b
        return _linear_over_channels(self.out_proj.weight, self.out_proj.bias, y).mT


class _Layer(nn.Module):
    """Pre-norm residual layer: x + mixer(norm(x)) (mamba-ssm's Block with its
    fused add-norm, Hugging Face's MambaBlock)."""

    def __init__(self, mixer: Mamba, norm: nn.Module):
        super().__init__()
        self.mixer, self.norm = mixer, norm

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        return x + self.mixer(self.norm(x), lengths)


class MambaEncoder(nn.Module):
    """A stack of Mamba blocks as a sequence encoder: features (batch, frames, dim)
    -> embeddings (batch, frames, d_model).

    ``input_dim`` (default d_model) is mapped to d_model by a linear ``input_proj``
    when they differ; then ``n_layer`` pre-norm residual blocks and a final norm
    ``norm_f``. Keys are those of Hugging Face ``MambaModel`` / mamba-ssm's
    backbone, whose state dicts load directly (``load_state_dict(hf.state_dict())``).

    Parameters
    ----------
    d_model, n_layer : int
    input_dim : int, optional
    norm : "rms" or "layer"
        RMSNorm (Mamba's default) or LayerNorm (mamba-ssm with rms_norm=False).
    norm_eps : float
        1e-5 as mamba-ssm (Hugging Face's config calls it layer_norm_epsilon).
    rescale_prenorm_residual : bool
        out_proj weights divided by sqrt(n_layer) at initialisation (GPT-2's scheme,
        mamba-ssm's default).
    **mamba_kwargs
        Passed to every :class:`Mamba` block (d_state, d_conv, expand, bidirectional,
        bidirectional_combine, ...).
    """

    def __init__(
        self,
        d_model: int,
        n_layer: int,
        input_dim: Optional[int] = None,
        norm: str = "rms",
        norm_eps: float = 1e-5,
        rescale_prenorm_residual: bool = True,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
        **mamba_kwargs: Any,
    ):
        super().__init__()
        if not isinstance(n_layer, int) or isinstance(n_layer, bool) or n_layer < 0:
            raise ValueError(f"invalid argument 'n_layer': must be a non-negative int, got {n_layer!r}")
        if norm not in ("rms", "layer"):
            raise ValueError(f"invalid argument 'norm': must be 'rms' or 'layer', got {norm!r}")
        factory = dict(device=device, dtype=dtype)
        self.d_model, self.input_dim = d_model, d_model if input_dim is None else input_dim

        def make_norm() -> nn.Module:
            if norm == "rms":
                return RMSNorm(d_model, eps=norm_eps).to(**factory)
            return nn.LayerNorm(d_model, eps=norm_eps, **factory)

        self.input_proj = nn.Linear(self.input_dim, d_model, **factory) if self.input_dim != d_model else None
        self.layers = nn.ModuleList(
            _Layer(Mamba(d_model, device=device, dtype=dtype, **mamba_kwargs), make_norm()) for _ in range(n_layer))
        self.norm_f = make_norm()
        with torch.no_grad():
            for layer in self.layers:
                for module in layer.mixer.modules():
                    if isinstance(module, nn.Linear) and module.bias is not None \
                            and not getattr(module.bias, "_no_reinit", False):
                        nn.init.zeros_(module.bias)
                if rescale_prenorm_residual:
                    nn.init.kaiming_uniform_(layer.mixer.out_proj.weight, a=math.sqrt(5))
                    layer.mixer.out_proj.weight /= math.sqrt(max(n_layer, 1))
        self._register_load_state_dict_pre_hook(self._accept_public_layouts)

    @staticmethod
    def _accept_public_layouts(state_dict: Dict[str, torch.Tensor], prefix: str, *args: Any) -> None:
        """Hugging Face MambaModel / MambaForCausalLM and mamba-ssm MambaLMHeadModel keys:
        strip "backbone.", drop the token embedding and the LM head."""
        for key in list(state_dict):
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix):]
            if rest.startswith("backbone."):
                state_dict[prefix + rest[len("backbone."):]] = state_dict.pop(key)
                rest = rest[len("backbone."):]
            if rest in ("embeddings.weight", "embedding.weight", "lm_head.weight"):
                state_dict.pop(prefix + rest)

    def forward(self, features: torch.Tensor, lengths: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """features (batch, frames, input_dim) float, lengths (batch,) int64 or None ->
        (embeddings (batch, frames, d_model), lengths), the :class:`FrameEncoder`
        protocol. Frames past a sequence's length are set to zero in the embeddings."""
        checked = check_lengths(features, lengths, self, self.input_dim)
        x = features if self.input_proj is None else self.input_proj(features)
        for layer in self.layers:
            x = layer(x, lengths if lengths is None else checked)  # None: no padding to skip
        x = self.norm_f(x)
        if lengths is not None:
            x = x * (torch.arange(x.shape[1], device=x.device) < checked[:, None])[..., None].to(x.dtype)
        return x, checked
