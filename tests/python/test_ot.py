"""ak.ot (numpy) against POT, the NumPy reference in reference.py and GeomLoss.

Tolerances: float64, the same number of iterations as POT (stopThr=0) agrees to
1e-12 relative (the same updates, rounded in another order); converged solutions
(stopThr 1e-13, both sides) to 1e-8 relative, as the issue asks; float32 to 1e-4
of float64. POT's own default solvers stop at 1e-9 and are compared at 1e-8.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
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
