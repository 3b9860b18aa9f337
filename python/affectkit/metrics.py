"""Metrics of speech-emotion evaluation, computed from the confusion matrix.

- UA, unweighted accuracy: the mean of the per-class recalls over the classes present
  in ``y_true`` (scikit-learn's ``balanced_accuracy_score``).
- WA, weighted accuracy: the fraction correct (``accuracy_score``).
- macro-F1: the mean F1 over the classes present in ``y_true`` or ``y_pred``
  (``f1_score(average='macro')``; a class never predicted and never true is left out,
  a class with no correct prediction counts 0).
- CCC: Lin's concordance correlation coefficient for valence/arousal regression.

Labels are class indices ``0 .. n_classes - 1``. :func:`summarize` gives the mean and
standard deviation of per-fold results.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from ._checks import as_int

__all__ = ["confusion_matrix", "unweighted_accuracy", "weighted_accuracy", "macro_f1", "per_class_recall", "ccc",
           "classification_scores", "summarize"]

# The confusion matrix is dense: (n_classes, n_classes) int64.
MAX_CLASSES = 4096


def _labels(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"invalid argument '{name}': must be 1-D class indices, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"invalid argument '{name}': is empty")
    if array.dtype.kind not in "iuf" or (array.dtype.kind == "f" and not np.all(array == np.round(array))):
        raise TypeError(f"invalid argument '{name}': must hold integer class indices, got dtype {array.dtype}")
    if not (array.min() >= 0 and array.max() < MAX_CLASSES):  # also False for NaN
        raise ValueError(f"invalid argument '{name}': class indices must lie in [0, {MAX_CLASSES}), got values from "
                         f"{array.min()} to {array.max()}")
    return array.astype(np.int64)


def confusion_matrix(y_true, y_pred, n_classes: Optional[int] = None) -> np.ndarray:
    """``C[i, j]``: how many items of class ``i`` were predicted as ``j`` (int64,
    ``(n_classes, n_classes)``; default size: the largest index + 1)."""
    true, pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if true.size != pred.size:
        raise ValueError(f"invalid argument 'y_pred': has {pred.size} labels, y_true has {true.size}")
    size = int(max(true.max(), pred.max())) + 1
    if n_classes is not None:
        if as_int("n_classes", n_classes, maximum=MAX_CLASSES) < size:
            raise ValueError(f"invalid argument 'n_classes': is {n_classes} but the labels reach index {size - 1}")
        size = as_int("n_classes", n_classes, maximum=MAX_CLASSES)
    return np.bincount(true * size + pred, minlength=size * size).reshape(size, size)


def _recalls(matrix: np.ndarray) -> np.ndarray:
    support = matrix.sum(axis=1)
    return np.where(support > 0, np.diag(matrix) / np.maximum(support, 1), np.nan)


def per_class_recall(y_true, y_pred, n_classes: Optional[int] = None) -> np.ndarray:
    """Recall of each class (NaN for a class absent from ``y_true``)."""
    return _recalls(confusion_matrix(y_true, y_pred, n_classes))


def unweighted_accuracy(y_true, y_pred) -> float:
    """UA: mean recall over the classes present in ``y_true``."""
    return float(np.nanmean(_recalls(confusion_matrix(y_true, y_pred))))


def weighted_accuracy(y_true, y_pred) -> float:
    """WA: the fraction of items predicted correctly."""
    matrix = confusion_matrix(y_true, y_pred)
    return float(np.trace(matrix) / matrix.sum())


def _f1(matrix: np.ndarray) -> np.ndarray:
    true, predicted, correct = matrix.sum(axis=1), matrix.sum(axis=0), np.diag(matrix)
    seen = (true + predicted) > 0
    return (2 * correct / np.maximum(true + predicted, 1))[seen]


def macro_f1(y_true, y_pred) -> float:
    """Mean F1 (``2 TP / (2 TP + FP + FN)``) over the classes in ``y_true`` or ``y_pred``."""
    return float(np.mean(_f1(confusion_matrix(y_true, y_pred))))


def ccc(x, y) -> float:
    """Lin's concordance correlation coefficient ``2 cov / (var_x + var_y + (mean_x -
    mean_y)^2)`` with population (1/n) moments; 1 for identical series."""
    a, b = (np.asarray(v, dtype=np.float64) for v in (x, y))
    if a.ndim != 1 or a.shape != b.shape or a.size < 2:
        raise ValueError(f"invalid argument 'y': x and y must be 1-D of the same length >= 2, got {a.shape} and "
                         f"{b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("invalid argument 'x'/'y': must be finite")
    scale = max(np.abs(a).max(), np.abs(b).max())  # CCC is scale-free; this keeps squares from overflowing
    if scale > 0:
        a, b = a / scale, b / scale
    denominator = a.var() + b.var() + (a.mean() - b.mean()) ** 2
    if denominator == 0:
        return 1.0  # two equal constants agree perfectly
    return float(2 * np.mean((a - a.mean()) * (b - b.mean())) / denominator)


def classification_scores(y_true, y_pred, n_classes: Optional[int] = None) -> Dict[str, object]:
    """UA, WA, macro-F1, per-class recall (list, NaN as None) and the confusion matrix
    (list of lists) of one evaluation, ready for JSON."""
    matrix = confusion_matrix(y_true, y_pred, n_classes)
    recalls = _recalls(matrix)
    return {"ua": float(np.nanmean(recalls)), "wa": float(np.trace(matrix) / matrix.sum()),
            "macro_f1": float(np.mean(_f1(matrix))),
            "per_class_recall": [None if np.isnan(r) else float(r) for r in recalls],
            "confusion": matrix.tolist()}


def summarize(per_fold: Sequence[Mapping[str, object]], keys: Sequence[str] = ("ua", "wa", "macro_f1")) -> Dict[str, Dict[str, float]]:
    """Mean and standard deviation (population, over folds) of each scalar in ``keys``:
    ``{"ua": {"mean": ..., "std": ...}, ...}``."""
    if not per_fold:
        raise ValueError("invalid argument 'per_fold': is empty")
    summary: Dict[str, Dict[str, float]] = {}
    for key in keys:
        values: List[float] = [float(result[key]) for result in per_fold]  # type: ignore[arg-type]
        summary[key] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    return summary
