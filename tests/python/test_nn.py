"""affectkit.nn.functional.causal_conv1d (torch op library) against the PyTorch
reference (left-padded grouped F.conv1d), values and gradients.

Tolerances: float64 1e-12 (same sums, different order); float32 1e-5 relative,
the rounding of a width-64 dot product.
"""

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from reference import causal_conv1d_ref  # noqa: E402

import affectkit.nn.functional as AF  # noqa: E402

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-12, atol=1e-12)}


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
    grads = torch.autograd.grad(out, leaves, grad_out) if out.numel() else [torch.zeros_like(t) for t in leaves]
    return out, grads


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("width", list(range(1, 9)) + [15, 16, 31, 33, 64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation", [None, "silu"])
def test_matches_reference_values_and_gradients(dtype, width, bias, activation):
    x, w, b = inputs(2, 5, 70, width, dtype, bias, seed=width)
    out, grads = values_and_grads(AF.causal_conv1d, x, w, b, activation)
    ref_out, ref_grads = values_and_grads(causal_conv1d_ref, x, w, b, activation)
    torch.testing.assert_close(out, ref_out, **TOL[dtype])
    for got, expected in zip(grads, ref_grads):
        torch.testing.assert_close(got, expected, **TOL[dtype])


@pytest.mark.parametrize("length", [1, 3])
def test_sequences_shorter_than_the_kernel(length):
    x, w, b = inputs(2, 3, length, 4, torch.float64)
    out, grads = values_and_grads(AF.causal_conv1d, x, w, b, "silu")
    ref_out, ref_grads = values_and_grads(causal_conv1d_ref, x, w, b, "silu")
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(grads, ref_grads)


def test_empty_sequence():
    """F.conv1d refuses length 0; the op returns an empty output and zero weight gradients."""
    x, w, b = inputs(2, 3, 0, 4, torch.float64)
    out = AF.causal_conv1d(x, w, b, "silu")
    assert out.shape == (2, 3, 0)
    gx, gw, gb = torch.autograd.grad(out.sum(), (x, w, b), allow_unused=True)
    assert gx.shape == x.shape
    torch.testing.assert_close(gw, torch.zeros_like(w))
    torch.testing.assert_close(gb, torch.zeros_like(b))


def test_non_contiguous_inputs():
    x, w, b = inputs(3, 6, 40, 4, torch.float64)
    x_t = x.detach().transpose(0, 1).contiguous().transpose(0, 1).requires_grad_()  # strided view
    w_t = w.detach().t().contiguous().t()
    assert not x_t.is_contiguous() and not w_t.is_contiguous()
    torch.testing.assert_close(AF.causal_conv1d(x_t, w_t, b), causal_conv1d_ref(x, w, b))


@pytest.mark.parametrize("width", [1, 4, 64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation", [None, "silu"])
def test_gradcheck(width, bias, activation):
    x, w, b = inputs(2, 3, 9 if width < 64 else 70, width, torch.float64, bias)
    args = (x, w, b) if bias else (x, w)
    assert torch.autograd.gradcheck(lambda *a: AF.causal_conv1d(*a, activation=activation) if len(a) == 3
                                    else AF.causal_conv1d(*a, None, activation), args)


def test_opcheck_schema_fake_and_autograd_registration():
    x, w, b = inputs(2, 4, 12, 3, torch.float64)
    torch.library.opcheck(torch.ops.affectkit.causal_conv1d.default, (x, w, b, True))
    torch.library.opcheck(torch.ops.affectkit.causal_conv1d.default, (x, w, None, False))


def test_torch_compile_forward_and_backward():
    x, w, b = inputs(2, 4, 30, 4, torch.float64)

    def loss(x, w, b):
        return (AF.causal_conv1d(x, w, b, "silu") ** 2).sum()

    compiled = torch.compile(loss, backend="aot_eager", fullgraph=True)
    eager_grads = torch.autograd.grad(loss(x, w, b), (x, w, b))
    compiled_grads = torch.autograd.grad(compiled(x, w, b), (x, w, b))
    for a, e in zip(compiled_grads, eager_grads):
        torch.testing.assert_close(a, e)


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


@pytest.mark.parametrize(
    "make, error, argument",
    [
        (lambda x, w, b: (x[0], w, b), ValueError, "x"),
        (lambda x, w, b: (x, w[:, :, None], b), ValueError, "weight"),
        (lambda x, w, b: (x, w[:3], b), ValueError, "weight"),
        (lambda x, w, b: (x, w[:, :0], b), ValueError, "weight"),
        (lambda x, w, b: (x, w, b[:2]), ValueError, "bias"),
        (lambda x, w, b: (x, w.double(), b), TypeError, "weight"),
        (lambda x, w, b: (x, w, b.double()), TypeError, "bias"),
        (lambda x, w, b: (x.long(), w.long(), b.long()), TypeError, "x"),
        (lambda x, w, b: (x.half(), w.half(), b.half()), TypeError, "x"),
    ],
)
def test_bad_input_names_the_argument(make, error, argument):
    x, w, b = (t.detach() for t in inputs(2, 4, 10, 3, torch.float32))
    with pytest.raises(error, match=f"'{argument}'"):
        AF.causal_conv1d(*make(x, w, b))


def test_bad_activation():
    x, w, b = inputs(1, 2, 5, 2, torch.float32)
    with pytest.raises(ValueError, match="'activation'"):
        AF.causal_conv1d(x, w, b, activation="relu")
