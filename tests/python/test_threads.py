"""Thread safety: Python threads calling the core concurrently (different functions,
different inputs, shared FFT plan cache and thread pool) get exactly the results of
serial calls; and the GIL is released while the core works, so another Python thread
makes progress during a long call."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import affectkit as ak

SR = 16000


def encoder_state(rng, d=32, ff=64, layers=2):
    """A torch.nn.TransformerEncoder state dict (the standard keys), as numpy arrays."""
    state = {}
    for i in range(layers):
        shapes = {"self_attn.in_proj_weight": (3 * d, d), "self_attn.in_proj_bias": (3 * d,),
                  "self_attn.out_proj.weight": (d, d), "self_attn.out_proj.bias": (d,),
                  "linear1.weight": (ff, d), "linear1.bias": (ff,), "linear2.weight": (d, ff), "linear2.bias": (d,),
                  "norm1.weight": (d,), "norm1.bias": (d,), "norm2.weight": (d,), "norm2.bias": (d,)}
        for key, shape in shapes.items():
            state[f"layers.{i}.{key}"] = (0.2 * rng.standard_normal(shape)).astype(np.float32)
    return state


def workloads():
    rng = np.random.default_rng(0)
    encoder = ak.TransformerEncoderInference(encoder_state(rng), num_heads=4)
    frames = rng.standard_normal((3, 50, 32)).astype(np.float32)
    lengths = np.array([50, 31, 7])
    clouds = rng.standard_normal((2, 40, 3)), rng.standard_normal((2, 60, 3))
    costs = np.stack([ak.ot.dist(x, z) for x, z in zip(*clouds)])
    logits = rng.standard_normal((300, 8, 5))
    voices = [ak.synthetic_voice(sr=SR, duration=1.0 + 0.1 * i, f0=(100 + 20 * i, 180), snr_db=20, seed=i).y
              for i in range(4)]
    noise = [rng.standard_normal(int(SR * s)).astype(np.float32) for s in (0.7, 1.3, 2.1)]
    return [
        lambda: ak.stft(noise, n_fft=512 + 64 * 3, hop_length=160),
        lambda: ak.log_mel(noise, sr=SR, n_fft=400, hop_length=160, n_mels=40),
        lambda: ak.fbank(noise, num_mel_bins=30, dither=0.5, seed=2),
        lambda: ak.resample(noise, orig_sr=SR, target_sr=8000),
        lambda: ak.cochleagram(noise, sr=SR, n_channels=16),
        lambda: ak.pitch(voices, sr=SR),
        lambda: ak.harmonicity(voices, sr=SR),
        lambda: ak.formants(voices, sr=SR),
        lambda: ak.voice_report(voices, sr=SR),
        lambda: ak.pyin(voices[0], sr=SR, fmin=60, fmax=400),
        lambda: encoder(frames, lengths),
        lambda: ak.pooling.statistics_pooling(frames, lengths),
        lambda: ak.ot.sinkhorn(np.full((2, 40), 1 / 40), np.full((2, 60), 1 / 60), costs, 0.5, stopThr=1e-6),
        lambda: ak.prompts.entropy_weights(logits).weights,
    ]


def flatten(result):
    """All arrays in a (nested) result, for exact comparison."""
    if isinstance(result, np.ndarray):
        return [result]
    if isinstance(result, dict):
        return [a for key in sorted(result) for a in flatten(np.asarray(result[key]))]
    if isinstance(result, (list, tuple)):
        return [a for item in result for a in flatten(item)]
    return [np.asarray(result)]


def test_eight_threads_equal_serial_calls():
    jobs = workloads()
    serial = [flatten(job()) for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda job: flatten(job()), jobs * 3))
    for index, result in enumerate(concurrent):
        expected = serial[index % len(jobs)]
        assert len(result) == len(expected)
        for a, b in zip(result, expected):
            np.testing.assert_array_equal(a, b)


def test_the_gil_is_released_during_long_calls():
    """A Python thread counting in a loop gets many steps in while ak.pitch works on
    20 s of audio in the main thread (with the GIL held it would get almost none)."""
    y = ak.synthetic_voice(sr=SR, duration=20.0, snr_db=20).y
    steps, done = [0], threading.Event()

    def count():
        while not done.is_set():
            steps[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = steps[0]
        ak.pitch(y, sr=SR, num_threads=1)
        during = steps[0] - before
    finally:
        done.set()
        counter.join()
    assert during > 1000


def test_eight_threads_running_torch_ops_equal_serial_calls():
    """The op library's kernels (forward and backward) from eight Python threads at once."""
    torch = pytest.importorskip("torch")
    AF = pytest.importorskip("affectkit.nn.functional")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(4, 16, 300, generator=generator, dtype=torch.float64)
    weight = torch.randn(16, 4, generator=generator, dtype=torch.float64)
    clouds = torch.randn(3, 50, 4, generator=generator, dtype=torch.float64), torch.randn(3, 70, 4, generator=generator,
                                                                                         dtype=torch.float64)

    def conv():
        w = weight.clone().requires_grad_()
        out = AF.causal_conv1d(x, w, activation="silu")
        out.square().sum().backward()
        return [out.detach().numpy(), w.grad.numpy()]

    def transport():
        cost = AF.ot_dist(*clouds).requires_grad_()
        value, plan = AF.sinkhorn(None, None, cost, 0.5, stopThr=1e-8)
        value.sum().backward()
        return [value.detach().numpy(), plan.detach().numpy(), cost.grad.numpy()]

    jobs = [conv, transport]
    serial = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda job: job(), jobs * 4))
    for index, result in enumerate(concurrent):
        for a, b in zip(result, serial[index % len(jobs)]):
            np.testing.assert_array_equal(a, b)
