"""Pooling: the torch modules of affectkit.nn.pooling against per-sequence PyTorch
references (each sequence cut to its length, no masks; torch.std, nn.MultiheadAttention),
with gradients (gradcheck in float64); the core's ak.pooling functions against the torch
modules with the same weights.

Tolerances (float32, inputs of standard deviation 3): torch modules vs references and
core vs torch modules 1e-5 relative + 1e-5 absolute (the same sums in another order);
gradients vs the references' 1e-10 in float64; gradcheck at its float64 defaults.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")

import affectkit as ak  # noqa: E402
from affectkit.nn import AttentiveStatisticsPooling, FrameAttentionPooling, StatisticsPooling  # noqa: E402

EPS = 1e-12


def state_of(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def modules(dim, seed=0):
    torch.manual_seed(seed)
    attentive = AttentiveStatisticsPooling(dim, attention_dim=12)
    frame = FrameAttentionPooling(dim, num_heads=4)
    with torch.no_grad():
        frame.attention.in_proj_bias.normal_()  # non-zero biases, so that they matter
        frame.attention.out_proj.bias.normal_()
    return StatisticsPooling(), attentive, frame


# ------------------------------------------------------------ per-sequence references


def statistics_ref(x):
    """(frames, dim) -> (2 dim)."""
    return torch.cat([x.mean(0), x.var(0, unbiased=False).clamp(min=EPS).sqrt()])


def attentive_ref(module, x):
    alpha = torch.softmax(module.score(torch.tanh(module.projection(x)))[:, 0], dim=0)
    mean = (alpha[:, None] * x).sum(0)
    return torch.cat([mean, (alpha[:, None] * (x - mean) ** 2).sum(0).clamp(min=EPS).sqrt()])


def frame_ref(module, x):
    """nn.MultiheadAttention's functional form on one unpadded sequence (frames, 1, dim)."""
    a = module.attention
    h = torch.nn.functional.multi_head_attention_forward(
        x[:, None], x[:, None], x[:, None], x.shape[1], module.num_heads, a.in_proj_weight, a.in_proj_bias, None, None,
        False, 0.0, a.out_proj.weight, a.out_proj.bias, training=False, need_weights=False)[0][:, 0]
    alpha = torch.softmax(module.score(h)[:, 0], dim=0)
    return (alpha[:, None] * h).sum(0)


def references(pools, x, lengths):
    statistics, attentive, frame = pools
    cut = [x[b, :n] for b, n in enumerate(lengths.tolist())]
    return (torch.stack([statistics_ref(c) for c in cut]), torch.stack([attentive_ref(attentive, c) for c in cut]),
            torch.stack([frame_ref(frame, c) for c in cut]))


def core(pools, x, lengths, num_threads=None):
    _, attentive, frame = pools
    x, lengths = x.detach().numpy(), None if lengths is None else lengths.numpy()
    return (ak.pooling.statistics_pooling(x, lengths, num_threads=num_threads),
            ak.pooling.attentive_statistics_pooling(x, state_of(attentive), lengths, num_threads=num_threads),
            ak.pooling.frame_attention_pooling(x, state_of(frame), lengths, num_heads=4, num_threads=num_threads))


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 4), frames=st.integers(1, 90), dim=st.sampled_from([4, 8, 20, 64]), data=st.data())
def test_modules_match_references_and_core_matches_modules(batch, frames, dim, data):
    lengths = torch.tensor(data.draw(st.lists(st.integers(1, frames), min_size=batch, max_size=batch)))
    x = 3 * torch.randn(batch, frames, dim, generator=torch.Generator().manual_seed(frames))
    pools = modules(dim, seed=batch)
    with torch.no_grad():
        got = [pool(x, lengths) for pool in pools]
        expected = references(pools, x, lengths)
    for module_out, reference_out, core_out, width in zip(got, expected, core(pools, x, lengths), (2, 2, 1)):
        assert module_out.shape == (batch, width * dim)
        torch.testing.assert_close(module_out, reference_out, rtol=1e-5, atol=1e-5)
        assert core_out.shape == (batch, width * dim) and core_out.dtype == np.float32
        np.testing.assert_allclose(core_out, module_out.numpy(), rtol=1e-5, atol=1e-5)


def test_no_lengths_means_every_frame():
    x = torch.randn(2, 30, 8)
    pools = modules(8)
    full = torch.tensor([30, 30])
    for a, b in zip(core(pools, x, None), core(pools, x, full)):
        np.testing.assert_array_equal(a, b)
    with torch.no_grad():
        for pool in pools:
            torch.testing.assert_close(pool(x), pool(x, full), rtol=0, atol=0)


def test_padding_never_changes_the_pooled_vectors():
    x = torch.randn(3, 50, 8)
    lengths = torch.tensor([50, 20, 1])
    pools = modules(8)
    before = core(pools, x, lengths)
    with torch.no_grad():
        before_torch = [pool(x, lengths) for pool in pools]
        for b, n in enumerate(lengths.tolist()):
            x[b, n:] = 1e4 * torch.randn(50 - n, 8)
        after_torch = [pool(x, lengths) for pool in pools]
    for a, b in zip(before, core(pools, x, lengths)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(before_torch, after_torch):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_thread_count_does_not_change_results():
    x = torch.randn(9, 200, 16)
    lengths = torch.randint(1, 201, (9,))
    pools = modules(16)
    for a, b in zip(core(pools, x, lengths, num_threads=1), core(pools, x, lengths, num_threads=2)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_gradcheck_with_padding(index):
    pool = modules(4, seed=3)[index].double()
    x = torch.randn(3, 7, 4, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([7, 4, 1])
    assert torch.autograd.gradcheck(lambda x: pool(x, lengths), (x,))
    params = [p for p in pool.parameters()]
    if params:
        assert torch.autograd.gradcheck(lambda *p: torch.func.functional_call(
            pool, dict(zip([n for n, _ in pool.named_parameters()], p)), (x.detach(), lengths)), tuple(
                p.detach().requires_grad_() for p in params))
    (grad,) = torch.autograd.grad(pool(x, lengths).square().sum(), (x,))
    assert not grad[1, 4:].any() and not grad[2, 1:].any() and grad[1, :4].any()


def test_gradients_match_the_references():
    pools = [p.double() for p in modules(8, seed=4)]
    x = torch.randn(2, 12, 8, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([12, 5])
    for pool, ref in zip(pools, references(pools, x, lengths)):
        leaves = [x, *pool.parameters()]
        got = torch.autograd.grad(pool(x, lengths).sin().sum(), leaves)
        expected = torch.autograd.grad(ref.sin().sum(), leaves)
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------ bad input

_X = np.random.default_rng(0).standard_normal((2, 10, 8)).astype(np.float32)
_POOLS = modules(8)
_CALLS = {
    "statistics": lambda x, lengths=None, state=None: ak.pooling.statistics_pooling(x, lengths),
    "attentive": lambda x, lengths=None, state=None: ak.pooling.attentive_statistics_pooling(
        x, state_of(_POOLS[1]) if state is None else state, lengths),
    "frame": lambda x, lengths=None, state=None: ak.pooling.frame_attention_pooling(
        x, state_of(_POOLS[2]) if state is None else state, lengths, num_heads=4),
}


@pytest.mark.parametrize("name", list(_CALLS))
@pytest.mark.parametrize("args, error, match", [
    ((_X.astype(np.float64),), TypeError, "'x'.*float32"),
    ((_X[0],), ValueError, "'x'"),
    ((np.where(_X > 1, np.inf, _X),), ValueError, "'x'.*finite"),
    ((_X, np.array([10, 0])), ValueError, "'lengths'.*no valid frame"),
    ((_X, np.array([10, 11])), ValueError, "'lengths'"),
    ((_X, np.array([[10, 1]])), ValueError, "'lengths'"),
    ((_X[:, :0],), ValueError, "no valid frame"),
])
def test_bad_input_names_the_argument(name, args, error, match):
    with pytest.raises(error, match=match):
        _CALLS[name](*args)


@pytest.mark.parametrize("name, state, match", [
    ("attentive", {}, "missing keys"),
    ("attentive", {**state_of(_POOLS[1]), "score.bias": np.zeros(1, np.float32)}, "unexpected keys \\['score.bias'\\]"),
    ("attentive", {**state_of(_POOLS[1]), "score.weight": np.zeros((1, 11), np.float32)}, "score.weight \\(1, 11\\)"),
    ("frame", {k: v for k, v in state_of(_POOLS[2]).items() if k != "score.weight"}, "missing keys \\['score.weight'\\]"),
    ("frame", {**state_of(_POOLS[2]), "attention.in_proj_bias": np.zeros(23, np.float32)}, "wrong shapes"),
])
def test_bad_state_dicts_list_the_keys(name, state, match):
    with pytest.raises(ValueError, match=match):
        _CALLS[name](_X, None, state)


def test_bad_parameters():
    with pytest.raises(ValueError, match="'num_heads'"):
        ak.pooling.frame_attention_pooling(_X, state_of(_POOLS[2]), num_heads=3)
    with pytest.raises(ValueError, match="'eps'"):
        ak.pooling.statistics_pooling(_X, eps=-1.0)
    with pytest.raises(ValueError, match="'lengths'"):
        _POOLS[0](torch.from_numpy(_X), torch.tensor([10, 0]))
    with pytest.raises(TypeError, match="'lengths'"):
        _POOLS[1](torch.from_numpy(_X), torch.tensor([10.0, 1.0]))
    with pytest.raises(ValueError, match="'features'"):
        _POOLS[2](torch.from_numpy(_X[0]))


@pytest.mark.parametrize("name", list(_CALLS))
@settings(max_examples=200, deadline=None)
@given(batch=st.integers(0, 3), frames=st.integers(0, 12), dim=st.sampled_from([7, 8]),
       dtype=st.sampled_from([np.float32, np.float64]), lengths=st.one_of(st.none(), st.lists(
           st.integers(-1, 13), min_size=0, max_size=4)), fill=st.sampled_from([None, np.nan, -np.inf, 1e30]))
def test_fuzz_result_or_clear_error(name, batch, frames, dim, dtype, lengths, fill):
    x = np.random.default_rng(frames).standard_normal((batch, frames, dim)).astype(dtype)
    if fill is not None and x.size:
        x.flat[-1] = fill
    try:
        out = _CALLS[name](x, None if lengths is None else np.array(lengths, dtype=np.int64))
    except (ValueError, TypeError):
        return
    assert out.shape == (batch, (1 if name == "frame" else 2) * dim) and out.dtype == np.float32
    assert np.isfinite(out).all()


@pytest.mark.parametrize("index", [0, 1, 2])
@settings(max_examples=200, deadline=None)
@given(batch=st.integers(0, 3), frames=st.integers(0, 12), dim=st.sampled_from([7, 8]),
       dtype=st.sampled_from([torch.float32, torch.float64, torch.int32]), lengths=st.one_of(st.none(), st.lists(
           st.integers(-1, 13), min_size=0, max_size=4)), length_dtype=st.sampled_from([torch.int64, torch.float32]))
def test_fuzz_modules_result_or_clear_error(index, batch, frames, dim, dtype, lengths, length_dtype):
    """Finite inputs (torch modules propagate NaN as torch's layers do)."""
    x = torch.randn(batch, frames, dim).to(dtype)
    try:
        with torch.no_grad():
            out = _POOLS[index](x, None if lengths is None else torch.tensor(lengths, dtype=length_dtype))
    except (ValueError, TypeError):
        return
    assert out.shape == (batch, (1 if index == 2 else 2) * dim) and torch.isfinite(out).all()
