"""Probes against scikit-learn and a plain reference, fold-by-fold evaluation, the
baseline utterance features on voices with known F0, and the HEAR-style adapter."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import affectkit as ak
from affectkit import data, metrics
from affectkit.eval import (UTTERANCE_FEATURE_NAMES, EncoderAdapter, evaluate, get_scene_embeddings,
                            get_timestamp_embeddings, knn_probe, linear_probe, utterance_extractor,
                            utterance_features)


def blobs(n=90, dim=6, n_classes=3, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    centres = 2.0 * rng.standard_normal((n_classes, dim))
    return centres[y] + spread * rng.standard_normal((n, dim)), y


def knn_reference(train, labels, test, k, temperature, n_classes):
    """X-ARES's kNN written out one test item at a time."""
    scores = np.zeros((len(test), n_classes))
    for i, x in enumerate(test):
        similarity = [x @ t / (np.linalg.norm(x) * np.linalg.norm(t)) for t in train]
        for j in np.argsort(similarity)[::-1][:k]:
            scores[i, labels[j]] += np.exp(similarity[j] / temperature)
    return scores / scores.sum(axis=1, keepdims=True)


def test_knn_probe_matches_the_reference_and_scikit_learn():
    X, y = blobs()
    order = np.random.default_rng(1).permutation(90)
    train, test = order[:60], order[60:]
    scores = knn_probe(X[train], y[train], X[test], n_classes=3)
    np.testing.assert_allclose(scores, knn_reference(X[train], y[train], X[test], 10, 0.07, 3), rtol=1e-10,
                               atol=1e-12)
    # scikit-learn: cosine distance d = 1 - similarity, weights exp((1 - d) / T) = exp(similarity / T).
    sk = KNeighborsClassifier(n_neighbors=10, metric="cosine", algorithm="brute",
                              weights=lambda d: np.exp((1 - d) / 0.07)).fit(X[train], y[train])
    np.testing.assert_allclose(scores, sk.predict_proba(X[test]), rtol=1e-9, atol=1e-12)
    # k larger than the training set uses all of it.
    assert knn_probe(X[:5], y[:5], X[5:7], k=50).shape == (2, 3)


def test_linear_probe_matches_scikit_learn_pipeline():
    X, y = blobs(spread=2.0)
    scores = linear_probe(X[:60], y[:60], X[60:], C=0.5)
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000)).fit(X[:60], y[:60])
    np.testing.assert_allclose(scores, reference.predict_proba(X[60:]), atol=1e-9)


def test_linear_probe_with_a_class_missing_from_training():
    X, y = blobs(n_classes=3)
    keep = y != 1
    scores = linear_probe(X[keep], y[keep], X[:4], n_classes=4)
    assert scores.shape == (4, 4) and np.all(scores[:, [1, 3]] == 0)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0)
    one = linear_probe(X[y == 2], y[y == 2], X[:3], n_classes=3)
    np.testing.assert_array_equal(one, [[0, 0, 1]] * 3)


def test_evaluate_on_speaker_folds():
    X, y = blobs(n=120, n_classes=4, spread=0.8)
    speakers = [f"s{i % 5}" for i in range(120)]
    folds = data.leave_one_speaker_out(speakers)
    classes = ("a", "b", "c", "d")
    for probe in ("linear", "knn"):
        result = evaluate(X, y, folds, classes=classes, probe=probe)
        assert len(result["per_fold"]) == 5 and min(result["predictions"]) >= 0
        predictions = np.array(result["predictions"])
        assert result["pooled"]["ua"] == pytest.approx(metrics.unweighted_accuracy(y, predictions))
        uas = [f["ua"] for f in result["per_fold"]]
        assert result["summary"]["ua"]["mean"] == pytest.approx(np.mean(uas))
        assert result["summary"]["ua"]["std"] == pytest.approx(np.std(uas))
        assert result["summary"]["ua"]["mean"] > 0.8  # separable blobs
    with pytest.raises(ValueError, match="'probe'"):
        evaluate(X, y, folds, classes=classes, probe="svm")
    with pytest.raises(ValueError, match="'folds'"):
        evaluate(X, y, [], classes=classes)


def test_probe_bad_input():
    X, y = blobs()
    with pytest.raises(ValueError, match="'X_test'"):
        knn_probe(X, y, X[:, :3])
    with pytest.raises(ValueError, match="'y_train'"):
        linear_probe(X, y[:-1], X)
    with pytest.raises(ValueError, match="'X_train'.*NaN"):
        bad = X.copy()
        bad[0, 0] = np.nan
        knn_probe(bad, y, X)
    with pytest.raises(ValueError, match="'temperature'"):
        knn_probe(X, y, X, temperature=0)
    with pytest.raises(ValueError, match="'C'"):
        linear_probe(X, y, X, C=-1)
    with pytest.raises(ValueError, match="'n_classes'"):
        knn_probe(X, y, X, n_classes=2)
    with pytest.raises(TypeError, match="'k'"):
        knn_probe(X, y, X, k=2.5)


@settings(max_examples=200, deadline=None)
@given(n_train=st.integers(0, 12), n_test=st.integers(0, 4), dim=st.integers(0, 4), k=st.integers(-1, 12),
       probe=st.sampled_from([knn_probe, linear_probe]), seed=st.integers(0, 100),
       special=st.sampled_from([None, np.nan, np.inf, 0.0, 1e300]))
def test_fuzz_probes(n_train, n_test, dim, k, probe, seed, special):
    rng = np.random.default_rng(seed)
    X_train, X_test = rng.standard_normal((n_train, dim)), rng.standard_normal((n_test, dim))
    if special is not None and X_train.size:
        X_train.flat[0] = special
    y_train = rng.integers(0, 3, n_train)
    kwargs = {"k": k} if probe is knn_probe else {}
    try:
        scores = probe(X_train, y_train, X_test, n_classes=3, **kwargs)
    except (ValueError, TypeError):
        return
    assert scores.shape == (n_test, 3) and np.isfinite(scores).all()


def test_utterance_features_recover_a_known_f0():
    sr = 16000
    voice = ak.synthetic_voice(sr=sr, duration=1.0, f0=150.0, vowel="a", snr_db=40)
    features = utterance_features(voice.y.astype(np.float32), sr)
    assert features.shape == (len(UTTERANCE_FEATURE_NAMES),) and np.isfinite(features).all()
    named = dict(zip(UTTERANCE_FEATURE_NAMES, features))
    assert named["f0_mean_st"] == pytest.approx(12 * np.log2(150.0), abs=0.05)  # Praat's F0 to ~0.05 semitone
    assert named["f0_std_st"] < 0.05 and named["voiced_fraction"] > 0.9
    silence = utterance_features(np.zeros(sr, np.float32), sr)
    assert np.isfinite(silence).all() and dict(zip(UTTERANCE_FEATURE_NAMES, silence))["voiced_fraction"] == 0
    assert utterance_extractor(sr).key != utterance_extractor(8000).key


def frame_energies(audio):
    """A toy encoder: 10 ms frames -> (log energy, zero-crossing rate)."""
    n = audio.shape[1] // 160
    frames = audio[:, : n * 160].reshape(audio.shape[0], n, 160)
    energy = np.log(np.mean(frames**2, axis=-1) + 1e-10)
    crossings = np.mean(np.abs(np.diff(np.sign(frames), axis=-1)) > 0, axis=-1)
    return np.stack([energy, crossings], axis=-1)


def test_encoder_adapter_hear_api():
    model = EncoderAdapter(frame_energies, sample_rate=16000, hop_seconds=0.01, offset_seconds=0.005, name="toy")
    assert model.scene_embedding_size == model.timestamp_embedding_size == 2
    audio = np.random.default_rng(0).standard_normal((3, 8000)).astype(np.float32)
    embeddings, timestamps = get_timestamp_embeddings(audio, model)
    assert embeddings.shape == (3, 50, 2) and timestamps.shape == (3, 50)
    np.testing.assert_allclose(timestamps[0, :3], [5.0, 15.0, 25.0])
    np.testing.assert_allclose(get_scene_embeddings(audio, model), frame_energies(audio).mean(axis=1), rtol=1e-6)
    extractor = model.extractor({"layer": 3})
    np.testing.assert_allclose(extractor.function(audio[0], 16000), model.get_scene_embeddings(audio[:1])[0])
    with pytest.raises(ValueError, match="'audio'"):
        model.get_scene_embeddings(audio[0])
    with pytest.raises(ValueError, match="NaN"):
        model.get_scene_embeddings(np.full((1, 800), np.nan, np.float32))
    with pytest.raises(ValueError, match="returned shape"):
        EncoderAdapter(lambda a: a, sample_rate=16000, hop_seconds=0.01)
    with pytest.raises(TypeError, match="'encode'"):
        EncoderAdapter(None, sample_rate=16000, hop_seconds=0.01)
    with pytest.raises(ValueError, match="'hop_seconds'"):
        EncoderAdapter(frame_energies, sample_rate=16000, hop_seconds=0)


def test_ridge_probe_matches_scikit_learn_and_ccc_per_fold():
    from sklearn.linear_model import Ridge

    from affectkit.eval import evaluate_dimensions, ridge_probe

    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 8)) * np.array([1, 10, 100, 1, 1, 1, 1e-3, 1])
    values = np.stack([X[:, 0] + 0.01 * X[:, 1], -0.5 * X[:, 3] + 0.001 * X[:, 2]], axis=1)
    values += 0.3 * rng.standard_normal(values.shape)
    predicted = ridge_probe(X[:80], values[:80], X[80:], alpha=2.0)
    reference = make_pipeline(StandardScaler(), Ridge(alpha=2.0)).fit(X[:80], values[:80]).predict(X[80:])
    np.testing.assert_allclose(predicted, reference, atol=1e-10)
    folds = data.leave_one_speaker_out([f"s{i % 4}" for i in range(120)])
    result = evaluate_dimensions(X, values, folds, names=("valence", "arousal"))
    cccs = [f["ccc_valence"] for f in result["per_fold"]]
    assert result["summary"]["ccc_valence"]["mean"] == pytest.approx(np.mean(cccs)) and min(cccs) > 0.8
    fold = folds[0]
    expected = metrics.ccc(values[fold.test, 1], ridge_probe(X[fold.train], values[fold.train], X[fold.test])[:, 1])
    assert result["per_fold"][0]["ccc_arousal"] == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="'values'"):
        evaluate_dimensions(X, values[:, :1], folds, names=("valence", "arousal"))
    with pytest.raises(ValueError, match="'values_train'"):
        ridge_probe(X[:80], values[:70], X[80:])
    with pytest.raises(ValueError, match="'alpha'"):
        ridge_probe(X[:80], values[:80], X[80:], alpha=-1)


@settings(max_examples=200, deadline=None)
@given(n_train=st.integers(0, 10), n_test=st.integers(0, 3), dim=st.integers(0, 3), n_dims=st.integers(0, 2),
       seed=st.integers(0, 100), special=st.sampled_from([None, np.nan, np.inf, 1e300]))
def test_fuzz_ridge_probe(n_train, n_test, dim, n_dims, seed, special):
    from affectkit.eval import ridge_probe

    rng = np.random.default_rng(seed)
    X_train, X_test = rng.standard_normal((n_train, dim)), rng.standard_normal((n_test, dim))
    values = rng.standard_normal((n_train, n_dims))
    if special is not None and values.size:
        values.flat[0] = special
    try:
        predicted = ridge_probe(X_train, values, X_test)
    except (ValueError, TypeError):
        return
    assert predicted.shape == (n_test, n_dims) and np.isfinite(predicted).all()


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 4000), sr=st.sampled_from([8000, 16000, 0, -1, 44100]), seed=st.integers(0, 100),
       kind=st.sampled_from(["noise", "voice", "silence", "nan", "int16", "2d"]))
def test_fuzz_utterance_features(n, sr, seed, kind):
    rng = np.random.default_rng(seed)
    y = {"noise": lambda: 0.1 * rng.standard_normal(n), "voice": lambda: np.sin(np.arange(n) * 0.1) * 0.3,
         "silence": lambda: np.zeros(n), "nan": lambda: np.full(n, np.nan), "int16": lambda: np.ones(n, np.int16),
         "2d": lambda: np.zeros((2, n))}[kind]()
    try:
        features = utterance_features(y.astype(np.float32) if y.dtype.kind == "f" else y, sr)
    except (ValueError, TypeError):
        return
    assert features.shape == (len(UTTERANCE_FEATURE_NAMES),) and np.isfinite(features).all()


@settings(max_examples=200, deadline=None)
@given(shape=st.one_of(st.tuples(st.integers(0, 3), st.integers(0, 900)), st.lists(st.integers(0, 5), max_size=3)),
       dtype=st.sampled_from([np.float32, np.float64, np.int16]),
       special=st.sampled_from([None, np.nan, np.inf]))
def test_fuzz_encoder_adapter(shape, dtype, special):
    model = EncoderAdapter(frame_energies, sample_rate=16000, hop_seconds=0.01)
    audio = np.ones(shape, dtype=dtype)
    if special is not None and audio.size and audio.dtype.kind == "f":
        audio.flat[0] = special
    try:
        scene = model.get_scene_embeddings(audio)
        frames, times = model.get_timestamp_embeddings(audio)
    except (ValueError, TypeError):
        return
    assert scene.shape == (audio.shape[0], 2) and np.isfinite(scene).all()
    assert frames.shape[:2] == times.shape and np.isfinite(frames).all()
