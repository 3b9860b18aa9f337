"""ak.prompts: the entropy prompt-weighting solver against its NumPy reference
(affectkit.prompts._reference_entropy_weights, straight float64 NumPy of the same update),
its analytic gradient against finite differences of J, the stationarity of the result, the
baselines against their definitions, the simulated study, entropy-aware score selection on
hand-made cases, bad input and fuzzing.

Tolerances: core vs reference 1e-10 (float64; the same sums in another order, over up to 50
damped updates); gradient vs central differences (step 1e-6) 1e-6 relative to max |g|;
stationarity max |beta - softmax(-g / lambda_beta)| <= 1e-9 after solving to tol 1e-12;
float32 logits vs float64 logits 1e-5 on the weights.
"""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import affectkit as ak
from affectkit.prompts import (_reference_entropy_weights, _reference_objective, _softmax, ensemble,
                               entropy_varentropy, entropy_weights, prompt_logits, simulated_zero_shot)

NAMED = re.compile(r"invalid argument '\w+'")
TAU = 0.01


def logits(n=60, p=7, c=5, seed=0, scale=0.05):
    """Cosine-similarity-like logits with prompts of different quality."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p, c)) * scale * rng.uniform(0.2, 2, (1, p, 1))


def anchor_of(L, anchor="template", template=0, tau=TAU):
    return _softmax((L[:, template] if anchor == "template" else L.mean(axis=1)) / tau)


# ---------------------------------------------------------------- the reference's gradient


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("lambda_zs", [0.0, 1.0])
def test_gradient_equals_finite_differences(per_sample, lambda_zs):
    L = logits(n=20, p=5, c=4, seed=1)
    rng = np.random.default_rng(2)
    beta = rng.dirichlet(np.ones(5), size=20 if per_sample else None)
    yhat = anchor_of(L)
    # lambda_beta = 0: J is the data term J_data, whose gradient g is.
    _, g = _reference_objective(L, beta, yhat, TAU, lambda_zs, 0.0)
    step = 1e-6
    numeric = np.zeros_like(beta)
    for j in range(5):
        e = np.zeros(5)
        e[j] = step
        plus, _ = _reference_objective(L, beta + e, yhat, TAU, lambda_zs, 0.0)
        minus, _ = _reference_objective(L, beta - e, yhat, TAU, lambda_zs, 0.0)
        numeric[..., j] = (plus - minus) / (2 * step)
    np.testing.assert_allclose(g, numeric, rtol=0, atol=1e-6 * np.abs(g).max())


# ---------------------------------------------------------------- core == reference


@pytest.mark.parametrize("mode", ["dataset", "sample"])
@pytest.mark.parametrize("anchor", ["template", "mean"])
@pytest.mark.parametrize("prune_rounds", [0, 3])
def test_core_equals_reference(mode, anchor, prune_rounds):
    """In the regime where every solve converges: where the damped iteration cycles (small
    lambda_beta, large damping; see docs/prompts.md) rounding differences grow chaotically
    and no two implementations agree to 1e-10."""
    L = logits(n=600, p=9, c=6, seed=3, scale=0.01)  # 600 samples: several reduction blocks
    options = dict(tau=TAU, mode=mode, anchor=anchor, template=2, lambda_zs=0.5, lambda_beta=2.0, damping=0.5,
                   max_iter=300, tol=1e-9, prune_rounds=prune_rounds, prune_fraction=0.3)
    ours = entropy_weights(L, **options, num_threads=2)
    ref = _reference_entropy_weights(L, **options)
    assert max(len(t) for t in ref.objective) < 300  # converged
    np.testing.assert_allclose(ours.weights, ref.weights, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.predictions, ref.predictions, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ours.kept, ref.kept)
    assert [len(t) for t in ours.objective] == [len(t) for t in ref.objective]
    for a, b in zip(ours.objective, ref.objective):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    assert len(ours.objective) == 1 + prune_rounds
    # pruning keeps P - 2 (floor(0.3 * 9)) - 2 (floor(0.3 * 7)) - 1 (floor(0.3 * 5)) prompts
    assert ours.kept.sum(axis=-1).max() == (4 if prune_rounds else 9)
    assert np.all(ours.weights[~ours.kept] == 0)
    np.testing.assert_allclose(ours.weights.sum(axis=-1), 1, atol=1e-12)


@pytest.mark.parametrize("classes", [2, 8, 13, 50, 70, 130])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["dataset", "sample"])
def test_core_equals_reference_for_any_class_count(classes, dtype, mode):
    """The core's products run over blocks of up to 64 classes in chunks of 8, a last
    chunk overlapping the one before it (fewer than 8 classes: plain loops): every split
    of the classes, and float32 logits widened on load, against the reference on the same
    values in float64 (float32 predictions are rounded to float32: 1e-6)."""
    L = logits(n=300, p=9, c=classes, seed=6, scale=0.01).astype(dtype)
    options = dict(tau=TAU, mode=mode, lambda_zs=0.5, lambda_beta=2.0, max_iter=300, tol=1e-9, prune_rounds=1)
    ours = entropy_weights(L, **options, num_threads=2)
    ref = _reference_entropy_weights(L.astype(np.float64), **options)
    np.testing.assert_allclose(ours.weights, ref.weights, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.predictions, ref.predictions, rtol=0, atol=1e-10 if dtype == np.float64 else 1e-6)
    for a, b in zip(ours.objective, ref.objective):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_threads_do_not_change_the_result():
    L = logits(n=1000, p=6, c=5, seed=4)
    for mode in ("dataset", "sample"):
        one = entropy_weights(L, mode=mode, num_threads=1)
        two = entropy_weights(L, mode=mode, num_threads=2)
        assert np.array_equal(one.weights, two.weights) and np.array_equal(one.predictions, two.predictions)
        assert all(np.array_equal(a, b) for a, b in zip(one.objective, two.objective))


def test_float32_and_non_contiguous_logits():
    """float32 logits are float64 logits rounded: the converged weights move by ~1e-7."""
    L = logits(n=200, p=6, c=5, seed=5, scale=0.01)
    options = dict(lambda_beta=2.0, max_iter=500, tol=1e-10)
    reference = entropy_weights(L, **options)
    single = entropy_weights(L.astype(np.float32), **options)
    assert len(reference.objective[0]) < 501  # converged
    assert single.predictions.dtype == np.float32 and single.weights.dtype == np.float64
    np.testing.assert_allclose(single.weights, reference.weights, atol=1e-5)
    strided = np.ascontiguousarray(L.transpose(0, 2, 1)).transpose(0, 2, 1)  # same values, not C-contiguous
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(entropy_weights(strided, **options).weights, reference.weights)


@pytest.mark.parametrize("mode", ["dataset", "sample"])
def test_stationarity_at_convergence(mode):
    L = logits(n=100, p=6, c=5, seed=6, scale=0.01)
    lambda_beta, lambda_zs = 3.0, 0.3
    result = entropy_weights(L, mode=mode, anchor="mean", lambda_zs=lambda_zs, lambda_beta=lambda_beta,
                             max_iter=2000, tol=1e-12, prune_rounds=0)
    assert len(result.objective[0]) < 2001  # converged
    _, g = _reference_objective(L, result.weights, anchor_of(L, "mean"), TAU, lambda_zs, lambda_beta)
    np.testing.assert_allclose(result.weights, _softmax(-g / lambda_beta), rtol=0, atol=1e-9)


def test_uniform_weights_give_the_mean_of_logits():
    L = logits(seed=7)
    uniform = entropy_weights(L, max_iter=0, prune_rounds=0)
    np.testing.assert_array_equal(uniform.weights, np.full(7, 1 / 7))
    np.testing.assert_allclose(uniform.predictions, ensemble(L, method="logit_mean"), rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", ["dataset", "sample"])
def test_one_prompt_gives_the_zero_shot_prediction(mode):
    L = logits(p=1, seed=8)
    result = entropy_weights(L, mode=mode)
    assert np.all(result.weights == 1) and np.all(result.kept)
    np.testing.assert_allclose(result.predictions, ensemble(L, method="template"), rtol=0, atol=1e-12)


def test_objective_falls_at_every_damped_update():
    sim = simulated_zero_shot(n_samples=500, seed=1)
    L = prompt_logits(sim.audio_embeddings, sim.text_embeddings)
    for trace in entropy_weights(L).objective:
        assert np.all(np.diff(trace) <= 1e-12 * np.abs(trace[:-1]))


def test_shipped_method_beats_the_mean_of_logits_on_simulated_data():
    """The validation study in small: the default entropy weighting against the mean of
    logits, averaged over seeds (benchmarks/study_prompts.py has the full study)."""
    gains = []
    for seed in range(6):
        sim = simulated_zero_shot(n_samples=1000, seed=100 + seed, audio_noise=4.0, good_noise=1.5,
                                  noisy_noise=4.0, bias=0.6)
        L = prompt_logits(sim.audio_embeddings, sim.text_embeddings)
        ours = np.mean(entropy_weights(L).predictions.argmax(axis=1) == sim.labels)
        mean = np.mean(ensemble(L, method="logit_mean").argmax(axis=1) == sim.labels)
        gains.append(ours - mean)
    assert np.mean(gains) > 0, gains


# ---------------------------------------------------------------- embeddings and baselines


def test_prompt_logits_are_cosine_similarities():
    rng = np.random.default_rng(9)
    audio, text = rng.standard_normal((300, 16)), rng.standard_normal((4, 3, 16))
    expected = np.einsum("nd,pcd->npc", audio / np.linalg.norm(audio, axis=1, keepdims=True),
                         text / np.linalg.norm(text, axis=2, keepdims=True))
    np.testing.assert_allclose(prompt_logits(audio, text), expected, rtol=0, atol=1e-14)
    single = prompt_logits(audio.astype(np.float32), text.astype(np.float32))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, expected, rtol=0, atol=1e-6)
    # embeddings in, the same result as their logits
    np.testing.assert_array_equal(entropy_weights(audio_embeddings=audio, text_embeddings=text).weights,
                                  entropy_weights(prompt_logits(audio, text)).weights)


def test_baselines_follow_their_definitions():
    L = np.array([[[3.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.0, 2.5, 0.0]],
                  [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 5.0]]]) * TAU  # N = 2, P = 3, C = 3
    probs = _softmax(L / TAU)  # (N, P, C)
    np.testing.assert_allclose(ensemble(L, method="template", template=1), probs[:, 1], atol=1e-15)
    np.testing.assert_allclose(ensemble(L, method="logit_mean"), _softmax(L.mean(axis=1) / TAU), atol=1e-15)
    np.testing.assert_allclose(ensemble(L, method="prob_mean"), probs.mean(axis=1), atol=1e-15)
    # votes: sample 0 -> classes 0, 1, 1; sample 1 -> 2, 0, 2
    np.testing.assert_allclose(ensemble(L, method="vote"), [[1 / 3, 2 / 3, 0], [1 / 3, 0, 2 / 3]], atol=1e-15)
    # lowest entropy: prompt 2 for both ((0, 2.5, 0) is more peaked than (3, 1, 0))
    np.testing.assert_allclose(ensemble(L, method="min_entropy"), [probs[0, 2], probs[1, 2]], atol=1e-15)


def test_text_mean_uses_the_renormalised_mean_text_embedding():
    rng = np.random.default_rng(10)
    audio, text = rng.standard_normal((50, 8)), rng.standard_normal((5, 4, 8))
    unit = text / np.linalg.norm(text, axis=2, keepdims=True)
    mean = unit.mean(axis=0)
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    a = audio / np.linalg.norm(audio, axis=1, keepdims=True)
    expected = _softmax(a @ mean.T / TAU)
    got = ensemble(method="text_mean", audio_embeddings=audio, text_embeddings=text)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- score selection


def test_entropy_and_varentropy():
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3]])
    h, v = entropy_varentropy(p)
    np.testing.assert_allclose(h, [0, np.log(2), 1.5 * np.log(2), np.log(3)], atol=1e-15)
    # surprisals (log 2, 2 log 2, 2 log 2) with probabilities (1/2, 1/4, 1/4): variance (log 2)^2 / 4
    np.testing.assert_allclose(v, [0, 0, np.log(2) ** 2 / 4, 0], atol=1e-15)


def test_score_selection_switches_only_where_it_helps():
    # Model 1 predicts class 0 for all; its flat predictions (high H, low V) are wrong and
    # model 2 is right on them; its confident ones are right.
    confident, flat = [0.9, 0.05, 0.05], [0.36, 0.32, 0.32]
    p1 = np.array([confident] * 4 + [flat] * 4)
    p2 = np.array([[0.1, 0.8, 0.1]] * 8)
    labels = np.array([0] * 4 + [1] * 4)
    selector = ak.prompts.EntropyScoreSelector().fit(p1, p2, labels)
    np.testing.assert_array_equal(selector.apply(p1, p2), labels)
    assert np.isinf(selector.theta_h_[1]) and np.isinf(selector.theta_h_[2])  # never predicted: never switch
    # where model 2 is never better, never switch
    never = ak.prompts.EntropyScoreSelector().fit(p1, p2, np.zeros(8, dtype=int))
    np.testing.assert_array_equal(never.apply(p1, p2), np.zeros(8))
    assert not never.switches(p1).any()


def test_score_selection_with_a_class_map():
    # Emotions angry, sad, happy, neutral; sentiments negative, neutral, positive.
    class_map = [0, 0, 2, 1]
    p1 = np.array([[0.30, 0.25, 0.28, 0.17],   # uncertain; truly happy, sentiment positive
                   [0.30, 0.29, 0.21, 0.20],   # uncertain; truly sad, sentiment negative
                   [0.85, 0.05, 0.05, 0.05]])  # confident angry, right
    p2 = np.array([[0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
    labels = np.array([2, 1, 0])
    selector = ak.prompts.EntropyScoreSelector(class_map=class_map).fit(p1, p2, labels)
    # sample 0 switches to happy (the only positive emotion); sample 1 to the most probable
    # negative emotion, which is angry (0.30 > 0.29): switching does not help it, and
    # sample 2 stays.
    fused = selector.apply(p1, p2)
    assert fused[0] == 2 and fused[2] == 0
    assert np.mean(fused == labels) >= np.mean(p1.argmax(axis=1) == labels)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad, argument", [
    (np.full((3, 2, 2), np.nan), "logits"),
    (np.array([[[0.0, np.inf]]]), "logits"),
    (np.zeros((3, 0, 4)), "logits"),
    (np.zeros((3, 2, 1)), "logits"),
    (np.zeros((0, 2, 3)), "logits"),
    (np.zeros((3, 4)), "logits"),
])
def test_bad_logits(bad, argument):
    with pytest.raises(ValueError, match=f"invalid argument '{argument}'"):
        entropy_weights(bad)


@pytest.mark.parametrize("options, argument", [
    (dict(tau=0), "tau"), (dict(tau=-1), "tau"), (dict(tau=np.nan), "tau"),
    (dict(lambda_beta=0), "lambda_beta"), (dict(lambda_zs=-1), "lambda_zs"), (dict(damping=0), "damping"),
    (dict(damping=1.5), "damping"), (dict(max_iter=-1), "max_iter"), (dict(tol=-1), "tol"),
    (dict(prune_rounds=-1), "prune_rounds"), (dict(prune_fraction=1.0), "prune_fraction"),
    (dict(template=5), "template"), (dict(mode="batch"), "mode"), (dict(anchor="best"), "anchor"),
])
def test_bad_parameters(options, argument):
    with pytest.raises(ValueError, match=f"invalid argument '{argument}'"):
        entropy_weights(logits(n=4, p=3, c=3), **options)


def test_bad_types_and_embeddings():
    with pytest.raises(TypeError, match="'logits'"):
        entropy_weights(np.zeros((2, 2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="'logits'"):
        entropy_weights([[[0.0, 1.0]]])
    with pytest.raises(TypeError, match="'tau'"):
        entropy_weights(logits(), tau="hot")
    with pytest.raises(ValueError, match="'text_embeddings'"):
        prompt_logits(np.ones((3, 4)), np.ones((2, 2, 5)))
    with pytest.raises(TypeError, match="'text_embeddings'"):
        prompt_logits(np.ones((3, 4)), np.ones((2, 2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="'audio_embeddings'"):
        prompt_logits(np.zeros((3, 4)), np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match="'audio_embeddings'"):
        prompt_logits(np.full((3, 4), np.nan), np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match="'logits'"):
        entropy_weights(logits(), audio_embeddings=np.ones((3, 4)), text_embeddings=np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match="'method'"):
        ensemble(logits(), method="text_mean")
    with pytest.raises(ValueError, match="'method'"):
        ensemble(logits(), method="median")


def test_bad_score_selection_input():
    p = np.array([[0.5, 0.5], [0.9, 0.1]])
    with pytest.raises(ValueError, match="'probabilities_1'"):
        ak.prompts.EntropyScoreSelector().fit(np.array([[2.0, -1.0], [0.5, 0.5]]), p, np.array([0, 1]))
    with pytest.raises(ValueError, match="'labels'"):
        ak.prompts.EntropyScoreSelector().fit(p, p, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="'class_map'"):
        ak.prompts.EntropyScoreSelector(class_map=[0, 5]).fit(p, p, np.array([0, 1]))
    with pytest.raises(ValueError, match="'self'"):
        ak.prompts.EntropyScoreSelector().apply(p, p)


# ---------------------------------------------------------------- fuzzing

fuzz = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
special = st.sampled_from([0.0, 1e-300, 1e300, -1e300, np.nan, np.inf, -np.inf])


def arrays(shape_strategy, scale_strategy=st.sampled_from([1e-3, 0.05, 1.0, 1e3])):
    """Random arrays, sometimes float32, sometimes with a special value planted."""
    return st.builds(
        lambda shape, seed, scale, dtype, value, plant: _array(shape, seed, scale, dtype, value, plant),
        shape_strategy, st.integers(0, 2**16), scale_strategy, st.sampled_from([np.float32, np.float64]),
        special, st.booleans())


def _array(shape, seed, scale, dtype, value, plant):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    if plant and x.size:
        x.flat[seed % x.size] = value
    with np.errstate(over="ignore"):
        return x.astype(dtype)


def run(call):
    try:
        return call()
    except (ValueError, TypeError) as error:
        assert NAMED.search(str(error)), str(error)
        return None


@fuzz
@given(L=arrays(st.tuples(st.integers(0, 30), st.integers(0, 6), st.integers(0, 6))),
       mode=st.sampled_from(["dataset", "sample"]), anchor=st.sampled_from(["template", "mean"]),
       tau=st.sampled_from([1e-4, 0.01, 1.0, 0.0, -1.0]), lambda_zs=st.sampled_from([0.0, 1.0, 100.0]),
       lambda_beta=st.sampled_from([1e-3, 1.0, 1e3]), damping=st.sampled_from([0.1, 0.5, 1.0]),
       prune_rounds=st.integers(0, 4), prune_fraction=st.sampled_from([0.0, 0.25, 0.9]))
def test_fuzz_entropy_weights(L, mode, anchor, tau, lambda_zs, lambda_beta, damping, prune_rounds, prune_fraction):
    result = run(lambda: entropy_weights(L, tau=tau, mode=mode, anchor=anchor, lambda_zs=lambda_zs,
                                         lambda_beta=lambda_beta, damping=damping, max_iter=20,
                                         prune_rounds=prune_rounds, prune_fraction=prune_fraction))
    if result is not None:
        N, P, C = L.shape
        assert result.weights.shape == result.kept.shape == ((P,) if mode == "dataset" else (N, P))
        assert result.predictions.shape == (N, C)
        assert np.all(np.isfinite(result.weights)) and np.all(np.isfinite(result.predictions))
        np.testing.assert_allclose(result.weights.sum(axis=-1), 1, atol=1e-9)
        assert all(np.all(np.isfinite(t)) for t in result.objective)


@fuzz
@given(L=arrays(st.tuples(st.integers(0, 20), st.integers(0, 5), st.integers(0, 5))),
       method=st.sampled_from(ak.prompts.ENSEMBLE_METHODS), tau=st.sampled_from([1e-4, 0.01, 1.0, 0.0]),
       template=st.integers(-1, 5))
def test_fuzz_ensemble(L, method, tau, template):
    audio = np.random.default_rng(0).standard_normal((L.shape[0], 3)).astype(L.dtype)
    text = L[:, :, :3] if L.shape[0] and L.shape[2] >= 3 else L[:1, :, :1] + 1
    text = np.ascontiguousarray(text.transpose(1, 0, 2)) if method == "text_mean" else None
    p = run(lambda: ensemble(None if method == "text_mean" else L, method=method, tau=tau, template=template,
                             audio_embeddings=audio if method == "text_mean" else None, text_embeddings=text))
    if p is not None:
        assert p.shape[0] == L.shape[0] and np.all(np.isfinite(p))
        np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-9)


@fuzz
@given(audio=arrays(st.tuples(st.integers(0, 10), st.integers(0, 5))),
       text=arrays(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 5))))
def test_fuzz_prompt_logits(audio, text):
    out = run(lambda: prompt_logits(audio, text))
    if out is not None:
        assert out.shape == (audio.shape[0], text.shape[0], text.shape[1]) and np.all(np.isfinite(out))
        assert np.all(np.abs(out) <= 1 + 1e-5)


@fuzz
@given(p1=arrays(st.tuples(st.integers(0, 12), st.integers(0, 5))), p2=arrays(st.tuples(st.integers(0, 12),
       st.integers(0, 5))), softmax=st.booleans(), labels_seed=st.integers(0, 100),
       class_map=st.one_of(st.none(), st.lists(st.integers(0, 4), min_size=0, max_size=5)))
def test_fuzz_score_selection(p1, p2, softmax, labels_seed, class_map):
    if softmax:  # usually probabilities; sometimes raw arrays, which must be refused
        with np.errstate(all="ignore"):
            p1, p2 = (_softmax(x.astype(np.float64)) if x.size else x for x in (p1, p2))
    labels = np.random.default_rng(labels_seed).integers(0, max(p1.shape[1], 1), p1.shape[0])

    def fit_apply():
        selector = ak.prompts.EntropyScoreSelector(class_map=class_map, n_grid=5).fit(p1, p2, labels)
        return selector.apply(p1, p2)

    fused = run(fit_apply)
    if fused is not None:
        assert fused.shape == (p1.shape[0],) and np.all((fused >= 0) & (fused < p1.shape[1]))
        # fitting on the same data never does worse than model 1 alone
        assert np.sum(fused == labels) >= np.sum(p1.argmax(axis=1) == labels)
