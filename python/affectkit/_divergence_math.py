"""The divergence formulas, written once for NumPy (:mod:`affectkit.ot`) and PyTorch
(:mod:`affectkit.nn.functional`, where autograd differentiates them).

``ops`` is a namespace with: log, where, sum(x, axis), logsumexp(x, axis), amax(x, axis),
full_like(x, value), slogdet(A) -> (sign, logabsdet), solve(A, v) (v a batch of vectors),
solve_matrix(A, B), diagonal_sum(A), positive_definite(A). Inputs are already checked
(covariances symmetric positive definite) and broadcast.
Natural logarithms throughout (nats).
"""

from __future__ import annotations

import math
from typing import Any

INF = float("inf")


def kl(p: Any, q: Any, ops: Any) -> Any:
    """sum_i p_i log(p_i / q_i) over the last axis; 0 log 0 = 0; +inf where q_i = 0 < p_i."""
    positive = p > 0
    one = ops.full_like(p, 1.0)
    # log of the ratio only where p > 0: keeps 0 * log 0 (and its gradient) out
    terms = ops.where(positive, p * (ops.log(ops.where(positive, p, one)) - ops.log(ops.where(positive, q, one))),
                      0 * p)
    return ops.sum(terms, -1)


def js(p: Any, q: Any, ops: Any) -> Any:
    """Jensen-Shannon divergence KL(p | m) / 2 + KL(q | m) / 2, m = (p + q) / 2 (at most log 2)."""
    m = 0.5 * (p + q)
    return 0.5 * kl(p, m, ops) + 0.5 * kl(q, m, ops)


def renyi(p: Any, q: Any, alpha: float, ops: Any) -> Any:
    """Renyi divergence of order alpha >= 0 over the last axis:
    log(sum_{p > 0} p^alpha q^(1 - alpha)) / (alpha - 1); KL at alpha = 1,
    log max_{p > 0} p / q at alpha = inf, -log sum_{p > 0} q at alpha = 0."""
    if alpha == 1:
        return kl(p, q, ops)
    positive = p > 0
    one = ops.full_like(p, 1.0)
    log_p = ops.log(ops.where(positive, p, one))
    log_q = ops.log(ops.where(positive, q, one))  # -inf where q = 0 < p
    missing = ops.sum(ops.where(positive & (q <= 0), one, 0 * one), -1) > 0  # q = 0 somewhere p > 0
    safe_log_q = ops.where(q > 0, log_q, 0 * one)
    neg_inf = ops.full_like(p, -INF)
    if alpha == INF:
        value = ops.amax(ops.where(positive, log_p - safe_log_q, neg_inf), -1)
        return ops.where(missing, ops.full_like(value, INF), value)
    # alpha < 1: entries with q = 0 contribute nothing; alpha > 1: they make it infinite
    keep = positive & (q > 0)
    value = ops.logsumexp(ops.where(keep, alpha * log_p + (1 - alpha) * safe_log_q, neg_inf), -1) / (alpha - 1)
    if alpha > 1:
        value = ops.where(missing, ops.full_like(value, INF), value)
    return value


def renyi_gaussian(mean1: Any, cov1: Any, mean2: Any, cov2: Any, alpha: float, ops: Any) -> Any:
    """Renyi divergence of order alpha > 0 between N(mean1, cov1) and N(mean2, cov2)
    (Gil, Alajaji and Linder 2013, eq. 10), with S = alpha cov2 + (1 - alpha) cov1:

        alpha / 2 d^T S^-1 d - log(|S| / (|cov1|^(1 - alpha) |cov2|^alpha)) / (2 (alpha - 1)),

    d = mean1 - mean2; KL at alpha = 1; +inf where S is not positive definite."""
    diff = mean1 - mean2
    dim = diff.shape[-1]
    _, logdet1 = ops.slogdet(cov1)
    _, logdet2 = ops.slogdet(cov2)
    if alpha == 1:
        mahalanobis = ops.sum(diff * ops.solve(cov2, diff), -1)
        trace = ops.diagonal_sum(ops.solve_matrix(cov2, cov1))
        return 0.5 * (trace + mahalanobis - dim + logdet2 - logdet1)
    mixed = alpha * cov2 + (1 - alpha) * cov1
    # alpha > 1 can leave S indefinite: the integral diverges; solve with cov2 there instead
    valid = ops.positive_definite(mixed)
    mixed = ops.where(valid[..., None, None], mixed, cov2)
    _, logdet = ops.slogdet(mixed)
    mahalanobis = ops.sum(diff * ops.solve(mixed, diff), -1)
    value = 0.5 * alpha * mahalanobis - (logdet - (1 - alpha) * logdet1 - alpha * logdet2) / (2 * (alpha - 1))
    return ops.where(valid, value, ops.full_like(value, INF))


def cauchy_schwarz(squared_xy: Any, squared_xx: Any, squared_yy: Any, bandwidth: float, ops: Any) -> Any:
    """Cauchy-Schwarz divergence -log((int p q)^2 / (int p^2 int q^2)) between Gaussian
    kernel density estimates of two sample sets (bandwidth sigma), from their squared
    pairwise distances (..., n, m), (..., n, n), (..., m, m). The integral of a product
    of two KDEs is the mean of Gaussians of variance 2 sigma^2 at the sample differences;
    the normalising constants cancel, leaving log-mean-exps of -|d|^2 / (4 sigma^2)."""
    scale = -1.0 / (4.0 * bandwidth * bandwidth)

    def log_mean_exp(squared: Any) -> Any:
        count = squared.shape[-1] * squared.shape[-2]
        return ops.logsumexp(ops.logsumexp(scale * squared, -1), -1) - math.log(count)

    return -2 * log_mean_exp(squared_xy) + log_mean_exp(squared_xx) + log_mean_exp(squared_yy)


# ---------------------------------------------------------------- argument checks (both back ends)


def distributions(p: Any, q: Any, normalize: bool, ops: Any) -> Any:
    """p, q as checked discrete distributions over the last axis (same shape, finite,
    non-negative, summing to 1 -- or divided by their sums when normalize)."""
    for name, value in (("p", p), ("q", q)):
        if not ops.is_float_array(value):
            raise TypeError(f"invalid argument '{name}': must be a float32 or float64 {ops.array_name}, got "
                            f"{type(value).__name__} {getattr(value, 'dtype', '')}")
        if value.ndim < 1 or value.shape[-1] < 1:
            raise ValueError(f"invalid argument '{name}': needs at least one value on its last axis, got shape "
                             f"{tuple(value.shape)}")
        if not bool(ops.all(ops.isfinite(value))) or not bool(ops.all(value >= 0)):
            raise ValueError(f"invalid argument '{name}': must be finite and non-negative")
    if tuple(p.shape) != tuple(q.shape) or p.dtype != q.dtype:
        raise ValueError(f"invalid argument 'q': must have the shape and dtype of p {tuple(p.shape)} {p.dtype}, "
                         f"got {tuple(q.shape)} {q.dtype}")
    tolerance = 1e-5 if ops.is_single(p) else 1e-9
    checked = []
    for name, value in (("p", p), ("q", q)):
        total = ops.sum(value, -1)
        if normalize:
            if not bool(ops.all(total > 0)):
                raise ValueError(f"invalid argument '{name}': cannot normalise a distribution of zero mass")
            value = value / total[..., None]
        elif not bool(ops.all(abs(total - 1) <= tolerance)):
            raise ValueError(f"invalid argument '{name}': must sum to 1 over the last axis (within {tolerance:g}); "
                             "pass normalize=True to divide by the sums")
        checked.append(value)
    return checked


def order(alpha: Any) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise TypeError(f"invalid argument 'alpha': must be a number, got {alpha!r}")
    if not alpha >= 0:
        raise ValueError(f"invalid argument 'alpha': must be >= 0 (inf allowed), got {alpha!r}")
    return float(alpha)


def gaussians(mean1: Any, cov1: Any, mean2: Any, cov2: Any, ops: Any) -> None:
    """Means (..., d) and symmetric positive definite covariances (..., d, d), one dtype."""
    for name, value, extra in (("mean1", mean1, 0), ("cov1", cov1, 1), ("mean2", mean2, 0), ("cov2", cov2, 1)):
        if not ops.is_float_array(value) or value.dtype != mean1.dtype:
            raise TypeError(f"invalid argument '{name}': must be a float32 or float64 {ops.array_name} of one dtype")
        if value.ndim < 1 + extra or value.shape[-1] != mean1.shape[-1] or (extra and value.shape[-2] != mean1.shape[-1]):
            raise ValueError(f"invalid argument '{name}': must have shape (..., d{', d' * extra}) with d = "
                             f"{mean1.shape[-1] if mean1.ndim else '?'}, got {tuple(value.shape)}")
        if not bool(ops.all(ops.isfinite(value))):
            raise ValueError(f"invalid argument '{name}': must be finite")
    for name, cov in (("cov1", cov1), ("cov2", cov2)):
        symmetric = abs(cov - cov.swapaxes(-1, -2)) <= 1e-6 * (1 + abs(cov))
        if not bool(ops.all(symmetric)) or not bool(ops.all(ops.positive_definite(cov))):
            raise ValueError(f"invalid argument '{name}': must be symmetric positive definite")


def bandwidth_value(bandwidth: Any) -> float:
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, (int, float)):
        raise TypeError(f"invalid argument 'bandwidth': must be a number, got {bandwidth!r}")
    if not (bandwidth > 0 and math.isfinite(bandwidth)):
        raise ValueError(f"invalid argument 'bandwidth': must be positive and finite, got {bandwidth!r}")
    return float(bandwidth)
