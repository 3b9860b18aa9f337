"""Evaluating features and embeddings: a baseline utterance feature set, the linear
and kNN probes, fold-by-fold evaluation, and a HEAR-style adapter for any encoder.

- :func:`linear_probe`: standardise (statistics of the training part), then
  multinomial logistic regression (scikit-learn, L-BFGS).
- :func:`knn_probe`: the parameter-free weighted kNN of X-ARES (Zhang et al. 2025,
  after Wu et al. 2018): cosine similarity to the training embeddings, the ``k = 10``
  most similar vote for their class with weight ``exp(similarity / 0.07)``.
- :func:`evaluate`: a probe on every fold, UA/WA/macro-F1 per fold with mean +- std
  and the confusion matrix pooled over the folds' test parts.
- :func:`evaluate_dimensions`: ridge regression of dimensional labels (valence,
  arousal, ...) on every fold, scored by CCC.
- :class:`EncoderAdapter`: wraps ``encode(audio) -> (n, frames, dim)`` as a HEAR
  module (``get_scene_embeddings``, ``get_timestamp_embeddings``) and as a cached
  :class:`~affectkit.cache.Extractor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from ._checks import as_float, as_int
from .cache import Extractor
from .metrics import classification_scores, summarize

__all__ = ["utterance_features", "UTTERANCE_FEATURE_NAMES", "utterance_extractor", "linear_probe", "knn_probe",
           "PROBES", "evaluate", "ridge_probe", "evaluate_dimensions", "EncoderAdapter", "get_scene_embeddings",
           "get_timestamp_embeddings"]


def _mfcc_framing(sr: int) -> Dict[str, int]:
    win_length = int(round(0.025 * sr))  # 25 ms windows, 10 ms hop
    return dict(n_fft=1 << (win_length - 1).bit_length(), hop_length=int(round(0.01 * sr)), win_length=win_length)


def _names() -> Tuple[str, ...]:
    from .features import EGEMAPS_LLD_NAMES

    names = [f"{n}_{s}" for n in EGEMAPS_LLD_NAMES for s in ("mean", "std")] + ["equivalentSoundLevel_dBp"]
    names += ["voiced_fraction", "voiced_onsets_per_s", "f0_mean_st", "f0_std_st", "f0_range_st"]
    names += [f"mfcc{i}_{s}" for i in range(13) for s in ("mean", "std")]
    return tuple(names)


def utterance_features(y: np.ndarray, sr: int, *, num_threads: int = 1) -> np.ndarray:
    """A baseline feature vector of one utterance from affectkit's own analyses
    (float64, ``len(UTTERANCE_FEATURE_NAMES)``):

    - openSMILE's eGeMAPS energy/spectral LLDs (:func:`affectkit.egemaps_lld`): mean
      and standard deviation over frames, and the equivalent sound level;
    - Praat's F0 (:func:`affectkit.pitch`): voiced fraction, voiced onsets per second
      (a tempo cue), mean, standard deviation and 10-90 % range of F0 in semitones re
      1 Hz (0 when nothing is voiced);
    - 13 MFCCs (:func:`affectkit.mfcc`, 25 ms windows, 10 ms hop, 40 mels): mean and
      standard deviation.
    """
    from .features import egemaps_lld, mfcc
    from .prosody import pitch

    y = np.ascontiguousarray(y)
    lld = egemaps_lld(y, sr=sr, num_threads=num_threads)
    parts = [np.array([[np.mean(v), np.std(v)] for k, v in lld.items() if k != "equivalentSoundLevel_dBp"]).ravel(),
             [float(lld["equivalentSoundLevel_dBp"])]]
    track = pitch(y, sr=sr, num_threads=num_threads)
    voiced = track.voiced
    onsets = np.count_nonzero(voiced[1:] & ~voiced[:-1]) + int(voiced[:1].sum())
    if voiced.any():
        semitones = 12 * np.log2(track.f0[voiced])
        tone = [semitones.mean(), semitones.std(), np.subtract(*np.percentile(semitones, [90, 10]))]
    else:
        tone = [0.0, 0.0, 0.0]
    parts.append([voiced.mean(), onsets / (y.shape[-1] / sr), *tone])
    cepstra = mfcc(y, sr=sr, n_mfcc=13, n_mels=40, num_threads=num_threads, **_mfcc_framing(sr))
    parts.append(np.stack([cepstra.mean(axis=-1), cepstra.std(axis=-1)], axis=-1).ravel())
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts])


UTTERANCE_FEATURE_NAMES = _names()


def utterance_extractor(sr: int = 16000, *, num_threads: int = 1) -> Extractor:
    """:func:`utterance_features` as a cacheable :class:`~affectkit.cache.Extractor`."""
    sr = as_int("sr", sr, minimum=1)
    threads = as_int("num_threads", num_threads, minimum=1)
    from ._version import __version__

    # num_threads is a keyword so that affectkit.corpus.extract can match it to a Dask worker's cores.
    return Extractor("utterance-features",
                     lambda y, rate, num_threads=threads: utterance_features(y, rate, num_threads=num_threads),
                     {"names": list(UTTERANCE_FEATURE_NAMES), "affectkit": __version__}, sr)


def _training_data(X_train, y_train, X_test) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    train, test = (np.asarray(a, dtype=np.float64) for a in (X_train, X_test))
    labels = np.asarray(y_train)
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
        raise ValueError(f"invalid argument 'X_test': X_train and X_test must be 2-D with the same number of columns, "
                         f"got {train.shape} and {test.shape}")
    if train.shape[0] == 0:
        raise ValueError("invalid argument 'X_train': is empty")
    if labels.shape != (train.shape[0],) or labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
        raise ValueError(f"invalid argument 'y_train': must be {train.shape[0]} non-negative class indices, "
                         f"got shape {labels.shape} dtype {labels.dtype}")
    for name, array in (("X_train", train), ("X_test", test)):
        if not np.isfinite(array).all():
            raise ValueError(f"invalid argument '{name}': holds NaN or Inf")
    return train, labels.astype(np.int64), test


def _n_classes(labels: np.ndarray, n_classes: Optional[int]) -> int:
    needed = int(labels.max()) + 1
    if n_classes is None:
        return needed
    n_classes = as_int("n_classes", n_classes, minimum=1)
    if n_classes < needed:
        raise ValueError(f"invalid argument 'n_classes': is {n_classes} but y_train reaches index {needed - 1}")
    return n_classes


def _max_abs_scaled(a: np.ndarray, axis: int) -> np.ndarray:
    """``a`` divided by its largest magnitude along ``axis`` (1 where all zero): the same
    directions and standardised values, without overflow for values near 1e308."""
    peak = np.max(np.abs(a), axis=axis, keepdims=True) if a.shape[axis] else np.ones(1)
    return a / np.where(peak > 0, peak, 1.0)


def _standardize(train: np.ndarray, test: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    peak = np.max(np.abs(train), axis=0)
    peak[peak == 0] = 1.0
    train, test = train / peak, test / peak
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0  # a constant column stays 0, as in scikit-learn's StandardScaler
    train, test = (train - mean) / std, (test - mean) / std
    if not (np.isfinite(train).all() and np.isfinite(test).all()):
        raise ValueError("invalid argument 'X_test': values too large for the scale of X_train to standardise")
    return train, test


def linear_probe(X_train, y_train, X_test, *, n_classes: Optional[int] = None, C: float = 1.0,
                 max_iter: int = 1000) -> np.ndarray:
    """Standardise, fit multinomial logistic regression (L2, strength ``1/C``), return
    class probabilities of ``X_test``: ``(n_test, n_classes)`` (0 for classes absent
    from the training part)."""
    from sklearn.linear_model import LogisticRegression

    train, labels, test = _training_data(X_train, y_train, X_test)
    n_classes = _n_classes(labels, n_classes)
    C = as_float("C", C)
    if not C > 0:
        raise ValueError(f"invalid argument 'C': must be positive, got {C}")
    train, test = _standardize(train, test)
    scores = np.zeros((test.shape[0], n_classes))
    present = np.unique(labels)
    if present.size == 1:  # one class to learn: it is the only answer
        scores[:, present[0]] = 1.0
        return scores
    model = LogisticRegression(C=C, max_iter=as_int("max_iter", max_iter, minimum=1))
    model.fit(train, labels)  # not converging within max_iter is scikit-learn's ConvergenceWarning, not an error
    if test.shape[0]:
        scores[:, model.classes_] = model.predict_proba(test)
    return scores


def knn_probe(X_train, y_train, X_test, *, n_classes: Optional[int] = None, k: int = 10,
              temperature: float = 0.07, standardize: bool = False) -> np.ndarray:
    """X-ARES's weighted kNN: ``score[c] = sum over the k most cosine-similar training
    items of class c of exp(similarity / temperature)``, normalised to sum to 1;
    ``(n_test, n_classes)``. ``standardize`` first scales every column by the training
    part's statistics (for hand-crafted features in mixed units; X-ARES uses
    embeddings as they are)."""
    train, labels, test = _training_data(X_train, y_train, X_test)
    n_classes = _n_classes(labels, n_classes)
    k = min(as_int("k", k, minimum=1), train.shape[0])
    temperature = as_float("temperature", temperature)
    if not temperature > 0:
        raise ValueError(f"invalid argument 'temperature': must be positive, got {temperature}")
    if standardize:
        train, test = _standardize(train, test)

    def unit(a: np.ndarray) -> np.ndarray:
        a = _max_abs_scaled(a, axis=1)
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-300)

    similarity = unit(test) @ unit(train).T
    neighbours = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    nearest = np.take_along_axis(similarity, neighbours, axis=1)
    weights = np.exp((nearest - 1.0) / temperature)  # exp(s/T) up to a common factor: no overflow
    scores = np.zeros((test.shape[0], n_classes))
    np.add.at(scores, (np.arange(test.shape[0])[:, None], labels[neighbours]), weights)
    return scores / scores.sum(axis=1, keepdims=True)


PROBES: Dict[str, Callable[..., np.ndarray]] = {"linear": linear_probe, "knn": knn_probe}


def evaluate(X, y, folds: Sequence[Any], *, classes: Sequence[str], probe: str = "linear",
             probe_args: Optional[Mapping[str, Any]] = None, progress: bool = False) -> Dict[str, Any]:
    """Runs ``probe`` ('linear' or 'knn') on every fold (objects with ``name``,
    ``train``, ``test`` index arrays, as :func:`affectkit.data.make_folds` gives).

    Returns a JSON-ready dict: ``per_fold`` (name, sizes, UA, WA, macro-F1, per-class
    recall, confusion), ``summary`` (mean and std over folds of UA, WA, macro-F1),
    ``pooled`` (the same scores of all test predictions together), ``predictions``
    (per row: the predicted class index, -1 where a row was never tested).
    """
    if probe not in PROBES:
        raise ValueError(f"invalid argument 'probe': must be one of {sorted(PROBES)}, got {probe!r}")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"invalid argument 'y': X must be (n, dim) and y (n,), got {X.shape} and {y.shape}")
    if not folds:
        raise ValueError("invalid argument 'folds': is empty")
    n_classes = len(classes)
    predictions = np.full(X.shape[0], -1, dtype=np.int64)
    per_fold = []
    from tqdm.auto import tqdm

    for fold in tqdm(folds, desc=f"{probe} probe", unit="fold", disable=not progress):
        if len(fold.test) == 0 or len(fold.train) == 0:
            raise ValueError(f"invalid argument 'folds': fold {fold.name!r} has an empty train or test part")
        scores = PROBES[probe](X[fold.train], y[fold.train], X[fold.test], n_classes=n_classes,
                               **dict(probe_args or {}))
        predicted = scores.argmax(axis=1)
        predictions[fold.test] = predicted
        per_fold.append({"name": fold.name, "n_train": int(len(fold.train)), "n_test": int(len(fold.test)),
                         **classification_scores(y[fold.test], predicted, n_classes)})
    tested = predictions >= 0
    return {"probe": probe, "probe_args": dict(probe_args or {}), "classes": list(classes), "per_fold": per_fold,
            "summary": summarize(per_fold), "pooled": classification_scores(y[tested], predictions[tested], n_classes),
            "predictions": predictions.tolist()}


def ridge_probe(X_train, values_train, X_test, *, alpha: float = 1.0) -> np.ndarray:
    """Standardise, fit ridge regression (scikit-learn ``Ridge(alpha)``) to each column of
    ``values_train`` ``(n_train, n_dims)``, e.g. valence and arousal; returns the
    predictions ``(n_test, n_dims)``."""
    from sklearn.linear_model import Ridge

    values = np.asarray(values_train, dtype=np.float64)
    train, test = (np.asarray(a, dtype=np.float64) for a in (X_train, X_test))
    if values.ndim != 2 or values.shape[0] != train.shape[0] or not np.isfinite(values).all():
        raise ValueError(f"invalid argument 'values_train': must be finite (n_train={train.shape[0]}, n_dims), got "
                         f"shape {values.shape}")
    train, _, test = _training_data(train, np.zeros(train.shape[0], np.int64), test)
    alpha = as_float("alpha", alpha)
    if not alpha >= 0:
        raise ValueError(f"invalid argument 'alpha': must be >= 0, got {alpha}")
    train, test = _standardize(train, test)
    return Ridge(alpha=alpha).fit(train, values).predict(test).reshape(test.shape[0], values.shape[1])


def evaluate_dimensions(X, values, folds: Sequence[Any], *, names: Sequence[str],
                        alpha: float = 1.0) -> Dict[str, Any]:
    """:func:`ridge_probe` on every fold, scored by the concordance correlation
    coefficient (CCC) of each dimension: ``per_fold`` (name, sizes, CCC per dimension)
    and ``summary`` (mean and std over folds per dimension)."""
    from .metrics import ccc

    X = np.asarray(X, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape != (X.shape[0], len(names)):
        raise ValueError(f"invalid argument 'values': must be (n={X.shape[0]}, {len(names)}) for names {list(names)}, "
                         f"got {values.shape}")
    if not folds:
        raise ValueError("invalid argument 'folds': is empty")
    per_fold = []
    for fold in folds:
        if len(fold.test) < 2 or len(fold.train) == 0:
            raise ValueError(f"invalid argument 'folds': fold {fold.name!r} needs a training part and >= 2 test items")
        predicted = ridge_probe(X[fold.train], values[fold.train], X[fold.test], alpha=alpha)
        per_fold.append({"name": fold.name, "n_train": int(len(fold.train)), "n_test": int(len(fold.test)),
                         **{f"ccc_{n}": ccc(values[fold.test, i], predicted[:, i]) for i, n in enumerate(names)}})
    return {"probe": "ridge", "alpha": alpha, "names": list(names), "per_fold": per_fold,
            "summary": summarize(per_fold, [f"ccc_{n}" for n in names])}


@dataclass
class EncoderAdapter:
    """Any encoder as a HEAR 2021 module.

    ``encode(audio)`` takes ``(n_sounds, n_samples)`` float32 audio at
    ``sample_rate`` and returns frame embeddings ``(n_sounds, n_frames, dim)``, frame
    ``t`` centred at ``t * hop_seconds + offset_seconds``. Inputs and outputs are NumPy
    (a CPU torch tensor is accepted as input, as HEAR passes them; results are NumPy).
    """

    encode: Callable[[np.ndarray], Any]
    sample_rate: int
    hop_seconds: float
    offset_seconds: float = 0.0
    name: str = "encoder"

    def __post_init__(self):
        if not callable(self.encode):
            raise TypeError(f"invalid argument 'encode': must be callable, got {type(self.encode).__name__}")
        self.sample_rate = as_int("sample_rate", self.sample_rate, minimum=1)
        self.hop_seconds = as_float("hop_seconds", self.hop_seconds)
        if not self.hop_seconds > 0:
            raise ValueError(f"invalid argument 'hop_seconds': must be positive, got {self.hop_seconds}")
        probe = self._frames(np.zeros((1, self.sample_rate), np.float32))
        self.scene_embedding_size = self.timestamp_embedding_size = int(probe.shape[-1])

    def _frames(self, audio) -> np.ndarray:
        array = np.asarray(audio)
        if array.ndim != 2 or array.dtype.kind != "f":
            raise ValueError(f"invalid argument 'audio': must be float (n_sounds, n_samples), got shape {array.shape} "
                             f"dtype {array.dtype}")
        if not np.isfinite(array).all():
            raise ValueError("invalid argument 'audio': holds NaN or Inf")
        frames = np.asarray(self.encode(array.astype(np.float32, copy=False)))
        if frames.ndim != 3 or frames.shape[0] != array.shape[0] or frames.shape[1] == 0:
            raise ValueError(f"encoder {self.name!r} returned shape {frames.shape}; expected (n_sounds={array.shape[0]}, "
                             f"n_frames >= 1, dim)")
        return frames

    def get_timestamp_embeddings(self, audio) -> Tuple[np.ndarray, np.ndarray]:
        """``(embeddings (n, frames, dim), timestamps (n, frames) in milliseconds)``."""
        frames = self._frames(audio)
        times = 1000.0 * (np.arange(frames.shape[1]) * self.hop_seconds + self.offset_seconds)
        return frames, np.broadcast_to(times, frames.shape[:2]).copy()

    def get_scene_embeddings(self, audio) -> np.ndarray:
        """The frame embeddings averaged over time: ``(n, dim)``."""
        return self._frames(audio).mean(axis=1)

    def extractor(self, params: Optional[Mapping[str, Any]] = None) -> Extractor:
        """Scene embeddings of one clip as a cacheable Extractor; ``params`` must name
        what identifies the encoder (checkpoint, layer, ...) for the cache key."""
        return Extractor(self.name, lambda y, sr: self.get_scene_embeddings(y[None, :])[0], dict(params or {}),
                         self.sample_rate)


def get_scene_embeddings(audio, model: EncoderAdapter) -> np.ndarray:
    """HEAR's module-level API: ``model.get_scene_embeddings(audio)``."""
    return model.get_scene_embeddings(audio)


def get_timestamp_embeddings(audio, model: EncoderAdapter) -> Tuple[np.ndarray, np.ndarray]:
    """HEAR's module-level API: ``model.get_timestamp_embeddings(audio)``."""
    return model.get_timestamp_embeddings(audio)
