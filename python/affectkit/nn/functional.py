"""Functional forms of affectkit's torch ops (autograd, torch.compile and export work)."""

from __future__ import annotations

import warnings
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from .. import _divergence_math, _ops
from .encoder import padding_mask

_ops.load()

__all__ = ["causal_conv1d", "sinkhorn", "sinkhorn_unbalanced", "sinkhorn_divergence", "sinkhorn_plan", "ot_dist", "kl_divergence", "js_divergence",
           "renyi_divergence", "renyi_divergence_gaussian", "cauchy_schwarz_divergence", "selective_scan", "selective_scan_ref"]


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


# ---------------------------------------------------------------- optimal transport


def _batched(name: str, t: torch.Tensor, dim: int) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"invalid argument '{name}': must be a torch.Tensor, got {type(t).__name__}")
    return t.unsqueeze(0) if t.dim() == dim else t


def _uniform(sizes: Optional[torch.Tensor], batch: int, length: int, like: torch.Tensor) -> torch.Tensor:
    if sizes is None:
        return torch.full((batch, length), 1.0 / length, dtype=like.dtype, device=like.device)
    positions = torch.arange(length, device=like.device)
    valid = positions[None, :] < sizes[:, None]
    return valid.to(like.dtype) / sizes[:, None].clamp_min(1).to(like.dtype)


def sinkhorn(
    a: Optional[torch.Tensor],
    b: Optional[torch.Tensor],
    M: torch.Tensor,
    reg: float,
    method: str = "auto",
    numItermax: int = 1000,
    stopThr: float = 1e-9,
    epsilon_scaling: Optional[float] = None,
    n_sizes: Optional[torch.Tensor] = None,
    m_sizes: Optional[torch.Tensor] = None,
    warn: bool = True,
    grad: str = "envelope",
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Entropic OT objective and plan (the torch side of :func:`affectkit.ot.sinkhorn`)::

        value = <P, M> + reg KL(P | a b^T)   (POT's ot.solve value; GeomLoss's OT_eps)

    differentiable with respect to ``M`` (hence to point clouds through a cost such as
    :func:`ot_dist`) and to ``a``, ``b``.

    With ``grad='envelope'`` (the default) the core solves the problem and the backward
    uses the converged plan and potentials (envelope theorem: ``d value / d M = P``), so
    its memory does not depend on the number of iterations; the gradient is exact at
    convergence. Only ``value`` carries gradients: backpropagating through the returned
    plan raises (:func:`sinkhorn_plan` gives a plan whose backward is exact at
    convergence, with memory independent of the iterations).

    With ``grad='unrolled'`` the log-domain iterations run as a PyTorch loop from zero
    potentials, which autograd records and differentiates through (the gradient of what
    the iterations computed, converged or not; the plan is differentiable too; zero
    weights get a zero gradient). That is the out-of-memory trap the default avoids:
    autograd keeps two to three (batch, n, m) tensors per iteration, e.g. 64 problems of
    200 x 300 in float32 hold 30-45 MB per iteration, tens of GB after 1000 iterations.
    The error is checked every 10 iterations (as POT); ``method`` must be 'auto' or
    'sinkhorn_log' and there is no epsilon scaling.

    Parameters
    ----------
    a : Tensor (n,) or (batch, n), or None (uniform over each problem's rows)
    b : Tensor (m,) or (batch, m), or None
    M : Tensor (n, m) or (batch, n, m), float32 or float64, CPU
    reg, method, numItermax, stopThr, epsilon_scaling, n_sizes, m_sizes, warn :
        as :func:`affectkit.ot.sinkhorn` (sizes as int64 tensors)
    grad : 'envelope' or 'unrolled'

    Returns
    -------
    value : Tensor () or (batch,)
    plan : Tensor (n, m) or (batch, n, m)
    """
    unrolled = _unrolled(grad, epsilon_scaling)
    if unrolled and method not in ("auto", "sinkhorn_log"):
        raise ValueError(f"invalid argument 'method': grad='unrolled' runs the log domain ('auto' or "
                         f"'sinkhorn_log'), got {method!r}")
    return _sinkhorn(a, b, M, reg, None, method, numItermax, stopThr, epsilon_scaling, n_sizes, m_sizes, warn,
                     unrolled)


def _unrolled(grad: str, epsilon_scaling: Optional[float]) -> bool:
    """Whether grad asks for the unrolled loop (which has no epsilon scaling)."""
    if grad not in ("envelope", "unrolled"):
        raise ValueError(f"invalid argument 'grad': must be 'envelope' or 'unrolled', got {grad!r}")
    if grad == "unrolled" and epsilon_scaling:
        raise ValueError(f"invalid argument 'epsilon_scaling': grad='unrolled' has no epsilon scaling (None or 0), "
                         f"got {epsilon_scaling!r}")
    return grad == "unrolled"


def sinkhorn_unbalanced(
    a: Optional[torch.Tensor],
    b: Optional[torch.Tensor],
    M: torch.Tensor,
    reg: float,
    reg_m: float,
    numItermax: int = 1000,
    stopThr: float = 1e-6,
    epsilon_scaling: Optional[float] = None,
    n_sizes: Optional[torch.Tensor] = None,
    m_sizes: Optional[torch.Tensor] = None,
    warn: bool = True,
    grad: str = "envelope",
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Unbalanced entropic OT objective and plan (the torch side of
    :func:`affectkit.ot.sinkhorn_unbalanced`, log domain)::

        value = <P, M> + reg KL(P | a b^T) + reg_m KL(P 1 | a) + reg_m KL(P^T 1 | b)

    (generalised KL), differentiable with respect to ``M``, ``a`` and ``b`` from the
    converged plan (envelope theorem), as :func:`sinkhorn`. ``a`` and ``b`` may have
    different masses; ``reg_m`` is a positive finite float. ``grad='unrolled'``
    differentiates through a PyTorch loop of the same iterations instead, with the
    memory cost described in :func:`sinkhorn`; its stopping test is the core's (the
    largest change of a potential / reg), every 10 iterations.

    Returns
    -------
    value : Tensor () or (batch,); plan : Tensor (n, m) or (batch, n, m)
    """
    reg_m = float(reg_m)
    if not 0 < reg_m < float("inf"):
        raise ValueError(f"invalid argument 'reg_m': must be positive and finite, got {reg_m}")
    return _sinkhorn(a, b, M, reg, reg_m, "sinkhorn_log", numItermax, stopThr, epsilon_scaling, n_sizes, m_sizes,
                     warn, _unrolled(grad, epsilon_scaling))


def _sinkhorn(a, b, M, reg, reg_m, method, numItermax, stopThr, epsilon_scaling, n_sizes, m_sizes, warn, unrolled):
    if not isinstance(M, torch.Tensor):
        raise TypeError(f"invalid argument 'M': must be a torch.Tensor, got {type(M).__name__}")
    single = M.dim() == 2
    M3 = _batched("M", M, 2)
    if M3.dim() != 3:
        raise ValueError(f"invalid argument 'M': must have shape (n, m) or (batch, n, m), got {tuple(M.shape)}")
    batch, n, m = M3.shape
    a3 = _uniform(n_sizes, batch, n, M3) if a is None else _batched("a", a, 1)
    b3 = _uniform(m_sizes, batch, m, M3) if b is None else _batched("b", b, 1)
    if epsilon_scaling is not None and not 0 <= epsilon_scaling < 1:
        raise ValueError(f"invalid argument 'epsilon_scaling': must be None, 0 or in (0, 1), got {epsilon_scaling!r}")
    arguments = (float(reg), method, int(numItermax), float(stopThr),
                 -1.0 if epsilon_scaling is None else float(epsilon_scaling), n_sizes, m_sizes, reg_m)
    if unrolled:
        with torch.no_grad():  # the core's checks of every argument (zero iterations: one pass)
            torch.ops.affectkit.sinkhorn(a3, b3, M3, *arguments[:2], 0, *arguments[3:])
        value, plan, error, iterations = _sinkhorn_unrolled(a3, b3, M3, float(reg), reg_m, int(numItermax),
                                                            float(stopThr), n_sizes, m_sizes)
    else:
        value, plan, _, _, _, error, iterations = torch.ops.affectkit.sinkhorn(a3, b3, M3, *arguments)
    if warn and not torch.compiler.is_compiling():
        failed = ~(error < stopThr)
        if bool(failed.any()):
            warnings.warn(f"Sinkhorn did not converge: reached error {float(error[failed].max()):.3e} > stopThr = "
                          f"{stopThr:g} after {int(iterations[failed].max())} iterations in {int(failed.sum())} of "
                          f"{batch} problem(s). Increase numItermax, or reg.", UserWarning, stacklevel=3)
    return (value[0], plan[0]) if single else (value, plan)


def _sinkhorn_unrolled(a, b, M, reg, reg_m, numItermax, stopThr, n_sizes, m_sizes):
    """The core's log-domain iterations as a PyTorch loop that autograd records (inputs
    already checked by the core): POT's sinkhorn_log (reg_m None) or its unbalanced
    iteration, whose updates scale the log-sum-exp by fi = reg_m / (reg_m + reg). Zero
    weights (and padding) get the core's finite log -1e4, so their rows and columns carry
    exactly zero mass and every gradient stays finite."""
    rows = torch.arange(a.shape[1]) < (a.shape[1] if n_sizes is None else n_sizes[:, None])
    columns = torch.arange(b.shape[1]) < (b.shape[1] if m_sizes is None else m_sizes[:, None])
    a, b = torch.where(rows, a, 0), torch.where(columns, b, 0)
    M = torch.where(rows[..., :, None] & columns[..., None, :], M, 0)  # the core ignores padding, NaN included
    log_a = torch.where(a > 0, torch.log(torch.where(a > 0, a, torch.ones_like(a))), -1e4)
    log_b = torch.where(b > 0, torch.log(torch.where(b > 0, b, torch.ones_like(b))), -1e4)
    fraction = 1.0 if reg_m is None else reg_m / (reg_m + reg)
    f, g = torch.zeros_like(log_a), torch.zeros_like(log_b)
    error = torch.full((M.shape[0],), float("inf"), dtype=M.dtype)
    iterations = 0
    while iterations < numItermax:
        g_next = reg * (log_b - fraction * torch.logsumexp((f[:, :, None] - M) / reg, dim=1))
        f_next = reg * (log_a - fraction * torch.logsumexp((g_next[:, None, :] - M) / reg, dim=2))
        iterations += 1
        check = iterations % 10 == 0 or iterations == numItermax
        if check and reg_m is not None:
            with torch.no_grad():  # the core's test: the largest change of a potential / reg
                change_f = torch.where(a > 0, (f_next - f).abs(), 0).amax(dim=1)
                change_g = torch.where(b > 0, (g_next - g).abs(), 0).amax(dim=1)
                error = torch.maximum(change_f, change_g) / reg
        f, g = f_next, g_next
        if check:
            if reg_m is None:
                with torch.no_grad():  # ||P^T 1 - b||_2 (the rows are exact after the f update)
                    column_sums = torch.exp(torch.logsumexp((f[:, :, None] + g[:, None, :] - M) / reg, dim=1))
                    error = torch.linalg.vector_norm(column_sums - b, dim=1)
            if bool((error < stopThr).all()):
                break
    log_plan = (f[:, :, None] + g[:, None, :] - M) / reg
    plan = torch.exp(log_plan)
    # reg KL(P | a b^T), generalised (- |P| + |a| |b|) as the core's value
    kl = (plan * (log_plan - log_a[:, :, None] - log_b[:, None, :])).sum((1, 2)) - plan.sum((1, 2)) + a.sum(1) * b.sum(1)
    value = (plan * M).sum((1, 2)) + reg * kl
    if reg_m is not None:  # + reg_m KL(P 1 | a) + reg_m KL(P^T 1 | b), generalised, over positive weights
        for mass, weight in ((plan.sum(2), a), (plan.sum(1), b)):
            positive = weight > 0
            safe = torch.where(positive, weight, 1)
            terms = mass * torch.log(torch.where(positive, mass, 1) / safe) - mass + weight
            value = value + reg_m * torch.where(positive, terms, 0).sum(1)
    return value, plan, error, torch.full((M.shape[0],), iterations, dtype=torch.int64)


class _SinkhornPlan(torch.autograd.Function):
    """The entropic plan P(M) with the exact derivative of the converged plan
    (implicit function theorem on the marginal constraints P 1 = a, P^T 1 = b).

    With P_ij = a_i b_j exp((f_i + g_j - M_ij) / reg), a change dM moves the potentials
    so that the marginals stay fixed; for an upstream gradient G = dL/dP this gives

        dL/dM_ij = P_ij (z_i + w_j - G_ij) / reg,

    where (z, w) solves [[diag(a), P], [P^T, diag(b)]] (z, w) = ((G*P) 1, (G*P)^T 1).
    The system has the null vector (1, -1), orthogonal to the right-hand side; it is
    solved through its Schur complement S = diag(b) - P^T diag(1/a) P, made regular by
    adding the valid-column indicator v v^T (S v = 0, and the right-hand side is
    orthogonal to v, so the solution is the one with sum_j w_j = 0). Padded rows and
    columns (a_i = 0, b_j = 0) get unit diagonals and zero gradient."""

    @staticmethod
    def forward(M, n_sizes, m_sizes, reg, numItermax, stopThr, warn):
        _, plan = sinkhorn(None, None, M.detach(), reg, numItermax=numItermax, stopThr=stopThr, n_sizes=n_sizes,
                           m_sizes=m_sizes, warn=warn)
        return plan

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, n_sizes, m_sizes, reg, _, _, _ = inputs
        ctx.save_for_backward(output, n_sizes, m_sizes)
        ctx.reg = reg

    @staticmethod
    def backward(ctx, grad_plan):
        plan, n_sizes, m_sizes = ctx.saved_tensors
        n, m = plan.shape[-2:]
        row_valid = ~padding_mask(n_sizes, n)
        column_valid = (~padding_mask(m_sizes, m)).to(plan.dtype)
        a = torch.where(row_valid, plan.sum(-1), torch.ones_like(plan[..., 0]))
        b = torch.where(column_valid > 0, plan.sum(-2), torch.ones_like(plan[..., 0, :]))
        weighted = grad_plan * plan
        rows, columns = weighted.sum(-1), weighted.sum(-2)
        schur = (torch.diag_embed(b) - plan.transpose(-1, -2) @ (plan / a[..., None])
                 + column_valid[..., :, None] * column_valid[..., None, :])
        rhs = columns - (plan.transpose(-1, -2) @ (rows / a)[..., None]).squeeze(-1)
        # least squares (SVD): deterministic, and still defined if a tiny reg makes the plan so
        # sparse that S is singular
        w = torch.linalg.lstsq(schur, rhs[..., None], driver="gelsd" if plan.device.type == "cpu" else None)
        w = w.solution.squeeze(-1)
        z = (rows - (plan @ w[..., None]).squeeze(-1)) / a
        grad_M = plan * (z[..., :, None] + w[..., None, :] - grad_plan) / ctx.reg
        return grad_M, None, None, None, None, None, None


def sinkhorn_plan(M: torch.Tensor, reg: float, n_sizes: torch.Tensor, m_sizes: torch.Tensor, numItermax: int = 200,
                  stopThr: float = 1e-6, warn: bool = True) -> torch.Tensor:
    """The entropic OT plan between uniform weights over each problem's valid rows and
    columns (:func:`affectkit.nn.functional.sinkhorn`), differentiable with respect to
    ``M``: the backward is the exact derivative of the converged plan (implicit
    function theorem; see ``_SinkhornPlan``), so it is exact as far as Sinkhorn has
    converged (``stopThr``). Costs one (m, m) least-squares solve per problem.

    Parameters
    ----------
    M : Tensor (batch, n, m), float32 or float64
    reg : float > 0
    n_sizes, m_sizes : int64 Tensor (batch,), valid rows and columns (>= 1)

    Returns
    -------
    Tensor (batch, n, m), zero in padded rows and columns; rows sum to 1 / n_sizes,
    columns to 1 / m_sizes.
    """
    return _SinkhornPlan.apply(M, n_sizes, m_sizes, reg, numItermax, stopThr, warn)


def ot_dist(x: torch.Tensor, y: Optional[torch.Tensor] = None, metric: str = "sqeuclidean") -> torch.Tensor:
    """Differentiable cost matrix between point clouds, as :func:`affectkit.ot.dist`
    (written with torch operations, so autograd differentiates it).

    Parameters
    ----------
    x : Tensor (n, d) or (batch, n, d); y : Tensor (m, d) or (batch, m, d), or None (x)
    metric : 'sqeuclidean', 'euclidean' (gradient 0 where two points coincide) or 'cosine'

    Returns
    -------
    Tensor (n, m) or (batch, n, m)
    """
    y = x if y is None else y
    if metric == "sqeuclidean":
        squared = (x * x).sum(-1)[..., :, None] + (y * y).sum(-1)[..., None, :] - 2 * x @ y.transpose(-1, -2)
        return squared.clamp_min(0)
    if metric == "euclidean":
        return torch.cdist(x, y)
    if metric == "cosine":
        return 1 - F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).transpose(-1, -2)
    raise ValueError(f"invalid argument 'metric': must be 'sqeuclidean', 'euclidean' or 'cosine', got {metric!r}")


def sinkhorn_divergence(
    x: torch.Tensor,
    y: torch.Tensor,
    reg: float,
    a: Optional[torch.Tensor] = None,
    b: Optional[torch.Tensor] = None,
    metric: str = "sqeuclidean",
    numItermax: int = 1000,
    stopThr: float = 1e-9,
    epsilon_scaling: Optional[float] = None,
    warn: bool = True,
) -> torch.Tensor:
    """Debiased Sinkhorn divergence ``OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2`` between
    weighted point clouds, differentiable in ``x``, ``y``, ``a``, ``b`` (as
    :func:`affectkit.ot.sinkhorn_divergence`; GeomLoss's ``SamplesLoss('sinkhorn', p=2,
    blur=s)`` is ``sinkhorn_divergence(x, y, 2 * s**2) / 2``).

    Parameters
    ----------
    x : Tensor (n, d) or (batch, n, d); y : Tensor (m, d) or (batch, m, d)
    reg : float > 0; a, b : weights or None (uniform); metric : as :func:`ot_dist`

    Returns
    -------
    Tensor () or (batch,)
    """
    options = dict(numItermax=numItermax, stopThr=stopThr, epsilon_scaling=epsilon_scaling, warn=warn)
    xy, _ = sinkhorn(a, b, ot_dist(x, y, metric), reg, **options)
    xx, _ = sinkhorn(a, a, ot_dist(x, x, metric), reg, **options)
    yy, _ = sinkhorn(b, b, ot_dist(y, y, metric), reg, **options)
    return xy - 0.5 * (xx + yy)


# ---------------------------------------------------------------- divergences (autograd through torch operations)


class _TorchOps:
    """The array operations of affectkit._divergence_math, for PyTorch."""

    array_name = "torch.Tensor"
    log = staticmethod(torch.log)
    where = staticmethod(torch.where)
    isfinite = staticmethod(torch.isfinite)
    all = staticmethod(torch.all)
    full_like = staticmethod(torch.full_like)
    slogdet = staticmethod(torch.linalg.slogdet)
    solve_matrix = staticmethod(torch.linalg.solve)

    @staticmethod
    def is_float_array(x) -> bool:
        return isinstance(x, torch.Tensor) and x.dtype in (torch.float32, torch.float64)

    @staticmethod
    def is_single(x: torch.Tensor) -> bool:
        return x.dtype == torch.float32

    @staticmethod
    def sum(x: torch.Tensor, axis: int) -> torch.Tensor:
        return x.sum(axis)

    @staticmethod
    def amax(x: torch.Tensor, axis: int) -> torch.Tensor:
        return x.amax(axis)

    @staticmethod
    def logsumexp(x: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.logsumexp(x, axis)

    @staticmethod
    def solve(A: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.linalg.solve(A, v.unsqueeze(-1)).squeeze(-1)

    @staticmethod
    def diagonal_sum(A: torch.Tensor) -> torch.Tensor:
        return A.diagonal(dim1=-2, dim2=-1).sum(-1)

    @staticmethod
    def positive_definite(A: torch.Tensor) -> torch.Tensor:
        return (torch.linalg.eigvalsh(A.detach()) > 0).all(-1)


def kl_divergence(p: torch.Tensor, q: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    """``KL(p | q)`` over the last axis, differentiable; as :func:`affectkit.ot.kl_divergence`
    (the gradient of the ``0 log 0`` terms is taken as 0)."""
    p, q = _divergence_math.distributions(p, q, normalize, _TorchOps)
    return _divergence_math.kl(p, q, _TorchOps)


def js_divergence(p: torch.Tensor, q: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    """Jensen-Shannon divergence over the last axis, differentiable; as
    :func:`affectkit.ot.js_divergence`."""
    p, q = _divergence_math.distributions(p, q, normalize, _TorchOps)
    return _divergence_math.js(p, q, _TorchOps)


def renyi_divergence(p: torch.Tensor, q: torch.Tensor, alpha: float, normalize: bool = False) -> torch.Tensor:
    """Renyi divergence of order ``alpha`` over the last axis, differentiable; as
    :func:`affectkit.ot.renyi_divergence`."""
    alpha = _divergence_math.order(alpha)
    p, q = _divergence_math.distributions(p, q, normalize, _TorchOps)
    return _divergence_math.renyi(p, q, alpha, _TorchOps)


def renyi_divergence_gaussian(mean1: torch.Tensor, cov1: torch.Tensor, mean2: torch.Tensor, cov2: torch.Tensor,
                              alpha: float) -> torch.Tensor:
    """Closed-form Renyi divergence between Gaussians, differentiable in the means and
    covariances; as :func:`affectkit.ot.renyi_divergence_gaussian`."""
    alpha = _divergence_math.order(alpha)
    if not 0 < alpha < float("inf"):
        raise ValueError(f"invalid argument 'alpha': must be positive and finite for Gaussians, got {alpha!r}")
    _divergence_math.gaussians(mean1, cov1, mean2, cov2, _TorchOps)
    return _divergence_math.renyi_gaussian(mean1, cov1, mean2, cov2, alpha, _TorchOps)


def cauchy_schwarz_divergence(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """Cauchy-Schwarz divergence between Gaussian KDEs of two sample sets, differentiable
    in ``x`` and ``y``; as :func:`affectkit.ot.cauchy_schwarz_divergence`.

    Parameters
    ----------
    x : Tensor (n, d) or (batch, n, d); y : Tensor (m, d) or (batch, m, d); bandwidth : float > 0
    """
    sigma = _divergence_math.bandwidth_value(bandwidth)
    for name, t in (("x", x), ("y", y)):
        if not _TorchOps.is_float_array(t) or t.dim() not in (2, 3):
            raise ValueError(f"invalid argument '{name}': must be a float tensor (n, d) or (batch, n, d)")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"invalid argument '{name}': must be finite")
    if x.dim() != y.dim() or x.shape[-1] != y.shape[-1] or x.shape[:-2] != y.shape[:-2] or x.dtype != y.dtype:
        raise ValueError(f"invalid argument 'y': must match x {tuple(x.shape)} {x.dtype} in batch, d and dtype, "
                         f"got {tuple(y.shape)} {y.dtype}")
    return _divergence_math.cauchy_schwarz(ot_dist(x, y), ot_dist(x, x), ot_dist(y, y), sigma, _TorchOps)


# ---------------------------------------------------------------- selective scan


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
    (real or complex ``A``); the maths is :func:`selective_scan_ref` (and ``ak.selective_scan``).

    Fused: no (batch, dim, length, state) tensor is made, in the forward or the
    backward (which recomputes the states from per-chunk checkpoints). Every input
    gets a gradient, the last state's included.

    Every tensor must be contiguous: the kernel reads them in place, and a strided
    view (a transpose, a slice along a non-leading axis, a chunk of a concatenation)
    is a ValueError naming it rather than a hidden copy; call ``.contiguous()``.

    Parameters
    ----------
    u, delta : Tensor, shape (batch, dim, length), float32 or float64, CPU
    A : Tensor, shape (dim, state), the dtype of ``u`` or its complex type
        (complex64 / complex128)
    B, C : Tensor, shape (dim, state), (batch, state, length) or (batch, groups, state, length).
        With complex ``A`` (as mamba-ssm): shared (dim, state) ones are complex like ``A``;
        variable ones are real with (real, imag) pairs along time, last axis ``2 * length``.
    D, delta_bias : Tensor, shape (dim,), optional
    z : Tensor, shape (batch, dim, length), optional
    delta_softplus : bool
    return_last_state : bool

    Returns
    -------
    out : Tensor, shape (batch, dim, length), the dtype of ``u`` (with complex ``A``,
        the state's readout is ``2 Re(C . h)``, as the reference's ``y.real * 2``)
    last_state : Tensor, shape (batch, dim, state), the dtype of ``A``; only if
        ``return_last_state``
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
    make the (batch, dim, length, state) tensors up front. Slow; for tests.

    Complex ``A`` as the original: variable B and C are real with (real, imag)
    pairs along time (viewed as complex), the state is complex and each step's
    readout ``C . h`` becomes ``2 Re(C . h)``."""
    if A.is_complex():
        B, C = (torch.view_as_complex(P.unflatten(-1, (-1, 2))) if P.dim() >= 3 else P for P in (B, C))
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
    h = A.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(length):
        step = delta[:, :, t, None]
        h = torch.exp(step * A) * h + step * B[..., t] * u[:, :, t, None]
        y = (h * C[..., t]).sum(-1)
        ys.append(2 * y.real if y.is_complex() else y)
    y = torch.stack(ys, dim=2) if ys else u.new_zeros(batch, dim, 0)
    out = y if D is None else y + u * D[:, None]
    if z is not None:
        out = out * torch.nn.functional.silu(z)
    return (out, h) if return_last_state else out
