"""ak.ot (numpy) against POT, the NumPy reference in reference.py and GeomLoss.

Tolerances: float64, the same number of iterations as POT (stopThr=0) agrees to
1e-12 relative (the same updates, rounded in another order); converged solutions
(stopThr 1e-13, both sides) to 1e-8 relative, as the issue asks; float32 to 1e-4
of float64. POT's own default solvers stop at 1e-9 and are compared at 1e-8.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from reference import sinkhorn_log_ref

import affectkit as ak

ot = pytest.importorskip("ot")

TIGHT = dict(stopThr=1e-13, numItermax=100_000)


def problem(n, m, seed=0, d=3, dtype=np.float64, zero_weights=False):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    if zero_weights:
        a[::3] = 0
        b[1::4] = 0
    a, b = a / a.sum(), b / b.sum()
    return a.astype(dtype), b.astype(dtype), ot.dist(x, y).astype(dtype)


def saved_bytes(node):
    """Bytes of the tensors an autograd node saved for its backward."""
    import torch

    total = 0
    for name in dir(node):
        if name.startswith("_saved_"):
            item = getattr(node, name)
            for tensor in item if isinstance(item, (list, tuple)) else [item]:
                if isinstance(tensor, torch.Tensor):
                    total += tensor.numel() * tensor.element_size()
    return total


def relative(got, expected):
    return np.max(np.abs(got - expected)) / np.max(np.abs(expected))


@pytest.mark.parametrize("reg", [1.0, 0.1, 0.02])
@pytest.mark.parametrize("method", ["sinkhorn_log", "sinkhorn_stabilized"])
def test_same_iterates_as_pot_sinkhorn_log(reg, method):
    a, b, M = problem(17, 23, seed=1)
    for n_iter in (1, 2, 50):
        P, log = ak.ot.sinkhorn(a, b, M, reg, method=method, numItermax=n_iter, stopThr=0, warn=False,
                                epsilon_scaling=0, log=True)
        P_pot, log_pot = ot.bregman.sinkhorn_log(a, b, M, reg, numItermax=n_iter, stopThr=0, warn=False, log=True)
        assert log["niter"] == n_iter and log["method"] == method
        assert relative(P, P_pot) < 1e-12
        if method == "sinkhorn_log":  # the stabilized form starts from other scalings (same plans)
            np.testing.assert_allclose(log["f"] / reg, log_pot["log_u"], rtol=1e-11, atol=1e-11)
            np.testing.assert_allclose(log["g"] / reg, log_pot["log_v"], rtol=1e-11, atol=1e-11)
        ref, f, g = sinkhorn_log_ref(a, b, M, reg, n_iter)
        assert relative(P, ref) < 1e-12


@pytest.mark.parametrize("reg", [1.0, 0.1, 0.01])
@pytest.mark.parametrize("method", ["auto", "sinkhorn_log", "sinkhorn_stabilized"])
def test_converged_plan_cost_and_value_match_pot(reg, method):
    a, b, M = problem(30, 20, seed=2)
    P, log = ak.ot.sinkhorn(a, b, M, reg, method=method, log=True, **TIGHT)
    assert log["err"] < 1e-13
    for pot_method in ("sinkhorn_log", "sinkhorn_stabilized"):
        P_pot = ot.sinkhorn(a, b, M, reg, method=pot_method, **TIGHT)
        assert relative(P, P_pot) < 1e-8
    cost = ak.ot.sinkhorn2(a, b, M, reg, method=method, **TIGHT)
    assert abs(cost - ot.sinkhorn2(a, b, M, reg, method="sinkhorn_log", **TIGHT)) < 1e-8 * cost
    assert cost == pytest.approx(np.sum(P * M), rel=1e-12)
    # ot.solve's value is <P, M> + reg KL(P | a b^T); its own stopping (1e-9) limits the match
    assert log["value"] == pytest.approx(ot.solve(M, a, b, reg=reg, max_iter=100_000, tol=1e-13).value, rel=1e-8)
    # POT's potentials: alpha of sinkhorn_stabilized (defined up to a constant shift)
    _, log_pot = ot.bregman.sinkhorn_stabilized(a, b, M, reg, log=True, **TIGHT)
    shift = np.mean(log["f"] - log_pot["alpha"])
    np.testing.assert_allclose(log["f"] - shift, log_pot["alpha"], rtol=0, atol=1e-8 * np.abs(log_pot["alpha"]).max())
    np.testing.assert_allclose(log["g"] + shift, log_pot["beta"], rtol=0, atol=1e-8 * np.abs(log_pot["beta"]).max())


def test_pot_default_solver_agrees_to_its_stopping_threshold():
    a, b, M = problem(25, 25, seed=3)
    P = ak.ot.sinkhorn(a, b, M, 0.1)
    assert relative(P, ot.sinkhorn(a, b, M, 0.1)) < 1e-8


@pytest.mark.parametrize("reg_m", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("reg", [0.5, 0.05])
def test_unbalanced_matches_pot(reg, reg_m):
    a, b, M = problem(20, 15, seed=4)
    b = 1.7 * b  # unequal masses are allowed
    P, log = ak.ot.sinkhorn_unbalanced(a, b, M, reg, reg_m, log=True, **TIGHT)
    P_pot, log_pot = ot.sinkhorn_unbalanced(a, b, M, reg, reg_m, log=True, **TIGHT)
    assert relative(P, P_pot) < 1e-8
    cost = ak.ot.sinkhorn_unbalanced2(a, b, M, reg, reg_m, **TIGHT)
    assert cost == pytest.approx(ot.sinkhorn_unbalanced2(a, b, M, reg, reg_m, **TIGHT), rel=1e-8)
    # POT's total_cost omits the mass terms of the generalised KL
    r, c = P.sum(1), P.sum(0)
    mass_terms = reg * (np.sum(a) * np.sum(b) - P.sum()) + reg_m * (a.sum() - r.sum() + b.sum() - c.sum())
    assert log["value"] == pytest.approx(log_pot["total_cost"] + mass_terms, rel=1e-8)
    ref, _, _ = sinkhorn_log_ref(a, b, M, reg, 40, reg_m=reg_m)
    P40 = ak.ot.sinkhorn_unbalanced(a, b, M, reg, reg_m, numItermax=40, stopThr=0, warn=False, epsilon_scaling=0)
    assert relative(P40, ref) < 1e-12


def test_cost_approaches_emd2_as_reg_goes_to_zero():
    a, b, M = problem(12, 10, seed=5)
    exact = ot.emd2(a, b, M)
    scale = M.max()
    gaps = []
    for fraction in (1e-1, 1e-2, 1e-3):
        cost, log = ak.ot.sinkhorn2(a, b, M, fraction * scale, log=True, numItermax=200_000, stopThr=1e-10)
        assert log["err"] < 1e-10
        gaps.append(cost - exact)
    assert gaps[0] > gaps[1] > gaps[2] >= -1e-12
    assert gaps[2] < 1e-3 * exact


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_nan_at_reg_1e_4_of_the_cost_scale(dtype):
    a, b, M = problem(40, 30, seed=6, dtype=dtype)
    reg = 1e-4 * float(M.max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT's plain scaling form: overflow, NaN
        P_pot = ot.sinkhorn(a.astype(np.float64), b.astype(np.float64), M.astype(np.float64), reg, numItermax=100)
    assert not np.all(np.isfinite(P_pot)) or np.allclose(P_pot, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # may not reach stopThr within numItermax; never NaN
        P, log = ak.ot.sinkhorn(a, b, M, reg, log=True, numItermax=5000)
    assert P.dtype == dtype and np.all(np.isfinite(P)) and np.all(np.isfinite(log["f"])) and np.isfinite(log["cost"])
    assert np.abs(P.sum(1) - a).max() < 1e-5  # rows exact after the f update
    assert log["err"] < 1e-2
    assert log["cost"] == pytest.approx(ot.emd2(a.astype(np.float64), b.astype(np.float64), M.astype(np.float64)),
                                        rel=1e-2)


def test_float32_follows_float64():
    a, b, M = problem(30, 40, seed=7)
    P64 = ak.ot.sinkhorn(a, b, M, 0.05, stopThr=1e-12, numItermax=10_000)
    for method in ("sinkhorn_log", "sinkhorn_stabilized"):
        P32 = ak.ot.sinkhorn(a.astype(np.float32), b.astype(np.float32), M.astype(np.float32), 0.05, method=method,
                             stopThr=1e-6, numItermax=10_000)
        assert P32.dtype == np.float32
        assert relative(P32, P64) < 1e-4


@pytest.mark.parametrize("reg", [1.0, 0.05, 1e-3])
def test_float32_log_domain_iterates_follow_pot(reg):
    # The float32 log-domain rows (base-2 exps shifted by the previous iteration's result,
    # an exact max pass where that is far off, as in the first iterations at small reg)
    # against POT's float64 sinkhorn_log after the same iterations, zero weights included.
    # Tolerance: float32 rounds exponents of size max(M) / reg to about 6e-8 of it (x4);
    # measured 3.5e-7, 3.2e-6, 1.0e-4.
    a, b, M = problem(70, 45, seed=11, zero_weights=True)
    tolerance = max(1e-6, 2.4e-7 * M.max() / reg)
    for n_iter in (1, 3, 30):
        P32 = ak.ot.sinkhorn(a.astype(np.float32), b.astype(np.float32), M.astype(np.float32), reg,
                             method="sinkhorn_log", numItermax=n_iter, stopThr=0, epsilon_scaling=0, warn=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # POT's log of the zero weights
            P_pot = ot.bregman.sinkhorn_log(a, b, M, reg, numItermax=n_iter, stopThr=0, warn=False)
        assert relative(P32, P_pot) < tolerance


def test_padded_batch_equals_each_problem_alone():
    sizes = [(5, 9), (12, 3), (12, 12), (1, 7)]
    n, m = 12, 12
    M = np.full((len(sizes), n, m), 123.0)  # padding values must not matter
    a, b = np.zeros((len(sizes), n)), np.zeros((len(sizes), m))
    singles = []
    for k, (nk, mk) in enumerate(sizes):
        ak_, bk, Mk = problem(nk, mk, seed=10 + k)
        Mk = Mk / Mk.max()
        a[k, :nk], b[k, :mk], M[k, :nk, :mk] = ak_, bk, Mk
        singles.append(ak.ot.sinkhorn(ak_, bk, Mk, 0.1, log=True))
    P, log = ak.ot.sinkhorn(a, b, M, 0.1, n_sizes=[s[0] for s in sizes], m_sizes=[s[1] for s in sizes], log=True)
    for k, (nk, mk) in enumerate(sizes):
        np.testing.assert_array_equal(P[k, :nk, :mk], singles[k][0])
        assert np.all(P[k, nk:] == 0) and np.all(P[k, :, mk:] == 0)
        assert log["cost"][k] == singles[k][1]["cost"] and log["niter"][k] == singles[k][1]["niter"]
    # uniform weights (a=None) are uniform over each problem's own size
    P_uniform = ak.ot.sinkhorn(None, None, M, 0.1, n_sizes=[s[0] for s in sizes], m_sizes=[s[1] for s in sizes])
    for k, (nk, mk) in enumerate(sizes):
        np.testing.assert_allclose(P_uniform[k].sum(1)[:nk], 1 / nk, rtol=1e-9)


def test_zero_weights_get_no_mass():
    a, b, M = problem(16, 12, seed=8, zero_weights=True)
    for method in ("sinkhorn_log", "sinkhorn_stabilized"):
        P, log = ak.ot.sinkhorn(a, b, M, 0.1, method=method, log=True, **TIGHT)
        assert np.all(P[a == 0] == 0) and np.all(P[:, b == 0] == 0)
        assert np.all(np.isneginf(log["f"][a == 0])) and np.all(np.isfinite(log["f"][a > 0]))
        keep_a, keep_b = a > 0, b > 0
        P_small = ot.sinkhorn(a[keep_a], b[keep_b], M[np.ix_(keep_a, keep_b)], 0.1, method="sinkhorn_log", **TIGHT)
        assert relative(P[np.ix_(keep_a, keep_b)], P_small) < 1e-8


def test_threads_do_not_change_results():
    rng = np.random.default_rng(9)
    M = rng.random((5, 30, 40))
    for args in (dict(M=M), dict(M=M[:1])):
        one = ak.ot.sinkhorn(None, None, args["M"], 0.05, num_threads=1)
        two = ak.ot.sinkhorn(None, None, args["M"], 0.05, num_threads=2)
        np.testing.assert_array_equal(one, two)


def test_epsilon_scaling_reaches_the_same_solution():
    a, b, M = problem(30, 30, seed=11)
    plain = ak.ot.sinkhorn(a, b, M, 0.01, method="sinkhorn_log", epsilon_scaling=0, **TIGHT)
    _, log = ak.ot.sinkhorn(a, b, M, 0.01, method="sinkhorn_log", epsilon_scaling=0.5, log=True, **TIGHT)
    annealed = ak.ot.sinkhorn(a, b, M, 0.01, method="sinkhorn_log", epsilon_scaling=0.5, **TIGHT)
    assert relative(annealed, plain) < 1e-9


def test_not_converging_warns_with_the_reached_error():
    a, b, M = problem(20, 20, seed=12)
    with pytest.warns(UserWarning, match=r"did not converge: reached error [0-9.e+-]+ > stopThr"):
        P, log = ak.ot.sinkhorn(a, b, M, 0.01, numItermax=3, log=True)
    assert log["niter"] == 3 and log["err"] > 1e-9 and np.all(np.isfinite(P))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ak.ot.sinkhorn(a, b, M, 0.01, numItermax=3, warn=False)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cosine"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dist_matches_pot(metric, dtype):
    rng = np.random.default_rng(13)
    x, y = rng.normal(size=(70, 5)).astype(dtype), rng.normal(size=(90, 5)).astype(dtype)
    M = ak.ot.dist(x, y, metric=metric)
    assert M.dtype == dtype and M.shape == (70, 90)
    expected = ot.dist(x.astype(np.float64), y.astype(np.float64), metric=metric)
    np.testing.assert_allclose(M, expected, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-4 if dtype == np.float32 else 1e-10)
    batched = ak.ot.dist(np.stack([x, x[::-1]]), np.stack([y, y]), metric=metric)
    np.testing.assert_array_equal(batched[0], M)
    np.testing.assert_array_equal(ak.ot.dist(x, metric=metric), ak.ot.dist(x, x, metric=metric))


def sinkhorn_divergence_ref(x, y, reg):
    """The debiased divergence from three plain NumPy log-domain solves."""
    def objective(u, v):
        M = ((u[:, None] - v[None]) ** 2).sum(-1)
        a, b = np.full(len(u), 1 / len(u)), np.full(len(v), 1 / len(v))
        P, f, g = sinkhorn_log_ref(a, b, M, reg, 3000)
        return np.sum(P * M) + reg * np.sum(P * np.log(P / np.outer(a, b)))
    return objective(x, y) - 0.5 * (objective(x, x) + objective(y, y))


def test_sinkhorn_divergence_matches_reference_and_geomloss():
    torch = pytest.importorskip("torch")
    geomloss = pytest.importorskip("geomloss")
    rng = np.random.default_rng(14)
    x, y = 0.5 * rng.normal(size=(15, 2)), 0.5 * rng.normal(size=(11, 2)) + 0.5  # converges within 1e5 iterations
    reg = 0.5
    value, log = ak.ot.sinkhorn_divergence(x, y, reg, log=True, **TIGHT)
    assert value == pytest.approx(sinkhorn_divergence_ref(x, y, reg), rel=1e-8)
    assert value > 0 and ak.ot.sinkhorn_divergence(x, x, reg) == pytest.approx(0, abs=1e-12)
    # GeomLoss: cost |x - y|^2 / 2, reg = blur^2; scaling close to 1 runs its annealing to convergence
    blur = np.sqrt(reg / 2)
    loss = geomloss.SamplesLoss("sinkhorn", p=2, blur=blur, scaling=0.999, backend="tensorized")
    expected = float(loss(torch.from_numpy(x), torch.from_numpy(y)))
    assert value / 2 == pytest.approx(expected, rel=1e-6)
    batched = ak.ot.sinkhorn_divergence(np.stack([x, x]), np.stack([y, y + 1]), reg, **TIGHT)
    assert batched[0] == pytest.approx(value, rel=1e-12) and batched[1] > value


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, error, argument",
    [
        (dict(reg=0.0), ValueError, "reg"),
        (dict(reg=-1.0), ValueError, "reg"),
        (dict(reg=float("nan")), ValueError, "reg"),
        (dict(reg="x"), TypeError, "reg"),
        (dict(a=np.array([0.5, 0.5, -0.1, 0.1])), ValueError, "a"),
        (dict(a=np.array([0.5, 0.5, 0.5, 0.5])), ValueError, "b"),  # mass of a != mass of b
        (dict(a=np.array([0.5, np.nan, 0.0, 0.5])), ValueError, "a"),
        (dict(a=np.zeros(4)), ValueError, "a"),
        (dict(a=np.ones(3) / 3), ValueError, "a"),
        (dict(a=np.ones(4, dtype=np.float32) / 4), TypeError, "a"),
        (dict(M=np.full((4, 3), np.nan)), ValueError, "M"),
        (dict(M=np.ones((4, 3), dtype=np.int64)), TypeError, "M"),
        (dict(M=[[1.0]]), TypeError, "M"),
        (dict(M=np.ones(4)), ValueError, "M"),
        (dict(method="sinkhorn"), ValueError, "method"),
        (dict(numItermax=-1), ValueError, "numItermax"),
        (dict(numItermax=1.5), TypeError, "numItermax"),
        (dict(stopThr=-1.0), ValueError, "stopThr"),
        (dict(epsilon_scaling=1.5), ValueError, "epsilon_scaling"),
        (dict(tau=0.5), ValueError, "tau"),
        (dict(n_sizes=[5]), ValueError, "n_sizes"),
        (dict(n_sizes=[0]), ValueError, "n_sizes"),
        (dict(m_sizes=[1.5]), TypeError, "m_sizes"),
        (dict(m_sizes=[1, 2]), ValueError, "m_sizes"),
        (dict(method="sinkhorn_stabilized", epsilon_scaling=0.5), ValueError, "method"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, argument):
    args = dict(a=np.full(4, 0.25), b=np.full(3, 1 / 3), M=np.ones((4, 3)), reg=0.1)
    args.update(kwargs)
    with pytest.raises(error, match=f"'{argument}'"):
        ak.ot.sinkhorn(args.pop("a"), args.pop("b"), args.pop("M"), args.pop("reg"), **args)


def test_bad_input_unbalanced_and_dist():
    a, b, M = np.full(4, 0.25), np.full(3, 1 / 3), np.ones((4, 3))
    with pytest.raises(ValueError, match="'reg_m'"):
        ak.ot.sinkhorn_unbalanced(a, b, M, 0.1, reg_m=0.0)
    with pytest.raises(ValueError, match="'reg_m'"):
        ak.ot.sinkhorn_unbalanced(a, b, M, 0.1, reg_m=float("inf"))
    with pytest.raises(ValueError, match="'reg_type'"):
        ak.ot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, reg_type="entropy")
    with pytest.raises(ValueError, match="'method'"):
        ak.ot.sinkhorn_unbalanced(a, b, M, 0.1, 1.0, method="sinkhorn_stabilized")
    x = np.ones((4, 2))
    with pytest.raises(ValueError, match="'metric'"):
        ak.ot.dist(x, x, metric="cityblock")
    with pytest.raises(ValueError, match="'x1'"):
        ak.ot.dist(np.zeros((4, 2)), x, metric="cosine")
    with pytest.raises(ValueError, match="'x2'"):
        ak.ot.dist(x, np.ones((4, 3)))
    with pytest.raises(TypeError, match="'x2'"):
        ak.ot.dist(x, x.astype(np.float32))
    with pytest.raises(ValueError, match="'x1'"):
        ak.ot.dist(np.array([[np.inf, 0.0]]), x)
    with pytest.raises(ValueError, match="'y'"):
        ak.ot.sinkhorn_divergence(x, np.ones((3, 3)), 0.1)


# ---------------------------------------------------------------- fuzz

finite = st.floats(-1e3, 1e3) | st.sampled_from([np.nan, np.inf, -np.inf])  # mostly finite


@st.composite
def ot_inputs(draw):
    n, m = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    M = draw(hnp.arrays(dtype, (n, m), elements=finite))
    a = draw(hnp.arrays(np.float64, n, elements=st.floats(-0.5, 2, width=32)))
    b = draw(hnp.arrays(np.float64, m, elements=st.floats(-0.5, 2, width=32)))
    if draw(st.booleans()):  # mostly valid weights: same mass
        a, b = np.abs(a) + 1e-3, np.abs(b) + 1e-3
        a, b = a / a.sum(), b / b.sum()
    reg = draw(st.sampled_from([1e-4, 1e-2, 1.0, 1e3, 0.0, -1.0, float("nan")]))
    return a.astype(dtype), b.astype(dtype), M.astype(dtype), reg


def finite_or_named_error(call, shape):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            out = call()
    except (ValueError, TypeError) as error:
        assert "invalid argument '" in str(error)
        return
    out = np.asarray(out)
    assert out.shape == shape and np.all(np.isfinite(out))


@settings(max_examples=200, deadline=None)
@given(ot_inputs(), st.sampled_from(["auto", "sinkhorn_log", "sinkhorn_stabilized"]))
def test_fuzz_sinkhorn(inputs, method):
    a, b, M, reg = inputs
    finite_or_named_error(lambda: ak.ot.sinkhorn(a, b, M, reg, method=method, numItermax=50), M.shape)
    finite_or_named_error(lambda: ak.ot.sinkhorn_log(a, b, M, reg, numItermax=50), M.shape)
    finite_or_named_error(lambda: ak.ot.sinkhorn2(a, b, M, reg, method=method, numItermax=50), ())


@settings(max_examples=200, deadline=None)
@given(ot_inputs(), st.sampled_from([1e-3, 1.0, 1e3, 0.0]))
def test_fuzz_sinkhorn_unbalanced(inputs, reg_m):
    a, b, M, reg = inputs
    finite_or_named_error(lambda: ak.ot.sinkhorn_unbalanced(a, b, M, reg, reg_m, numItermax=50), M.shape)
    finite_or_named_error(lambda: ak.ot.sinkhorn_unbalanced2(a, b, M, reg, reg_m, numItermax=50), ())


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.sampled_from(["sqeuclidean", "euclidean", "cosine"]),
       st.data())
def test_fuzz_dist_and_divergence(n, m, d, metric, data):
    x = data.draw(hnp.arrays(np.float64, (n, d), elements=finite))
    y = data.draw(hnp.arrays(np.float64, (m, d), elements=finite))
    finite_or_named_error(lambda: ak.ot.dist(x, y, metric=metric), (n, m))
    reg = data.draw(st.sampled_from([1e-3, 1.0, 0.0]))
    finite_or_named_error(lambda: ak.ot.sinkhorn_divergence(x, y, reg, metric=metric, numItermax=50), ())


# ---------------------------------------------------------------- torch ops (affectkit.nn.functional)


@pytest.fixture
def AF():
    pytest.importorskip("torch")
    import affectkit.nn.functional as functional

    return functional


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ot_inputs(), st.sampled_from(["envelope", "unrolled"]), st.sampled_from([None, 0.5]))
def test_fuzz_torch_sinkhorn_forward_and_backward(AF, inputs, grad, reg_m):
    """The torch op (and the unrolled loop), balanced and unbalanced, on the numpy fuzz's
    problems: a finite value, plan and gradient of M, or an error naming the argument."""
    import torch

    a, b, M, reg = (torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v for v in inputs)
    M = M.clone().requires_grad_()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if reg_m is None:
                value, plan = AF.sinkhorn(a, b, M, reg, numItermax=50, grad=grad)
            else:
                value, plan = AF.sinkhorn_unbalanced(a, b, M, reg, reg_m, numItermax=50, grad=grad)
            value.sum().backward()
    except (ValueError, TypeError, RuntimeError) as error:
        assert "invalid argument '" in str(error)
        return
    assert plan.shape == M.shape
    for t in (value, plan, M.grad):
        assert torch.isfinite(t).all()


def torch_problem(n, m, seed=0, dtype=None):
    import torch

    dtype = dtype or torch.float64
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, dtype=dtype, generator=g, requires_grad=True)
    y = torch.randn(m, 2, dtype=dtype, generator=g, requires_grad=True)
    a = torch.rand(n, dtype=dtype, generator=g) + 0.1
    b = torch.rand(m, dtype=dtype, generator=g) + 0.1
    return (a / a.sum()).requires_grad_(), (b / b.sum()).requires_grad_(), x, y


def test_torch_value_and_plan_match_numpy(AF):
    import torch

    a, b, x, y = torch_problem(9, 7)
    M = AF.ot_dist(x, y)
    value, plan = AF.sinkhorn(a, b, M, 0.3, **TIGHT)
    P, log = ak.ot.sinkhorn(a.detach().numpy(), b.detach().numpy(), M.detach().numpy(), 0.3, log=True, **TIGHT)
    np.testing.assert_allclose(plan.detach().numpy(), P, rtol=1e-12, atol=1e-15)
    assert value.item() == pytest.approx(log["value"], rel=1e-12)
    np.testing.assert_allclose(M.detach().numpy(), ak.ot.dist(x.detach().numpy(), y.detach().numpy()), atol=1e-12)


def test_envelope_gradients_match_unrolled_pytorch_reference(AF):
    """d value / d (M, x, y, a, b) from the converged potentials equal autograd through
    2000 unrolled log-domain iterations (reference.sinkhorn_torch_ref), to 1e-9. The
    weights' gradients are compared up to a constant: balanced OT is defined on the
    simplex, so only their components that keep the mass matter."""
    import torch
    from reference import sinkhorn_torch_ref

    for metric in ("sqeuclidean", "euclidean", "cosine"):
        a, b, x, y = torch_problem(8, 6, seed=1)
        leaves = (a, b, x, y)
        value, _ = AF.sinkhorn(a, b, AF.ot_dist(x, y, metric), 0.5, **TIGHT)
        got = torch.autograd.grad(value, leaves)
        expected = torch.autograd.grad(sinkhorn_torch_ref(a, b, AF.ot_dist(x, y, metric), 0.5, 2000), leaves)
        for k, (g_got, g_exp) in enumerate(zip(got, expected)):
            if k < 2:
                g_got, g_exp = g_got - g_got.mean(), g_exp - g_exp.mean()
            torch.testing.assert_close(g_got, g_exp, rtol=1e-9, atol=1e-9)


def test_gradient_of_M_is_the_plan_and_matches_finite_differences(AF):
    import torch

    a, b, x, y = torch_problem(5, 4, seed=2)
    M = AF.ot_dist(x, y).detach().requires_grad_()
    a, b = a.detach(), b.detach()
    value, plan = AF.sinkhorn(a, b, M, 0.2, **TIGHT)
    (grad,) = torch.autograd.grad(value, M)
    torch.testing.assert_close(grad, plan.detach(), rtol=0, atol=0)

    def objective(costs):
        return AF.sinkhorn(a, b, costs, 0.2, **TIGHT)[0]

    assert torch.autograd.gradcheck(objective, (M,), eps=1e-6, atol=1e-7, rtol=1e-6)


def test_batched_padded_gradients_equal_single_problems(AF):
    import torch

    problems = [torch_problem(5, 3, seed=3), torch_problem(2, 6, seed=4)]
    M = torch.zeros(2, 5, 6, dtype=torch.float64)
    a, b = torch.zeros(2, 5, dtype=torch.float64), torch.zeros(2, 6, dtype=torch.float64)
    costs = []
    for k, (ak_, bk, xk, yk) in enumerate(problems):
        Mk = AF.ot_dist(xk, yk).detach().requires_grad_()
        costs.append(Mk)
        M[k, : Mk.shape[0], : Mk.shape[1]] = Mk.detach()
        a[k, : len(ak_)], b[k, : len(bk)] = ak_.detach(), bk.detach()
    M.requires_grad_()
    a.requires_grad_()
    sizes = dict(n_sizes=torch.tensor([5, 2]), m_sizes=torch.tensor([3, 6]))
    value, plan = AF.sinkhorn(a, b, M, 0.4, **sizes, **TIGHT)
    grad_M, grad_a = torch.autograd.grad(value.sum(), (M, a))
    for k, (ak_, bk, _, _) in enumerate(problems):
        single, _ = AF.sinkhorn(ak_, bk, costs[k], 0.4, **TIGHT)
        g_M, g_a = torch.autograd.grad(single, (costs[k], ak_))
        n, m = costs[k].shape
        torch.testing.assert_close(grad_M[k, :n, :m], g_M, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(grad_a[k, :n], g_a, rtol=1e-12, atol=1e-12)
        assert torch.all(grad_M[k, n:] == 0) and torch.all(grad_M[k, :, m:] == 0) and torch.all(grad_a[k, n:] == 0)


def test_zero_weight_gradient_is_the_soft_c_transform(AF):
    """A zero weight's gradient: how the objective grows when mass appears there,
    checked against a one-sided finite difference along a mass-preserving direction."""
    import torch

    a, b, x, y = torch_problem(6, 5, seed=5)
    a = a.detach().clone()
    a[2] = 0
    a = (a / a.sum()).requires_grad_()
    M = AF.ot_dist(x, y).detach()
    value, _ = AF.sinkhorn(a, b.detach(), M, 0.5, **TIGHT)
    (grad,) = torch.autograd.grad(value, a)
    assert torch.all(torch.isfinite(grad))
    direction = torch.full_like(a, -1.0 / 5)
    direction[2] = 1.0  # move mass onto the empty entry, keeping the total
    h = 1e-7
    shifted, _ = AF.sinkhorn((a + h * direction).detach(), b.detach(), M, 0.5, **TIGHT)
    assert ((shifted - value.detach()) / h).item() == pytest.approx((grad @ direction).item(), rel=1e-4, abs=1e-6)


def test_backward_memory_does_not_depend_on_iterations(AF):
    """The autograd graph holds the converged plan and potentials only: a graph built
    after 10 iterations and after 5000 saves the same tensors."""
    import torch

    a, b, x, y = torch_problem(6, 6, seed=6)
    M = AF.ot_dist(x, y)
    few, _ = AF.sinkhorn(a, b, M, 0.01, numItermax=10, warn=False, epsilon_scaling=0)
    many, _ = AF.sinkhorn(a, b, M, 0.01, numItermax=5000, warn=False, epsilon_scaling=0)

    assert saved_bytes(few.grad_fn) == saved_bytes(many.grad_fn)
    assert few.grad_fn.name() == many.grad_fn.name()


def test_unrolled_gradients_equal_envelope_gradients_at_convergence(AF):
    """grad='unrolled' (autograd through the PyTorch loop) and the default envelope
    backward agree once both have converged: values to 1e-12, plans to 1e-10, gradients
    of a, b (up to a constant, as above), x, y to 1e-9; the unrolled plan is differentiable."""
    import torch

    for metric in ("sqeuclidean", "cosine"):
        a, b, x, y = torch_problem(8, 6, seed=11)
        leaves = (a, b, x, y)
        value, plan = AF.sinkhorn(a, b, AF.ot_dist(x, y, metric), 0.3, **TIGHT)
        expected = torch.autograd.grad(value, leaves)
        unrolled, unrolled_plan = AF.sinkhorn(a, b, AF.ot_dist(x, y, metric), 0.3, grad="unrolled", **TIGHT)
        torch.testing.assert_close(unrolled, value, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(unrolled_plan, plan, rtol=1e-10, atol=1e-12)
        got = torch.autograd.grad(unrolled, leaves, retain_graph=True)
        for k, (g_got, g_exp) in enumerate(zip(got, expected)):
            if k < 2:
                g_got, g_exp = g_got - g_got.mean(), g_exp - g_exp.mean()
            torch.testing.assert_close(g_got, g_exp, rtol=1e-9, atol=1e-9)
        (plan_grad,) = torch.autograd.grad(unrolled_plan[0, 0], x)
        assert torch.isfinite(plan_grad).all() and plan_grad.abs().max() > 0


@pytest.mark.parametrize("reg, reg_m", [(0.3, 1.0), (0.1, 0.05), (1.0, 10.0)])
def test_unrolled_unbalanced_equals_envelope_at_convergence(AF, reg, reg_m):
    """The unbalanced loop (masses 1.3 and 1): values to 1e-12, plans to 1e-10 and the
    gradients of a, b, x, y to 1e-9 against the core's envelope backward; unbalanced, the
    gradients of a and b have no free constant. A padded batch equals its problems."""
    import torch

    a, b, x, y = torch_problem(8, 6, seed=15)
    a = (a.detach() * 1.3).requires_grad_()
    leaves = (a, b, x, y)
    value, plan = AF.sinkhorn_unbalanced(a, b, AF.ot_dist(x, y), reg, reg_m, **TIGHT)
    expected = torch.autograd.grad(value, leaves)
    unrolled, unrolled_plan = AF.sinkhorn_unbalanced(a, b, AF.ot_dist(x, y), reg, reg_m, grad="unrolled", **TIGHT)
    torch.testing.assert_close(unrolled, value, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(unrolled_plan, plan, rtol=1e-10, atol=1e-12)
    for g_got, g_exp in zip(torch.autograd.grad(unrolled, leaves), expected):
        torch.testing.assert_close(g_got, g_exp, rtol=1e-9, atol=1e-9)
    M = torch.full((2, 8, 7), float("nan"), dtype=torch.float64)
    M[0, :, :6] = AF.ot_dist(x, y).detach()
    M[1, :5, :] = AF.ot_dist(y[:5], x[:7]).detach()
    A, B = torch.zeros(2, 8, dtype=torch.float64), torch.zeros(2, 7, dtype=torch.float64)
    A[0], B[0, :6], A[1, :5], B[1] = a.detach(), b.detach(), b.detach()[:5], a.detach()[:7]
    sizes = dict(n_sizes=torch.tensor([8, 5]), m_sizes=torch.tensor([6, 7]))
    batch, batch_plan = AF.sinkhorn_unbalanced(A, B, M, reg, reg_m, grad="unrolled", **sizes, **TIGHT)
    for k, (n, m) in enumerate(((8, 6), (5, 7))):
        single, single_plan = AF.sinkhorn_unbalanced(A[k, :n], B[k, :m], M[k, :n, :m], reg, reg_m, grad="unrolled",
                                                     **TIGHT)
        torch.testing.assert_close(batch[k], single, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(batch_plan[k, :n, :m], single_plan, rtol=1e-10, atol=1e-14)


def test_unrolled_padded_batch_equals_single_problems(AF):
    """Padding (NaN there, which the core ignores) and zero weights in the unrolled loop."""
    import torch

    problems = [torch_problem(5, 3, seed=12), torch_problem(2, 6, seed=13)]
    M = torch.full((2, 5, 6), float("nan"), dtype=torch.float64)
    a, b = torch.zeros(2, 5, dtype=torch.float64), torch.zeros(2, 6, dtype=torch.float64)
    for k, (ak_, bk, xk, yk) in enumerate(problems):
        n, m = len(ak_), len(bk)
        M[k, :n, :m] = AF.ot_dist(xk, yk).detach()
        a[k, :n], b[k, :m] = ak_.detach(), bk.detach()
    a[0, 1] = 0  # a zero weight inside a problem
    a[0] /= a[0].sum()
    M.requires_grad_()
    sizes = dict(n_sizes=torch.tensor([5, 2]), m_sizes=torch.tensor([3, 6]))
    value, plan = AF.sinkhorn(a, b, M, 0.4, grad="unrolled", **sizes, **TIGHT)
    (grad_M,) = torch.autograd.grad(value.sum(), M)
    for k in range(2):
        n, m = int(sizes["n_sizes"][k]), int(sizes["m_sizes"][k])
        Mk = M.detach()[k, :n, :m].clone().requires_grad_()
        single, single_plan = AF.sinkhorn(a[k, :n], b[k, :m], Mk, 0.4, grad="unrolled", **TIGHT)
        (g_M,) = torch.autograd.grad(single, Mk)
        torch.testing.assert_close(value[k], single, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(plan[k, :n, :m], single_plan, rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(grad_M[k, :n, :m], g_M, rtol=1e-10, atol=1e-12)
        assert torch.all(grad_M[k, n:] == 0) and torch.all(grad_M[k, :, m:] == 0)
    assert torch.all(plan[0, 1] == 0) and torch.isfinite(grad_M).all()


def test_unrolled_graph_grows_with_iterations(AF):
    """Why the envelope backward is the default: the unrolled graph holds every
    iteration's tensors (ten times the iterations, about ten times the saved bytes),
    the envelope graph does not grow (test_backward_memory_does_not_depend_on_iterations)."""
    import torch

    a, b, x, y = torch_problem(6, 6, seed=14)

    def graph_saved_bytes(value):
        seen, stack, total = set(), [value.grad_fn], 0
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            total += saved_bytes(node)
            stack.extend(next_node for next_node, _ in node.next_functions)
        return total

    def unrolled_bytes(iterations):
        value, _ = AF.sinkhorn(a, b, AF.ot_dist(x, y), 0.01, numItermax=iterations, stopThr=0, warn=False,
                               grad="unrolled")
        return graph_saved_bytes(value)

    per_iteration = (unrolled_bytes(20) - unrolled_bytes(10)) / 10
    assert unrolled_bytes(110) - unrolled_bytes(10) == pytest.approx(100 * per_iteration, rel=0.05)
    assert 2 <= per_iteration / (6 * 6 * 8) <= 3  # two to three (n, m) float64 tensors per iteration


def test_unrolled_bad_input(AF):
    import torch

    a, b, x, y = torch_problem(4, 3, seed=15)
    M = AF.ot_dist(x, y).detach()
    for reg, kwargs, argument in [(0.1, dict(grad="autograd"), "grad"),
                                  (0.1, dict(grad="unrolled", method="sinkhorn_stabilized"), "method"),
                                  (0.1, dict(grad="unrolled", epsilon_scaling=0.5), "epsilon_scaling"),
                                  (0.0, dict(grad="unrolled"), "reg")]:
        with pytest.raises(ValueError, match=f"'{argument}'"):
            AF.sinkhorn(a, b, M, reg, **kwargs)
    with pytest.raises(ValueError, match="'M'"):
        AF.sinkhorn(a, b, M.masked_fill(M > M.mean(), float("nan")), 0.1, grad="unrolled")
    with pytest.raises(ValueError, match="'b'"):
        AF.sinkhorn(a, 2 * b, M, 0.1, grad="unrolled")


def test_only_the_value_is_differentiable(AF):
    import torch

    a, b, x, y = torch_problem(4, 4, seed=7)
    value, plan = AF.sinkhorn(a, b, AF.ot_dist(x, y), 0.5)
    with pytest.raises(RuntimeError, match="only the objective"):
        torch.autograd.grad((plan * 2).sum() + value, x)


def test_torch_sinkhorn_divergence_matches_numpy_and_geomloss(AF):
    import torch

    geomloss = pytest.importorskip("geomloss")
    g = torch.Generator().manual_seed(8)
    x = (0.5 * torch.randn(12, 2, dtype=torch.float64, generator=g)).requires_grad_()
    y = (0.5 * torch.randn(9, 2, dtype=torch.float64, generator=g) + 0.3).requires_grad_()
    reg = 0.5
    value = AF.sinkhorn_divergence(x, y, reg, **TIGHT)
    xn, yn = x.detach().numpy(), y.detach().numpy()
    assert value.item() == pytest.approx(ak.ot.sinkhorn_divergence(xn, yn, reg, **TIGHT), rel=1e-12)
    gx, gy = torch.autograd.grad(value, (x, y))
    # central finite differences of the numpy divergence: 1e-8
    h, fd = 1e-6, np.zeros_like(xn)
    for index in np.ndindex(*xn.shape):
        step = np.zeros_like(xn)
        step[index] = h
        fd[index] = (ak.ot.sinkhorn_divergence(xn + step, yn, reg, **TIGHT)
                     - ak.ot.sinkhorn_divergence(xn - step, yn, reg, **TIGHT)) / (2 * h)
    np.testing.assert_allclose(gx.numpy(), fd, rtol=0, atol=1e-8)
    # GeomLoss anneals reg and stops at blur: its gradient approaches ours as scaling -> 1
    # (1.6e-5 apart at scaling 0.999, 1.6e-6 at 0.9999), its value to 1e-6 relative
    loss = geomloss.SamplesLoss("sinkhorn", p=2, blur=np.sqrt(reg / 2), scaling=0.999, backend="tensorized")
    expected = loss(x, y)
    ex, ey = torch.autograd.grad(expected, (x, y))
    assert value.item() / 2 == pytest.approx(expected.item(), rel=1e-6)
    torch.testing.assert_close(gx / 2, ex, rtol=0, atol=1e-4)
    torch.testing.assert_close(gy / 2, ey, rtol=0, atol=1e-4)


def test_torch_float32_and_bad_input(AF):
    import torch

    a, b, x, y = torch_problem(5, 4, seed=9, dtype=torch.float32)
    value, plan = AF.sinkhorn(a, b, AF.ot_dist(x, y), 0.5, stopThr=1e-6)
    assert value.dtype == torch.float32 and plan.dtype == torch.float32
    M = AF.ot_dist(x, y).detach()
    with pytest.raises(TypeError, match="'a'"):
        AF.sinkhorn(a.double(), b, M, 0.5)
    with pytest.raises(ValueError, match="'reg'"):
        AF.sinkhorn(a, b, M, 0.0)
    with pytest.raises(ValueError, match="'b'"):
        AF.sinkhorn(a, b[:3], M, 0.5)
    with pytest.raises(ValueError, match="'M'"):
        AF.sinkhorn(a, b, M.clone().fill_(float("nan")), 0.5)
    with pytest.raises(ValueError, match="'method'"):
        AF.sinkhorn(a, b, M, 0.5, method="bad")
    with pytest.raises(ValueError, match="'metric'"):
        AF.ot_dist(x, y, "cityblock")
    with pytest.warns(UserWarning, match="did not converge"):
        AF.sinkhorn(a, b, M, 0.01, numItermax=2)


def test_opcheck_meta_and_compile(AF):
    import torch

    if not hasattr(torch.library, "opcheck"):
        pytest.skip("torch.library.opcheck needs torch >= 2.4")
    a, b, x, y = torch_problem(5, 4, seed=10)
    M = AF.ot_dist(x, y).detach().requires_grad_()
    args = (a[None], b[None], M[None], 0.5, "auto", 1000, 1e-9, -1.0, None, None)
    # opcheck's autograd check sends gradients to every output, which the op refuses
    # for the plan and potentials; the schema and fake (Meta) checks run, and
    # torch.compile below covers the dispatch of forward and backward
    torch.library.opcheck(torch.ops.affectkit.sinkhorn.default, args, test_utils=("test_schema", "test_faketensor"))
    meta = torch.ops.affectkit.sinkhorn(torch.empty(2, 3, device="meta"), torch.empty(2, 4, device="meta"),
                                        torch.empty(2, 3, 4, device="meta"), 0.5)
    assert meta[1].shape == (2, 3, 4) and meta[0].shape == (2,)

    def loss(M):
        return AF.sinkhorn(a.detach(), b.detach(), M, 0.5, warn=False)[0]

    compiled = torch.compile(loss, backend="aot_eager", fullgraph=True)
    # The compiled graph may order a few float64 operations differently: 1e-16 relative.
    torch.testing.assert_close(compiled(M), loss(M), rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(torch.autograd.grad(compiled(M), M)[0], torch.autograd.grad(loss(M), M)[0],
                               rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- divergences


def random_distributions(k=6, seed=20, batch=()):
    rng = np.random.default_rng(seed)
    p, q = rng.random(batch + (k,)), rng.random(batch + (k,))
    return p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True)


def renyi_ref(p, q, alpha):
    """The definition, term by term."""
    if alpha == 1:
        return sum(pi * np.log(pi / qi) for pi, qi in zip(p, q) if pi > 0)
    return np.log(sum(pi**alpha * qi ** (1 - alpha) for pi, qi in zip(p, q) if pi > 0)) / (alpha - 1)


def test_discrete_divergences_match_scipy_and_the_definition():
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy

    p, q = random_distributions(batch=(3,))
    np.testing.assert_allclose(ak.ot.kl_divergence(p, q), entropy(p, q, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(ak.ot.js_divergence(p, q), jensenshannon(p, q, axis=-1) ** 2, rtol=1e-12)
    for alpha in (0.0, 0.3, 0.5, 2.0, 7.5):
        expected = [renyi_ref(pi, qi, alpha) if alpha else -np.log(qi[pi > 0].sum()) for pi, qi in zip(p, q)]
        np.testing.assert_allclose(ak.ot.renyi_divergence(p, q, alpha), expected, rtol=1e-12, atol=1e-15)
    # limits: alpha -> 1 is KL, alpha -> inf is log max p / q; 1/2 is -2 log Bhattacharyya
    np.testing.assert_allclose(ak.ot.renyi_divergence(p, q, 1.0), ak.ot.kl_divergence(p, q), rtol=0)
    np.testing.assert_allclose(ak.ot.renyi_divergence(p, q, 1 + 1e-7), ak.ot.kl_divergence(p, q), rtol=1e-5)
    np.testing.assert_allclose(ak.ot.renyi_divergence(p, q, np.inf), np.log((p / q).max(-1)), rtol=1e-12)
    np.testing.assert_allclose(ak.ot.renyi_divergence(p, q, 0.5), -2 * np.log(np.sqrt(p * q).sum(-1)), rtol=1e-12)
    assert ak.ot.kl_divergence(p[0], p[0]) == 0 and ak.ot.js_divergence(p[0], q[0]) <= np.log(2)


def test_disjoint_supports():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])
    assert ak.ot.kl_divergence(p, q) == np.inf
    assert ak.ot.js_divergence(p, q) == pytest.approx(0.5 * np.log(2), rel=1e-12)
    assert ak.ot.renyi_divergence(p, q, 2.0) == np.inf and ak.ot.renyi_divergence(p, q, np.inf) == np.inf
    assert ak.ot.renyi_divergence(p, q, 0.5) == pytest.approx(-2 * np.log(0.5), rel=1e-12)
    np.testing.assert_allclose(ak.ot.kl_divergence(np.array([2.0, 2.0]), np.array([1.0, 3.0]), normalize=True),
                               ak.ot.kl_divergence(np.array([0.5, 0.5]), np.array([0.25, 0.75])), rtol=1e-15)


def gaussian_renyi_by_integration(m1, s1, m2, s2, alpha):
    """1-D: log of the integral of p^alpha q^(1 - alpha), by quadrature."""
    from scipy import integrate, stats

    if alpha == 1:
        integrand = lambda t: stats.norm.pdf(t, m1, s1) * (stats.norm.logpdf(t, m1, s1) - stats.norm.logpdf(t, m2, s2))  # noqa: E731
        return integrate.quad(integrand, -40, 40, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    integrand = lambda t: np.exp(alpha * stats.norm.logpdf(t, m1, s1) + (1 - alpha) * stats.norm.logpdf(t, m2, s2))  # noqa: E731
    return np.log(integrate.quad(integrand, -40, 40, epsabs=1e-14, epsrel=1e-12, limit=200)[0]) / (alpha - 1)


@pytest.mark.parametrize("alpha", [0.25, 0.5, 1.0, 1.5, 3.0])
def test_gaussian_renyi_matches_integration(alpha):
    # diagonal covariances in 2-D: the divergence is the sum of the two 1-D ones
    m1, m2, s1, s2 = np.array([0.0, 1.0]), np.array([0.7, -0.4]), np.array([1.0, 0.6]), np.array([1.3, 0.8])
    expected = sum(gaussian_renyi_by_integration(m1[i], s1[i], m2[i], s2[i], alpha) for i in range(2))
    got = ak.ot.renyi_divergence_gaussian(m1, np.diag(s1**2), m2, np.diag(s2**2), alpha)
    assert got == pytest.approx(expected, rel=1e-9)


def test_gaussian_renyi_full_covariances():
    rng = np.random.default_rng(21)
    A, B = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    c1, c2 = A @ A.T + np.eye(3), B @ B.T + np.eye(3)
    m1, m2 = rng.normal(size=3), rng.normal(size=3)
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    for alpha in (0.5, 1.0, 2.0):
        value = ak.ot.renyi_divergence_gaussian(m1, c1, m2, c2, alpha)
        rotated = ak.ot.renyi_divergence_gaussian(rotation @ m1, rotation @ c1 @ rotation.T, rotation @ m2,
                                                  rotation @ c2 @ rotation.T, alpha)
        assert rotated == pytest.approx(value, rel=1e-10) and value > 0
    # alpha -> 1 approaches the KL closed form; the order is increasing in alpha
    kl = 0.5 * (np.trace(np.linalg.solve(c2, c1)) + (m1 - m2) @ np.linalg.solve(c2, m1 - m2) - 3
                + np.linalg.slogdet(c2)[1] - np.linalg.slogdet(c1)[1])
    assert ak.ot.renyi_divergence_gaussian(m1, c1, m2, c2, 1.0) == pytest.approx(kl, rel=1e-12)
    assert ak.ot.renyi_divergence_gaussian(m1, c1, m2, c2, 1 + 1e-7) == pytest.approx(kl, rel=1e-5)
    values = [ak.ot.renyi_divergence_gaussian(m1, c1, m2, c2, alpha) for alpha in (0.2, 0.5, 0.9, 1.0, 1.2)]
    assert all(np.diff(values) > 0)
    # alpha cov2 + (1 - alpha) cov1 indefinite: the integral diverges
    assert ak.ot.renyi_divergence_gaussian(np.zeros(1), np.eye(1) * 4, np.zeros(1), np.eye(1), 3.0) == np.inf
    batched = ak.ot.renyi_divergence_gaussian(np.stack([m1, m2]), np.stack([c1, c2]), np.stack([m2, m2]),
                                              np.stack([c2, c2]), 0.5)
    assert batched.shape == (2,) and batched[1] == 0 and batched[0] == pytest.approx(
        ak.ot.renyi_divergence_gaussian(m1, c1, m2, c2, 0.5), rel=1e-12)


def cauchy_schwarz_ref(x, y, sigma):
    """From the definition: the integrals of KDE products are means of Gaussian
    densities of variance 2 sigma^2 at the pairwise differences (plain loops)."""
    d = x.shape[1]

    def cross(u, v):
        total = 0.0
        for ui in u:
            for vj in v:
                total += np.exp(-np.sum((ui - vj) ** 2) / (4 * sigma**2)) / (4 * np.pi * sigma**2) ** (d / 2)
        return total / (len(u) * len(v))

    return -np.log(cross(x, y) ** 2 / (cross(x, x) * cross(y, y)))


def test_cauchy_schwarz_matches_the_definition_and_quadrature():
    from scipy import integrate, stats

    rng = np.random.default_rng(22)
    x, y = rng.normal(size=(9, 3)), rng.normal(size=(7, 3)) + 0.5
    assert ak.ot.cauchy_schwarz_divergence(x, y, 0.8) == pytest.approx(cauchy_schwarz_ref(x, y, 0.8), rel=1e-12)
    assert ak.ot.cauchy_schwarz_divergence(x, x, 0.8) == pytest.approx(0, abs=1e-12)
    # 1-D: integrate the KDEs themselves
    u, v = rng.normal(size=(5, 1)), rng.normal(size=(4, 1)) + 1
    p = lambda t: stats.norm.pdf(t, u[:, 0], 0.5).mean()  # noqa: E731
    q = lambda t: stats.norm.pdf(t, v[:, 0], 0.5).mean()  # noqa: E731
    integral = lambda f: integrate.quad(f, -20, 20, epsabs=1e-14, epsrel=1e-12, limit=200)[0]  # noqa: E731
    expected = -np.log(integral(lambda t: p(t) * q(t)) ** 2 / (integral(lambda t: p(t) ** 2) * integral(lambda t: q(t) ** 2)))
    assert ak.ot.cauchy_schwarz_divergence(u, v, 0.5) == pytest.approx(expected, rel=1e-9)
    # far apart sets: large but finite (log-sum-exp, no underflow to log 0)
    far = ak.ot.cauchy_schwarz_divergence(x, y + 1e3, 0.1)
    assert np.isfinite(far) and far > 1e6


def test_torch_divergences_match_numpy_and_finite_differences(AF):
    import torch

    p, q = (torch.from_numpy(t).requires_grad_() for t in random_distributions(batch=(2,)))
    for name, extra in (("kl_divergence", ()), ("js_divergence", ()), ("renyi_divergence", (0.4,)),
                        ("renyi_divergence", (2.5,))):
        value = getattr(AF, name)(p, q, *extra)
        np.testing.assert_allclose(value.detach().numpy(), getattr(ak.ot, name)(p.detach().numpy(), q.detach().numpy(),
                                                                                   *extra), rtol=1e-12)
        # gradients off the simplex too (the formulas are smooth in p and q)
        assert torch.autograd.gradcheck(lambda p, q: getattr(AF, name)(p, q, *extra, normalize=True), (p, q))
    rng = np.random.default_rng(23)
    A = rng.normal(size=(2, 2))
    m1, m2 = (torch.from_numpy(rng.normal(size=2)).requires_grad_() for _ in range(2))
    c1 = torch.from_numpy(A @ A.T + np.eye(2)).requires_grad_()
    c2 = (4 * torch.eye(2, dtype=torch.float64)).requires_grad_()  # alpha = 1.5 keeps 1.5 c2 - 0.5 c1 definite
    for alpha in (0.5, 1.0, 1.5):
        value = AF.renyi_divergence_gaussian(m1, c1, m2, c2, alpha)
        assert value.item() == pytest.approx(ak.ot.renyi_divergence_gaussian(
            m1.detach().numpy(), c1.detach().numpy(), m2.detach().numpy(), c2.detach().numpy(), alpha), rel=1e-12)
        # symmetric perturbations of the covariances keep them valid
        assert torch.autograd.gradcheck(
            lambda m1, c1, m2, c2: AF.renyi_divergence_gaussian(m1, (c1 + c1.T) / 2, m2, (c2 + c2.T) / 2, alpha),
            (m1, c1, m2, c2))
    x = torch.from_numpy(rng.normal(size=(6, 2))).requires_grad_()
    y = torch.from_numpy(rng.normal(size=(5, 2))).requires_grad_()
    value = AF.cauchy_schwarz_divergence(x, y, 0.7)
    assert value.item() == pytest.approx(ak.ot.cauchy_schwarz_divergence(x.detach().numpy(), y.detach().numpy(), 0.7),
                                         rel=1e-12)
    assert torch.autograd.gradcheck(lambda x, y: AF.cauchy_schwarz_divergence(x, y, 0.7), (x, y))


def test_divergences_bad_input():
    p, q = random_distributions()
    with pytest.raises(ValueError, match="'p'.*sum to 1"):
        ak.ot.kl_divergence(2 * p, q)
    with pytest.raises(ValueError, match="'q'"):
        ak.ot.js_divergence(p, -q)
    with pytest.raises(ValueError, match="'q'"):
        ak.ot.kl_divergence(p, q[:3] / q[:3].sum())
    with pytest.raises(TypeError, match="'p'"):
        ak.ot.kl_divergence(list(p), q)
    with pytest.raises(ValueError, match="'p'"):
        ak.ot.kl_divergence(np.full(3, np.nan), q[:3])
    with pytest.raises(ValueError, match="'p'"):
        ak.ot.kl_divergence(np.zeros(3), np.zeros(3), normalize=True)
    with pytest.raises(ValueError, match="'alpha'"):
        ak.ot.renyi_divergence(p, q, -1.0)
    with pytest.raises(TypeError, match="'alpha'"):
        ak.ot.renyi_divergence(p, q, "2")
    with pytest.raises(ValueError, match="'cov1'"):
        ak.ot.renyi_divergence_gaussian(np.zeros(2), -np.eye(2), np.zeros(2), np.eye(2), 0.5)
    with pytest.raises(ValueError, match="'cov2'"):
        ak.ot.renyi_divergence_gaussian(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3), 0.5)
    with pytest.raises(ValueError, match="'alpha'"):
        ak.ot.renyi_divergence_gaussian(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2), 0.0)
    with pytest.raises(ValueError, match="'bandwidth'"):
        ak.ot.cauchy_schwarz_divergence(np.ones((3, 2)), np.ones((3, 2)), 0.0)
    with pytest.raises(ValueError, match="'y'"):
        ak.ot.cauchy_schwarz_divergence(np.ones((3, 2)), np.ones((3, 3)), 1.0)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.sampled_from([np.float32, np.float64]), st.data())
def test_fuzz_divergences(k, dtype, data):
    p = data.draw(hnp.arrays(dtype, k, elements=st.floats(-0.5, 1.5, width=32) | st.just(0.0) | st.just(np.nan)))
    q = data.draw(hnp.arrays(dtype, k, elements=st.floats(-0.5, 1.5, width=32) | st.just(0.0)))
    normalize = data.draw(st.booleans())
    alpha = data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, np.inf, -1.0]))

    def non_negative_or_named_error(call):
        try:
            with np.errstate(divide="raise", invalid="raise", over="raise"):  # no hidden NaN/inf arithmetic
                value = call()
        except (ValueError, TypeError) as error:
            assert "invalid argument '" in str(error)
            return
        assert np.shape(value) == () and (value >= -1e-6 or np.isposinf(value)) and not np.isnan(value)

    non_negative_or_named_error(lambda: ak.ot.kl_divergence(p, q, normalize))
    non_negative_or_named_error(lambda: ak.ot.js_divergence(p, q, normalize))
    non_negative_or_named_error(lambda: ak.ot.renyi_divergence(p, q, alpha, normalize))
    d = data.draw(st.integers(1, 3))
    mean = data.draw(hnp.arrays(np.float64, d, elements=finite))
    scales = data.draw(hnp.arrays(np.float64, d, elements=st.floats(-1, 10)))
    non_negative_or_named_error(lambda: ak.ot.renyi_divergence_gaussian(mean, np.diag(scales), np.zeros(d), np.eye(d),
                                                                        alpha))
    x = data.draw(hnp.arrays(dtype, (data.draw(st.integers(1, 4)), d), elements=finite))
    y = data.draw(hnp.arrays(dtype, (data.draw(st.integers(1, 4)), d), elements=finite))
    bandwidth = data.draw(st.sampled_from([1e-3, 1.0, 0.0, np.nan]))
    non_negative_or_named_error(lambda: ak.ot.cauchy_schwarz_divergence(x, y, bandwidth))


def test_torch_unbalanced_values_and_gradients(AF):
    """Unbalanced objective: values equal the numpy API; gradients with respect to M, a
    and b (envelope theorem, no simplex here) pass gradcheck's finite differences, also
    with a zero weight (its gradient is the limit of the formula)."""
    import torch

    a, b, x, y = torch_problem(6, 5, seed=11)
    M = AF.ot_dist(x, y).detach()
    a, b = a.detach(), (1.5 * b).detach()
    value, plan = AF.sinkhorn_unbalanced(a, b, M, 0.3, 0.7, **TIGHT)
    P, log = ak.ot.sinkhorn_unbalanced(a.numpy(), b.numpy(), M.numpy(), 0.3, 0.7, log=True, **TIGHT)
    np.testing.assert_allclose(plan.numpy(), P, rtol=1e-12, atol=1e-15)
    assert value.item() == pytest.approx(log["value"], rel=1e-12)
    for weights in ((a, b), (torch.cat([a[:3], torch.zeros(1, dtype=a.dtype), a[4:]]), b)):
        leaves = tuple(t.clone().requires_grad_() for t in (*weights, M))

        def objective(a, b, M):
            return AF.sinkhorn_unbalanced(a, b, M, 0.3, 0.7, **TIGHT)[0]

        (grad_M,) = torch.autograd.grad(objective(*leaves), leaves[2:])
        torch.testing.assert_close(grad_M, AF.sinkhorn_unbalanced(*weights, M, 0.3, 0.7, **TIGHT)[1], rtol=0, atol=0)
        # the zero weight is perturbed one-sidedly by gradcheck's central differences: check it by a forward step
        if bool((weights[0] == 0).any()):
            (grad_a,) = torch.autograd.grad(objective(*leaves), leaves[:1])
            h = 1e-7
            step = torch.zeros_like(weights[0])
            step[3] = h
            forward = (objective(weights[0] + step, b, M) - objective(weights[0], b, M)) / h
            assert forward.item() == pytest.approx(grad_a[3].item(), rel=1e-5, abs=1e-6)
        else:
            assert torch.autograd.gradcheck(objective, leaves, eps=1e-6, atol=1e-7, rtol=1e-6)
    with pytest.raises(ValueError, match="'reg_m'"):
        AF.sinkhorn_unbalanced(a, b, M, 0.3, 0.0)


def test_python_threads_equal_serial_calls():
    """The GIL is released while the core runs: calls from 4 Python threads at once
    return exactly what serial calls return."""
    from concurrent.futures import ThreadPoolExecutor

    problems = [problem(40, 30, seed=30 + k) for k in range(8)]

    def solve(args):
        a, b, M = args
        return ak.ot.sinkhorn(a, b, M, 0.5, num_threads=1), ak.ot.dist(M, M)

    serial = [solve(args) for args in problems]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(solve, problems))
    for (P, D), (P2, D2) in zip(serial, parallel):
        np.testing.assert_array_equal(P, P2)
        np.testing.assert_array_equal(D, D2)
