"""The selective scan (ak.selective_scan, affectkit.nn.functional.selective_scan)
against the step-by-step PyTorch reference selective_scan_ref (mamba-ssm's
selective_scan_ref, computing in the input dtype) and against mambapy's parallel
scan (pscan), values and gradients of every input; real and complex A (mamba-ssm's
complex mode: complex state, y = 2 Re(C . h)).

Tolerances: float64 rtol 1e-10 (atol 1e-10 x the largest reference value), the
same sums in another order. float32 kernels are compared with the float64
reference: values rtol 1e-4 (atol 1e-4 x the largest value); gradients rtol 1e-3
(atol 1e-3 x the largest value), since dA, dD and shared dB/dC are sums over
batch x length of products whose float32 rounding grows with the length.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")

import affectkit as ak  # noqa: E402
import affectkit.nn.functional as AF  # noqa: E402
from affectkit.nn.functional import selective_scan_ref  # noqa: E402

NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")

# B/C layouts: shared (dim, state); "bnl" (batch, state, length); an int: (batch, groups, state, length).
LAYOUTS = [("shared", "shared"), ("bnl", "bnl"), (2, 2), ("shared", 4), ("bnl", "shared")]
OPTIONS = {
    "plain": dict(D=False, z=False, delta_bias=False, delta_softplus=False),
    "all": dict(D=True, z=True, delta_bias=True, delta_softplus=True),
    "z softplus": dict(D=False, z=True, delta_bias=False, delta_softplus=True),
}


def make_inputs(batch, dim, length, state, B_layout, C_layout, D=True, z=True, delta_bias=True,
                delta_softplus=True, dtype=torch.float64, seed=0, complex_A=False):
    """Inputs at Mamba's scales: A = -exp(.), delta around softplus^-1 of 0.01..0.1.
    complex_A: A = -exp(.) + i randn (S4D-Lin-like oscillating modes), shared B and C
    complex, variable ones real with (real, imag) pairs along time, as mamba-ssm."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, scale=1.0, shift=0.0):
        return (shift + scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(dtype)

    def parameter(layout):
        if layout == "shared":
            return torch.complex(randn(dim, state), randn(dim, state)) if complex_A else randn(dim, state)
        steps = 2 * length if complex_A else length
        if layout == "bnl":
            return randn(batch, state, steps)
        return randn(batch, layout, state, steps)

    args = dict(
        u=randn(batch, dim, length),
        # softplus(-3 +- 0.5) ~ 0.05; without softplus, dt itself ~ 0.05
        delta=randn(batch, dim, length, scale=0.5, shift=-3.0) if delta_softplus
        else randn(batch, dim, length, scale=0.02, shift=0.05).abs(),
        A=-torch.exp(randn(dim, state, scale=0.5)).to(dtype),
        B=parameter(B_layout),
        C=parameter(C_layout),
        D=randn(dim) if D else None,
        z=randn(batch, dim, length) if z else None,
        delta_bias=randn(dim, scale=0.1) if delta_bias else None,
    )
    if complex_A:
        args["A"] = torch.complex(args["A"], randn(dim, state, scale=2.0))
    return args, delta_softplus


def wide(t):
    """float64, or complex128 for a complex tensor (.double() would drop the imaginary part)."""
    return t.to(torch.complex128 if t.is_complex() else torch.float64)


def tolerance(dtype, reference, scale):
    rtol = 1e-10 if dtype == torch.float64 else scale
    return dict(rtol=rtol, atol=rtol * max(1.0, float(reference.abs().max())))


def run(fn, args, softplus, weights):
    """Output, last state and the gradients of sum(w_out out) + sum(w_state last_state)
    (weights[1] (batch, dim, state, 2): on the real and imaginary parts of a complex state)."""
    leaves = {k: v.detach().clone().requires_grad_() for k, v in args.items() if v is not None}
    out, last = fn(**{k: leaves.get(k) for k in NAMES}, delta_softplus=softplus, return_last_state=True)
    last_real = torch.view_as_real(last) if last.is_complex() else last[..., None]  # a real loss of both parts
    state_weights = weights[1][..., :last_real.shape[-1]].to(out.dtype)
    loss = (out * weights[0].to(out.dtype)).sum() + (last_real * state_weights).sum()
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return out.detach(), last.detach(), dict(zip(leaves, grads))


def compare(args, softplus, dtype):
    ref_args = {k: None if v is None else wide(v) for k, v in args.items()}
    batch, dim, length = args["u"].shape
    g = torch.Generator().manual_seed(123)
    weights = (torch.randn(batch, dim, length, generator=g, dtype=torch.float64),
               torch.randn(batch, dim, args["A"].shape[1], 2, generator=g, dtype=torch.float64))
    out, last, grads = run(AF.selective_scan, args, softplus, weights)
    ref_out, ref_last, ref_grads = run(selective_scan_ref, ref_args, softplus, weights)
    assert out.dtype == dtype and out.shape == args["u"].shape and last.shape == ref_last.shape
    assert last.dtype == args["A"].dtype
    torch.testing.assert_close(out.double(), ref_out, **tolerance(dtype, ref_out, 1e-4))
    torch.testing.assert_close(wide(last), ref_last, **tolerance(dtype, ref_last, 1e-4))
    assert grads.keys() == ref_grads.keys()
    for name in grads:
        assert grads[name].shape == args[name].shape and grads[name].dtype == args[name].dtype, name
        torch.testing.assert_close(wide(grads[name]), ref_grads[name], **tolerance(dtype, ref_grads[name], 1e-3),
                                   msg=lambda m, name=name: f"gradient of {name}: {m}")
    numpy_out = ak.selective_scan(*[None if args[k] is None else args[k].numpy() for k in NAMES],
                                  delta_softplus=softplus)
    np.testing.assert_array_equal(numpy_out, out.numpy())  # the same core


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("state", [1, 16, 64])
@pytest.mark.parametrize("length", [1, 130])  # 130: three chunks of the core, the last partial
@pytest.mark.parametrize("layouts", LAYOUTS, ids=str)
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_matches_reference_values_and_gradients(dtype, state, length, layouts, options):
    args, softplus = make_inputs(2, 4, length, state, *layouts, **OPTIONS[options], dtype=dtype,
                                 seed=state * 1000 + length)
    compare(args, softplus, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_long_sequences(dtype):
    args, softplus = make_inputs(1, 4, 2048, 16, "bnl", "bnl", dtype=dtype, seed=5)
    compare(args, softplus, dtype)


def test_empty_inputs():
    for batch, dim, length in [(0, 4, 10), (2, 0, 10), (2, 4, 0)]:
        args, softplus = make_inputs(batch, dim, length, 3, "bnl", 2 if dim else "bnl")
        leaves = {k: v.requires_grad_() for k, v in args.items() if v is not None}
        out, last = AF.selective_scan(**args, delta_softplus=softplus, return_last_state=True)
        assert out.shape == (batch, dim, length) and last.shape == (batch, dim, 3)
        assert not last.any()  # no step taken: the initial state, zero
        grads = torch.autograd.grad(out.sum() + last.sum(), list(leaves.values()))
        for name, grad in zip(leaves, grads):
            assert grad.shape == leaves[name].shape


def test_matches_mambapy_parallel_scan():
    """mambapy's MambaBlock.selective_scan (Heinsen-style parallel scan, (batch, length,
    dim) layout, no z, softplus applied by the caller) on float32."""
    mamba = pytest.importorskip("mambapy.mamba")
    args, _ = make_inputs(2, 8, 300, 16, "bnl", "bnl", z=False, delta_bias=False, dtype=torch.float32, seed=3)
    dt = torch.nn.functional.softplus(args["delta"])
    expected = mamba.MambaBlock.selective_scan(
        None, args["u"].mT, dt.mT, args["A"], args["B"].mT, args["C"].mT, args["D"]).mT
    got = AF.selective_scan(args["u"], args["delta"], args["A"], args["B"], args["C"], args["D"], delta_softplus=True)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))


@pytest.mark.parametrize("layouts", LAYOUTS, ids=str)
def test_gradcheck(layouts):
    args, softplus = make_inputs(2, 4, 5, 3, *layouts, seed=9)
    names = [k for k in NAMES if args[k] is not None]

    def fn(*tensors):
        given = dict(zip(names, tensors))
        return AF.selective_scan(**{k: given.get(k) for k in NAMES}, delta_softplus=softplus, return_last_state=True)

    assert torch.autograd.gradcheck(fn, [args[k].requires_grad_() for k in names])


# ---------------------------------------------------------------- complex A

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("state", [1, 16])
@pytest.mark.parametrize("length", [1, 130])
@pytest.mark.parametrize("layouts", LAYOUTS, ids=str)
@pytest.mark.parametrize("options", ["plain", "all"])
def test_complex_A_matches_reference_values_and_gradients(dtype, state, length, layouts, options):
    """mamba-ssm's complex A: values, last state and every gradient (the complex ones
    as dL/dRe + i dL/dIm) against the reference, same tolerances as real A."""
    args, softplus = make_inputs(2, 4, length, state, *layouts, **OPTIONS[options], dtype=dtype,
                                 seed=state * 1000 + length + 7, complex_A=True)
    compare(args, softplus, dtype)


def test_complex_A_reference_is_mamba_ssm_semantics():
    """selective_scan_ref's complex branch against the definition written out for one
    (batch, dim) row: variable B and C are (real, imag) pairs along time, y = 2 Re(C . h)."""
    args, _ = make_inputs(1, 1, 6, 2, "bnl", "bnl", D=False, z=False, delta_bias=False, delta_softplus=False,
                          complex_A=True)
    u, dt, A = args["u"][0, 0], args["delta"][0, 0], args["A"][0]
    B = args["B"][0, :, 0::2] + 1j * args["B"][0, :, 1::2]  # (state, length)
    C = args["C"][0, :, 0::2] + 1j * args["C"][0, :, 1::2]
    h, expected = torch.zeros(2, dtype=torch.complex128), []
    for t in range(6):
        h = torch.exp(dt[t] * A) * h + dt[t] * B[:, t] * u[t]
        expected.append(2 * (C[:, t] * h).sum().real)
    out, last = selective_scan_ref(**args, return_last_state=True)
    torch.testing.assert_close(out[0, 0], torch.stack(expected), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(last[0, 0], h, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layouts", LAYOUTS, ids=str)
def test_complex_A_gradcheck(layouts):
    """float64 gradcheck of the op (torch treats a complex input as its real and
    imaginary parts), complex last state included."""
    args, softplus = make_inputs(2, 4, 5, 3, *layouts, seed=19, complex_A=True)
    names = [k for k in NAMES if args[k] is not None]

    def fn(*tensors):
        given = dict(zip(names, tensors))
        return AF.selective_scan(**{k: given.get(k) for k in NAMES}, delta_softplus=softplus, return_last_state=True)

    assert torch.autograd.gradcheck(fn, [args[k].requires_grad_() for k in names])


def test_softplus_is_linear_above_20():
    """torch's softplus threshold, as the reference: delta + bias > 20 passes unchanged.
    One step per dim, so that out = C (dt B u) shows dt directly."""
    args, _ = make_inputs(1, 6, 1, 3, "bnl", "bnl", D=False, z=False, delta_bias=False)
    args["delta"] = torch.tensor([19.0, 20.5, 25.0, 30.0, 19.99, 20.01], dtype=torch.float64).reshape(1, 6, 1)
    compare(args, True, torch.float64)
    with_softplus, without = AF.selective_scan(**args, delta_softplus=True), AF.selective_scan(**args)
    linear = [1, 2, 3, 5]
    torch.testing.assert_close(with_softplus[:, linear], without[:, linear], rtol=0, atol=0)
    assert (with_softplus[:, [0, 4]] != without[:, [0, 4]]).all()


def test_only_requested_gradients_and_no_grad_modes():
    args, softplus = make_inputs(2, 4, 30, 5, "bnl", 2)
    A = args["A"].clone().requires_grad_()
    (gA,) = torch.autograd.grad(AF.selective_scan(**{**args, "A": A}, delta_softplus=softplus).sum(), (A,))
    (ref,) = torch.autograd.grad(selective_scan_ref(**{**args, "A": A}, delta_softplus=softplus).sum(), (A,))
    torch.testing.assert_close(gA, ref, rtol=1e-10, atol=1e-12)
    leaves = {k: v.requires_grad_() for k, v in args.items() if v is not None}
    with torch.no_grad():
        assert not AF.selective_scan(**leaves, delta_softplus=softplus).requires_grad
    with torch.inference_mode():
        torch.testing.assert_close(AF.selective_scan(**leaves, delta_softplus=softplus),
                                   selective_scan_ref(**leaves, delta_softplus=softplus), rtol=1e-10, atol=1e-12)


def strided_copy(v):
    """The same values as v in a non-contiguous view."""
    return v.mT.contiguous().mT if v.dim() >= 2 else torch.stack([v, v], 1)[:, 0]


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_tensor_is_an_error_naming_it(name):
    # The issue: a non-contiguous tensor is a clear error, not a silent copy.
    args, softplus = make_inputs(3, 4, 40, 6, "bnl", "shared", dtype=torch.float32)
    args[name] = strided_copy(args[name])
    assert not args[name].is_contiguous()
    with pytest.raises(ValueError, match=f"'{name}': must be contiguous"):
        AF.selective_scan(**args, delta_softplus=softplus)


def test_strided_gradients_from_autograd_are_accepted():
    # Autograd hands the backward strided gradients (here of a transpose and an
    # expand): those are the op's own business, not the user's, and work.
    args, softplus = make_inputs(2, 4, 30, 5, "bnl", "bnl", dtype=torch.float64)
    leaves = {k: v.requires_grad_() for k, v in args.items()}
    out, last = AF.selective_scan(**leaves, delta_softplus=softplus, return_last_state=True)
    (out.mT.sum() + last.sum(dim=(0, 1)).sum()).backward()
    grads = [leaves[k].grad.clone() for k in NAMES]
    for v in leaves.values():
        v.grad = None
    ref, ref_last = selective_scan_ref(**leaves, delta_softplus=softplus, return_last_state=True)
    (ref.sum() + ref_last.sum()).backward()
    for name, got in zip(NAMES, grads):
        torch.testing.assert_close(got, leaves[name].grad, rtol=1e-10, atol=1e-12, msg=name)


def test_numpy_api_takes_strided_arrays():
    # The numpy API follows the package's array boundary (bindings/array.h): any
    # array is made C-contiguous once on the way in.
    args, softplus = make_inputs(3, 4, 40, 6, "bnl", "shared", dtype=torch.float32)
    numpy_strided = [strided_copy(args[k]).numpy() for k in NAMES]
    assert not any(v.flags.c_contiguous for v in numpy_strided)
    np.testing.assert_array_equal(ak.selective_scan(*numpy_strided, delta_softplus=softplus),
                                  AF.selective_scan(**args, delta_softplus=softplus).numpy())


def test_thread_count_does_not_change_results():
    args, softplus = make_inputs(3, 8, 300, 16, "bnl", 2, dtype=torch.float32)
    weights = (torch.randn(3, 8, 300, dtype=torch.float64), torch.randn(3, 8, 16, 2, dtype=torch.float64))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run(AF.selective_scan, args, softplus, weights)
        torch.set_num_threads(2)
        two = run(AF.selective_scan, args, softplus, weights)
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(one, two, rtol=0, atol=0)
    np.testing.assert_array_equal(
        ak.selective_scan(*[None if args[k] is None else args[k].numpy() for k in NAMES], delta_softplus=softplus,
                          num_threads=1),
        ak.selective_scan(*[None if args[k] is None else args[k].numpy() for k in NAMES], delta_softplus=softplus,
                          num_threads=2))


def test_opcheck_and_meta():
    if not hasattr(torch.library, "opcheck"):
        pytest.skip("torch.library.opcheck needs torch >= 2.4")
    op = torch.ops.affectkit.selective_scan.default
    for layouts, options in [(("bnl", "bnl"), "all"), (("shared", 2), "plain")]:
        args, softplus = make_inputs(2, 4, 9, 3, *layouts, **OPTIONS[options])
        leaves = [None if args[k] is None else args[k].requires_grad_() for k in NAMES]
        torch.library.opcheck(op, (*leaves, softplus))
    meta = {k: None if v is None else torch.empty(v.shape, device="meta") for k, v in args.items()}
    out, last = AF.selective_scan(**meta, return_last_state=True)
    assert out.shape == (2, 4, 9) and last.shape == (2, 4, 3) and out.device.type == "meta"
    with pytest.raises(ValueError, match="'C'"):
        AF.selective_scan(**{**meta, "C": torch.empty(2, 3, 3, 9, device="meta")})


def test_torch_compile_forward_and_backward():
    if not hasattr(torch, "compile"):
        pytest.skip("torch.compile needs torch >= 2.0")
    args, softplus = make_inputs(2, 4, 30, 3, "bnl", 2)
    leaves = [args[k].requires_grad_() for k in NAMES]

    def loss(*tensors):
        out, last = AF.selective_scan(*tensors, delta_softplus=softplus, return_last_state=True)
        return (out ** 2).sum() + last.sum()

    compiled = torch.compile(loss, backend="aot_eager", fullgraph=True)
    torch.testing.assert_close(compiled(*leaves), loss(*leaves), rtol=0, atol=0)
    for got, expected in zip(torch.autograd.grad(compiled(*leaves), leaves), torch.autograd.grad(loss(*leaves), leaves)):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


# ---------------------------------------------------------------- bad input

def numpy_call(args, **kwargs):
    return ak.selective_scan(*[None if args[k] is None else np.asarray(args[k]) for k in NAMES], **kwargs)


def torch_call(args, **kwargs):
    return AF.selective_scan(*[None if args[k] is None else torch.as_tensor(args[k]) for k in NAMES], **kwargs)


def good_numpy():
    args, _ = make_inputs(2, 4, 10, 3, "bnl", "bnl")
    return {k: v.numpy().copy() for k, v in args.items()}


BAD_SHAPES = [
    ("u", lambda a: a["u"][0], "u"),
    ("delta", lambda a: a["delta"][:, :, :5], "delta"),
    ("A", lambda a: a["A"][:3], "A"),
    ("A", lambda a: a["A"][0], "A"),
    ("B", lambda a: a["B"][:, :2], "B"),
    ("B", lambda a: np.zeros((2, 3, 3, 10)), "B"),  # 3 groups do not divide dim 4
    ("B", lambda a: np.zeros((4, 2)), "B"),
    ("C", lambda a: a["C"][None], "C"),
    ("C", lambda a: np.zeros((2, 1, 1, 3, 10)), "C"),
    ("D", lambda a: a["D"][:3], "D"),
    ("z", lambda a: a["z"][:1], "z"),
    ("delta_bias", lambda a: a["delta_bias"][None], "delta_bias"),
]


@pytest.mark.parametrize("call", [numpy_call, torch_call], ids=["numpy", "torch"])
@pytest.mark.parametrize("name, make, argument", BAD_SHAPES)
def test_bad_shapes_name_the_argument(call, name, make, argument):
    args = good_numpy()
    args[name] = make(args)
    with pytest.raises(ValueError, match=f"'{argument}'"):
        call(args)


@pytest.mark.parametrize("call", [numpy_call, torch_call], ids=["numpy", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_non_finite_values_name_the_argument(call, name):
    args = good_numpy()
    args[name].flat[1] = np.nan if name != "C" else np.inf
    with pytest.raises(ValueError, match=f"'{name}'.*finite"):
        call(args)


@pytest.mark.parametrize("call", [numpy_call, torch_call], ids=["numpy", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_wrong_dtypes_name_the_argument(call, name):
    args = good_numpy()
    args[name] = args[name].astype(np.float32 if name != "u" else np.int64)
    with pytest.raises(TypeError, match=f"'{name}'"):
        call(args)


def test_wrong_types():
    args = good_numpy()
    with pytest.raises(TypeError, match="'B'"):
        ak.selective_scan(args["u"], args["delta"], args["A"], [[1.0]], args["C"])
    with pytest.raises(TypeError, match="'delta_softplus'"):
        numpy_call(args, delta_softplus="yes")
    with pytest.raises(TypeError, match="'num_threads'"):
        numpy_call(args, num_threads=1.5)
    with pytest.raises(ValueError, match="'num_threads'"):
        numpy_call(args, num_threads=0)


@pytest.mark.parametrize("call", [numpy_call, torch_call], ids=["numpy", "torch"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dt_A, length", [(1.0, 800), (100.0, 3), (800.0, 3)])
def test_growing_state_is_an_error_naming_delta(call, dtype, dt_A, length):
    """exp(dt A) > 1 grows the state: a state past the dtype's range (step by step,
    or in one step whose exp alone overflows float32 or both) is a ValueError, never
    an Inf, a NaN or a saturated finite value."""
    args, _ = make_inputs(1, 2, length, 3, "bnl", "bnl", D=False, z=False, delta_bias=False)
    args = {k: None if v is None else v.numpy().astype(dtype) for k, v in args.items()}
    args["A"] = np.full((2, 3), dt_A, dtype=dtype)
    args["delta"] = np.ones((1, 2, length), dtype=dtype)
    if dtype == np.float64 and dt_A == 100.0:  # exp(300) stays below float64's range
        out = call(args)
        assert np.isfinite(np.asarray(out)).all()
        return
    with pytest.raises(ValueError, match="'delta'.*overflowed"):
        call(args)


def test_big_endian_input_is_accepted():
    args = good_numpy()
    swapped = {**args, "u": args["u"].astype(">f8")}
    np.testing.assert_array_equal(numpy_call(swapped), numpy_call(args))


def good_complex_numpy():
    args, _ = make_inputs(2, 4, 10, 3, "bnl", "shared", complex_A=True)
    return {k: v.numpy().copy() for k, v in args.items()}


@pytest.mark.parametrize("call", [numpy_call, torch_call], ids=["numpy", "torch"])
def test_complex_A_bad_input_names_the_argument(call):
    args = good_complex_numpy()
    call(args)  # the good call runs
    real = {**good_numpy(), "A": args["A"]}  # variable B, C with length (not 2 length) steps
    with pytest.raises(ValueError, match="'B'.*2 \\* length = 20"):
        call(real)
    with pytest.raises(TypeError, match="'C'"):  # a shared C must be complex like A
        call({**args, "C": args["C"].real.copy()})
    with pytest.raises(TypeError, match="'B'"):  # a variable B is real
        call({**args, "B": args["B"].astype(np.complex128)})
    with pytest.raises(TypeError, match="'A'"):  # complex64 with float64 u
        call({**args, "A": args["A"].astype(np.complex64)})
    with pytest.raises(TypeError, match="'C'"):  # complex B/C need a complex A
        call({**good_numpy(), "C": args["C"]})
    bad = {**args, "A": args["A"].copy()}
    bad["A"][1, 2] = complex(-1.0, np.nan)
    with pytest.raises(ValueError, match="'A'.*finite"):
        call(bad)


@st.composite
def scan_inputs(draw):
    batch, dim, length, state = (draw(st.integers(0, 3)), draw(st.integers(0, 6)), draw(st.integers(0, 40)),
                                 draw(st.integers(0, 9)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    values = st.floats(-3, 3, allow_nan=False, width=32)

    def array(shape):
        if draw(st.integers(0, 30)) == 0:  # sometimes a wrong shape
            shape = tuple(max(0, s + draw(st.integers(-1, 1))) for s in shape) + ((1,) if draw(st.booleans()) else ())
        n = int(np.prod(shape))
        data = draw(st.lists(values, min_size=min(n, 4), max_size=min(n, 4)))
        out = np.resize(np.asarray(data or [0.0], dtype=dtype), shape)
        return out

    complex_A = draw(st.booleans())

    def complex_of(x):  # of x's precision (complex64 for float32)
        return (x + 1j * np.roll(x, 1)).astype(np.result_type(x.dtype, np.complex64))

    def parameter():
        layout = draw(st.sampled_from(["shared", "bnl", 1, 2, 3]))
        if layout == "shared":
            shared = array((dim, state))
            return complex_of(shared) if complex_A else shared
        steps = 2 * length if complex_A else length  # complex A: (real, imag) pairs along time
        if layout == "bnl":
            return array((batch, state, steps))
        return array((batch, layout, state, steps))

    A = -np.abs(array((dim, state)))
    args = dict(u=array((batch, dim, length)), delta=np.abs(array((batch, dim, length))),
                A=complex_of(A) if complex_A else A, B=parameter(), C=parameter(),
                D=array((dim,)) if draw(st.booleans()) else None,
                z=array((batch, dim, length)) if draw(st.booleans()) else None,
                delta_bias=array((dim,)) if draw(st.booleans()) else None)
    return args, draw(st.booleans())


@settings(max_examples=200, deadline=None)
@given(scan_inputs())
def test_fuzz_numpy_and_torch(drawn):
    """Finite output of the documented shape, or ValueError/TypeError -- the same from both."""
    args, softplus = drawn
    outcomes = []
    for call in (numpy_call, torch_call):
        try:
            out, last = call(args, delta_softplus=softplus, return_last_state=True)
        except (ValueError, TypeError) as error:
            outcomes.append(ValueError if isinstance(error, ValueError) else TypeError)
            continue
        out, last = np.asarray(out), np.asarray(last)
        assert out.shape == args["u"].shape and last.shape == (*args["u"].shape[:2], args["A"].shape[1])
        assert np.isfinite(out).all() and np.isfinite(last).all()
        outcomes.append(out)
    if isinstance(outcomes[0], np.ndarray):
        np.testing.assert_array_equal(outcomes[0], outcomes[1])
    else:
        assert outcomes[0] == outcomes[1]
