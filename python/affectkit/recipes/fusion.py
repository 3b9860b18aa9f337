"""Fusion of two frozen frame encoders, compared on speaker folds.

1. Frame embeddings of every utterance from two encoders: :func:`demo_embeddings` runs a
   small random-initialised :class:`~affectkit.nn.MambaEncoder` and
   :class:`~affectkit.nn.AttentionEncoder` on log-mel frames (cached by audio content
   with :mod:`affectkit.cache`); :func:`load_embeddings` reads ``.npy`` files per
   utterance that you computed with real pretrained models (WavLM, HuBERT, wav2vec2,
   audio Mamba models).
2. :func:`compare_fusions` trains a classifier on top of them with each fusion (single
   encoders, baselines, :class:`~affectkit.nn.HadamardOTFusion` and its ablations,
   :class:`~affectkit.nn.RenyiAlignedFusion`) on every fold and seed and reports UA, WA
   and macro-F1 (:mod:`affectkit.metrics`), mean +- std over folds x seeds.

::

    from affectkit.data import demo_corpus, make_folds
    from affectkit.recipes import fusion

    corpus = demo_corpus()
    x, y = fusion.demo_embeddings(corpus)
    results = fusion.compare_fusions(x, y, corpus.y, make_folds(corpus, "speaker-kfold", n_splits=3))
    print(fusion.results_table(results))
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from .. import metrics
from .._checks import as_int
from ..cache import Extractor, extract
from ..data.corpora import Corpus
from ..data.folds import Fold
from ..features import log_mel
from ..nn import AttentionEncoder, HadamardOTFusion, MambaEncoder, PooledFusion, RenyiAlignedFusion
from ..nn.fusion import _pool, _project  # the masked projection and pooling the fusion modules use

__all__ = ["FUSIONS", "demo_embeddings", "load_embeddings", "padded_batch", "make_model", "compare_fusions",
           "results_table"]

PathLike = Union[str, "os.PathLike[str]"]

#: name: (what it is, constructor arguments)
FUSIONS: Dict[str, Tuple[str, dict]] = {
    "x only": ("single encoder x (Mamba on the demo)", dict(kind="single", which="x")),
    "y only": ("single encoder y (attention on the demo)", dict(kind="single", which="y")),
    "concat": ("PooledFusion(mode='concat')", dict(kind="pooled", mode="concat")),
    "sum": ("PooledFusion(mode='sum')", dict(kind="pooled", mode="sum")),
    "gated": ("PooledFusion(mode='gated')", dict(kind="pooled", mode="gated")),
    "hadamard-ot": ("HadamardOTFusion (ot, hadamard, inputs)", dict(kind="hadamard-ot")),
    "hadamard-ot -hadamard": ("HadamardOTFusion(branches=('ot', 'inputs'))",
                              dict(kind="hadamard-ot", branches=("ot", "inputs"))),
    "hadamard-ot -ot": ("HadamardOTFusion(branches=('hadamard', 'inputs'))",
                        dict(kind="hadamard-ot", branches=("hadamard", "inputs"))),
    "hadamard-ot -inputs": ("HadamardOTFusion(branches=('ot', 'hadamard'))",
                            dict(kind="hadamard-ot", branches=("ot", "hadamard"))),
    "renyi": ("RenyiAlignedFusion(alpha=0.5, weight=0.1)", dict(kind="renyi")),
}

Embeddings = List[np.ndarray]  # one (frames, dim) float32 array per utterance


# ---------------------------------------------------------------- embeddings


def _demo_encoders(n_mels: int, d_model: int, seed: int) -> Dict[str, nn.Module]:
    torch.manual_seed(seed)
    mamba = MambaEncoder(d_model, n_layer=2, input_dim=n_mels)
    attention = AttentionEncoder(d_model, num_heads=4, num_layers=2, dim_feedforward=2 * d_model, dropout=0.0,
                                 input_dim=n_mels)
    return {"mamba": mamba.eval(), "attention": attention.eval()}


def demo_embeddings(corpus: Corpus, *, n_mels: int = 40, hop_length: int = 320, d_model: int = 64, seed: int = 0,
                    cache_dir: Optional[PathLike] = "~/.cache/affectkit/features",
                    progress: bool = True) -> Tuple[Embeddings, Embeddings]:
    """Frame embeddings of every utterance from two small random-initialised encoders
    (stand-ins for pretrained models): a 2-layer :class:`~affectkit.nn.MambaEncoder` (x)
    and a 2-layer :class:`~affectkit.nn.AttentionEncoder` (y), both of width ``d_model``,
    on log-mel frames (``n_mels`` bands, 25 ms windows, ``hop_length`` samples at 16 kHz;
    dB scaled by (L + 40) / 20). Computed once per audio file and cached.

    Returns
    -------
    x, y : lists of float32 arrays (frames, d_model), one per utterance of ``corpus``
        (frames = 1 + samples // hop_length).
    """
    if not isinstance(corpus, Corpus):
        raise TypeError(f"invalid argument 'corpus': must be an affectkit.data.Corpus, got {type(corpus).__name__}")
    n_mels, hop_length = as_int("n_mels", n_mels, minimum=1), as_int("hop_length", hop_length, minimum=1)
    d_model, seed = as_int("d_model", d_model, minimum=4), as_int("seed", seed, minimum=0)
    encoders = _demo_encoders(n_mels, d_model, seed)
    params = dict(n_mels=n_mels, hop_length=hop_length, d_model=d_model, seed=seed, torch=torch.__version__)
    results = []
    for name, encoder in encoders.items():
        def embed(y: np.ndarray, sr: int, encoder: nn.Module = encoder) -> np.ndarray:
            frames = log_mel(y.astype(np.float32), sr=sr, n_fft=512, win_length=400, hop_length=hop_length,
                             n_mels=n_mels)
            features = torch.from_numpy((np.asarray(frames).T + 40) / 20)[None]
            with torch.inference_mode():
                return encoder(features)[0][0].numpy()

        found = extract(corpus.path, Extractor(f"fusion-demo-{name}", embed, params), cache_dir=cache_dir,
                        progress=progress)
        if found.failures:
            raise ValueError(f"invalid argument 'corpus': {len(found.failures)} files failed: "
                             f"{dict(list(found.failures.items())[:3])}")
        results.append([np.asarray(f, dtype=np.float32) for f in found.features])
    return results[0], results[1]


def load_embeddings(directory: PathLike, corpus: Corpus) -> Embeddings:
    """Frame embeddings computed elsewhere: ``directory/<path relative to corpus.root
    with the suffix .npy>`` for each utterance, each an array (frames, dim) with one dim
    for all files.

    Returns
    -------
    list of float32 arrays (frames, dim), in the corpus's order
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"invalid argument 'directory': must be a path, got {type(directory).__name__}")
    if not isinstance(corpus, Corpus):
        raise TypeError(f"invalid argument 'corpus': must be an affectkit.data.Corpus, got {type(corpus).__name__}")
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ValueError(f"invalid argument 'directory': {str(root)!r} is not a directory")
    embeddings: Embeddings = []
    for path in corpus.path:
        file = root / Path(os.path.relpath(path, corpus.root)).with_suffix(".npy")
        try:
            array = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ValueError(f"invalid argument 'directory': cannot read {str(file)!r}: {error}") from None
        if array.ndim != 2 or array.shape[0] < 1 or not np.issubdtype(array.dtype, np.floating) \
                or not np.isfinite(array).all():
            raise ValueError(f"invalid argument 'directory': {str(file)!r} must hold a finite float array "
                             f"(frames >= 1, dim), got {array.dtype} {array.shape}")
        if embeddings and array.shape[1] != embeddings[0].shape[1]:
            raise ValueError(f"invalid argument 'directory': {str(file)!r} has dim {array.shape[1]}, the first file "
                             f"{embeddings[0].shape[1]}")
        embeddings.append(array.astype(np.float32))
    return embeddings


# ---------------------------------------------------------------- models


class _SingleEncoder(nn.Module):
    """One encoder's embeddings alone: projection, mean over valid frames."""

    def __init__(self, dim_in: int, dim: int, which: str) -> None:
        super().__init__()
        self.which = which
        self.proj = nn.Linear(dim_in, dim)
        self.out_dim = dim

    def forward(self, x, y, x_lengths, y_lengths):
        features, lengths = (x, x_lengths) if self.which == "x" else (y, y_lengths)
        return _pool(None, _project(self.proj, features, lengths), lengths)


class _Classifier(nn.Module):
    """A fusion module followed by a linear classifier; the loss is cross-entropy."""

    def __init__(self, fusion: nn.Module, n_classes: int, dropout: float) -> None:
        super().__init__()
        self.fusion = fusion
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(fusion.out_dim, n_classes))

    def forward(self, x, y, x_lengths, y_lengths, labels=None):
        logits = self.head(self.fusion(x, y, x_lengths, y_lengths))
        loss = None if labels is None else nn.functional.cross_entropy(logits, labels)
        return logits, loss


class _RenyiClassifier(nn.Module):
    def __init__(self, fusion: RenyiAlignedFusion) -> None:
        super().__init__()
        self.fusion = fusion

    def forward(self, x, y, x_lengths, y_lengths, labels=None):
        out = self.fusion(x, y, x_lengths, y_lengths, labels)
        return out.logits, out.loss


def make_model(name: str, x_dim: int, y_dim: int, n_classes: int, dim: int = 64, dropout: float = 0.1) -> nn.Module:
    """The classifier of fusion ``name`` (a key of :data:`FUSIONS`): ``model(x, y,
    x_lengths, y_lengths, labels=None) -> (logits (batch, n_classes), loss or None)``."""
    if name not in FUSIONS:
        raise ValueError(f"invalid argument 'fusions': unknown fusion {name!r}; known: {list(FUSIONS)}")
    options = dict(FUSIONS[name][1])
    kind = options.pop("kind")
    if kind == "renyi":
        return _RenyiClassifier(RenyiAlignedFusion(x_dim, y_dim, n_classes, dim=dim, num_heads=4))
    if kind == "single":
        fusion: nn.Module = _SingleEncoder(x_dim if options["which"] == "x" else y_dim, dim, options["which"])
    elif kind == "pooled":
        fusion = PooledFusion(x_dim, y_dim, dim=dim, **options)
    else:
        fusion = HadamardOTFusion(x_dim, y_dim, dim=dim, warn=False, **options)
    return _Classifier(fusion, n_classes, dropout)


# ---------------------------------------------------------------- training and evaluation


def padded_batch(embeddings: Sequence[np.ndarray], rows: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """The utterances ``rows`` of a list of (frames, dim) arrays as one float32 tensor
    (len(rows), max frames, dim), zero-padded, and their lengths (int64), as the fusion
    modules take them."""
    chosen = [embeddings[i] for i in rows]
    lengths = torch.tensor([len(e) for e in chosen], dtype=torch.int64)
    out = torch.zeros(len(chosen), int(lengths.max()), chosen[0].shape[1])
    for i, e in enumerate(chosen):
        out[i, : len(e)] = torch.from_numpy(e)
    return out, lengths


def _check_embeddings(name: str, embeddings: Sequence[np.ndarray], n: Optional[int]) -> int:
    if isinstance(embeddings, np.ndarray) or not isinstance(embeddings, Sequence) or not embeddings:
        raise TypeError(f"invalid argument '{name}': must be a non-empty list of (frames, dim) arrays")
    if n is not None and len(embeddings) != n:
        raise ValueError(f"invalid argument '{name}': has {len(embeddings)} utterances, x has {n}")
    dims = {np.shape(e)[1] if np.ndim(e) == 2 else -1 for e in embeddings}
    if len(dims) != 1 or -1 in dims or min(len(e) for e in embeddings) < 1:
        raise ValueError(f"invalid argument '{name}': every item must be a (frames >= 1, dim) array of one dim")
    return dims.pop()


def _train_and_predict(model: nn.Module, x: Embeddings, y: Embeddings, labels: np.ndarray, fold: Fold, epochs: int,
                       batch_size: int, lr: float, seed: int) -> np.ndarray:
    generator = np.random.default_rng(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    model.train()
    for _ in range(epochs):
        order = generator.permutation(fold.train)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            (xb, xl), (yb, yl) = padded_batch(x, rows), padded_batch(y, rows)
            _, loss = model(xb, yb, xl, yl, torch.from_numpy(labels[rows]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    predictions = []
    with torch.no_grad():
        for start in range(0, len(fold.test), batch_size):
            rows = fold.test[start:start + batch_size]
            (xb, xl), (yb, yl) = padded_batch(x, rows), padded_batch(y, rows)
            predictions.append(model(xb, yb, xl, yl)[0].argmax(-1).numpy())
    return np.concatenate(predictions)


@contextmanager
def _torch_threads(n: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def compare_fusions(x: Embeddings, y: Embeddings, labels, folds: Sequence[Fold], *,
                    fusions: Sequence[str] = tuple(FUSIONS), seeds: Sequence[int] = (0, 1, 2), epochs: int = 20,
                    batch_size: int = 16, lr: float = 3e-3, dim: int = 64, num_threads: int = 1, progress: bool = True,
                    on_result: Optional[Callable[[str, Mapping[str, object]], None]] = None) -> Dict[str, dict]:
    """Trains and tests a classifier for each fusion on each fold and seed.

    Parameters
    ----------
    x, y : lists of arrays (frames, x_dim) and (frames, y_dim), one per utterance
    labels : int array (n,), class indices
    folds : folds of affectkit.data (speaker-independent: ``make_folds(corpus, 'loso')``)
    fusions : names from :data:`FUSIONS`
    seeds : one training per seed (initialisation and batch order) and fold
    epochs, batch_size, lr : AdamW (weight decay 0.01) on the training part, no early stopping
    dim : common width of the fusions' projections
    num_threads : torch threads while training (restored afterwards); these models are
        small, and one thread is fastest unless the machine is idle
    progress : tqdm bar over the trainings
    on_result : called with (fusion, run) after each training

    Returns
    -------
    {fusion: {"summary": {"ua"|"wa"|"macro_f1": {"mean", "std"}} over folds x seeds,
    "runs": [{"fold", "seed", "ua", "wa", "macro_f1"}, ...]}}
    """
    n_x = _check_embeddings("x", x, None)
    n_y = _check_embeddings("y", y, len(x))
    labels = np.asarray(labels)
    if labels.shape != (len(x),) or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError(f"invalid argument 'labels': must be {len(x)} non-negative class indices, "
                         f"got {labels.dtype} {labels.shape}")
    labels = labels.astype(np.int64)
    if isinstance(fusions, str) or not fusions or any(f not in FUSIONS for f in fusions):
        raise ValueError(f"invalid argument 'fusions': must be names from {list(FUSIONS)}, got {fusions!r}")
    if not folds or not all(isinstance(f, Fold) for f in folds):
        raise TypeError("invalid argument 'folds': must be a non-empty list of affectkit.data.Fold")
    if not seeds:
        raise ValueError("invalid argument 'seeds': is empty")
    epochs, batch_size = as_int("epochs", epochs, minimum=1), as_int("batch_size", batch_size, minimum=1)
    num_threads = as_int("num_threads", num_threads, minimum=1)
    n_classes = int(labels.max()) + 1
    from tqdm.auto import tqdm

    results: Dict[str, dict] = {}
    bar = tqdm(total=len(fusions) * len(folds) * len(seeds), desc="fusion trainings", disable=not progress)
    with _torch_threads(num_threads), bar:
        for name in fusions:
            runs = []
            for fold in folds:
                for seed in seeds:
                    torch.manual_seed(int(seed))
                    model = make_model(name, n_x, n_y, n_classes, dim)
                    predicted = _train_and_predict(model, x, y, labels, fold, epochs, batch_size, lr, int(seed))
                    scores = metrics.classification_scores(labels[fold.test], predicted, n_classes)
                    run = {"fold": fold.name, "seed": int(seed),
                           **{k: scores[k] for k in ("ua", "wa", "macro_f1")}}
                    runs.append(run)
                    if on_result is not None:
                        on_result(name, run)
                    bar.set_postfix_str(f"{name}: UA {run['ua']:.2f}")
                    bar.update()
            results[name] = {"summary": metrics.summarize(runs), "runs": runs}
    return results


def results_table(results: Mapping[str, dict]) -> str:
    """A markdown table of :func:`compare_fusions`' summaries (percent, mean +- std)."""
    lines = ["| fusion | what | UA % | WA % | macro-F1 % |", "|---|---|---|---|---|"]
    for name, result in results.items():
        cells = [f"{100 * result['summary'][k]['mean']:.1f} ± {100 * result['summary'][k]['std']:.1f}"
                 for k in ("ua", "wa", "macro_f1")]
        lines.append(f"| {name} | {FUSIONS[name][0] if name in FUSIONS else ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
