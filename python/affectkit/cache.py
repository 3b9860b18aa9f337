"""Extract features or embeddings of many files once, and keep them.

Each result is stored as ``<cache_dir>/<name>-<params hash>/<audio hash>.npy``: the
key is the SHA-256 of the audio file's bytes (a renamed or copied file is a hit, an
edited one a miss) and of the extractor's name, parameters and sample rate (changing
any of them starts a new cache). Every result is written atomically as soon as it is
computed, so an interrupted run (Ctrl-C, a crash) continues where it stopped. A file
that cannot be read or analysed is reported in ``failures.json`` of that cache and
skipped; the others finish.

>>> extractor = Extractor("mfcc-mean", lambda y, sr: ak.mfcc(y, sr=sr).mean(-1), {"n_mfcc": 20})
>>> result = extract(corpus.path, extractor, cache_dir="~/.cache/affectkit/features")
>>> result.features, result.failures
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from ._checks import as_int
from .data.audio import load_audio

__all__ = ["ANALYSIS_ERRORS", "Extractor", "ExtractionResult", "FeatureCache", "analyse", "extract", "file_hash",
           "write_atomic"]

PathLike = Union[str, "os.PathLike[str]"]


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """``write(stream)`` into a temporary file next to ``path``, renamed into place: a
    process killed meanwhile leaves a ``*.tmp`` file, never a half-written ``path``."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@dataclass(frozen=True)
class Extractor:
    """A named function ``function(y, sr) -> ndarray`` of a mono float32 signal at
    ``sr`` Hz; ``params`` must hold everything that changes its output (it keys the
    cache, together with ``name`` and ``sr``) and be JSON-serialisable. A function that
    also takes a ``num_threads`` keyword gets the core threads it may use (its result
    must not depend on them)."""

    name: str
    function: Callable[[np.ndarray, int], np.ndarray]
    params: Mapping[str, Any] = field(default_factory=dict)
    sr: int = 16000

    @property
    def key(self) -> str:
        text = json.dumps({"name": self.name, "params": dict(self.params), "sr": self.sr}, sort_keys=True,
                          default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_hash(path: PathLike) -> str:
    """SHA-256 of the file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FeatureCache:
    """The directory of one extractor's results, keyed by audio content hash."""

    def __init__(self, cache_dir: PathLike, extractor: Extractor):
        if not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(f"invalid argument 'cache_dir': must be a path, got {type(cache_dir).__name__}")
        self.directory = Path(cache_dir).expanduser() / f"{extractor.name}-{extractor.key}"
        self.directory.mkdir(parents=True, exist_ok=True)
        about = self.directory / "extractor.json"
        if not about.exists():
            about.write_text(json.dumps({"name": extractor.name, "params": dict(extractor.params), "sr": extractor.sr},
                                        indent=1, sort_keys=True, default=str))

    def _file(self, content_hash: str) -> Path:
        return self.directory / f"{content_hash}.npy"

    def get(self, content_hash: str) -> Optional[np.ndarray]:
        """The stored result, or None (also for a damaged file, which is then redone)."""
        try:
            return np.load(self._file(content_hash), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, content_hash: str, value: np.ndarray) -> None:
        """Stores ``value`` atomically (a temporary file renamed into place)."""
        write_atomic(self._file(content_hash), lambda stream: np.save(stream, np.asarray(value), allow_pickle=False))

    @property
    def failures_file(self) -> Path:
        return self.directory / "failures.json"


def _takes_num_threads(function: Callable) -> bool:
    try:
        return "num_threads" in inspect.signature(function).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


# What a bad file or a failing extractor raises: reported per file, the run goes on.
ANALYSIS_ERRORS = (ValueError, TypeError, RuntimeError, OSError)


def analyse(path: PathLike, extractor: Extractor, num_threads: Optional[int] = None) -> np.ndarray:
    """``extractor`` on one file (read with :func:`affectkit.data.load_audio` at
    ``extractor.sr``, mono); ``num_threads`` is passed on when the extractor's function
    takes that keyword. Raises one of ``ANALYSIS_ERRORS`` for a bad file or result."""
    y, sr = load_audio(path, sr=extractor.sr)
    threads = {"num_threads": num_threads} if num_threads is not None and _takes_num_threads(extractor.function) else {}
    value = np.asarray(extractor.function(y, sr, **threads))
    if not np.isfinite(value).all():
        raise ValueError(f"the extractor returned non-finite values (shape {value.shape})")
    return value


@dataclass
class ExtractionResult:
    """``features[i]`` is the result for ``paths[i]``, or None if it failed;
    ``failures`` maps each failed path to its error message."""

    paths: List[str]
    features: List[Optional[np.ndarray]]
    failures: Dict[str, str]
    hits: int
    computed: int
    cache_dir: Optional[str]

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the files that have a result."""
        return np.array([f is not None for f in self.features], dtype=bool)

    def stacked(self) -> np.ndarray:
        """The successful results stacked (they must have one shape): ``(n_ok, ...)``."""
        present = [f for f in self.features if f is not None]
        if not present:
            raise ValueError("no file has a result; see the failures")
        return np.stack(present)


def extract(paths: Sequence[PathLike], extractor: Extractor, *, cache_dir: Optional[PathLike] = None,
            jobs: int = 1, progress: bool = True) -> ExtractionResult:
    """Runs ``extractor`` on every file (read with :func:`affectkit.data.load_audio` at
    ``extractor.sr``, mono), reusing and filling the cache when ``cache_dir`` is given.

    Parameters
    ----------
    paths : sequence of paths
    extractor : Extractor
    cache_dir : path, optional
        Root of the cache; without it nothing is stored.
    jobs : int
        Files analysed at once (threads; the core releases the GIL).
    progress : bool
        A tqdm progress bar on stderr.

    Returns
    -------
    ExtractionResult; failed files have None and an entry in ``failures`` (also
    written to ``failures.json`` in the cache).
    """
    if not isinstance(extractor, Extractor):
        raise TypeError(f"invalid argument 'extractor': must be an affectkit.cache.Extractor, "
                        f"got {type(extractor).__name__}")
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError("invalid argument 'paths': must be a sequence of paths, got a single path")
    jobs = as_int("jobs", jobs, minimum=1)
    names = [os.fspath(p) for p in paths]
    cache = FeatureCache(cache_dir, extractor) if cache_dir is not None else None
    features: List[Optional[np.ndarray]] = [None] * len(names)
    failures: Dict[str, str] = {}
    counts = {"hits": 0, "computed": 0}
    lock = threading.Lock()

    def count(kind: str) -> None:
        with lock:
            counts[kind] += 1

    def work(i: int) -> None:
        try:
            content = file_hash(names[i]) if cache is not None else ""
        except OSError as error:
            failures[names[i]] = f"cannot read file: {error}"
            return
        if cache is not None:
            stored = cache.get(content)
            if stored is not None:
                features[i] = stored
                count("hits")
                return
        try:
            value = analyse(names[i], extractor)
        except ANALYSIS_ERRORS as error:  # reported, and the run goes on
            failures[names[i]] = f"{type(error).__name__}: {error}"
            return
        if cache is not None:
            cache.put(content, value)
        features[i] = value
        count("computed")

    from tqdm.auto import tqdm

    with tqdm(total=len(names), desc=extractor.name, unit="file", disable=not progress) as bar:
        if jobs == 1:
            for i in range(len(names)):
                work(i)
                bar.update()
        else:
            pool = ThreadPoolExecutor(max_workers=jobs)
            try:
                for _ in pool.map(work, range(len(names))):
                    bar.update()
            finally:  # on Ctrl-C, drop the queued files; finished ones are already stored
                pool.shutdown(wait=True, cancel_futures=True)
    if cache is not None:
        cache.failures_file.write_text(json.dumps(failures, indent=1, sort_keys=True))
    return ExtractionResult(names, features, failures, counts["hits"], counts["computed"],
                            None if cache is None else str(cache.directory))
