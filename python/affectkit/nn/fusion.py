"""Fusion of two frame encoders (e.g. a Mamba and an attention model): Hadamard-OT
parallel branches (after PARROT, arXiv 2506.01138), Renyi-aligned self-attention
branches (after RENO, arXiv 2506.02258) and the usual baselines over pooled
embeddings. Every module takes ``x (batch, Tx, x_dim)``, ``y (batch, Ty, y_dim)`` and
their ``x_lengths``, ``y_lengths`` (int tensors (batch,), valid frames; the rest is
padding and never changes the result). See docs/fusion.md."""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import as_float, as_int
from .attention import MultiHeadSelfAttention
from .encoder import check_lengths, padding_mask
from .functional import ot_dist, sinkhorn_plan
from .pooling import AttentiveStatisticsPooling

__all__ = ["HadamardOTFusion", "RenyiAlignedFusion", "RenyiFusionOutput", "PooledFusion"]

BRANCHES = ("ot", "hadamard", "inputs")
POOLINGS = ("mean", "attentive")


# ---------------------------------------------------------------- shared checks and pooling


def _checked_pair(module: nn.Module, x: torch.Tensor, y: torch.Tensor, x_lengths: Optional[torch.Tensor],
                  y_lengths: Optional[torch.Tensor], x_dim: int, y_dim: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """int64 lengths of x and y after the FrameEncoder checks (in this module's
    argument names), one batch, at least one valid frame each, finite valid frames."""
    lengths = []
    for name, features, given, dim in (("x", x, x_lengths, x_dim), ("y", y, y_lengths, y_dim)):
        checked = check_lengths(features, given, module, dim, name=name, lengths_name=f"{name}_lengths")
        if checked.numel() and int(checked.min()) < 1:
            raise ValueError(f"invalid argument '{name}_lengths': every sequence needs a valid frame, "
                             f"got {checked.tolist()}")
        if not bool(torch.isfinite(features[~padding_mask(checked, features.shape[1])]).all()):
            raise ValueError(f"invalid argument '{name}': its valid frames must be finite")
        lengths.append(checked)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"invalid argument 'y': must have the batch size of x ({x.shape[0]}), got {y.shape[0]}")
    return lengths[0], lengths[1]


def _finite(result: torch.Tensor) -> torch.Tensor:
    """result, or a ValueError if finite inputs overflowed on the way (squares of
    values near the dtype's limit in the cost or the pooled standard deviation)."""
    if not bool(torch.isfinite(result).all()):
        raise ValueError(f"invalid argument 'x' or 'y': values too large in magnitude, the fused result "
                         f"overflows {result.dtype}")
    return result


def _pooling(pooling: str, dim: int) -> Optional[nn.Module]:
    if pooling not in POOLINGS:
        raise ValueError(f"invalid argument 'pooling': must be one of {POOLINGS}, got {pooling!r}")
    return AttentiveStatisticsPooling(dim) if pooling == "attentive" else None


def _pool(pooling: Optional[nn.Module], h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean over the valid frames (batch, dim), or the attentive statistics (batch, 2 dim)."""
    if pooling is not None:
        return pooling(h, lengths)
    weights = (~padding_mask(lengths, h.shape[1])).to(h.dtype) / lengths[:, None].to(h.dtype)
    return torch.einsum("bt,btd->bd", weights, h)


def _project(projection: nn.Module, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """projection(features) with padded frames set to 0 (by masked_fill, not a product:
    the padding may hold inf or NaN)."""
    return projection(features).masked_fill(padding_mask(lengths, features.shape[1])[..., None], 0.0)


def _positive_float(name: str, value: float) -> float:
    value = as_float(name, value)
    if not 0 < value < math.inf:
        raise ValueError(f"invalid argument '{name}': must be positive and finite, got {value!r}")
    return value


# ---------------------------------------------------------------- Hadamard-OT fusion


class HadamardOTFusion(nn.Module):
    """Parallel-branch Hadamard-OT fusion of two frame-embedding sequences.

    1. Projections ``x_proj``, ``y_proj`` (Linear) to a common width ``dim``:
       X (batch, Tx, dim), Y (batch, Ty, dim); padded frames are set to 0.
    2. OT branch: the entropic plan P (batch, Tx, Ty) between uniform weights over the
       valid frames, cost ``C = ot_dist(X, Y, metric)``, ``reg``, ``numItermax``
       Sinkhorn iterations (batched, log domain), and the barycentric projection of x
       onto y's frames, ``A_j = sum_i P_ij X_i / sum_i P_ij`` (batch, Ty, dim).
    3. Hadamard branch: ``A * Y`` (elementwise), (batch, Ty, dim).
    4. The used branches and, with ``"inputs"``, Y are concatenated per y frame and
       pooled over y's valid frames; with ``"inputs"``, X is pooled over x's valid frames
       and appended. Pooling is the mean, or attentive statistics pooling (mean and
       standard deviation under learned frame weights; twice the width).

    The gradient reaches both inputs and every projection, through the plan too
    (:func:`sinkhorn_plan`).

    Parameters
    ----------
    x_dim, y_dim : int
        Features per frame of x and y.
    dim : int
        Common width of the projections.
    reg : float
        Entropic regularisation, in the units of the cost (cosine cost: [0, 2]).
    numItermax, stopThr : int, float
        Sinkhorn's iteration cap and stopping threshold (marginal error).
    metric : 'cosine', 'sqeuclidean' or 'euclidean'
        Cost between projected frames (:func:`affectkit.nn.functional.ot_dist`).
    branches : sequence of 'ot', 'hadamard', 'inputs'
        Which features are pooled (ablations: leave one out).
    pooling : 'mean' or 'attentive'
    warn : bool
        Warn when Sinkhorn stops before ``stopThr``.

    Attributes
    ----------
    out_dim : int
        Width of the output vector.
    """

    def __init__(self, x_dim: int, y_dim: int, dim: int = 256, reg: float = 0.1, numItermax: int = 200,
                 stopThr: float = 1e-6, metric: str = "cosine", branches: Sequence[str] = BRANCHES,
                 pooling: str = "mean", warn: bool = True) -> None:
        super().__init__()
        if isinstance(branches, str) or not branches or any(b not in BRANCHES for b in branches) \
                or len(set(branches)) != len(branches):
            raise ValueError(f"invalid argument 'branches': must be distinct names from {BRANCHES}, got {branches!r}")
        if metric not in ("cosine", "sqeuclidean", "euclidean"):
            raise ValueError(f"invalid argument 'metric': must be 'cosine', 'sqeuclidean' or 'euclidean', "
                             f"got {metric!r}")
        self.x_dim, self.y_dim = as_int("x_dim", x_dim, minimum=1), as_int("y_dim", y_dim, minimum=1)
        dim = as_int("dim", dim, minimum=1)
        self.reg = _positive_float("reg", reg)
        self.numItermax = as_int("numItermax", numItermax, minimum=1)
        self.stopThr = _positive_float("stopThr", stopThr)
        self.metric, self.branches, self.warn = metric, tuple(branches), warn
        self.x_proj = nn.Linear(x_dim, dim)
        self.y_proj = nn.Linear(y_dim, dim)
        y_streams = sum(b in self.branches for b in BRANCHES)  # ot, hadamard, inputs (Y) live on y's frames
        self.y_pooling = _pooling(pooling, y_streams * dim)
        self.x_pooling = _pooling(pooling, dim) if "inputs" in self.branches else None
        width = 2 if pooling == "attentive" else 1
        self.out_dim = width * dim * (y_streams + ("inputs" in self.branches))

    def _projected(self, x, y, x_lengths, y_lengths):
        x_lengths, y_lengths = _checked_pair(self, x, y, x_lengths, y_lengths, self.x_dim, self.y_dim)
        return _project(self.x_proj, x, x_lengths), _project(self.y_proj, y, y_lengths), x_lengths, y_lengths

    def _plan(self, X, Y, x_lengths, y_lengths):
        return sinkhorn_plan(ot_dist(X, Y, self.metric), self.reg, x_lengths, y_lengths, self.numItermax,
                             self.stopThr, self.warn)

    def transport_plan(self, x: torch.Tensor, y: torch.Tensor, x_lengths: Optional[torch.Tensor] = None,
                       y_lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The plan P (batch, Tx, Ty) the OT branch uses (for plots and analysis);
        rows of valid x frames sum to 1 / x_lengths, zero at padding."""
        return self._plan(*self._projected(x, y, x_lengths, y_lengths))

    def forward(self, x: torch.Tensor, y: torch.Tensor, x_lengths: Optional[torch.Tensor] = None,
                y_lengths: Optional[torch.Tensor] = None, plan: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x (batch, Tx, x_dim), y (batch, Ty, y_dim), lengths int (batch,) or None (all
        frames valid); ``plan`` (batch, Tx, Ty), optional, replaces the Sinkhorn plan
        (e.g. a fixed alignment; entries at padded frames are ignored). Returns
        (batch, out_dim), the dtype of the inputs."""
        X, Y, x_lengths, y_lengths = self._projected(x, y, x_lengths, y_lengths)
        if plan is None:
            plan = self._plan(X, Y, x_lengths, y_lengths)
        else:
            if not isinstance(plan, torch.Tensor) or plan.dtype != X.dtype:
                raise TypeError(f"invalid argument 'plan': must be a tensor of dtype {X.dtype}, got "
                                f"{getattr(plan, 'dtype', type(plan).__name__)}")
            if plan.shape != (x.shape[0], x.shape[1], y.shape[1]):
                raise ValueError(f"invalid argument 'plan': must have shape (batch, Tx, Ty) = "
                                 f"{(x.shape[0], x.shape[1], y.shape[1])}, got {tuple(plan.shape)}")
            valid = ~padding_mask(x_lengths, x.shape[1])[..., None] & ~padding_mask(y_lengths, y.shape[1])[:, None]
            plan = plan.masked_fill(~valid, 0.0)
            if not bool(torch.isfinite(plan).all()) or bool((plan < 0).any()):
                raise ValueError("invalid argument 'plan': must be finite and non-negative at valid frames")
        # barycentric projection: each y frame's column renormalised over the valid x frames
        mass = plan.sum(dim=1).clamp_min(torch.finfo(plan.dtype).tiny)
        aligned = torch.einsum("bij,bid->bjd", plan, X) / mass[..., None]
        streams = {"ot": aligned, "hadamard": aligned * Y, "inputs": Y}
        y_frames = torch.cat([streams[b] for b in BRANCHES if b in self.branches], dim=-1)
        pooled = [_pool(self.y_pooling, y_frames, y_lengths)]
        if "inputs" in self.branches:
            pooled.append(_pool(self.x_pooling, X, x_lengths))
        return _finite(torch.cat(pooled, dim=-1))


# ---------------------------------------------------------------- baselines over pooled embeddings


class PooledFusion(nn.Module):
    """Baseline fusions of pooled embeddings: x and y are projected to ``dim``
    (Linear), pooled over their valid frames (mean or attentive statistics) to px, py,
    and combined by ``mode``:

    - 'concat': [px, py] (batch, 2 w)
    - 'sum': px + py (batch, w)
    - 'gated': g * px + (1 - g) * py with g = sigmoid(gate([px, py])) per feature (batch, w)

    where w = dim (mean) or 2 dim (attentive). ``out_dim`` gives the output width.
    """

    MODES = ("concat", "sum", "gated")

    def __init__(self, x_dim: int, y_dim: int, dim: int = 256, mode: str = "concat", pooling: str = "mean") -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"invalid argument 'mode': must be one of {self.MODES}, got {mode!r}")
        self.x_dim, self.y_dim = as_int("x_dim", x_dim, minimum=1), as_int("y_dim", y_dim, minimum=1)
        dim = as_int("dim", dim, minimum=1)
        self.mode = mode
        self.x_proj = nn.Linear(x_dim, dim)
        self.y_proj = nn.Linear(y_dim, dim)
        self.x_pooling, self.y_pooling = _pooling(pooling, dim), _pooling(pooling, dim)
        width = (2 if pooling == "attentive" else 1) * dim
        self.gate = nn.Linear(2 * width, width) if mode == "gated" else None
        self.out_dim = 2 * width if mode == "concat" else width

    def forward(self, x: torch.Tensor, y: torch.Tensor, x_lengths: Optional[torch.Tensor] = None,
                y_lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x (batch, Tx, x_dim), y (batch, Ty, y_dim) -> (batch, out_dim)."""
        x_lengths, y_lengths = _checked_pair(self, x, y, x_lengths, y_lengths, self.x_dim, self.y_dim)
        px = _pool(self.x_pooling, _project(self.x_proj, x, x_lengths), x_lengths)
        py = _pool(self.y_pooling, _project(self.y_proj, y, y_lengths), y_lengths)
        if self.mode == "concat":
            return _finite(torch.cat([px, py], dim=-1))
        if self.mode == "sum":
            return _finite(px + py)
        gate = torch.sigmoid(self.gate(torch.cat([px, py], dim=-1)))
        return _finite(gate * px + (1 - gate) * py)


# ---------------------------------------------------------------- Renyi-aligned fusion


class RenyiFusionOutput(NamedTuple):
    """logits (batch, classes) of the fused classifier; x_logits, y_logits of each
    branch's classifier; alignment: the Renyi alignment term (scalar); cross_entropy
    (scalar) and loss = cross_entropy + weight * alignment, None without labels."""

    logits: torch.Tensor
    x_logits: torch.Tensor
    y_logits: torch.Tensor
    alignment: torch.Tensor
    cross_entropy: Optional[torch.Tensor]
    loss: Optional[torch.Tensor]


class RenyiAlignedFusion(nn.Module):
    """Self-attention branches aligned by a Renyi divergence, and a fused classifier.

    Each sequence is projected to ``dim`` (Linear), passed through one residual
    multi-head self-attention layer over its valid frames, ``h = LayerNorm(p + MHSA(p))``
    (nn.MultiheadAttention's parameters), and mean-pooled to hx, hy (batch, dim). Each
    branch has a classifier (``x_head``, ``y_head``) with posteriors px, py; the fused
    classifier ``head`` reads [hx, hy]. The alignment term is the symmetrised Renyi
    divergence of order ``alpha`` between the branch posteriors, averaged over the batch:

        alignment = mean_b (D_alpha(px | py) + D_alpha(py | px)) / 2,
        D_alpha(p | q) = log(sum_c p_c^alpha q_c^(1 - alpha)) / (alpha - 1)  (KL at alpha = 1)

    and, with labels, ``loss = cross_entropy(logits, labels) + weight * alignment``.

    Parameters
    ----------
    x_dim, y_dim, n_classes, dim : int
    alpha : float in (0, inf)
        Order of the Renyi divergence (1: KL).
    weight : float >= 0
        Weight of the alignment term in the loss.
    num_heads : int
        Attention heads (must divide ``dim``).
    dropout : float
        Attention dropout.
    """

    def __init__(self, x_dim: int, y_dim: int, n_classes: int, dim: int = 256, alpha: float = 0.5,
                 weight: float = 0.1, num_heads: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.alpha = _positive_float("alpha", alpha)
        self.weight = as_float("weight", weight)
        if not 0 <= self.weight < math.inf:
            raise ValueError(f"invalid argument 'weight': must be a finite number >= 0, got {weight!r}")
        self.x_dim, self.y_dim = as_int("x_dim", x_dim, minimum=1), as_int("y_dim", y_dim, minimum=1)
        n_classes, dim = as_int("n_classes", n_classes, minimum=1), as_int("dim", dim, minimum=1)
        self.x_proj, self.y_proj = nn.Linear(x_dim, dim), nn.Linear(y_dim, dim)
        self.x_attention = MultiHeadSelfAttention(dim, num_heads, dropout)
        self.y_attention = MultiHeadSelfAttention(dim, num_heads, dropout)
        self.x_norm, self.y_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.x_head, self.y_head = nn.Linear(dim, n_classes), nn.Linear(dim, n_classes)
        self.head = nn.Linear(2 * dim, n_classes)

    @staticmethod
    def _branch(features, lengths, projection, attention, norm):
        mask = padding_mask(lengths, features.shape[1])
        p = _project(projection, features, lengths)
        return _pool(None, norm(p + attention(p, mask)).masked_fill(mask[..., None], 0.0), lengths)

    def alignment(self, x_logits: torch.Tensor, y_logits: torch.Tensor) -> torch.Tensor:
        """The symmetrised Renyi term (scalar) between the posteriors of two logits (batch, classes).

        :func:`affectkit.nn.functional.renyi_divergence`'s formula on log-posteriors
        (log_softmax): a softmax that underflows to 0 would make the term infinite for
        alpha > 1, its log-probability stays finite."""
        log_px, log_py = x_logits.log_softmax(-1), y_logits.log_softmax(-1)
        return 0.5 * (self._renyi(log_px, log_py) + self._renyi(log_py, log_px)).mean()

    def _renyi(self, log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
        if self.alpha == 1:  # the limit alpha -> 1: KL(p | q)
            return (log_p.exp() * (log_p - log_q)).sum(-1)
        return torch.logsumexp(self.alpha * log_p + (1 - self.alpha) * log_q, dim=-1) / (self.alpha - 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor, x_lengths: Optional[torch.Tensor] = None,
                y_lengths: Optional[torch.Tensor] = None, labels: Optional[torch.Tensor] = None) -> RenyiFusionOutput:
        """x (batch, Tx, x_dim), y (batch, Ty, y_dim), lengths int (batch,) or None,
        labels int64 (batch,) class indices or None -> :class:`RenyiFusionOutput`."""
        x_lengths, y_lengths = _checked_pair(self, x, y, x_lengths, y_lengths, self.x_dim, self.y_dim)
        hx = self._branch(x, x_lengths, self.x_proj, self.x_attention, self.x_norm)
        hy = self._branch(y, y_lengths, self.y_proj, self.y_attention, self.y_norm)
        x_logits, y_logits = self.x_head(hx), self.y_head(hy)
        logits = _finite(self.head(torch.cat([hx, hy], dim=-1)))
        alignment = self.alignment(x_logits, y_logits)
        if labels is None:
            return RenyiFusionOutput(logits, x_logits, y_logits, alignment, None, None)
        if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64 or labels.shape != (x.shape[0],):
            raise ValueError(f"invalid argument 'labels': must be an int64 tensor of shape (batch,) = "
                             f"({x.shape[0]},), got {getattr(labels, 'dtype', type(labels).__name__)} "
                             f"{tuple(getattr(labels, 'shape', ()))}")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= logits.shape[-1]):
            raise ValueError(f"invalid argument 'labels': must lie in [0, {logits.shape[-1]}), got {labels.tolist()}")
        cross_entropy = F.cross_entropy(logits, labels)
        return RenyiFusionOutput(logits, x_logits, y_logits, alignment, cross_entropy,
                                 cross_entropy + self.weight * alignment)
