"""UA / WA / macro-F1 / confusion against scikit-learn and hand-computed cases; CCC
against its formula and known values."""

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings, strategies as st

from affectkit import metrics


def test_hand_computed_case():
    y_true = [0, 0, 0, 0, 1, 1, 2, 2]
    y_pred = [0, 0, 0, 1, 1, 0, 2, 1]
    # recalls: 3/4, 1/2, 1/2 -> UA 7/12; WA 5/8
    assert metrics.unweighted_accuracy(y_true, y_pred) == pytest.approx(7 / 12, abs=1e-15)
    assert metrics.weighted_accuracy(y_true, y_pred) == pytest.approx(0.625, abs=1e-15)
    # F1: class 0: 2*3/(4+4) = 0.75; class 1: 2*1/(2+3) = 0.4; class 2: 2*1/(2+1) = 2/3
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx((0.75 + 0.4 + 2 / 3) / 3, abs=1e-15)
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, 4),
                                  [[3, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    recall = metrics.per_class_recall(y_true, y_pred, 4)
    np.testing.assert_allclose(recall[:3], [0.75, 0.5, 0.5], atol=0)
    assert np.isnan(recall[3])  # class 3 never occurs: no recall, and UA ignores it
    scores = metrics.classification_scores(y_true, y_pred, 4)
    assert scores["per_class_recall"] == [0.75, 0.5, 0.5, None] and scores["ua"] == pytest.approx(7 / 12)


LABELS = st.integers(1, 60).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 5), min_size=n, max_size=n),
                                                        st.lists(st.integers(0, 5), min_size=n, max_size=n)))


@settings(max_examples=200, deadline=None)
@given(labels=LABELS)
def test_against_scikit_learn(labels):
    y_true, y_pred = (np.array(v) for v in labels)
    assert metrics.weighted_accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="macro", zero_division=0), abs=1e-12)
    # UA is scikit-learn's balanced accuracy: mean recall over the classes of y_true.
    labels_true = np.unique(y_true)
    recall = skm.recall_score(y_true, y_pred, labels=labels_true, average="macro", zero_division=0)
    assert metrics.unweighted_accuracy(y_true, y_pred) == pytest.approx(recall, abs=1e-12)
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, 6),
                                  skm.confusion_matrix(y_true, y_pred, labels=range(6)))


def test_balanced_accuracy_equals_ua_when_predictions_stay_in_the_true_classes():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 4, 200))
    assert metrics.unweighted_accuracy(y_true, y_pred) == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred),
                                                                        abs=1e-12)


def ccc_reference(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    covariance = np.cov(x, y, bias=True)[0, 1]
    return 2 * covariance / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


def test_ccc():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(500)
    y = 0.7 * x + 0.3 * rng.standard_normal(500) + 0.2
    assert metrics.ccc(x, y) == pytest.approx(ccc_reference(x, y), abs=1e-12)
    assert metrics.ccc(x, x) == pytest.approx(1.0, abs=1e-15)
    z = (x - x.mean()) / x.std()
    assert metrics.ccc(z, -z) == pytest.approx(-1.0, abs=1e-12)
    # A perfect correlation with a shift is penalised: z vs z + 1 with var(z) = 1 -> 2 / (2 + 1).
    assert metrics.ccc(z, z + 1) == pytest.approx(2 / 3, abs=1e-12)
    assert metrics.ccc([2.0, 2.0], [2.0, 2.0]) == 1.0


def test_summarize_mean_and_std():
    folds = [{"ua": 0.5, "wa": 0.6, "macro_f1": 0.4}, {"ua": 0.7, "wa": 0.8, "macro_f1": 0.6}]
    summary = metrics.summarize(folds)
    assert summary["ua"] == {"mean": pytest.approx(0.6), "std": pytest.approx(0.1)}
    with pytest.raises(ValueError, match="'per_fold'"):
        metrics.summarize([])


def test_bad_input():
    with pytest.raises(ValueError, match="'y_pred'"):
        metrics.weighted_accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="'y_true'.*empty"):
        metrics.macro_f1([], [])
    with pytest.raises(TypeError, match="'y_true'"):
        metrics.unweighted_accuracy(["a", "b"], [0, 1])
    with pytest.raises(TypeError, match="'y_pred'"):
        metrics.unweighted_accuracy([0, 1], [0.5, 1])
    with pytest.raises(ValueError, match=r"\[0, 4096\)"):
        metrics.confusion_matrix([0, -1], [0, 1])
    with pytest.raises(ValueError, match="'n_classes'"):
        metrics.confusion_matrix([0, 3], [0, 1], 2)
    with pytest.raises(ValueError, match="'y_true'.*1-D"):
        metrics.weighted_accuracy([[0, 1]], [[0, 1]])
    with pytest.raises(ValueError, match="finite"):
        metrics.ccc([0.0, np.nan], [0.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        metrics.ccc([0.0, 1.0], [0.0, 1.0, 2.0])


@settings(max_examples=200, deadline=None)
@given(y_true=st.lists(st.one_of(st.integers(-2, 5), st.floats(allow_nan=True)), max_size=8),
       y_pred=st.lists(st.one_of(st.integers(-2, 5), st.floats(allow_nan=True)), max_size=8))
def test_fuzz_metrics(y_true, y_pred):
    for function in (metrics.unweighted_accuracy, metrics.weighted_accuracy, metrics.macro_f1):
        try:
            value = function(y_true, y_pred)
        except (ValueError, TypeError):
            continue
        assert 0.0 <= value <= 1.0


@settings(max_examples=200, deadline=None)
@given(x=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=6),
       y=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=6))
def test_fuzz_ccc(x, y):
    try:
        value = metrics.ccc(x, y)
    except ValueError:
        return
    assert -1.0 - 1e-9 <= value <= 1.0 + 1e-9
