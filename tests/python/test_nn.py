"""affectkit.nn.functional.causal_conv1d (torch op library) against the PyTorch
reference (left-padded grouped F.conv1d) and causal-conv1d's own formulation
(symmetric padding, output cut to the input length), values and gradients.

Tolerances: float64 1e-12 (the same sums in another order); float32 1e-5
relative and absolute, the rounding of a width-64 dot product of unit-scale
values. Bad input is in test_bad_input.py.
"""

import warnings

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from reference import causal_conv1d_ref  # noqa: E402

import affectkit.nn.functional as AF  # noqa: E402

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-12, atol=1e-12)}


def causal_conv1d_padded(x, weight, bias=None, activation=None):
    """causal-conv1d's causal_conv1d_ref: pad width - 1 on both sides, keep the
    first `length` outputs."""
    width = weight.shape[1]
    out = F.conv1d(x, weight.unsqueeze(1), bias, padding=width - 1, groups=x.shape[1])[..., : x.shape[-1]]
    return F.silu(out) if activation else out


def inputs(batch, channels, length, width, dtype, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, length, dtype=dtype, generator=g, requires_grad=True)
    w = (torch.randn(channels, width, dtype=dtype, generator=g) / width**0.5).requires_grad_()
    b = torch.randn(channels, dtype=dtype, generator=g, requires_grad=True) if bias else None
    return x, w, b


def values_and_grads(fn, x, w, b, activation):
    out = fn(x, w, b, activation)
    grad_out = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(1))
    leaves = [t for t in (x, w, b) if t is not None]
    grads = torch.autograd.grad(out, leaves, grad_out)
    return out, grads


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("width", range(1, 65))
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation", [None, "silu"])
def test_matches_references_values_and_gradients(dtype, width, bias, activation):
    x, w, b = inputs(2, 3, 70, width, dtype, bias, seed=width)
    out, grads = values_and_grads(AF.causal_conv1d, x, w, b, activation)
    assert out.dtype == dtype and out.shape == x.shape
    for reference in (causal_conv1d_ref, causal_conv1d_padded):
        ref_out, ref_grads = values_and_grads(reference, x, w, b, activation)
        torch.testing.assert_close(out, ref_out, **TOL[dtype])
        assert len(grads) == len(ref_grads)
        for got, expected in zip(grads, ref_grads):
            torch.testing.assert_close(got, expected, **TOL[dtype])


def test_swish_is_silu():
    x, w, b = inputs(2, 3, 20, 4, torch.float64)
    torch.testing.assert_close(AF.causal_conv1d(x, w, b, "swish"), AF.causal_conv1d(x, w, b, "silu"), rtol=0, atol=0)
    assert not torch.equal(AF.causal_conv1d(x, w, b, "silu"), AF.causal_conv1d(x, w, b))


def test_output_is_causal():
    """Changing x at time t changes no output before t."""
    x, w, b = (t.detach() for t in inputs(1, 2, 50, 8, torch.float64))
    before = AF.causal_conv1d(x, w, b, "silu")
    x[..., 30] += 1.0
    after = AF.causal_conv1d(x, w, b, "silu")
    torch.testing.assert_close(before[..., :30], after[..., :30], rtol=0, atol=0)
    assert not torch.equal(before[..., 30:38], after[..., 30:38])
    torch.testing.assert_close(before[..., 38:], after[..., 38:], rtol=0, atol=0)  # width 8: t + 7 is the last


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("length, width", [(1, 4), (3, 4), (1, 64), (63, 64), (5, 1)])
def test_sequences_shorter_than_the_kernel(dtype, length, width):
    x, w, b = inputs(2, 3, length, width, dtype)
    out, grads = values_and_grads(AF.causal_conv1d, x, w, b, "silu")
    ref_out, ref_grads = values_and_grads(causal_conv1d_ref, x, w, b, "silu")
    torch.testing.assert_close(out, ref_out, **TOL[dtype])
    torch.testing.assert_close(grads, ref_grads, **TOL[dtype])


@pytest.mark.parametrize("bias", [True, False])
def test_empty_sequence(bias):
    """F.conv1d refuses length 0; the op returns an empty output, an empty x gradient
    and zero weight and bias gradients (nothing was convolved)."""
    x, w, b = inputs(2, 3, 0, 4, torch.float64, bias)
    out = AF.causal_conv1d(x, w, b, "silu")
    assert out.shape == (2, 3, 0)
    grads = torch.autograd.grad(out.sum(), [t for t in (x, w, b) if t is not None])
    assert grads[0].shape == x.shape
    for grad, leaf in zip(grads[1:], (w, b)):
        torch.testing.assert_close(grad, torch.zeros_like(leaf), rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(0, 3, 10), (2, 0, 10)])
def test_empty_batch_or_channels(shape):
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    w = torch.randn(shape[1], 4, dtype=torch.float64, requires_grad=True)
    out = AF.causal_conv1d(x, w, None, "silu")
    assert out.shape == shape
    gx, gw = torch.autograd.grad(out.sum(), (x, w))
    assert gx.shape == x.shape and gw.shape == w.shape
    torch.testing.assert_close(gw, torch.zeros_like(w), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_non_contiguous_inputs(dtype):
    """Transposed views, a strided bias and a broadcast (stride 0) weight: values and
    gradients as for contiguous copies."""
    x, w, b = inputs(3, 6, 40, 4, dtype)
    x_t = x.detach().transpose(0, 1).contiguous().transpose(0, 1).requires_grad_()
    w_t = w.detach().t().contiguous().t().requires_grad_()
    b_s = torch.stack([b.detach(), torch.zeros_like(b)], 1)[:, 0].requires_grad_()
    assert not x_t.is_contiguous() and not w_t.is_contiguous() and not b_s.is_contiguous()
    out, grads = values_and_grads(AF.causal_conv1d, x_t, w_t, b_s, "silu")
    ref_out, ref_grads = values_and_grads(causal_conv1d_ref, x, w, b, "silu")
    torch.testing.assert_close(out, ref_out, **TOL[dtype])
    torch.testing.assert_close(grads, ref_grads, **TOL[dtype])
    x_views = [x.detach()[:, :, ::2], x.detach().transpose(1, 2).contiguous().transpose(1, 2),
               x.detach()[:1].expand(3, 6, 40)]
    for view in x_views:
        torch.testing.assert_close(AF.causal_conv1d(view, w.detach(), b.detach()),
                                   causal_conv1d_ref(view.contiguous(), w.detach(), b.detach()), **TOL[dtype])
    w_broadcast = w.detach()[:1].expand(6, 4)
    torch.testing.assert_close(AF.causal_conv1d(x.detach(), w_broadcast),
                               causal_conv1d_ref(x.detach(), w_broadcast.contiguous()), **TOL[dtype])


def test_gradients_only_for_the_inputs_that_need_them():
    x, w, b = inputs(2, 3, 12, 4, torch.float64)
    (gw,) = torch.autograd.grad(AF.causal_conv1d(x.detach(), w, b.detach()).sum(), (w,))
    (ref,) = torch.autograd.grad(causal_conv1d_ref(x.detach(), w, b.detach()).sum(), (w,))
    torch.testing.assert_close(gw, ref)
    with torch.no_grad():
        assert not AF.causal_conv1d(x, w, b).requires_grad
    with torch.inference_mode():
        torch.testing.assert_close(AF.causal_conv1d(x, w, b), causal_conv1d_ref(x, w, b))


@pytest.mark.parametrize("width", [1, 4, 64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation", [None, "silu"])
def test_gradcheck(width, bias, activation):
    x, w, b = inputs(2, 3, 9 if width < 64 else 70, width, torch.float64, bias)

    def fn(x, w, *b):
        return AF.causal_conv1d(x, w, b[0] if b else None, activation)

    assert torch.autograd.gradcheck(fn, (x, w, b) if bias else (x, w))


def test_double_backward_is_right_or_refused():
    """create_graph=True then a second grad (gradient penalties, Hessian-vector
    products): either the reference's second derivative or a clear error."""
    x, w, b = inputs(2, 3, 10, 4, torch.float64)

    def second(fn):
        out = fn(x, w, b, "silu")
        grads = torch.autograd.grad(out.square().sum(), (x, w, b), create_graph=True)
        return torch.autograd.grad(sum(g.square().sum() for g in grads), (x, w, b))

    expected = second(causal_conv1d_ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # so that a warning-only op returns a value we can check
        try:
            got = second(AF.causal_conv1d)
        except RuntimeError as error:
            assert "not implemented" in str(error)
            return  # refused clearly: acceptable
    torch.testing.assert_close(got, expected)


def test_opcheck_schema_fake_and_autograd_registration():
    """torch.library.opcheck runs the op under FakeTensor/Meta, checks the schema
    (no hidden mutation or aliasing), the autograd registration, and AOT dispatch."""
    if not hasattr(torch.library, "opcheck"):
        pytest.skip("torch.library.opcheck needs torch >= 2.4")
    op = torch.ops.affectkit.causal_conv1d.default
    x, w, b = inputs(2, 4, 12, 3, torch.float64)
    x32, w32, b32 = inputs(1, 2, 5, 1, torch.float32)
    for args in [
        (x, w, b, True),
        (x, w, None, False),
        (x32, w32, b32, False),
        (x.detach().transpose(0, 1).contiguous().transpose(0, 1).requires_grad_(), w, b, True),  # strided
        (x[..., :0].detach().requires_grad_(), w, None, True),  # length 0
        (x.detach(), w.detach(), b.detach(), True),  # no autograd
    ]:
        torch.library.opcheck(op, args)
    grad_out = torch.randn(2, 4, 12, dtype=torch.float64)
    torch.library.opcheck(torch.ops.affectkit.causal_conv1d_backward.default, (x.detach(), w.detach(), b.detach(),
                                                                                grad_out, True))


def test_meta_tensors_give_shapes_and_check_arguments():
    out = AF.causal_conv1d(torch.empty(2, 3, 10, device="meta"), torch.empty(3, 4, device="meta"))
    assert out.shape == (2, 3, 10) and out.device.type == "meta"
    with pytest.raises(ValueError, match="'weight'"):
        AF.causal_conv1d(torch.empty(2, 3, 10, device="meta"), torch.empty(2, 4, device="meta"))


@pytest.mark.parametrize("bias", [True, False])
def test_torch_compile_forward_and_backward(bias):
    if not hasattr(torch, "compile"):
        pytest.skip("torch.compile needs torch >= 2.0")
    x, w, b = inputs(2, 4, 30, 4, torch.float64, bias)
    leaves = [t for t in (x, w, b) if t is not None]

    def loss(x, w, b):
        return (AF.causal_conv1d(x, w, b, "silu") ** 2).sum()

    compiled = torch.compile(loss, backend="aot_eager", fullgraph=True)
    eager_value = loss(x, w, b)
    compiled_value = compiled(x, w, b)
    torch.testing.assert_close(compiled_value, eager_value, rtol=0, atol=0)
    eager_grads = torch.autograd.grad(loss(x, w, b), leaves)
    compiled_grads = torch.autograd.grad(compiled(x, w, b), leaves)
    for a, e in zip(compiled_grads, eager_grads):
        torch.testing.assert_close(a, e, rtol=0, atol=0)


def test_torch_export():
    """torch.export traces the op through its Meta kernel into an ExportedProgram
    whose graph calls affectkit::causal_conv1d and computes the same values."""
    if not hasattr(torch, "export"):
        pytest.skip("torch.export needs torch >= 2.1")

    class Conv(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(4, 3, dtype=torch.float64))

        def forward(self, x):
            return AF.causal_conv1d(x, self.weight, None, "silu")

    module = Conv()
    x = torch.randn(2, 4, 16, dtype=torch.float64)
    program = torch.export.export(module, (x,))
    assert "affectkit.causal_conv1d" in str(program.graph)
    torch.testing.assert_close(program.module()(x), module(x), rtol=0, atol=0)


def test_thread_count_does_not_change_results():
    x, w, b = inputs(4, 16, 500, 4, torch.float32)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = values_and_grads(AF.causal_conv1d, x, w, b, "silu")
        torch.set_num_threads(2)
        two = values_and_grads(AF.causal_conv1d, x, w, b, "silu")
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(one, two, rtol=0, atol=0)
