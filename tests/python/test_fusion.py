"""affectkit.nn fusion modules: HadamardOTFusion against a per-utterance reference that
takes its plan from POT (ot.sinkhorn, log domain), the differentiable plan against
finite differences (gradcheck) and against autograd through unrolled log-domain Sinkhorn
iterations, padding invariance, the identity-plan reduction, the Renyi term against its
closed form, baselines, torch.compile / no_grad / inference_mode, bad input and fuzzing.

Tolerances: padding invariance 1e-6 (float32) and 1e-12 (float64): the same valid
values, the sums only regrouped. POT reference 1e-8 (float64; both Sinkhorns run to a
marginal error of 1e-12, so the plans differ by about that much times the conditioning
of the plan). Gradients: gradcheck (finite differences, eps 1e-6, atol 1e-6) with
Sinkhorn run to stopThr 1e-13, where the implicit-function derivative of the converged
plan is exact up to the remaining marginal error; against 3000 unrolled iterations
(converged to ~1e-15) to 1e-7. Renyi closed form 1e-12 (float64).
"""

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ot = pytest.importorskip("ot")
from hypothesis import given, settings, strategies as st  # noqa: E402
from torch.func import functional_call  # noqa: E402

from affectkit.nn import HadamardOTFusion, PooledFusion, RenyiAlignedFusion  # noqa: E402
from affectkit.nn.functional import sinkhorn_plan  # noqa: E402
from affectkit.nn.functional import renyi_divergence  # noqa: E402

TOL = {torch.float32: dict(rtol=1e-6, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-12)}


def pair(batch=3, tx=7, ty=5, dx=6, dy=4, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, tx, dx, dtype=dtype, generator=g)
    y = torch.randn(batch, ty, dy, dtype=dtype, generator=g)
    x_lengths = torch.randint(1, tx + 1, (batch,), generator=g)
    y_lengths = torch.randint(1, ty + 1, (batch,), generator=g)
    x_lengths[0], y_lengths[0] = tx, ty
    return x, y, x_lengths, y_lengths


def with_garbage(t, extra=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    junk = 1e3 * torch.randn(t.shape[0], extra, t.shape[2], dtype=t.dtype, generator=g)
    junk[:, 0] = float("nan")
    return torch.cat([t, junk], dim=1)


def scrambled_padding(t, lengths, seed=2):
    """t with its padded frames replaced by garbage (inf, NaN, huge values)."""
    g = torch.Generator().manual_seed(seed)
    t = t.clone()
    for b, n in enumerate(lengths.tolist()):
        t[b, n:] = 1e4 * torch.randn(t[b, n:].shape, dtype=t.dtype, generator=g)
        if n < t.shape[1]:
            t[b, n, 0] = float("inf")
    return t


def modules(dx, dy, dtype, stopThr=1e-12):
    torch.manual_seed(0)
    found = [HadamardOTFusion(dx, dy, dim=8, stopThr=stopThr, numItermax=5000, branches=branches, pooling=pooling)
             for branches in [("ot", "hadamard", "inputs"), ("ot",), ("hadamard",), ("hadamard", "inputs")]
             for pooling in ("mean", "attentive")]
    found += [PooledFusion(dx, dy, dim=8, mode=mode, pooling=pooling) for mode in PooledFusion.MODES
              for pooling in ("mean", "attentive")]
    found += [RenyiAlignedFusion(dx, dy, n_classes=3, dim=8, num_heads=2)]
    return [m.to(dtype).eval() for m in found]


def output(module, *args):
    out = module(*args)
    return out.logits if isinstance(out, tuple) else out


# ---------------------------------------------------------------- references


def hadamard_ot_reference(module, x, y, x_lengths, y_lengths):
    """One utterance at a time, without padding, the plan from POT (float64 numpy):
    mean pooling of [A, A * Y, Y] over y's frames and X over x's frames."""
    Wx, bx = module.x_proj.weight.detach().numpy(), module.x_proj.bias.detach().numpy()
    Wy, by = module.y_proj.weight.detach().numpy(), module.y_proj.bias.detach().numpy()
    rows = []
    for b in range(x.shape[0]):
        X = x[b, : x_lengths[b]].numpy() @ Wx.T + bx
        Y = y[b, : y_lengths[b]].numpy() @ Wy.T + by
        M = ot.dist(X, Y, metric=module.metric)
        P = ot.sinkhorn(ot.unif(len(X)), ot.unif(len(Y)), M, module.reg, method="sinkhorn_log", numItermax=20000,
                        stopThr=1e-13)
        A = P.T @ X / P.sum(axis=0)[:, None]
        streams = {"ot": A, "hadamard": A * Y, "inputs": Y}
        pooled = [np.concatenate([streams[k] for k in ("ot", "hadamard", "inputs") if k in module.branches], axis=1)
                  .mean(axis=0)]
        if "inputs" in module.branches:
            pooled.append(X.mean(axis=0))
        rows.append(np.concatenate(pooled))
    return np.stack(rows)


def sinkhorn_plan_unrolled(M, reg, n_sizes, m_sizes, iterations=3000):
    """Log-domain Sinkhorn in plain torch (autograd through every iteration), uniform
    weights over the valid rows and columns."""
    n, m = M.shape[-2:]
    row_valid = torch.arange(n)[None, :] < n_sizes[:, None]
    column_valid = torch.arange(m)[None, :] < m_sizes[:, None]
    log_a = torch.where(row_valid, -torch.log(n_sizes.double())[:, None], 0.0).to(M.dtype)
    log_b = torch.where(column_valid, -torch.log(m_sizes.double())[:, None], 0.0).to(M.dtype)
    valid = row_valid[:, :, None] & column_valid[:, None, :]
    K = torch.where(valid, -M / reg, -1e30)  # finite: an all -inf logsumexp has a NaN gradient
    f = torch.zeros_like(log_a)
    g = torch.zeros_like(log_b)
    for _ in range(iterations):
        f = torch.where(row_valid, log_a - torch.logsumexp(K + g[:, None, :], dim=2), 0.0)
        g = torch.where(column_valid, log_b - torch.logsumexp(K + f[:, :, None], dim=1), 0.0)
    return torch.where(valid, torch.exp(K + f[:, :, None] + g[:, None, :]), 0.0)


# ---------------------------------------------------------------- HadamardOTFusion


@pytest.mark.parametrize("branches", [("ot", "hadamard", "inputs"), ("ot",), ("hadamard",), ("ot", "inputs")])
@pytest.mark.parametrize("metric,reg", [("cosine", 0.1), ("sqeuclidean", 2.0), ("euclidean", 0.5)])
def test_hadamard_ot_matches_pot_reference(branches, metric, reg):
    x, y, x_lengths, y_lengths = pair()
    torch.manual_seed(0)
    module = HadamardOTFusion(6, 4, dim=5, reg=reg, metric=metric, branches=branches, numItermax=20000,
                              stopThr=1e-13).double()
    with torch.no_grad():
        got = module(x, y, x_lengths, y_lengths)
    assert got.shape == (3, module.out_dim)
    np.testing.assert_allclose(got.numpy(), hadamard_ot_reference(module, x, y, x_lengths, y_lengths), rtol=1e-8,
                               atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_padded_frames_never_change_the_output(dtype):
    x, y, x_lengths, y_lengths = pair(dtype=dtype)
    for module in modules(6, 4, dtype, stopThr=1e-6 if dtype == torch.float32 else 1e-12):
        with torch.no_grad():
            reference = output(module, x, y, x_lengths, y_lengths)
            longer = output(module, with_garbage(x), with_garbage(y, extra=2), x_lengths, y_lengths)
            scrambled = output(module, scrambled_padding(x, x_lengths), scrambled_padding(y, y_lengths), x_lengths,
                               y_lengths)
            strided = output(module, x.transpose(1, 2).contiguous().transpose(1, 2), y[:, ::1], x_lengths, y_lengths)
        assert torch.isfinite(reference).all()
        torch.testing.assert_close(strided, reference, **TOL[dtype], msg=repr(module))  # non-contiguous x
        torch.testing.assert_close(longer, reference, **TOL[dtype], msg=repr(module))
        torch.testing.assert_close(scrambled, reference, **TOL[dtype], msg=repr(module))


def test_batch_equals_one_utterance_at_a_time():
    x, y, x_lengths, y_lengths = pair()
    for module in modules(6, 4, torch.float64):
        with torch.no_grad():
            batch = output(module, x, y, x_lengths, y_lengths)
            for b in range(3):
                one = output(module, x[b:b + 1, : x_lengths[b]], y[b:b + 1, : y_lengths[b]])
                torch.testing.assert_close(one[0], batch[b], **TOL[torch.float64])


def test_sinkhorn_plan_gradient_finite_differences():
    g = torch.Generator().manual_seed(3)
    M = torch.rand(3, 5, 4, dtype=torch.float64, generator=g, requires_grad=True)
    n_sizes, m_sizes = torch.tensor([5, 2, 4]), torch.tensor([4, 4, 1])
    assert torch.autograd.gradcheck(lambda M: sinkhorn_plan(M, 0.2, n_sizes, m_sizes, 10000, 1e-14), (M,), eps=1e-6,
                                    atol=1e-6)


def test_sinkhorn_plan_matches_unrolled_autograd():
    g = torch.Generator().manual_seed(4)
    M = torch.rand(3, 6, 5, dtype=torch.float64, generator=g, requires_grad=True)
    n_sizes, m_sizes = torch.tensor([6, 3, 1]), torch.tensor([5, 2, 5])
    weights = torch.randn(3, 6, 5, dtype=torch.float64, generator=g)
    plan = sinkhorn_plan(M, 0.3, n_sizes, m_sizes, 10000, 1e-14)
    reference = sinkhorn_plan_unrolled(M, 0.3, n_sizes, m_sizes)
    torch.testing.assert_close(plan, reference, rtol=1e-10, atol=1e-12)
    grad, = torch.autograd.grad((plan * weights).sum(), M)
    grad_reference, = torch.autograd.grad((reference * weights).sum(), M)
    torch.testing.assert_close(grad, grad_reference, rtol=1e-7, atol=1e-9)
    assert grad[1, 3:].abs().max() == 0 and grad[1, :, 2:].abs().max() == 0  # padding


@pytest.mark.parametrize("pooling", ["mean", "attentive"])
def test_gradients_reach_both_inputs_and_all_parameters(pooling):
    """gradcheck (finite differences) over x, y and every parameter at once."""
    x, y, x_lengths, y_lengths = pair(batch=2, tx=4, ty=3, dx=3, dy=2)
    torch.manual_seed(0)
    module = HadamardOTFusion(3, 2, dim=3, reg=0.3, numItermax=20000, stopThr=1e-13, pooling=pooling).double()
    names = [name for name, _ in module.named_parameters()]
    assert {"x_proj.weight", "x_proj.bias", "y_proj.weight", "y_proj.bias"} <= set(names)
    params = [p.detach().clone().requires_grad_() for p in module.parameters()]

    def f(x, y, *params):
        return functional_call(module, dict(zip(names, params)), (x, y, x_lengths, y_lengths))

    inputs = (x.requires_grad_(), y.requires_grad_(), *params)
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6)
    grads = torch.autograd.grad(f(*inputs).square().sum(), inputs)
    assert all(g.abs().max() > 0 for g in grads)  # nothing is cut off from the output


def test_identity_plan_is_elementwise_alignment():
    """Equal lengths and plan = I / T: the OT branch is X itself, the Hadamard branch X * Y."""
    x, y, _, _ = pair(tx=5, ty=5)
    lengths = torch.tensor([5, 5, 5])
    identity = torch.eye(5, dtype=torch.float64).expand(3, 5, 5) / 5
    torch.manual_seed(0)
    module = HadamardOTFusion(6, 4, dim=8).double()
    with torch.no_grad():
        X, Y = module.x_proj(x), module.y_proj(y)
        got = module(x, y, lengths, lengths, plan=identity)
    expected = torch.cat([X.mean(1), (X * Y).mean(1), Y.mean(1), X.mean(1)], dim=-1)
    torch.testing.assert_close(got, expected, **TOL[torch.float64])
    # a plan scaled by any constant gives the same alignment (columns are renormalised)
    torch.testing.assert_close(module(x, y, lengths, lengths, plan=3 * identity), got, **TOL[torch.float64])


def test_transport_plan_marginals_and_padding():
    x, y, x_lengths, y_lengths = pair()
    module = HadamardOTFusion(6, 4, dim=8, stopThr=1e-12, numItermax=5000).double()
    with torch.no_grad():
        plan = module.transport_plan(x, y, x_lengths, y_lengths)
    for b in range(3):
        n, m = int(x_lengths[b]), int(y_lengths[b])
        torch.testing.assert_close(plan[b, :n, :m].sum(1), torch.full((n,), 1 / n, dtype=torch.float64), atol=1e-11,
                                   rtol=0)
        torch.testing.assert_close(plan[b, :n, :m].sum(0), torch.full((m,), 1 / m, dtype=torch.float64), atol=1e-11,
                                   rtol=0)
        assert plan[b, n:].abs().sum() == 0 and plan[b, :, m:].abs().sum() == 0


# The input checks read values (lengths, finiteness), so dynamo breaks the graph there and
# warns about the non-leaf tensors it resumes with; the compiled result is still checked.
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
# torch 2.13's dynamo itself instantiates the autograd.Function of sinkhorn_plan when it traces it
@pytest.mark.filterwarnings("ignore:.*should not be instantiated:DeprecationWarning")
def test_compile_no_grad_inference_mode():
    x, y, x_lengths, y_lengths = pair(dtype=torch.float32)
    for module in (HadamardOTFusion(6, 4, dim=8), PooledFusion(6, 4, dim=8, mode="gated"),
                   RenyiAlignedFusion(6, 4, 3, dim=8, num_heads=2)):
        eager = output(module, x, y, x_lengths, y_lengths)
        with torch.no_grad():
            torch.testing.assert_close(output(module, x, y, x_lengths, y_lengths), eager)
        with torch.inference_mode():
            torch.testing.assert_close(output(module, x, y, x_lengths, y_lengths), eager)
        compiled = torch.compile(module, backend="aot_eager")
        got = output(compiled, x, y, x_lengths, y_lengths)
        torch.testing.assert_close(got, eager, rtol=1e-5, atol=1e-5)
        got.sum().backward()  # and it trains
        assert all(p.grad is not None for p in module.parameters() if p.requires_grad)


def test_sinkhorn_not_converged_warns():
    x, y, x_lengths, y_lengths = pair()
    module = HadamardOTFusion(6, 4, dim=8, reg=0.01, numItermax=2, stopThr=1e-12).double()
    with pytest.warns(UserWarning, match="did not converge"):
        module(x, y, x_lengths, y_lengths)
    quiet = HadamardOTFusion(6, 4, dim=8, reg=0.01, numItermax=2, stopThr=1e-12, warn=False).double()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet(x, y, x_lengths, y_lengths)


# ---------------------------------------------------------------- baselines


def test_pooled_fusion_modes():
    x, y, x_lengths, y_lengths = pair()
    torch.manual_seed(0)
    concat = PooledFusion(6, 4, dim=8, mode="concat").double()
    summed = PooledFusion(6, 4, dim=8, mode="sum").double()
    gated = PooledFusion(6, 4, dim=8, mode="gated").double()
    summed.load_state_dict(concat.state_dict())
    gated.load_state_dict(concat.state_dict(), strict=False)
    with torch.no_grad():
        px = torch.stack([summed.x_proj(x[b, :x_lengths[b]]).mean(0) for b in range(3)])
        py = torch.stack([summed.y_proj(y[b, :y_lengths[b]]).mean(0) for b in range(3)])
        torch.testing.assert_close(concat(x, y, x_lengths, y_lengths), torch.cat([px, py], -1), **TOL[torch.float64])
        torch.testing.assert_close(summed(x, y, x_lengths, y_lengths), px + py, **TOL[torch.float64])
        g = torch.sigmoid(gated.gate(torch.cat([px, py], -1)))
        torch.testing.assert_close(gated(x, y, x_lengths, y_lengths), g * px + (1 - g) * py, **TOL[torch.float64])
    assert (concat.out_dim, summed.out_dim, gated.out_dim) == (16, 8, 8)
    assert PooledFusion(6, 4, dim=8, mode="concat", pooling="attentive").out_dim == 32


# ---------------------------------------------------------------- Renyi-aligned fusion


def renyi_closed_form(p, q, alpha):
    if alpha == 1:
        return float(np.sum(p * np.log(p / q)))
    return float(np.log(np.sum(p**alpha * q ** (1 - alpha))) / (alpha - 1))


@pytest.mark.parametrize("alpha", [0.25, 0.5, 1.0, 2.0, 5.0])
def test_renyi_alignment_equals_closed_form(alpha):
    module = RenyiAlignedFusion(3, 3, n_classes=4, dim=4, num_heads=1, alpha=alpha).double()
    g = torch.Generator().manual_seed(5)
    a, b = torch.randn(3, 4, dtype=torch.float64, generator=g), torch.randn(3, 4, dtype=torch.float64, generator=g)
    p, q = a.softmax(-1).numpy(), b.softmax(-1).numpy()
    expected = np.mean([(renyi_closed_form(p[i], q[i], alpha) + renyi_closed_form(q[i], p[i], alpha)) / 2
                        for i in range(3)])
    assert float(module.alignment(a, b)) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert float(module.alignment(a, a)) == pytest.approx(0.0, abs=1e-12)
    package = 0.5 * (renyi_divergence(a.softmax(-1), b.softmax(-1), alpha)
                     + renyi_divergence(b.softmax(-1), a.softmax(-1), alpha)).mean()
    torch.testing.assert_close(module.alignment(a, b), package, rtol=1e-12, atol=1e-12)


def test_renyi_alignment_stays_finite_where_softmax_underflows():
    a = torch.tensor([[0.0, 200.0, -200.0]])  # float32 softmax: exactly 0 in two classes
    b = torch.tensor([[200.0, 0.0, 0.0]])
    for alpha in (0.5, 1.0, 2.0, 10.0):
        module = RenyiAlignedFusion(2, 2, n_classes=3, dim=4, num_heads=1, alpha=alpha)
        value = module.alignment(a.requires_grad_(), b)
        assert torch.isfinite(value) and value > 100
        assert torch.isfinite(torch.autograd.grad(value, a)[0]).all()


def test_renyi_tends_to_kl():
    g = torch.Generator().manual_seed(6)
    a, b = torch.randn(4, 5, dtype=torch.float64, generator=g), torch.randn(4, 5, dtype=torch.float64, generator=g)
    kl = RenyiAlignedFusion(2, 2, 5, dim=4, num_heads=1, alpha=1.0).double().alignment(a, b)
    assert torch.isfinite(kl)
    errors = [abs(float(RenyiAlignedFusion(2, 2, 5, dim=4, num_heads=1, alpha=1 + s).alignment(a, b) - kl))
              for s in (1e-1, 1e-2, 1e-3, -1e-3, -1e-2)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-3 and errors[3] < 1e-3 and errors[4] > errors[3]


def test_renyi_loss_and_gradients():
    x, y, x_lengths, y_lengths = pair()
    torch.manual_seed(0)
    module = RenyiAlignedFusion(6, 4, n_classes=3, dim=8, num_heads=2, alpha=1.0, weight=0.5).double()
    labels = torch.tensor([0, 2, 1])
    out = module(x, y, x_lengths, y_lengths, labels)
    assert out.logits.shape == out.x_logits.shape == out.y_logits.shape == (3, 3)
    torch.testing.assert_close(out.cross_entropy, torch.nn.functional.cross_entropy(out.logits, labels))
    torch.testing.assert_close(out.loss, out.cross_entropy + 0.5 * out.alignment)
    out.loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in module.parameters())
    assert module(x, y, x_lengths, y_lengths).loss is None


def test_renyi_gradcheck():
    x, y, x_lengths, y_lengths = pair(batch=2, tx=4, ty=3, dx=3, dy=2)
    torch.manual_seed(0)
    module = RenyiAlignedFusion(3, 2, n_classes=3, dim=2, num_heads=1, alpha=0.7).double()
    labels = torch.tensor([1, 2])
    assert torch.autograd.gradcheck(lambda x, y: module(x, y, x_lengths, y_lengths, labels).loss,
                                    (x.requires_grad_(), y.requires_grad_()))


@pytest.mark.parametrize("alpha,error", [(0, ValueError), (-1.0, ValueError), (math.inf, ValueError),
                                         (math.nan, ValueError), ("1", TypeError), (True, TypeError)])
def test_renyi_alpha_validation(alpha, error):
    with pytest.raises(error, match="'alpha'"):
        RenyiAlignedFusion(2, 2, 3, dim=4, num_heads=1, alpha=alpha)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("make", [lambda: HadamardOTFusion(6, 4, dim=8), lambda: PooledFusion(6, 4, dim=8),
                                  lambda: RenyiAlignedFusion(6, 4, 3, dim=8, num_heads=2)])
def test_bad_input_names_the_argument(make):
    module = make()
    x, y, x_lengths, y_lengths = pair(dtype=torch.float32)
    cases = [
        ((x[:2], y, None, None), ValueError, "'y'"),  # batch mismatch
        ((x[0], y, None, None), ValueError, "'x'"),
        ((x, y[..., :3], None, None), ValueError, "'y'"),
        ((x.double(), y, None, None), TypeError, "'x'"),
        ((x, y.int(), None, None), TypeError, "'y'"),
        ((x, y, x_lengths.float(), None), TypeError, "'x_lengths'"),
        ((x, y, torch.tensor([1, 2]), None), ValueError, "'x_lengths'"),
        ((x, y, None, torch.tensor([1, 0, 2])), ValueError, "'y_lengths'"),
        ((x, y, None, torch.tensor([1, 9, 2])), ValueError, "'y_lengths'"),
        ((x, y, torch.tensor([-1, 2, 2]), None), ValueError, "'x_lengths'"),
        ((x.index_fill(1, torch.tensor([0]), float("nan")), y, None, None), ValueError, "'x'"),
        (([[1.0]], y, None, None), TypeError, "'x'"),
    ]
    for args, error, name in cases:
        with pytest.raises(error, match=name):
            module(*args)


def test_bad_constructor_and_plan_arguments():
    for kwargs, name in [(dict(branches=()), "branches"), (dict(branches=("ot", "ot")), "branches"),
                         (dict(branches="ot"), "branches"), (dict(branches=("attention",)), "branches"),
                         (dict(metric="l1"), "metric"), (dict(reg=0.0), "reg"), (dict(reg=math.inf), "reg"),
                         (dict(numItermax=0), "numItermax"), (dict(dim=0), "dim"), (dict(pooling="max"), "pooling"),
                         (dict(stopThr=-1.0), "stopThr")]:
        with pytest.raises(ValueError, match=f"'{name}'"):
            HadamardOTFusion(6, 4, **kwargs)
    with pytest.raises(ValueError, match="'mode'"):
        PooledFusion(6, 4, mode="product")
    with pytest.raises(ValueError, match="'weight'"):
        RenyiAlignedFusion(6, 4, 3, weight=-1.0)
    module = HadamardOTFusion(6, 4, dim=8)
    x, y, x_lengths, y_lengths = pair(dtype=torch.float32)
    with pytest.raises(ValueError, match="'plan'"):
        module(x, y, plan=torch.ones(3, 7, 4))
    with pytest.raises(TypeError, match="'plan'"):
        module(x, y, plan=torch.ones(3, 7, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="'plan'"):
        module(x, y, plan=-torch.ones(3, 7, 5))
    labelled = RenyiAlignedFusion(6, 4, 3, dim=8, num_heads=2)
    for labels in (torch.tensor([0, 1, 3]), torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0, 1])):
        with pytest.raises(ValueError, match="'labels'"):
            labelled(x, y, labels=labels)


# ---------------------------------------------------------------- fuzz


def fuzz_inputs(data):
    batch = data.draw(st.integers(1, 3))
    tx, ty = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]))
    scale = data.draw(st.sampled_from([1e-3, 1.0, 1e3]))
    seed = data.draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(batch, tx, 3, dtype=dtype, generator=g)
    y = scale * torch.randn(batch, ty, 2, dtype=dtype, generator=g)
    x_lengths = torch.tensor(data.draw(st.lists(st.integers(-1, tx + 1), min_size=batch, max_size=batch)))
    y_lengths = torch.tensor(data.draw(st.lists(st.integers(-1, ty + 1), min_size=batch, max_size=batch)))
    if data.draw(st.booleans()):
        x[0, 0, 0] = data.draw(st.sampled_from([float("nan"), float("inf"), 1e30]))
    return x, y, x_lengths, y_lengths, dtype


def fuzz_check(module, args):
    try:
        out = output(module, *args)
    except (ValueError, TypeError):
        return
    assert out.shape[0] == args[0].shape[0] and torch.isfinite(out).all()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_hadamard_ot_fusion(data):
    x, y, x_lengths, y_lengths, dtype = fuzz_inputs(data)
    pooling = data.draw(st.sampled_from(["mean", "attentive"]))
    metric = data.draw(st.sampled_from(["cosine", "sqeuclidean", "euclidean"]))
    reg = data.draw(st.sampled_from([0.05, 1.0, 100.0]))
    module = HadamardOTFusion(3, 2, dim=4, reg=reg, metric=metric, pooling=pooling, warn=False).to(dtype)
    fuzz_check(module, (x, y, x_lengths, y_lengths))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_pooled_fusion(data):
    x, y, x_lengths, y_lengths, dtype = fuzz_inputs(data)
    module = PooledFusion(3, 2, dim=4, mode=data.draw(st.sampled_from(PooledFusion.MODES)),
                          pooling=data.draw(st.sampled_from(["mean", "attentive"]))).to(dtype)
    fuzz_check(module, (x, y, x_lengths, y_lengths))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_renyi_aligned_fusion(data):
    x, y, x_lengths, y_lengths, dtype = fuzz_inputs(data)
    alpha = data.draw(st.sampled_from([0.1, 0.5, 1.0, 2.0, 10.0]))
    module = RenyiAlignedFusion(3, 2, n_classes=3, dim=4, num_heads=2, alpha=alpha).to(dtype)
    labels = torch.tensor(data.draw(st.lists(st.integers(0, 2), min_size=x.shape[0], max_size=x.shape[0])))
    try:
        out = module(x, y, x_lengths, y_lengths, labels)
    except (ValueError, TypeError):
        return
    assert out.logits.shape == (x.shape[0], 3) and torch.isfinite(out.logits).all() and torch.isfinite(out.loss)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_sinkhorn_plan_backward(data):
    batch, n, m = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    seed = data.draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    M = (data.draw(st.sampled_from([1e-3, 1.0, 10.0])) * torch.rand(batch, n, m, dtype=torch.float64,
                                                                      generator=g)).requires_grad_()
    n_sizes = torch.randint(1, n + 1, (batch,), generator=g)
    m_sizes = torch.randint(1, m + 1, (batch,), generator=g)
    plan = sinkhorn_plan(M, data.draw(st.sampled_from([0.05, 1.0])), n_sizes, m_sizes, 1000, 1e-9, warn=False)
    grad, = torch.autograd.grad((plan * torch.randn(plan.shape, dtype=plan.dtype, generator=g)).sum(), M)
    assert plan.shape == M.shape and torch.isfinite(plan).all() and torch.isfinite(grad).all()


# ---------------------------------------------------------------- the training recipe


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    from affectkit.data import demo_corpus

    return demo_corpus(tmp_path_factory.mktemp("demo") / "corpus", utterances_per_class=1)


def test_recipe_end_to_end_on_the_demo_corpus(tiny_corpus, tmp_path):
    from affectkit.data import make_folds
    from affectkit.recipes import fusion

    x, y = fusion.demo_embeddings(tiny_corpus, d_model=16, cache_dir=tmp_path, progress=False)
    assert len(x) == len(y) == len(tiny_corpus) == 24
    assert all(a.shape == b.shape and a.shape[1] == 16 and a.dtype == np.float32 for a, b in zip(x, y))
    again, _ = fusion.demo_embeddings(tiny_corpus, d_model=16, cache_dir=tmp_path, progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(x, again))  # read back from the cache
    assert len(list(tmp_path.glob("fusion-demo-mamba-*/*.npy"))) == 24
    folds = make_folds(tiny_corpus, "speaker-kfold", n_splits=2)
    seen = []
    threads = torch.get_num_threads()
    results = fusion.compare_fusions(x, y, tiny_corpus.y, folds, seeds=(0,), epochs=1, dim=8, progress=False,
                                     on_result=lambda name, run: seen.append(name))
    assert list(results) == list(fusion.FUSIONS) and len(seen) == 2 * len(fusion.FUSIONS)
    assert torch.get_num_threads() == threads  # restored
    for result in results.values():
        assert len(result["runs"]) == 2
        assert all(0 <= result["summary"][k]["mean"] <= 1 for k in ("ua", "wa", "macro_f1"))
    table = fusion.results_table(results)
    assert table.count("\n") == len(results) + 1 and "hadamard-ot -ot" in table


def test_recipe_on_npy_files(tiny_corpus, tmp_path):
    """Embeddings read from .npy files per utterance; classes separated by their mean, so
    every fusion must learn them (UA 1 on held-out speakers)."""
    import os

    from affectkit.data import make_folds
    from affectkit.recipes import fusion

    rng = np.random.default_rng(0)
    for directory, dim in (("model_x", 5), ("model_y", 3)):
        for path, label in zip(tiny_corpus.path, tiny_corpus.y):
            file = (tmp_path / directory / os.path.relpath(path, tiny_corpus.root)).with_suffix(".npy")
            file.parent.mkdir(parents=True, exist_ok=True)
            frames = int(rng.integers(3, 9))
            np.save(file, 4.0 * np.eye(dim)[label % dim] + 0.3 * rng.standard_normal((frames, dim)))  # float64
    x = fusion.load_embeddings(tmp_path / "model_x", tiny_corpus)
    y = fusion.load_embeddings(tmp_path / "model_y", tiny_corpus)
    assert x[0].dtype == np.float32 and x[0].shape[1] == 5 and y[0].shape[1] == 3
    results = fusion.compare_fusions(x, y, tiny_corpus.y, make_folds(tiny_corpus, "speaker-kfold", n_splits=2),
                                     fusions=("x only", "concat", "hadamard-ot", "renyi"), seeds=(0,), epochs=60,
                                     dim=8, lr=1e-2, progress=False)
    for name, result in results.items():
        assert result["summary"]["ua"]["mean"] == 1.0, name
    # bad directories and inputs name the argument
    (tmp_path / "model_x" / os.path.relpath(tiny_corpus.path[3], tiny_corpus.root)).with_suffix(".npy").unlink()
    with pytest.raises(ValueError, match="'directory'"):
        fusion.load_embeddings(tmp_path / "model_x", tiny_corpus)
    with pytest.raises(ValueError, match="'directory'"):
        fusion.load_embeddings(tmp_path / "absent", tiny_corpus)
    np.save((tmp_path / "model_y" / os.path.relpath(tiny_corpus.path[5], tiny_corpus.root)).with_suffix(".npy"),
            np.zeros((4, 7)))
    with pytest.raises(ValueError, match="'directory'"):
        fusion.load_embeddings(tmp_path / "model_y", tiny_corpus)
    folds = make_folds(tiny_corpus, "speaker-kfold", n_splits=2)
    with pytest.raises(ValueError, match="'y'"):
        fusion.compare_fusions(x, y[:-1], tiny_corpus.y, folds)
    with pytest.raises(ValueError, match="'fusions'"):
        fusion.compare_fusions(x, y, tiny_corpus.y, folds, fusions=("attention only",))
    with pytest.raises(ValueError, match="'labels'"):
        fusion.compare_fusions(x, y, tiny_corpus.y[:-1], folds)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_compare_fusions_inputs(data):
    """Embedding lists of any shapes (empty, ragged dims, zero frames, NaN), labels of any
    length: a result for every fusion asked for, or ValueError/TypeError."""
    from affectkit.data import Fold
    from affectkit.recipes import fusion

    n = data.draw(st.integers(0, 6))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))

    def embeddings(dim):
        return [rng.standard_normal((data.draw(st.integers(0, 4)), data.draw(st.sampled_from([dim, dim, dim + 1]))))
                .astype(data.draw(st.sampled_from([np.float32, np.float64]))) for _ in range(n)]

    x, y = embeddings(3), embeddings(2)
    if n and data.draw(st.booleans()):
        x[0][...] = np.nan
    labels = rng.integers(-1 if data.draw(st.booleans()) else 0, 3, data.draw(st.sampled_from([n, max(n - 1, 0)])))
    folds = [Fold("f", np.arange(n // 2, dtype=np.int64), np.arange(n // 2, n, dtype=np.int64))]
    name = data.draw(st.sampled_from(list(fusion.FUSIONS)))
    try:
        results = fusion.compare_fusions(x, y, labels, folds, fusions=(name,), seeds=(0,), epochs=1, dim=4,
                                         progress=False)
    except (ValueError, TypeError):
        return
    assert list(results) == [name] and all(np.isfinite(results[name]["summary"][k]["mean"]) for k in ("ua", "wa"))
