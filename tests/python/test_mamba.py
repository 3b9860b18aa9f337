"""affectkit.nn.Mamba and MambaEncoder against Hugging Face transformers' MambaModel
(its PyTorch path; same weights) and against a plain-PyTorch reference of the block
(causal_conv1d_ref + selective_scan_ref), run on each sequence alone to check
padding and the bidirectional reversal.

Tolerances: float32 vs Hugging Face 1e-4 (rtol and atol, hidden states of every
layer) and 1e-3 for parameter gradients (rtol; atol 1e-3 x the largest
gradient); float64 vs the reference 1e-10.
"""

import math

import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

from reference import causal_conv1d_ref  # noqa: E402

from affectkit.nn import FrameEncoder, Mamba, MambaEncoder  # noqa: E402
from affectkit.nn.functional import selective_scan_ref  # noqa: E402


def randomise(module, seed=0):
    """Every parameter drawn at random (so that no parameter hides behind its
    initial value), with A_log and dt_proj.bias at Mamba's scales."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            values = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if name.endswith("A_log") or name.endswith("A_b_log"):
                values = values * 0.5 + 1.0
            elif name.endswith("dt_proj.bias") or name.endswith("dt_proj_b.bias"):
                values = values * 0.5 - 3.0
            elif name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                values = 1.0 + 0.1 * values
            else:
                values = values / math.sqrt(max(p.shape[-1], 1))
            p.copy_(values.to(p.dtype))
    return module


def hf_model(hidden_size=32, state_size=8, layers=2, expand=2, conv_kernel=4, dt_rank="auto"):
    transformers = pytest.importorskip("transformers")
    config = transformers.MambaConfig(vocab_size=11, hidden_size=hidden_size, state_size=state_size,
                                      num_hidden_layers=layers, expand=expand, conv_kernel=conv_kernel,
                                      time_step_rank=dt_rank, layer_norm_epsilon=1e-5, use_cache=False)
    return randomise(transformers.MambaModel(config).eval())


@pytest.mark.parametrize("config", [dict(), dict(hidden_size=24, state_size=16, layers=3, expand=1, conv_kernel=3),
                                    dict(hidden_size=40, state_size=4, layers=1, dt_rank=5)])
def test_matches_hugging_face_mamba_model(config):
    hf = hf_model(**config)
    hf_config = hf.config
    encoder = MambaEncoder(hf_config.hidden_size, hf_config.num_hidden_layers, d_state=hf_config.state_size,
                           d_conv=hf_config.conv_kernel, expand=hf_config.expand,
                           dt_rank=hf_config.time_step_rank).eval()
    encoder.load_state_dict(hf.state_dict())  # strict: every key matched, none renamed
    x = torch.randn(3, 70, hf_config.hidden_size, generator=torch.Generator().manual_seed(1))
    expected = hf(inputs_embeds=x, output_hidden_states=True).hidden_states
    got = []
    h = x
    for layer in encoder.layers:
        h = layer(h, None)
        got.append(h)
    final, _ = encoder(x)
    assert len(expected) == len(got) + 1  # HF: every layer's output, then norm_f of the last
    for e, g in zip(expected[:-1], got):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(final, expected[-1], rtol=1e-4, atol=1e-4)

    grad_out = torch.randn(final.shape, generator=torch.Generator().manual_seed(2))
    ours = dict(encoder.named_parameters())
    theirs = dict(hf.named_parameters())
    assert set(theirs) - set(ours) == {"embeddings.weight"}
    names = list(ours)
    hf_grads = torch.autograd.grad((hf(inputs_embeds=x).last_hidden_state * grad_out).sum(),
                                   [theirs[n] for n in names])
    our_grads = torch.autograd.grad((encoder(x)[0] * grad_out).sum(), [ours[n] for n in names])
    for name, g, e in zip(names, our_grads, hf_grads):
        torch.testing.assert_close(g, e, rtol=1e-3, atol=1e-3 * float(e.abs().max()), msg=lambda m, n=name: f"{n}: {m}")


def test_loads_causal_lm_and_mamba_ssm_layouts():
    """MambaForCausalLM (backbone. prefix, lm_head) and mamba-ssm's MambaLMHeadModel
    key layout (backbone.embedding, backbone.layers.{i}.mixer/norm, backbone.norm_f,
    lm_head) load without renaming by the user."""
    transformers = pytest.importorskip("transformers")
    hf = hf_model()
    lm = transformers.MambaForCausalLM(hf.config)
    lm.backbone.load_state_dict(hf.state_dict())
    encoder = MambaEncoder(32, 2, d_state=8)
    encoder.load_state_dict(lm.state_dict())
    mamba_ssm_layout = {("backbone.embedding.weight" if k == "embeddings.weight" else "backbone." + k): v
                        for k, v in hf.state_dict().items()}
    mamba_ssm_layout["lm_head.weight"] = torch.zeros(11, 32)
    other = MambaEncoder(32, 2, d_state=8)
    other.load_state_dict(mamba_ssm_layout)
    x = torch.randn(2, 20, 32)
    with torch.no_grad():
        expected = hf(inputs_embeds=x).last_hidden_state
        torch.testing.assert_close(encoder(x)[0], expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(other(x)[0], expected, rtol=1e-4, atol=1e-4)
    assert "layers.0.norm.bias" in MambaEncoder(32, 1, norm="layer").state_dict()  # mamba-ssm, rms_norm=False


def reference_mixer(mixer, x):
    """One sequence x (length, d_model) through the block in plain PyTorch."""
    u, z = (x @ mixer.in_proj.weight.T).T.chunk(2, dim=0)  # (d_inner, length) each

    def direction(u, z, suffix):
        conv = getattr(mixer, "conv1d" + suffix)
        u = causal_conv1d_ref(u[None], conv.weight[:, 0], conv.bias, "silu")[0]
        dt, B, C = (u.T @ getattr(mixer, "x_proj" + suffix).weight.T).split(
            [mixer.dt_rank, mixer.d_state, mixer.d_state], dim=-1)
        dt_proj = getattr(mixer, "dt_proj" + suffix)
        A_log = getattr(mixer, "A_log" if not suffix else "A_b_log")
        return selective_scan_ref(u[None], (dt @ dt_proj.weight.T).T[None], -torch.exp(A_log), B.T[None], C.T[None],
                                  getattr(mixer, "D" + suffix), z[None], dt_proj.bias, True)[0]

    y = direction(u, z, "")
    if mixer.bidirectional:
        y_b = direction(u.flip(-1), z.flip(-1), "_b").flip(-1)
        y = {"sum": y + y_b, "mean": (y + y_b) / 2, "concat": torch.cat([y, y_b], 0)}[mixer.bidirectional_combine]
    return y.T @ mixer.out_proj.weight.T


@pytest.mark.parametrize("bidirectional, combine", [(False, "sum"), (True, "sum"), (True, "mean"), (True, "concat")])
@pytest.mark.parametrize("norm", ["rms", "layer"])
def test_encoder_with_lengths_matches_each_sequence_alone(bidirectional, combine, norm):
    torch.manual_seed(0)
    encoder = randomise(MambaEncoder(16, 2, input_dim=12, norm=norm, d_state=4, bidirectional=bidirectional,
                                     bidirectional_combine=combine, dtype=torch.float64), seed=3)
    lengths = torch.tensor([40, 17, 0, 33])
    x = torch.randn(4, 40, 12, dtype=torch.float64)
    x[1, 17:] = 1e3  # padding must not leak into valid frames
    out, out_lengths = encoder(x, lengths)
    assert out.shape == (4, 40, 16) and torch.equal(out_lengths, lengths)
    assert isinstance(encoder, FrameEncoder)  # the protocol shared with AttentionEncoder
    assert torch.equal(encoder(x)[1], torch.full((4,), 40))  # no lengths: every frame counts
    assert not out[2].any()  # length 0: every frame is padding
    for b, n in [(0, 40), (1, 17), (3, 33)]:
        h = encoder.input_proj(x[b, :n])
        for layer in encoder.layers:
            h = h + reference_mixer(layer.mixer, layer.norm(h))
        torch.testing.assert_close(out[b, :n], encoder.norm_f(h), rtol=1e-10, atol=1e-10)
        assert not out[b, n:].any()


def test_published_initialisation():
    torch.manual_seed(0)
    mixer = Mamba(64, d_state=16, dt_min=0.001, dt_max=0.1)
    assert mixer.dt_rank == 4 and mixer.d_inner == 128
    torch.testing.assert_close(mixer.A_log, torch.log(torch.arange(1.0, 17.0)).repeat(128, 1))
    torch.testing.assert_close(mixer.D, torch.ones(128))
    dt = F.softplus(mixer.dt_proj.bias)
    assert dt.min() >= 0.001 * (1 - 1e-5) and dt.max() <= 0.1 * (1 + 1e-5)
    assert mixer.dt_proj.weight.abs().max() <= 4**-0.5
    assert mixer.in_proj.bias is None and mixer.conv1d.bias is not None
    encoder = MambaEncoder(64, 4)
    assert all(float(layer.mixer.out_proj.weight.detach().abs().max()) <= 1 / math.sqrt(128) / 2 + 1e-7
               for layer in encoder.layers)  # kaiming bound 1/sqrt(d_inner), then / sqrt(n_layer)
    names = dict(Mamba(8, bidirectional=True).named_parameters())
    assert {"conv1d_b.weight", "x_proj_b.weight", "dt_proj_b.bias", "A_b_log", "D_b"} <= set(names)


def test_gradcheck_block_float64():
    torch.manual_seed(0)
    mixer = randomise(Mamba(4, d_state=3, d_conv=2, bidirectional=True, dtype=torch.float64))
    x = torch.randn(2, 6, 4, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([6, 4])
    assert torch.autograd.gradcheck(lambda x: mixer(x, lengths), (x,))


def test_no_grad_and_inference_mode():
    encoder = MambaEncoder(8, 1, d_state=4)
    x = torch.randn(2, 10, 8)
    expected = encoder(x)[0].detach()
    with torch.no_grad():
        assert not encoder(x)[0].requires_grad
    with torch.inference_mode():
        torch.testing.assert_close(encoder(x)[0], expected, rtol=0, atol=0)


def test_bad_input_names_the_argument():
    encoder = MambaEncoder(8, 1, input_dim=5, d_state=4)
    with pytest.raises(ValueError, match="'features'"):
        encoder(torch.randn(2, 10, 8))
    x = torch.randn(2, 10, 5)
    torch.testing.assert_close(encoder(x, torch.tensor([1, 2], dtype=torch.int32))[0],
                               encoder(x, torch.tensor([1, 2]))[0])  # any integer dtype, as AttentionEncoder
    with pytest.raises(TypeError, match="'lengths'"):
        encoder(x, torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="'lengths'"):
        encoder(x, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="'lengths'"):
        encoder(torch.randn(2, 10, 5), torch.tensor([1, 11]))
    with pytest.raises(ValueError, match="'hidden_states'"):
        Mamba(8)(torch.randn(10, 8))
    with pytest.raises(TypeError, match="'features'"):
        encoder(torch.randn(2, 10, 5, dtype=torch.float64))
    with pytest.raises(TypeError, match="'hidden_states'"):
        Mamba(8)(torch.randn(2, 10, 8, dtype=torch.float16))
    for kwargs, argument in [(dict(d_state=0), "d_state"), (dict(dt_rank=0), "dt_rank"), (dict(dt_init="x"), "dt_init"),
                             (dict(bidirectional_combine="max"), "bidirectional_combine"), (dict(dt_min=1.0), "dt_min")]:
        with pytest.raises(ValueError, match=f"'{argument}'"):
            Mamba(8, **kwargs)
    with pytest.raises(ValueError, match="'norm'"):
        MambaEncoder(8, 1, norm="batch")


@settings(max_examples=200, deadline=None)
@given(batch=st.integers(0, 3), frames=st.integers(0, 12), input_dim=st.integers(1, 6),
       bidirectional=st.booleans(), combine=st.sampled_from(["sum", "mean", "concat"]),
       lengths=st.lists(st.integers(-1, 13), min_size=0, max_size=4), scale=st.sampled_from([0.0, 1.0, 1e3]))
def test_fuzz_encoder(batch, frames, input_dim, bidirectional, combine, lengths, scale):
    """A finite (batch, frames, d_model) result, or ValueError/TypeError."""
    torch.manual_seed(0)
    encoder = MambaEncoder(6, 1, input_dim=input_dim, d_state=3, bidirectional=bidirectional,
                           bidirectional_combine=combine)
    lengths_tensor = torch.tensor(lengths, dtype=torch.int64) if lengths else None
    try:
        out, _ = encoder(scale * torch.randn(batch, frames, input_dim), lengths_tensor)
    except (ValueError, TypeError):
        return
    assert out.shape == (batch, frames, 6) and torch.isfinite(out).all()


# ---------------------------------------------------------------- core inference (numpy)

import numpy as np  # noqa: E402

import affectkit as ak  # noqa: E402


def encoder_and_input(dtype=torch.float64, norm="rms", input_dim=None, seed=0):
    torch.manual_seed(seed)
    encoder = randomise(MambaEncoder(24, 3, input_dim=input_dim, norm=norm, d_state=6, d_conv=4, dtype=dtype), seed)
    x = torch.randn(3, 45, input_dim or 24, dtype=dtype)
    with torch.no_grad():
        expected = encoder(x)[0].numpy()
    return encoder, x.numpy(), expected


@pytest.mark.parametrize("norm, input_dim", [("rms", None), ("layer", 10)])
def test_stack_matches_encoder(norm, input_dim):
    encoder, x, expected = encoder_and_input(norm=norm, input_dim=input_dim)
    stack = ak.MambaStack(encoder.state_dict())
    np.testing.assert_allclose(stack(x), expected, rtol=1e-10, atol=1e-10)
    encoder32, x32, expected32 = encoder_and_input(torch.float32, norm, input_dim)
    out32 = ak.MambaStack(encoder32.state_dict())(x32)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, expected32, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("combine", ["sum", "mean", "concat"])
@pytest.mark.parametrize("norm, input_dim", [("rms", None), ("layer", 10)])
def test_bidirectional_stack_matches_encoder(combine, norm, input_dim):
    """The core's bidirectional stack against the bidirectional MambaEncoder (no
    lengths: whole sequences), float64 to 1e-10 and float32 to 1e-4."""
    for dtype, tolerance in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
        encoder = randomise(MambaEncoder(24, 3, input_dim=input_dim, norm=norm, d_state=6, d_conv=4, bidirectional=True,
                                         bidirectional_combine=combine, dtype=dtype), seed=5)
        x = torch.randn(3, 45, input_dim or 24, dtype=dtype)
        with torch.no_grad():
            expected = encoder(x)[0].numpy()
        stack = ak.MambaStack(encoder.state_dict(), bidirectional_combine=combine)
        out, conv_state, ssm_state = stack.run(x.numpy())
        assert out.dtype == x.numpy().dtype and conv_state is None and ssm_state is None
        np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("bidirectional, combine", [(False, "sum"), (True, "sum"), (True, "mean"), (True, "concat")])
def test_stack_with_lengths_matches_each_sequence_alone(bidirectional, combine):
    """A padded batch with lengths: each sequence equals the stack run on it alone (the
    reversed scan starts at its own last frame), and MambaEncoder with the same
    lengths, float64 to 1e-10; padded frames are zero; a unidirectional stack's
    states are those after each sequence's last valid frame."""
    encoder = randomise(MambaEncoder(16, 2, input_dim=12, d_state=4, bidirectional=bidirectional,
                                     bidirectional_combine=combine, dtype=torch.float64), seed=4)
    stack = ak.MambaStack(encoder.state_dict(), bidirectional_combine=combine)
    lengths = np.array([40, 17, 0, 33])
    x = np.random.default_rng(1).standard_normal((4, 40, 12))
    x[1, 17:] = 1e3  # padding must not leak into valid frames
    out, conv_state, ssm_state = stack.run(x, lengths=lengths)
    assert out.shape == (4, 40, 16)
    with torch.no_grad():
        expected = encoder(torch.from_numpy(x), torch.from_numpy(lengths))[0].numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(stack(x, lengths), out)
    for b, n in enumerate(lengths):
        alone, alone_conv, alone_ssm = stack.run(x[b:b + 1, :n])
        np.testing.assert_allclose(out[b, :n], alone[0], rtol=1e-10, atol=1e-10)
        assert not out[b, n:].any()
        if not bidirectional:
            np.testing.assert_allclose(conv_state[b], alone_conv[0], rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(ssm_state[b], alone_ssm[0], rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(stack(x, np.full(4, 40)), stack(x))  # full lengths: no padding


def test_stack_bad_lengths_name_the_argument():
    stack = ak.MambaStack(MambaEncoder(8, 1, d_state=4, bidirectional=True, dtype=torch.float64).state_dict())
    x = np.zeros((2, 5, 8))
    with pytest.raises(TypeError, match="'lengths'"):
        stack(x, np.array([5.0, 3.0]))
    with pytest.raises(ValueError, match="'lengths'.*shape"):
        stack(x, np.array([5, 3, 1]))
    with pytest.raises(ValueError, match="'lengths'.*\\[0, frames = 5\\]"):
        stack(x, np.array([6, 3]))
    with pytest.raises(ValueError, match="'lengths'"):
        stack(x, np.array([-1, 3]))
    with pytest.raises(TypeError, match="'lengths'"):  # the core's own check, past the Python layer
        ak._core.mamba_stack(stack.weights, x, None, None, np.array([5, 3], dtype=np.int32), 1, 16, 4, 4, 1,
                             1e-5, "sum", 1)
    with pytest.raises(ValueError, match="'lengths'.*\\[0, frames = 5\\]"):
        ak._core.mamba_stack(stack.weights, x, None, None, np.array([5, 9]), 1, 16, 4, 4, 1, 1e-5, "sum", 1)


def test_bidirectional_stack_runs_whole_sequences_only():
    encoder = MambaEncoder(8, 1, d_state=4, bidirectional=True, dtype=torch.float64)
    stack = ak.MambaStack(encoder.state_dict())
    with pytest.raises(ValueError, match="'state_dict': a bidirectional stack cannot stream"):
        stack.stream()
    x = np.zeros((1, 5, 8))
    with pytest.raises(ValueError, match="'conv_state'.*whole sequences"):
        stack.run(x, np.zeros((1, 1, 16, 3)), np.zeros((1, 1, 16, 4)))
    with pytest.raises(ValueError, match="'bidirectional_combine'"):
        ak.MambaStack(encoder.state_dict(), bidirectional_combine="max")
    concat = MambaEncoder(8, 1, d_state=4, bidirectional=True, bidirectional_combine="concat", dtype=torch.float64)
    with pytest.raises(ValueError, match="out_proj.weight"):  # a concat state dict read as a sum
        ak.MambaStack(concat.state_dict())(x)


def test_stack_from_hugging_face_state_dicts():
    transformers = pytest.importorskip("transformers")
    hf = hf_model()
    lm = transformers.MambaForCausalLM(hf.config)
    lm.backbone.load_state_dict(hf.state_dict())
    x = torch.randn(2, 30, 32)
    with torch.no_grad():
        expected = hf(inputs_embeds=x).last_hidden_state.numpy()
    for state_dict in (hf.state_dict(), lm.state_dict()):
        np.testing.assert_allclose(ak.MambaStack(state_dict)(x.numpy()), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("chunks", [[1] * 45, [2] * 22 + [1], [3, 1, 7, 0, 20, 14], [45]])
def test_streaming_equals_full_sequence(chunks):
    """A frame (10 ms at 100 frames/s) or a few at a time, carrying conv and SSM state."""
    encoder, x, expected = encoder_and_input(norm="layer", input_dim=10)
    stack = ak.MambaStack(encoder.state_dict())
    full = stack(x)
    stream = stack.stream()
    starts = np.cumsum([0] + chunks)
    streamed = np.concatenate([stream(x[:, a:b]) for a, b in zip(starts[:-1], starts[1:])], axis=1)
    np.testing.assert_allclose(streamed, full, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(full, expected, rtol=1e-10, atol=1e-10)
    assert stream.conv_state.shape == (3, 3, 48, 3) and stream.ssm_state.shape == (3, 3, 48, 6)
    stream.reset()
    np.testing.assert_allclose(stream(x[:, :5]), full[:, :5], rtol=1e-12, atol=1e-12)


def test_stack_threads_do_not_change_results():
    encoder, x, _ = encoder_and_input()
    state_dict = encoder.state_dict()
    np.testing.assert_array_equal(ak.MambaStack(state_dict, num_threads=1)(x), ak.MambaStack(state_dict, num_threads=2)(x))


def test_stack_bad_input_names_the_argument():
    encoder, x, _ = encoder_and_input()
    state_dict = {k: v.numpy() for k, v in encoder.state_dict().items()}
    with pytest.raises(ValueError, match="'state_dict'"):
        ak.MambaStack({"norm_f.weight": np.ones(24)})
    missing = dict(state_dict)
    del missing["layers.1.mixer.D"]
    with pytest.raises(ValueError, match="'layers.1.mixer.D'"):
        ak.MambaStack(missing)(x)
    wrong = dict(state_dict, **{"layers.2.mixer.out_proj.weight": np.zeros((24, 47))})
    with pytest.raises(ValueError, match="'layers.2.mixer.out_proj.weight'"):
        ak.MambaStack(wrong)(x)
    nan = dict(state_dict, **{"layers.0.mixer.A_log": np.full((48, 6), np.nan)})
    with pytest.raises(ValueError, match="'layers.0.mixer.A_log'"):
        ak.MambaStack(nan)(x)
    stack = ak.MambaStack(state_dict)
    with pytest.raises(TypeError, match="'x'"):
        stack(x.astype(np.float32))
    with pytest.raises(ValueError, match="'x'"):
        stack(x[0])
    bad_x = x.copy()
    bad_x[0, 3, 1] = np.inf
    with pytest.raises(ValueError, match="'x'"):
        stack(bad_x)
    with pytest.raises(ValueError, match="'conv_state'"):
        stack.run(x, conv_state=np.zeros((3, 3, 48, 2)))
    stream = stack.stream()
    stream(x[:, :4])
    with pytest.raises(ValueError, match="'conv_state'"):
        stream(x[:2, 4:8])  # the batch changed mid-stream
    with pytest.raises(TypeError, match="'dtype'"):
        ak.MambaStack(state_dict, dtype=np.int32)


@settings(max_examples=200, deadline=None)
@given(batch=st.integers(0, 3), chunks=st.lists(st.integers(0, 6), min_size=1, max_size=4),
       d_model=st.sampled_from([3, 4]), x_scale=st.sampled_from([0.0, 1.0, 1e2]), dtype=st.sampled_from([np.float32, np.float64]))
def test_fuzz_stack_streams(batch, chunks, d_model, x_scale, dtype):
    """Finite outputs of the documented shapes (streamed == whole), or ValueError/TypeError."""
    torch.manual_seed(0)
    stack = ak.MambaStack(MambaEncoder(4, 2, d_state=2, d_conv=3).state_dict(), dtype=dtype)
    x = (x_scale * np.random.default_rng(0).standard_normal((batch, sum(chunks), d_model))).astype(dtype)
    try:
        full = stack(x)
    except (ValueError, TypeError):
        assert d_model != 4
        return
    assert full.shape == (batch, sum(chunks), 4) and np.isfinite(full).all()
    stream = stack.stream()
    starts = np.cumsum([0] + chunks)
    streamed = np.concatenate([stream(x[:, a:b]) for a, b in zip(starts[:-1], starts[1:])], axis=1)
    np.testing.assert_allclose(streamed, full, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-5)


@settings(max_examples=200, deadline=None)
@given(batch=st.integers(0, 3), frames=st.integers(0, 8), d_model=st.sampled_from([3, 4]),
       combine=st.sampled_from(["sum", "mean", "concat"]), x_scale=st.sampled_from([0.0, 1.0, 1e2]),
       dtype=st.sampled_from([np.float32, np.float64]),
       lengths=st.none() | st.lists(st.integers(0, 9), min_size=1, max_size=3))
def test_fuzz_bidirectional_stack(batch, frames, d_model, combine, x_scale, dtype, lengths):
    """Finite outputs of the documented shape, zero past the lengths, or ValueError/TypeError."""
    torch.manual_seed(0)
    encoder = MambaEncoder(4, 2, d_state=2, d_conv=3, bidirectional=True, bidirectional_combine=combine)
    stack = ak.MambaStack(encoder.state_dict(), bidirectional_combine=combine, dtype=dtype)
    x = (x_scale * np.random.default_rng(0).standard_normal((batch, frames, d_model))).astype(dtype)
    if lengths is not None:  # batch values, some maybe past frames
        lengths = np.array((lengths * (batch + 1))[:batch], dtype=np.int64)
    try:
        out = stack(x, lengths)
    except (ValueError, TypeError):
        assert d_model != 4 or (lengths is not None and (lengths > frames).any())
        return
    assert out.shape == (batch, frames, 4) and out.dtype == dtype and np.isfinite(out).all()
    for b in range(batch if lengths is not None else 0):
        assert not out[b, lengths[b]:].any()
