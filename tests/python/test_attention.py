"""ak.TransformerEncoderInference (the C++ core) against torch.nn.TransformerEncoder with
the same weights in eval mode, and against affectkit.nn.AttentionEncoder (PyTorch's
scaled-dot-product attention) for the input projection, positional embeddings and final
norm that torch's encoder lacks.

Tolerance: float32, max abs error <= 1e-4 on every valid (unpadded) frame (the issue's
bound; observed errors are ~1e-6). Padded frames of the core's output are zero, and
padding never changes a valid frame: the core removes padded frames before the layers,
so their values are compared bit for bit.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

torch = pytest.importorskip("torch")

import affectkit as ak  # noqa: E402
from affectkit.nn import AttentionEncoder, FrameEncoder  # noqa: E402

ATOL = 1e-4


def torch_encoder(d_model, num_heads, dim_feedforward, num_layers, norm_first, activation, final_norm, seed=0):
    torch.manual_seed(seed)
    layer = torch.nn.TransformerEncoderLayer(d_model, num_heads, dim_feedforward, dropout=0.0, activation=activation,
                                             batch_first=True, norm_first=norm_first)
    norm = torch.nn.LayerNorm(d_model) if final_norm else None
    encoder = torch.nn.TransformerEncoder(layer, num_layers, norm=norm, enable_nested_tensor=False).eval()
    with torch.no_grad():  # non-trivial biases and norms, so that every parameter matters
        for p in encoder.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    return encoder


def state_of(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def masked(lengths, frames):
    return np.arange(frames)[None, :] >= np.asarray(lengths)[:, None]


def compare_with_torch(encoder, x, lengths, num_heads, norm_first, activation):
    core = ak.TransformerEncoderInference(state_of(encoder), num_heads=num_heads, norm_first=norm_first,
                                          activation=activation)
    out, out_lengths = core(x, lengths)
    mask = masked(lengths, x.shape[1])
    with torch.no_grad():
        expected = encoder(torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(mask)).numpy()
    assert out.shape == x.shape[:2] + (core.d_model,) and out.dtype == np.float32
    np.testing.assert_array_equal(out_lengths, lengths)
    assert np.abs(out - expected)[~mask].max() <= ATOL
    assert not out[mask].any()
    return out


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("final_norm", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_matches_torch_transformer_encoder(norm_first, activation, final_norm, padded):
    encoder = torch_encoder(64, 4, 128, 3, norm_first, activation, final_norm)
    x = np.random.default_rng(1).standard_normal((4, 150, 64)).astype(np.float32)
    lengths = np.array([150, 97, 64, 1]) if padded else np.full(4, 150)
    compare_with_torch(encoder, x, lengths, 4, norm_first, activation)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_shapes_match_torch(data):
    num_heads = data.draw(st.sampled_from([1, 2, 3, 4, 8]), "num_heads")
    d_model = num_heads * data.draw(st.integers(1, 16), "head_dim")
    batch = data.draw(st.integers(1, 4), "batch")
    frames = data.draw(st.integers(1, 140), "frames")
    lengths = np.array(data.draw(st.lists(st.integers(1, frames), min_size=batch, max_size=batch), "lengths"))
    norm_first = data.draw(st.booleans(), "norm_first")
    activation = data.draw(st.sampled_from(["relu", "gelu"]), "activation")
    encoder = torch_encoder(d_model, num_heads, data.draw(st.integers(1, 96), "dim_feedforward"),
                            data.draw(st.integers(1, 3), "num_layers"), norm_first, activation,
                            data.draw(st.booleans(), "final_norm"), seed=frames)
    x = (data.draw(st.floats(0.1, 10), "scale")
         * np.random.default_rng(frames).standard_normal((batch, frames, d_model))).astype(np.float32)
    compare_with_torch(encoder, x, lengths, num_heads, norm_first, activation)


def test_any_key_padding_mask_matches_torch():
    """Padding anywhere (not only at the end), given as a boolean mask."""
    encoder = torch_encoder(32, 4, 64, 2, True, "gelu", False)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 60, 32)).astype(np.float32)
    mask = rng.random((3, 60)) < 0.4
    mask[:, 0] = False  # at least one valid frame per sequence
    core = ak.TransformerEncoderInference(state_of(encoder), num_heads=4, norm_first=True, activation="gelu")
    out, lengths = core(x, key_padding_mask=mask)
    with torch.no_grad():
        expected = encoder(torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(mask)).numpy()
    assert np.abs(out - expected)[~mask].max() <= ATOL
    assert not out[mask].any()
    np.testing.assert_array_equal(lengths, (~mask).sum(1))


def test_padding_never_changes_valid_frames():
    encoder = torch_encoder(32, 2, 64, 2, False, "relu", False)
    core = ak.TransformerEncoderInference(state_of(encoder), num_heads=2)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 80, 32)).astype(np.float32)
    lengths = np.array([80, 41, 7])
    first, _ = core(x, lengths)
    for b, n in enumerate(lengths):
        x[b, n:] = 1e6 * rng.standard_normal((80 - n, 32))
    second, _ = core(x, lengths)
    np.testing.assert_array_equal(first, second)
    # Each sequence alone, without padding, gives its frames of the batch.
    for b, n in enumerate(lengths):
        alone, _ = core(x[b : b + 1, :n])
        np.testing.assert_allclose(alone[0], first[b, :n], rtol=0, atol=1e-5)


def test_empty_sequences_and_batches_give_zeros():
    core = ak.TransformerEncoderInference(state_of(torch_encoder(16, 2, 32, 1, False, "relu", False)), num_heads=2)
    x = np.ones((2, 5, 16), np.float32)
    out, _ = core(x, np.array([0, 5]))
    assert not out[0].any() and np.isfinite(out).all() and out[1].any()
    assert core(np.zeros((0, 5, 16), np.float32))[0].shape == (0, 5, 16)
    assert core(np.zeros((2, 0, 16), np.float32))[0].shape == (2, 0, 16)


def test_thread_count_does_not_change_results():
    core = ak.TransformerEncoderInference(state_of(torch_encoder(64, 4, 256, 2, True, "gelu", True)), num_heads=4,
                                          norm_first=True, activation="gelu")
    x = np.random.default_rng(4).standard_normal((5, 300, 64)).astype(np.float32)
    lengths = np.array([300, 250, 3, 299, 128])
    np.testing.assert_array_equal(core(x, lengths, num_threads=1)[0], core(x, lengths, num_threads=2)[0])


# ------------------------------------------------------------ affectkit.nn.AttentionEncoder


@pytest.mark.parametrize("positional", ["none", "sinusoidal", "learned"])
@pytest.mark.parametrize("norm_first, final_norm", [(False, False), (True, True)])
@pytest.mark.parametrize("input_dim", [None, 40])
def test_attention_encoder_runs_in_the_core(positional, norm_first, final_norm, input_dim):
    torch.manual_seed(5)
    model = AttentionEncoder(d_model=32, num_heads=4, num_layers=2, dim_feedforward=64, activation="gelu",
                             norm_first=norm_first, input_dim=input_dim, positional=positional, max_frames=200,
                             final_norm=final_norm).eval()
    x = torch.randn(3, 120, input_dim or 32)
    lengths = torch.tensor([120, 60, 1])
    with torch.no_grad():
        expected, expected_lengths = model(x, lengths)
    out, out_lengths = model.to_inference()(x.numpy(), lengths.numpy())
    assert np.abs(out - expected.numpy()).max() <= ATOL
    np.testing.assert_array_equal(out_lengths, expected_lengths.numpy())
    assert not expected.numpy()[masked(lengths, 120)].any()


@pytest.mark.parametrize("norm_first", [False, True])
def test_attention_encoder_loads_torch_encoder_weights(norm_first):
    """Same parameter names as torch.nn.TransformerEncoder: its state dict loads
    (strictly) and gives its outputs on the valid frames."""
    reference = torch_encoder(32, 4, 64, 2, norm_first, "relu", True)
    model = AttentionEncoder(d_model=32, num_heads=4, num_layers=2, dim_feedforward=64, norm_first=norm_first,
                             positional="none", final_norm=True).eval()
    model.load_state_dict(reference.state_dict())
    x = torch.randn(2, 50, 32)
    lengths = torch.tensor([50, 33])
    with torch.no_grad():
        out, _ = model(x, lengths)
        expected = reference(x, src_key_padding_mask=torch.arange(50)[None] >= lengths[:, None])
    valid = ~torch.from_numpy(masked(lengths, 50))
    torch.testing.assert_close(out[valid], expected[valid], rtol=1e-5, atol=1e-5)


def test_attention_encoder_follows_the_protocol_and_trains():
    model = AttentionEncoder(d_model=16, num_heads=2, num_layers=1, dim_feedforward=32, input_dim=8)
    assert isinstance(model, FrameEncoder)
    x = torch.randn(2, 10, 8)
    out, lengths = model(x)
    assert out.shape == (2, 10, 16) and lengths.tolist() == [10, 10]
    out.square().sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_attention_encoder_gradcheck():
    torch.manual_seed(6)
    model = AttentionEncoder(d_model=8, num_heads=2, num_layers=1, dim_feedforward=8, dropout=0.0,
                             norm_first=True, input_dim=4, positional="learned", max_frames=6,
                             final_norm=True).double().eval()
    x = torch.randn(2, 6, 4, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([6, 3])
    assert torch.autograd.gradcheck(lambda x: model(x, lengths)[0], (x,))
    # Padded frames receive no gradient.
    (grad,) = torch.autograd.grad(model(x, lengths)[0].sum(), (x,))
    assert not grad[1, 3:].any() and grad[1, :3].any()


# ------------------------------------------------------------ bad input


def small_state():
    return state_of(torch_encoder(16, 2, 32, 2, False, "relu", False))


def test_state_dict_errors_list_missing_unexpected_and_wrong_shapes():
    state = small_state()
    del state["layers.1.linear2.bias"]
    del state["layers.0.norm1.weight"]
    state["layers.0.extra"] = np.zeros(3, np.float32)
    state["layers.1.self_attn.out_proj.weight"] = np.zeros((16, 15), np.float32)
    with pytest.raises(ValueError, match="'state_dict'") as error:
        ak.TransformerEncoderInference(state, num_heads=2)
    message = str(error.value)
    for fragment in ("missing keys", "layers.1.linear2.bias", "layers.0.norm1.weight", "unexpected keys",
                     "layers.0.extra", "wrong shapes", "layers.1.self_attn.out_proj.weight (16, 15)"):
        assert fragment in message


@pytest.mark.parametrize("change, error, match", [
    (lambda s: {}, ValueError, "no encoder weights"),
    (lambda s: {**s, "positional.weight": np.zeros((10, 16), np.float32)}, ValueError, "unexpected keys"),
    (lambda s: {**s, "layers.0.linear1.bias": np.zeros(32, np.int64)}, TypeError, "floating point"),
    (lambda s: {**s, "layers.0.linear1.bias": np.full(32, np.nan, np.float32)}, ValueError, "NaN"),
    (lambda s: [1, 2], TypeError, "mapping"),
])
def test_bad_state_dicts(change, error, match):
    with pytest.raises(error, match=match):
        ak.TransformerEncoderInference(change(small_state()), num_heads=2)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(num_heads=3), ValueError, "num_heads"),
    (dict(num_heads=0), ValueError, "num_heads"),
    (dict(num_heads=2, activation="tanh"), ValueError, "activation"),
    (dict(num_heads=2, positional="rotary"), ValueError, "positional"),
    (dict(num_heads=2, positional="learned"), ValueError, "missing keys \\['positional.weight'\\]"),
    (dict(num_heads=2, layer_norm_eps=0.0), ValueError, "norm1"),
    (dict(num_heads=2.0), TypeError, "num_heads"),
])
def test_bad_configurations(kwargs, error, match):
    with pytest.raises(error, match=match):
        ak.TransformerEncoderInference(small_state(), **kwargs)


@pytest.mark.parametrize("call, error, match", [
    (lambda e, x: e(x.astype(np.float64)), TypeError, "'features'.*float32"),
    (lambda e, x: e(x[..., :15]), ValueError, "'features'.*16 features"),
    (lambda e, x: e(x[0]), ValueError, "'features'"),
    (lambda e, x: e(np.where(x > 1, np.nan, x)), ValueError, "'features'.*finite"),
    (lambda e, x: e(x, np.array([5, 11])), ValueError, "'lengths'"),
    (lambda e, x: e(x, np.array([5])), ValueError, "'lengths'"),
    (lambda e, x: e(x, np.array([5.0, 1.0])), TypeError, "'lengths'"),
    (lambda e, x: e(x, key_padding_mask=np.zeros((2, 9), bool)), ValueError, "'key_padding_mask'.*\\(2, 10\\)"),
    (lambda e, x: e(x, key_padding_mask=np.zeros((2, 10), np.int8)), TypeError, "'key_padding_mask'"),
    (lambda e, x: e(x, np.array([5, 1]), key_padding_mask=np.zeros((2, 10), bool)), ValueError, "not both"),
    (lambda e, x: e(x, num_threads=0), ValueError, "'num_threads'"),
])
def test_bad_features_lengths_and_masks(call, error, match):
    encoder = ak.TransformerEncoderInference(small_state(), num_heads=2)
    x = np.random.default_rng(7).standard_normal((2, 10, 16)).astype(np.float32)
    with pytest.raises(error, match=match):
        call(encoder, x)


def test_learned_positions_limit_the_frames():
    model = AttentionEncoder(d_model=16, num_heads=2, num_layers=1, dim_feedforward=16, positional="learned",
                             max_frames=8)
    with pytest.raises(ValueError, match="'features'.*learned"):
        model.to_inference()(np.zeros((1, 9, 16), np.float32))
    with pytest.raises(ValueError, match="'features'.*learned"):
        model(torch.zeros(1, 9, 16))


@settings(max_examples=200, deadline=None)
@given(batch=st.integers(0, 3), frames=st.integers(0, 12), dim=st.sampled_from([15, 16, 17]),
       dtype=st.sampled_from([np.float32, np.float64, np.int32]), lengths=st.one_of(st.none(), st.lists(
           st.integers(-2, 14), min_size=0, max_size=4)), fill=st.sampled_from([0.0, 1.0, np.nan, np.inf, 1e30]))
def test_fuzz_encoder_result_or_clear_error(batch, frames, dim, dtype, lengths, fill):
    encoder = _FUZZ_ENCODER
    x = np.random.default_rng(batch * 100 + frames).standard_normal((batch, frames, dim)).astype(dtype)
    if x.size and fill != 0.0 and dtype != np.int32:
        x.flat[0] = fill
    try:
        out, out_lengths = encoder(x, None if lengths is None else np.array(lengths, dtype=np.int64))
    except (ValueError, TypeError):
        return
    assert out.shape == (batch, frames, 16) and out.dtype == np.float32 and np.isfinite(out).all()
    assert out_lengths.shape == (batch,)


_FUZZ_ENCODER = ak.TransformerEncoderInference(small_state(), num_heads=2)


_FUZZ_MODULE = AttentionEncoder(d_model=16, num_heads=2, num_layers=1, dim_feedforward=16, input_dim=8,
                                positional="learned", max_frames=10).eval()


@settings(max_examples=200, deadline=None)
@given(batch=st.integers(0, 3), frames=st.integers(0, 12), dim=st.sampled_from([7, 8]),
       dtype=st.sampled_from([torch.float32, torch.float64, torch.int32]), lengths=st.one_of(st.none(), st.lists(
           st.integers(-1, 13), min_size=0, max_size=4)), length_dtype=st.sampled_from([torch.int64, torch.float32]))
def test_fuzz_attention_encoder_module_result_or_clear_error(batch, frames, dim, dtype, lengths, length_dtype):
    """Finite inputs (torch modules propagate NaN as torch's layers do)."""
    x = torch.randn(batch, frames, dim).to(dtype)
    try:
        with torch.no_grad():
            out, out_lengths = _FUZZ_MODULE(x, None if lengths is None else torch.tensor(lengths, dtype=length_dtype))
    except (ValueError, TypeError):
        return
    assert out.shape == (batch, frames, 16) and torch.isfinite(out).all() and out_lengths.shape == (batch,)


def test_strided_and_big_endian_features_give_the_contiguous_result():
    core = ak.TransformerEncoderInference(small_state(), num_heads=2)
    x = np.random.default_rng(8).standard_normal((2, 12, 16)).astype(np.float32)
    expected, _ = core(x, np.array([12, 5]))
    strided = np.ascontiguousarray(x.transpose(1, 0, 2)).transpose(1, 0, 2)
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(core(strided, np.array([12, 5]))[0], expected)
    np.testing.assert_array_equal(core(x.astype(">f4"), np.array([12, 5]))[0], expected)
