"""Entropic optimal transport: batched, stable Sinkhorn in POT's vocabulary.

``ak.ot.sinkhorn(a, b, M, reg)`` solves the problem POT's ``ot.sinkhorn`` solves,

    P = argmin_{P 1 = a, P^T 1 = b}  <P, M> + reg KL(P | a b^T),

for one cost matrix ``M (n, m)`` or a padded stack ``M (batch, n, m)`` with
per-problem sizes (``n_sizes``, ``m_sizes``), in float32 or float64. The method is
chosen per problem (``method='auto'``): the scaling form with absorption into the
potentials (POT's ``sinkhorn_stabilized``: matrix-vector products) when the kernel
``exp(-M / reg)`` is representable, else a warm start in the log domain (POT's
``sinkhorn_log``, with epsilon scaling when ``reg`` is below 1/100 of the cost range)
that hands over to the scaling form; unbalanced problems stay in the log domain. The stopping
test (``stopThr`` on ``||P^T 1 - b||_2``, as POT) comes out of the update itself;
not converging within ``numItermax`` is a warning with the reached error.

Divergences: ``kl_divergence``, ``js_divergence``, ``renyi_divergence`` (discrete),
``renyi_divergence_gaussian`` (closed form) and ``cauchy_schwarz_divergence`` (Gaussian
KDEs of two sample sets), in nats; the same in :mod:`affectkit.nn.functional` with
gradients.

Value conventions (compare numbers across libraries with these):

- ``sinkhorn2`` returns ``<P, M>`` without the entropy term, as POT's ``ot.sinkhorn2``.
- ``log['value']`` is the minimised objective ``<P, M> + reg KL(P | a b^T)``, which is
  POT's ``ot.solve(M, a, b, reg=reg).value`` (reg_type 'KL') for balanced problems;
  for unbalanced ones it adds ``reg_m KL(P 1 | a) + reg_m KL(P^T 1 | b)`` with the
  generalised KL (``sum p log(p / q) - p + q``; POT's ``total_cost`` omits ``- p + q``).
- Potentials ``f, g`` are POT's: ``P = exp((f_i + g_j - M_ij) / reg)``; ``f / reg`` is
  ``log_u`` of ``ot.sinkhorn_log`` and ``f`` is ``alpha`` of ``sinkhorn_stabilized``.
  GeomLoss's potentials are ``f - reg log a`` and ``g - reg log b``.
- GeomLoss's ``SamplesLoss('sinkhorn', p=2, blur=s)`` uses the cost ``|x - y|^2 / 2``
  and ``reg = s**2`` (``blur**p``), and reports the objective (``value``), debiased:
  ``SamplesLoss(..., blur=s)(x, y) == sinkhorn_divergence(x, y, reg=2 * s**2) / 2``.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _core, _divergence_math as _math
from ._checks import as_float, as_int, num_threads as _num_threads

__all__ = [
    "sinkhorn", "sinkhorn2", "sinkhorn_log", "sinkhorn_unbalanced", "sinkhorn_unbalanced2",
    "sinkhorn_divergence", "dist", "kl_divergence", "js_divergence", "renyi_divergence",
    "renyi_divergence_gaussian", "cauchy_schwarz_divergence",
]

_METHODS = ("auto", "sinkhorn_log", "sinkhorn_stabilized")


def _costs(M: Any) -> Tuple[np.ndarray, bool]:
    """M as a (batch, n, m) float array and whether it was one (n, m) problem."""
    if not isinstance(M, np.ndarray):
        raise TypeError(f"invalid argument 'M': must be a numpy array, got {type(M).__name__}")
    if M.dtype.kind != "f" or M.dtype.itemsize not in (4, 8):
        raise TypeError(f"invalid argument 'M': must be float32 or float64, got {M.dtype}")
    if M.ndim not in (2, 3):
        raise ValueError(f"invalid argument 'M': must have shape (n, m) or (batch, n, m), got {M.shape}")
    return (M[None], True) if M.ndim == 2 else (M, False)


def _sizes(name: str, sizes: Any, batch: int, full: int) -> np.ndarray:
    if sizes is None:
        return np.full(batch, full, dtype=np.int64)
    sizes = np.asarray(sizes)
    if sizes.dtype.kind not in "iu":
        raise TypeError(f"invalid argument '{name}': must be integers, got {sizes.dtype}")
    if sizes.shape != (batch,):
        raise ValueError(f"invalid argument '{name}': must have shape ({batch},), one size per problem, got {sizes.shape}")
    return sizes.astype(np.int64)


def _weights(name: str, w: Any, dtype: np.dtype, batch: int, length: int, sizes: np.ndarray) -> np.ndarray:
    """Weights as a (batch, length) array of M's dtype; None or empty means uniform
    over each problem's size (as POT's ``a=[]``)."""
    if w is None or (not isinstance(w, np.ndarray) and len(w) == 0) or (isinstance(w, np.ndarray) and w.size == 0):
        if np.any(sizes < 1) or np.any(sizes > length):
            return np.ones((batch, length), dtype=dtype)  # the core names the bad size
        uniform = np.zeros((batch, length), dtype=dtype)
        for k, size in enumerate(sizes):
            uniform[k, :size] = 1.0 / size
        return uniform
    if not isinstance(w, np.ndarray):
        w = np.asarray(w, dtype=dtype)  # a list of numbers: M decides the precision
    if w.ndim == 1 and batch == 1:
        w = w[None]
    if w.shape != (batch, length):
        expected = f"({length},)" if batch == 1 else f"({batch}, {length})"
        raise ValueError(f"invalid argument '{name}': must have shape {expected} to match M, got {w.shape}")
    return w


def _method(method: Any) -> str:
    if not isinstance(method, str) or method.lower() not in _METHODS:
        raise ValueError(f"invalid argument 'method': must be one of {_METHODS}, got {method!r}")
    return method.lower()


def _epsilon_scaling(value: Any) -> float:
    if value is None:
        return -1.0  # automatic
    if value is False:
        return 0.0
    factor = as_float("epsilon_scaling", value)
    if not 0 <= factor < 1:
        raise ValueError(f"invalid argument 'epsilon_scaling': must be None (automatic), 0 (off) or in (0, 1), got {value!r}")
    return factor


def _solve(a, b, M, reg, reg_m, method, numItermax, stopThr, verbose, warn, epsilon_scaling, tau,
           n_sizes, m_sizes, num_threads) -> Tuple[Dict[str, np.ndarray], bool]:
    M3, single = _costs(M)
    batch, n, m = M3.shape
    rows = _sizes("n_sizes", n_sizes, batch, n)
    columns = _sizes("m_sizes", m_sizes, batch, m)
    plan, f, g, cost, value, error, iterations, used = _core.sinkhorn(
        _weights("a", a, M3.dtype, batch, n, rows), _weights("b", b, M3.dtype, batch, m, columns), M3,
        as_float("reg", reg), as_float("reg_m", reg_m), _method(method),
        as_int("numItermax", numItermax, minimum=0), as_float("stopThr", stopThr),
        _epsilon_scaling(epsilon_scaling), as_float("tau", tau),
        None if n_sizes is None else rows, None if m_sizes is None else columns, _num_threads(num_threads))
    if verbose:
        for k in range(batch):
            print(f"problem {k}: {iterations[k]} iterations, error {error[k]:.3e}, "
                  f"{'sinkhorn_stabilized' if used[k] == 2 else 'sinkhorn_log'}")
    failed = np.flatnonzero(~(error < stopThr))
    if warn and failed.size:
        warnings.warn(
            f"Sinkhorn did not converge: reached error {float(np.max(error[failed])):.3e} > stopThr = {stopThr:g} "
            f"after {int(np.max(iterations[failed]))} iterations in {failed.size} of {batch} problem(s) "
            f"(first: {int(failed[0])}). Increase numItermax, or reg.", UserWarning, stacklevel=3)
    log = {"f": f, "g": g, "cost": cost, "value": value, "err": error, "niter": iterations,
           "method": np.where(used == 2, "sinkhorn_stabilized", "sinkhorn_log")}
    if single:
        plan = plan[0]
        log = {key: item[0] for key, item in log.items()}
    return dict(log, plan=plan), single


_SHARED_DOC = """
    Parameters
    ----------
    a : array (n,) or (batch, n), or None / [] (uniform over each problem's rows)
        Source weights, non-negative, same total mass as ``b``. Arrays must have the
        dtype of ``M``; lists are converted to it.
    b : array (m,) or (batch, m), or None / []
        Target weights.
    M : array (n, m) or (batch, n, m), float32 or float64
        Costs, finite. A stack is a batch of independent problems.
    reg : float > 0
        Entropic regularisation, in the units of ``M``.
    method : 'auto', 'sinkhorn_log' or 'sinkhorn_stabilized'
        'auto' picks per problem (see the module docstring).
    numItermax : int, default 1000
        Most iterations (one iteration updates both potentials), annealing included.
    stopThr : float, default 1e-9
        Stop when ``||P^T 1 - b||_2 < stopThr`` (checked every iteration, for free).
    verbose : bool
        Print iterations, reached error and method per problem.
    log : bool
        Also return a dict: 'f', 'g' (potentials, POT's convention, -inf at zero weights),
        'cost' (<P, M>), 'value' (objective with the entropy), 'err' (reached error),
        'niter' (iterations), 'method' (method used).
    warn : bool
        Warn when a problem has not reached ``stopThr`` (never an exception).
    epsilon_scaling : None, 0 or float in (0, 1)
        Log-domain annealing factor: ``reg`` starts at the cost range and is multiplied
        by it after each iteration down to ``reg``. None: 0.5 when the log
        domain runs with ``reg`` below 1/100 of the cost range; 0: off.
    tau : float > 1, default 1e3
        Absorption threshold of the scaling form (POT's ``tau``).
    n_sizes, m_sizes : int arrays (batch,), optional
        Rows and columns used by each problem of a padded stack (its top-left block);
        the padding is ignored and comes back as 0.
    num_threads : int or None
        Threads (None: every core this process may use). Problems run in parallel; a lone problem splits its rows.
"""


def sinkhorn(a: Any, b: Any, M: np.ndarray, reg: float, method: str = "auto", numItermax: int = 1000,
             stopThr: float = 1e-9, verbose: bool = False, log: bool = False, warn: bool = True,
             epsilon_scaling: Optional[float] = None, tau: float = 1e3, n_sizes: Any = None,
             m_sizes: Any = None, num_threads: Optional[int] = None) -> Union[np.ndarray, Tuple[np.ndarray, Dict[str, Any]]]:
    result, _ = _solve(a, b, M, reg, float("inf"), method, numItermax, stopThr, verbose, warn, epsilon_scaling,
                       tau, n_sizes, m_sizes, num_threads)
    plan = result.pop("plan")
    return (plan, result) if log else plan


sinkhorn.__doc__ = """Entropic OT plan, as POT's ``ot.sinkhorn(a, b, M, reg)``.
""" + _SHARED_DOC + """
    Returns
    -------
    plan : array (n, m) or (batch, n, m), the dtype of ``M``
        ``P_ij = exp((f_i + g_j - M_ij) / reg)``; 0 on padding.
    log : dict, if ``log``
    """


def sinkhorn2(a: Any, b: Any, M: np.ndarray, reg: float, method: str = "auto", numItermax: int = 1000,
              stopThr: float = 1e-9, verbose: bool = False, log: bool = False, warn: bool = True,
              epsilon_scaling: Optional[float] = None, tau: float = 1e3, n_sizes: Any = None,
              m_sizes: Any = None, num_threads: Optional[int] = None) -> Union[Any, Tuple[Any, Dict[str, Any]]]:
    result, _ = _solve(a, b, M, reg, float("inf"), method, numItermax, stopThr, verbose, warn, epsilon_scaling,
                       tau, n_sizes, m_sizes, num_threads)
    return (result["cost"], result) if log else result["cost"]


sinkhorn2.__doc__ = """Entropic OT cost ``<P, M>`` (no entropy term), as POT's ``ot.sinkhorn2``.
""" + _SHARED_DOC + """
    Returns
    -------
    cost : scalar (one problem) or array (batch,), the dtype of ``M``
    log : dict, if ``log`` (it holds the plan under 'plan')
    """


def sinkhorn_log(a: Any, b: Any, M: np.ndarray, reg: float, numItermax: int = 1000, stopThr: float = 1e-9,
                 verbose: bool = False, log: bool = False, warn: bool = True,
                 epsilon_scaling: Optional[float] = None, n_sizes: Any = None, m_sizes: Any = None,
                 num_threads: Optional[int] = None) -> Union[np.ndarray, Tuple[np.ndarray, Dict[str, Any]]]:
    """Entropic OT plan in the log domain, as POT's ``ot.sinkhorn_log``: always stable,
    one exp per matrix entry and half-iteration. Arguments and returns as :func:`sinkhorn`
    with ``method='sinkhorn_log'``."""
    return sinkhorn(a, b, M, reg, "sinkhorn_log", numItermax, stopThr, verbose, log, warn, epsilon_scaling,
                    1e3, n_sizes, m_sizes, num_threads)


def _unbalanced(a, b, M, reg, reg_m, method, reg_type, numItermax, stopThr, verbose, warn, epsilon_scaling,
                n_sizes, m_sizes, num_threads):
    if reg_type != "kl":
        raise ValueError(f"invalid argument 'reg_type': only 'kl' (POT's default, KL(P | a b^T)) is supported, got {reg_type!r}")
    if _method(method) == "sinkhorn_stabilized":
        raise ValueError("invalid argument 'method': unbalanced problems are solved in the log domain ('auto' or 'sinkhorn_log')")
    reg_m = as_float("reg_m", reg_m)
    if not 0 < reg_m < float("inf"):
        raise ValueError(f"invalid argument 'reg_m': must be positive and finite (use sinkhorn for balanced OT), got {reg_m}")
    return _solve(a, b, M, reg, reg_m, "sinkhorn_log", numItermax, stopThr, verbose, warn, epsilon_scaling, 1e3,
                  n_sizes, m_sizes, num_threads)[0]


def sinkhorn_unbalanced(a: Any, b: Any, M: np.ndarray, reg: float, reg_m: float, method: str = "auto",
                        reg_type: str = "kl", numItermax: int = 1000, stopThr: float = 1e-6,
                        verbose: bool = False, log: bool = False, warn: bool = True,
                        epsilon_scaling: Optional[float] = None, n_sizes: Any = None, m_sizes: Any = None,
                        num_threads: Optional[int] = None) -> Union[np.ndarray, Tuple[np.ndarray, Dict[str, Any]]]:
    """Unbalanced entropic OT plan (KL-relaxed marginals), as POT's
    ``ot.sinkhorn_unbalanced(a, b, M, reg, reg_m)`` with ``reg_type='kl'``::

        P = argmin <P, M> + reg KL(P | a b^T) + reg_m KL(P 1 | a) + reg_m KL(P^T 1 | b)

    solved in the log domain (updates of POT's scalings raised to reg_m / (reg_m + reg)).
    ``a`` and ``b`` need not have the same mass. ``stopThr`` bounds the largest change
    of a potential over one iteration, divided by ``reg`` (about POT's relative change
    of the scalings). Other arguments and the returns as :func:`sinkhorn`; ``reg_m`` is
    a positive finite float.
    """
    result = _unbalanced(a, b, M, reg, reg_m, method, reg_type, numItermax, stopThr, verbose, warn,
                         epsilon_scaling, n_sizes, m_sizes, num_threads)
    plan = result.pop("plan")
    return (plan, result) if log else plan


def sinkhorn_unbalanced2(a: Any, b: Any, M: np.ndarray, reg: float, reg_m: float, method: str = "auto",
                         reg_type: str = "kl", numItermax: int = 1000, stopThr: float = 1e-6,
                         verbose: bool = False, log: bool = False, warn: bool = True,
                         epsilon_scaling: Optional[float] = None, n_sizes: Any = None, m_sizes: Any = None,
                         num_threads: Optional[int] = None) -> Union[Any, Tuple[Any, Dict[str, Any]]]:
    """``<P, M>`` of :func:`sinkhorn_unbalanced`'s plan, as POT's ``ot.sinkhorn_unbalanced2``
    (``returnCost='linear'``); the full objective is ``log['value']``."""
    result = _unbalanced(a, b, M, reg, reg_m, method, reg_type, numItermax, stopThr, verbose, warn,
                         epsilon_scaling, n_sizes, m_sizes, num_threads)
    return (result["cost"], result) if log else result["cost"]


def _points(name: str, x: Any) -> Tuple[np.ndarray, bool]:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"invalid argument '{name}': must be a numpy array, got {type(x).__name__}")
    if x.ndim not in (2, 3):
        raise ValueError(f"invalid argument '{name}': must have shape (n, d) or (batch, n, d), got {x.shape}")
    return (x[None], True) if x.ndim == 2 else (x, False)


def dist(x1: np.ndarray, x2: Optional[np.ndarray] = None, metric: str = "sqeuclidean",
         num_threads: Optional[int] = None) -> np.ndarray:
    """Cost matrix between point clouds, as POT's ``ot.dist`` (scipy's ``cdist`` metrics).

    Parameters
    ----------
    x1 : array (n, d) or (batch, n, d), float32 or float64
    x2 : array (m, d) or (batch, m, d) of the same dtype; None: ``x1``
    metric : 'sqeuclidean' (``|x - y|^2``), 'euclidean' or 'cosine' (``1 - cos``; non-zero points)
    num_threads : int or None (all cores)

    Returns
    -------
    M : array (n, m) or (batch, n, m), the dtype of ``x1``
    """
    return _pairwise(x1, x1 if x2 is None else x2, metric, num_threads, ("x1", "x2"))


def _pairwise(x: Any, y: Any, metric: str, num_threads: Optional[int], names: Tuple[str, str]) -> np.ndarray:
    """dist for public functions whose point clouds have other names (errors name them)."""
    if not isinstance(metric, str):
        raise TypeError(f"invalid argument 'metric': must be a string, got {type(metric).__name__}")
    xs, single = _points(names[0], x)
    ys, single_y = _points(names[1], y)
    if single != single_y:
        raise ValueError(f"invalid argument '{names[1]}': must have as many dimensions as {names[0]} ({x.ndim}), "
                         f"got {y.ndim}")
    try:
        M = _core.pairwise_cost(xs, ys, metric, _num_threads(num_threads))
    except (TypeError, ValueError) as error:  # the core says x and y
        raise type(error)(str(error).replace("'x'", f"'{names[0]}'").replace("'y'", f"'{names[1]}'")) from None
    return M[0] if single else M


def sinkhorn_divergence(x: np.ndarray, y: np.ndarray, reg: float, a: Any = None, b: Any = None,
                        metric: str = "sqeuclidean", numItermax: int = 1000, stopThr: float = 1e-9,
                        log: bool = False, warn: bool = True, epsilon_scaling: Optional[float] = None,
                        num_threads: Optional[int] = None) -> Union[Any, Tuple[Any, Dict[str, Any]]]:
    """Debiased Sinkhorn divergence between weighted point clouds (Feydy et al. 2019)::

        S(a, b) = OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2,   OT = <P, M> + reg KL(P | a b^T)

    with ``M = dist(., ., metric)`` and the three problems solved in one batched call.
    ``OT`` is the objective (``log['value']`` of :func:`sinkhorn`), as in GeomLoss: with
    ``metric='sqeuclidean'``, GeomLoss's ``SamplesLoss('sinkhorn', p=2, blur=s)`` equals
    ``sinkhorn_divergence(x, y, reg=2 * s**2) / 2``. (POT's
    ``empirical_sinkhorn_divergence`` debiases ``<P, M>`` without the entropy instead.)

    Parameters
    ----------
    x : array (n, d) or (batch, n, d); y : array (m, d) or (batch, m, d), same dtype
    reg : float > 0, in the units of the cost
    a, b : weights (n,) / (m,) (or batched), None for uniform
    metric, numItermax, stopThr, warn, epsilon_scaling, num_threads : as :func:`sinkhorn` and :func:`dist`
    log : also return a dict with the three objectives 'xy', 'xx', 'yy'

    Returns
    -------
    divergence : scalar or array (batch,), the dtype of ``x``
    """
    xs, single = _points("x", x)
    ys, single_y = _points("y", y)
    if single != single_y or xs.shape[0] != ys.shape[0] or xs.shape[2] != ys.shape[2]:
        raise ValueError(f"invalid argument 'y': must have shape (m, d) or (batch, m, d) matching x {x.shape}, got {y.shape}")
    if xs.dtype != ys.dtype:
        raise TypeError(f"invalid argument 'y': must have the dtype of x ({xs.dtype}), got {ys.dtype}")
    batch, n, m = xs.shape[0], xs.shape[1], ys.shape[1]
    size = max(n, m)
    # One padded stack of 3 * batch problems: (x, y), (x, x), (y, y).
    padded_x = np.zeros((batch, size, xs.shape[2]), dtype=xs.dtype)
    padded_y = np.zeros_like(padded_x)
    padded_x[:, :n] = xs
    padded_y[:, :m] = ys
    M = dist(np.concatenate([padded_x, padded_x, padded_y]), np.concatenate([padded_y, padded_x, padded_y]),
             metric, num_threads)
    n_sizes = np.repeat(np.array([n, n, m], dtype=np.int64), batch)
    m_sizes = np.repeat(np.array([m, n, m], dtype=np.int64), batch)
    wa = _weights("a", a, xs.dtype, batch, n, np.full(batch, n))
    wb = _weights("b", b, xs.dtype, batch, m, np.full(batch, m))
    weights = np.zeros((3 * batch, size), dtype=xs.dtype)
    weights[:batch, :n] = weights[batch:2 * batch, :n] = wa
    weights[2 * batch:, :m] = wb
    target = weights.copy()
    target[:batch] = 0
    target[:batch, :m] = wb
    result, _ = _solve(weights, target, M, reg, float("inf"), "auto", numItermax, stopThr, False, warn,
                       epsilon_scaling, 1e3, n_sizes, m_sizes, num_threads)
    xy, xx, yy = np.split(result["value"], 3)
    divergence = xy - 0.5 * (xx + yy)
    if single:
        divergence, xy, xx, yy = divergence[0], xy[0], xx[0], yy[0]
    return (divergence, {"xy": xy, "xx": xx, "yy": yy}) if log else divergence


# ---------------------------------------------------------------- divergences


class _NumpyOps:
    """The array operations of _divergence_math, for NumPy."""

    array_name = "numpy array"
    log = staticmethod(np.log)
    where = staticmethod(np.where)
    isfinite = staticmethod(np.isfinite)
    all = staticmethod(np.all)

    @staticmethod
    def is_float_array(x: Any) -> bool:
        return isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.dtype.itemsize in (4, 8)

    @staticmethod
    def is_single(x: np.ndarray) -> bool:
        return x.dtype == np.float32

    @staticmethod
    def sum(x: np.ndarray, axis: int) -> np.ndarray:
        return np.sum(x, axis=axis)

    @staticmethod
    def amax(x: np.ndarray, axis: int) -> np.ndarray:
        return np.max(x, axis=axis)

    @staticmethod
    def logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
        from scipy.special import logsumexp

        return logsumexp(x, axis=axis)

    @staticmethod
    def full_like(x: np.ndarray, value: float) -> np.ndarray:
        return np.full_like(x, value)

    @staticmethod
    def slogdet(A: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        return np.linalg.slogdet(A)

    @staticmethod
    def solve(A: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.linalg.solve(A, v[..., None])[..., 0]

    @staticmethod
    def solve_matrix(A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return np.linalg.solve(A, B)

    @staticmethod
    def diagonal_sum(A: np.ndarray) -> np.ndarray:
        return np.trace(A, axis1=-2, axis2=-1)

    @staticmethod
    def positive_definite(A: np.ndarray) -> np.ndarray:
        return np.all(np.linalg.eigvalsh(A) > 0, axis=-1)


def _result(value: np.ndarray, dtype: np.dtype) -> Any:
    value = np.asarray(value, dtype=dtype)
    return value[()] if value.ndim == 0 else value


def kl_divergence(p: np.ndarray, q: np.ndarray, normalize: bool = False) -> Any:
    """Kullback-Leibler divergence ``KL(p | q) = sum p log(p / q)`` (nats) over the last axis.

    Parameters
    ----------
    p, q : arrays (..., k), float32 or float64, non-negative, summing to 1 over the last axis
    normalize : divide p and q by their sums first (else unnormalised input is a ValueError)

    Returns
    -------
    scalar or array (...): ``0 log 0 = 0``; ``+inf`` where ``q = 0 < p`` (scipy.special.rel_entr's sum)
    """
    p, q = _math.distributions(p, q, normalize, _NumpyOps)
    with np.errstate(divide="ignore"):
        return _result(_math.kl(p, q, _NumpyOps), p.dtype)


def js_divergence(p: np.ndarray, q: np.ndarray, normalize: bool = False) -> Any:
    """Jensen-Shannon divergence ``KL(p | m) / 2 + KL(q | m) / 2``, ``m = (p + q) / 2`` (nats,
    at most log 2). scipy's ``jensenshannon`` is its square root (a distance).
    Arguments and returns as :func:`kl_divergence` (always finite)."""
    p, q = _math.distributions(p, q, normalize, _NumpyOps)
    return _result(_math.js(p, q, _NumpyOps), p.dtype)


def renyi_divergence(p: np.ndarray, q: np.ndarray, alpha: float, normalize: bool = False) -> Any:
    """Renyi divergence of order ``alpha`` between discrete distributions (nats)::

        D_alpha(p | q) = log(sum p^alpha q^(1 - alpha)) / (alpha - 1)

    with the limits KL at ``alpha = 1``, ``log max p / q`` at ``alpha = inf`` and
    ``-log q(p > 0)`` at ``alpha = 0``; ``+inf`` where ``q = 0 < p`` and ``alpha >= 1``.
    Arguments and returns as :func:`kl_divergence`; ``alpha >= 0``."""
    alpha = _math.order(alpha)
    p, q = _math.distributions(p, q, normalize, _NumpyOps)
    with np.errstate(divide="ignore"):
        return _result(_math.renyi(p, q, alpha, _NumpyOps), p.dtype)


def renyi_divergence_gaussian(mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray, cov2: np.ndarray,
                              alpha: float) -> Any:
    """Renyi divergence of order ``alpha > 0`` between Gaussians ``N(mean1, cov1)`` and
    ``N(mean2, cov2)`` in closed form (Gil, Alajaji and Linder 2013), nats; the Gaussian
    KL divergence at ``alpha = 1``; ``+inf`` when ``alpha cov2 + (1 - alpha) cov1`` is not
    positive definite (possible for ``alpha > 1``: the integral diverges).

    Parameters
    ----------
    mean1, mean2 : arrays (..., d); cov1, cov2 : arrays (..., d, d), symmetric positive definite
    alpha : float > 0

    Returns
    -------
    scalar or array (...)
    """
    alpha = _math.order(alpha)
    if not 0 < alpha < float("inf"):
        raise ValueError(f"invalid argument 'alpha': must be positive and finite for Gaussians, got {alpha!r}")
    _math.gaussians(mean1, cov1, mean2, cov2, _NumpyOps)
    return _result(_math.renyi_gaussian(mean1, cov1, mean2, cov2, alpha, _NumpyOps), mean1.dtype)


def cauchy_schwarz_divergence(x: np.ndarray, y: np.ndarray, bandwidth: float, num_threads: Optional[int] = None) -> Any:
    """Cauchy-Schwarz divergence between the Gaussian kernel density estimates of two
    sample sets (Principe's information-theoretic learning; used to align modalities)::

        D_CS = -log((int p q)^2 / (int p^2 int q^2)),   p = mean_i N(x_i, bandwidth^2 I)

    computed exactly from the pairwise squared distances (:func:`dist`, in the core) with
    log-sum-exps; zero iff the two estimates are equal, symmetric, not a metric.

    Parameters
    ----------
    x : array (n, d) or (batch, n, d); y : array (m, d) or (batch, m, d), same dtype
    bandwidth : float > 0, the kernel's standard deviation in the units of x
    num_threads : as :func:`dist`

    Returns
    -------
    scalar or array (batch,), the dtype of x (nats)
    """
    sigma = _math.bandwidth_value(bandwidth)
    squared = [_pairwise(u, v, "sqeuclidean", num_threads, names) for u, v, names in
               ((x, y, ("x", "y")), (x, x, ("x", "x")), (y, y, ("y", "y")))]
    return _result(_math.cauchy_schwarz(*[s.astype(np.float64) for s in squared], sigma, _NumpyOps), x.dtype)
