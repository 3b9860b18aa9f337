"""Train/test folds for speaker-independent evaluation.

Every scheme returns a list of :class:`Fold` (name, train indices, test indices) over
the rows of a corpus. No speaker is in both the train and the test part of a fold
unless ``allow_speaker_overlap=True`` is asked for. :func:`write_folds` saves folds by
file path and :func:`read_folds` maps them back onto a corpus, so a result can be
reproduced with exactly the same split.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import List, Sequence, Union

import numpy as np

from .._checks import as_int
from .corpora import Corpus, CorpusError

__all__ = ["Fold", "leave_one_speaker_out", "speaker_kfold", "official_folds", "make_folds", "FOLD_SCHEMES",
           "write_folds", "read_folds"]


@dataclass(frozen=True)
class Fold:
    """One split: ``train`` and ``test`` are sorted int64 row indices."""

    name: str
    train: np.ndarray
    test: np.ndarray


Speakers = Union[Corpus, Sequence[str]]


def _speakers(speakers: Speakers) -> np.ndarray:
    values = speakers.speaker if isinstance(speakers, Corpus) else speakers
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"invalid argument 'speakers': must be a Corpus or a sequence of speaker ids, "
                        f"got {type(values).__name__}")
    array = np.array([str(s) for s in values], dtype=object)
    if array.size and (array == "").any():
        raise CorpusError(f"invalid argument 'speakers': {int((array == '').sum())} of {array.size} rows have no "
                          f"speaker; speaker-independent folds need a speaker for every file (give the corpus a "
                          f"speaker column or a speaker_pattern)")
    return array


def _fold(name: str, test_mask: np.ndarray) -> Fold:
    return Fold(name, np.flatnonzero(~test_mask).astype(np.int64), np.flatnonzero(test_mask).astype(np.int64))


def leave_one_speaker_out(speakers: Speakers) -> List[Fold]:
    """One fold per speaker, tested on that speaker and trained on all the others."""
    array = _speakers(speakers)
    unique = sorted(set(array))
    if len(unique) < 2:
        raise CorpusError(f"leave-one-speaker-out needs at least 2 speakers, the corpus has {len(unique)} "
                          f"({unique})")
    return [_fold(f"speaker {s}", array == s) for s in unique]


def speaker_kfold(speakers: Speakers, n_splits: int = 5, *, seed: int = 0) -> List[Fold]:
    """``n_splits`` folds of whole speakers with about equal numbers of files: speakers
    are shuffled by ``seed``, then each (largest first) goes to the fold with the
    fewest files so far (as scikit-learn's GroupKFold balances groups)."""
    n_splits = as_int("n_splits", n_splits, minimum=2)
    seed = as_int("seed", seed, minimum=0)
    array = _speakers(speakers)
    unique, counts = np.unique(array.astype(str), return_counts=True)
    if unique.size < n_splits:
        raise CorpusError(f"invalid argument 'n_splits': {n_splits} speaker folds need at least {n_splits} speakers, "
                          f"the corpus has {unique.size}")
    order = np.random.default_rng(seed).permutation(unique.size)
    order = order[np.argsort(-counts[order], kind="stable")]
    sizes = np.zeros(n_splits, dtype=np.int64)
    fold_of = {}
    for i in order:
        target = int(np.argmin(sizes))
        fold_of[unique[i]] = target
        sizes[target] += counts[i]
    assignment = np.array([fold_of[s] for s in array.astype(str)])
    return [_fold(f"speaker fold {k + 1}/{n_splits}", assignment == k) for k in range(n_splits)]


def official_folds(corpus: Corpus, *, allow_speaker_overlap: bool = False) -> List[Fold]:
    """The corpus's own partition (its ``fold`` column): every fold value is tested once
    against the rest (ESC-50's 5 folds, IEMOCAP's leave-one-session-out); a
    train/validation/test split gives one fold, trained on 'train' and tested on
    'test'. Raises if a speaker falls on both sides unless ``allow_speaker_overlap``."""
    if not isinstance(corpus, Corpus):
        raise TypeError(f"invalid argument 'corpus': must be a Corpus, got {type(corpus).__name__}")
    groups = np.array(corpus.fold, dtype=object)
    values = sorted(set(groups))
    if values == [""] or not values:
        raise CorpusError(f"{corpus.name}: the corpus has no official folds or split (its fold column is empty); "
                          f"use leave-one-speaker-out or speaker k-fold")
    if "" in values:
        raise CorpusError(f"{corpus.name}: {int((groups == '').sum())} rows have no fold; expected a fold for every "
                          f"row")
    if set(values) <= {"train", "validation", "test"}:
        if not {"train", "test"} <= set(values):
            raise CorpusError(f"{corpus.name}: the split needs 'train' and 'test' rows, found {values}")
        folds = [Fold("official test split", np.flatnonzero(groups == "train").astype(np.int64),
                      np.flatnonzero(groups == "test").astype(np.int64))]
    else:
        if len(values) < 2:
            raise CorpusError(f"{corpus.name}: official folds need at least 2 fold values, found {values}")
        folds = [_fold(f"fold {v}", groups == v) for v in values]
    if not allow_speaker_overlap:
        speakers = np.array(corpus.speaker, dtype=object)
        for fold in folds:
            shared = set(speakers[fold.train]) & set(speakers[fold.test]) - {""}
            if shared:
                raise CorpusError(f"{corpus.name}: {fold.name} has speaker(s) {sorted(shared)[:5]} in both train and "
                                  f"test; pass allow_speaker_overlap=True to accept that")
    return folds


FOLD_SCHEMES = ("loso", "speaker-kfold", "official")


def make_folds(corpus: Corpus, scheme: str = "loso", *, n_splits: int = 5, seed: int = 0,
               allow_speaker_overlap: bool = False) -> List[Fold]:
    """Folds by name: 'loso' (:func:`leave_one_speaker_out`), 'speaker-kfold'
    (:func:`speaker_kfold`) or 'official' (:func:`official_folds`)."""
    if scheme == "loso":
        return leave_one_speaker_out(corpus)
    if scheme == "speaker-kfold":
        return speaker_kfold(corpus, n_splits, seed=seed)
    if scheme == "official":
        return official_folds(corpus, allow_speaker_overlap=allow_speaker_overlap)
    raise ValueError(f"invalid argument 'scheme': must be one of {list(FOLD_SCHEMES)}, got {scheme!r}")


def _relative(corpus: Corpus) -> List[str]:
    return [os.path.relpath(p, corpus.root) for p in corpus.path]


def write_folds(folds: Sequence[Fold], corpus: Corpus, path: Union[str, "os.PathLike[str]"]) -> None:
    """Saves ``folds`` as JSON, each row named by its path relative to the corpus root."""
    names = _relative(corpus)
    document = {"corpus": corpus.name, "n_rows": len(corpus),
                "folds": [{"name": f.name, "train": [names[i] for i in f.train], "test": [names[i] for i in f.test]}
                          for f in folds]}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)


def read_folds(path: Union[str, "os.PathLike[str]"], corpus: Corpus) -> List[Fold]:
    """Folds written by :func:`write_folds`, as row indices of ``corpus``; raises if a
    file of the saved split is not in the corpus."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        entries = document["folds"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CorpusError(f"invalid argument 'path': {str(path)!r} is not a folds file written by write_folds: "
                          f"{error}") from None
    row = {name: i for i, name in enumerate(_relative(corpus))}
    folds = []
    for entry in entries:
        indices = []
        for part in ("train", "test"):
            absent = [n for n in entry[part] if n not in row]
            if absent:
                raise CorpusError(f"{str(path)!r}: fold {entry['name']!r} lists {len(absent)} file(s) not in the "
                                  f"corpus, e.g. {absent[0]!r}")
            indices.append(np.array(sorted(row[n] for n in entry[part]), dtype=np.int64))
        folds.append(Fold(entry["name"], *indices))
    return folds
