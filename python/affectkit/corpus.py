"""Corpus-scale extraction on a Dask cluster: sharded, resumable, identical to one process.

>>> from dask.distributed import Client
>>> manifest = ak.corpus.extract(corpus, utterance_extractor(), out="features/", client=Client("tcp://host:8786"))
>>> result = ak.corpus.load("features/")           # result.features[i] belongs to result.paths[i]

The corpus is cut into shards of ``shard_size`` consecutive files; each shard is one Dask
task that hashes its files, analyses them with :func:`affectkit.cache.analyse` (the
function the single-machine cache uses, so results are the same bit for bit) and writes
its results atomically into ``out/shards/``:

- ``<key>.parquet``: per-utterance functionals (1-D results), one row per file, columns
  ``path`` (relative to the corpus root) and one per feature;
- ``<key>.npy``: frame features (results of 2 or more dimensions) of all the shard's files
  concatenated along the last axis (librosa's time axis); the record gives each file's
  ``[start, length]`` in it;
- ``<key>.json``: the shard's record (files, their SHA-256, failures with the reason,
  offsets), written last: a shard is complete when its record exists.

``key`` hashes the extractor's name, parameters and sample rate (its cache key), the files'
paths relative to the corpus root and their contents: a re-run skips the complete shards
and computes only the missing ones (a worker killed mid-shard leaves at most a ``*.tmp``
file). ``out/manifest.json`` lists every shard, the files that succeeded and those that
failed with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np

from ._checks import as_int
from .cache import ANALYSIS_ERRORS, Extractor, ExtractionResult, analyse, file_hash, write_atomic

__all__ = ["Manifest", "extract", "load"]

PathLike = Union[str, "os.PathLike[str]"]
MANIFEST = "manifest.json"
SHARDS = "shards"


@dataclass
class Manifest:
    """What :func:`extract` did: ``shards`` (one dict per shard: ``key``, ``files``,
    ``status`` 'computed', 'skipped' or 'failed', ``seconds``), the ``succeeded`` paths
    and the ``failed`` paths with their reason, as written to ``out/manifest.json``."""

    out: str
    shards: List[Dict[str, Any]]
    succeeded: List[str]
    failed: Dict[str, str]
    seconds: float

    @property
    def computed(self) -> int:
        """Shards analysed in this run."""
        return sum(s["status"] == "computed" for s in self.shards)

    @property
    def skipped(self) -> int:
        """Shards found complete in ``out`` and not recomputed."""
        return sum(s["status"] == "skipped" for s in self.shards)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True).encode()


def _feature_names(extractor: Extractor, size: int) -> List[str]:
    names = extractor.params.get("names") if isinstance(extractor.params, Mapping) else None
    if isinstance(names, (list, tuple)) and len(names) == size and len(set(map(str, names))) == size \
            and "path" not in names:
        return [str(n) for n in names]
    return [f"{extractor.name}_{i}" for i in range(size)]


def _shard_threads(threads: Union[int, Mapping[str, int]]) -> int:
    """The core threads of this task: a number, or looked up by the Dask worker's address."""
    if isinstance(threads, int):
        return threads
    from distributed import get_worker

    return threads.get(get_worker().address, 1)


def _read_record(directory: Path, key: str) -> Optional[Dict[str, Any]]:
    """A complete shard's record, or None (missing, damaged, or its data file missing)."""
    try:
        record = json.loads((directory / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    if record.get("data") is not None and not (directory / record["data"]).is_file():
        return None
    return record


def _run_shard(spec: Dict[str, Any]) -> Dict[str, Any]:
    """One shard: hash the files, skip it when complete, else analyse and store it.
    Runs on a Dask worker or in-process; returns the shard's record and status."""
    start = time.perf_counter()
    extractor: Extractor = spec["extractor"]
    root, files = spec["root"], spec["files"]
    directory = Path(spec["out"]) / SHARDS
    failed: Dict[str, str] = {}
    hashes = []
    for name in files:
        try:
            hashes.append(file_hash(os.path.join(root, name)))
        except OSError as error:
            hashes.append("")
            failed[name] = f"cannot read file: {error}"
    key = hashlib.sha256(_json_bytes({"extractor": extractor.key, "files": files, "sha256": hashes})).hexdigest()[:24]
    record = _read_record(directory, key)
    if record is not None:
        return dict(record, status="skipped", seconds=time.perf_counter() - start)

    threads = _shard_threads(spec["threads"])
    if "torch" in sys.modules:  # an encoder's intra-op threads, matched like the core's
        sys.modules["torch"].set_num_threads(threads)
    results: Dict[str, np.ndarray] = {}
    for name in files:
        if name in failed:
            continue
        try:
            value = analyse(os.path.join(root, name), extractor, num_threads=threads)
            if value.ndim == 0 or value.size == 0:
                raise ValueError(f"the extractor returned an empty or 0-d result (shape {value.shape})")
            first = next(iter(results.values()), value)
            if value.ndim != first.ndim or value.shape[:-1] != first.shape[:-1] or value.dtype != first.dtype \
                    or (value.ndim == 1 and value.shape != first.shape):
                raise ValueError(f"the extractor returned shape {value.shape} {value.dtype}; the shard's first result "
                                 f"has {first.shape} {first.dtype}")
            results[name] = value
        except ANALYSIS_ERRORS as error:  # reported in the manifest, and the shard goes on
            failed[name] = f"{type(error).__name__}: {error}"

    record = {"key": key, "extractor": extractor.key, "files": files, "sha256": hashes, "failed": failed,
              "data": None, "kind": None, "offsets": None}
    if results:
        values = list(results.values())
        if values[0].ndim == 1:
            import pyarrow as pa
            import pyarrow.parquet as pq

            matrix = np.stack(values)
            columns = {"path": pa.array(list(results))}
            columns.update({n: matrix[:, j] for j, n in enumerate(_feature_names(extractor, matrix.shape[1]))})
            record.update(kind="functionals", data=f"{key}.parquet")
            write_atomic(directory / record["data"], lambda s: pq.write_table(pa.table(columns), s))
        else:
            lengths = [v.shape[-1] for v in values]
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).tolist()
            frames = np.concatenate(values, axis=-1)
            record.update(kind="frames", data=f"{key}.npy",
                          offsets={name: [int(s), int(length)] for name, s, length in zip(results, starts, lengths)})
            write_atomic(directory / record["data"], lambda s: np.save(s, frames, allow_pickle=False))
    write_atomic(directory / f"{key}.json", lambda s: s.write(_json_bytes(record)))  # last: marks it complete
    return dict(record, status="computed", seconds=time.perf_counter() - start)


def _worker_threads(client) -> Dict[str, int]:
    """Core threads per Dask worker: its host's cores shared by all worker threads on that
    host, so that (Dask threads) x (core threads) never exceeds the cores."""
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]  # all of them (newer Dask lists 5 by default)
    except TypeError:  # older Dask: always all
        workers = client.scheduler_info()["workers"]
    cores = client.run(available_cores)
    per_host: Dict[str, int] = {}
    for info in workers.values():
        per_host[info["host"]] = per_host.get(info["host"], 0) + info["nthreads"]
    return {address: max(1, cores.get(address, 1) // per_host[info["host"]]) for address, info in workers.items()}


def extract(corpus, extractor, *, out: PathLike, client=None, shard_size: int = 64,
            num_threads: Optional[int] = None, progress: bool = True) -> Manifest:
    """Runs ``extractor`` on every file of ``corpus``, shard by shard, on a Dask cluster
    (or in this process), into the store ``out``.

    Parameters
    ----------
    corpus : affectkit.data.Corpus
        The files (``corpus.path``) and their root (``corpus.root``; the store keeps paths
        relative to it).
    extractor : affectkit.cache.Extractor
        A feature function or, through ``EncoderAdapter.extractor(params)``, an encoder's
        scene embeddings; its function gets ``num_threads`` when it takes that keyword.
    out : path
        The store's directory (created). One run at a time per directory.
    client : dask.distributed.Client, optional
        Runs the shards on its workers; None runs them here, one after another, with
        the same code (the results are identical either way, bit for bit).
    shard_size : int
        Files per shard (per task): the unit of scheduling, of skipping and of loss when
        a worker dies. Results do not depend on it.
    num_threads : int, optional
        Core threads per shard. Default: in-process, the cores this process may use; on
        Dask, each worker host's cores divided by the Dask threads of its workers
        (``nthreads x num_threads <= cores``).
    progress : bool
        A tqdm bar on stderr (files done) and, with a client, the dashboard link.

    Returns
    -------
    Manifest (also written to ``out/manifest.json``). Files that fail (unreadable, not
    audio, the extractor raising or returning NaN/Inf) are listed in ``failed`` with the
    reason; a shard whose task fails (a worker dying more often than Dask's
    ``distributed.scheduler.allowed-failures``) lists its files there too and is
    computed again on the next run. Nothing finished is recomputed.
    """
    from .data import Corpus

    if not isinstance(corpus, Corpus):
        raise TypeError(f"invalid argument 'corpus': must be an affectkit.data.Corpus, got {type(corpus).__name__}")
    if not isinstance(extractor, Extractor):
        # An EncoderAdapter needs params naming the encoder (checkpoint, layer): they key the store.
        raise TypeError(f"invalid argument 'extractor': must be an affectkit.cache.Extractor (for an encoder: "
                        f"EncoderAdapter.extractor(params)), got {type(extractor).__name__}")
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"invalid argument 'out': must be a path, got {type(out).__name__}")
    shard_size = as_int("shard_size", shard_size, minimum=1)
    if num_threads is not None:
        num_threads = as_int("num_threads", num_threads, minimum=1, maximum=2**31 - 1)
    if client is not None and not hasattr(client, "submit"):
        raise TypeError(f"invalid argument 'client': must be a dask.distributed.Client or None, got "
                        f"{type(client).__name__}")
    if len(corpus) == 0:
        raise ValueError("invalid argument 'corpus': has no files")

    start = time.perf_counter()
    out = Path(out).expanduser()
    (out / SHARDS).mkdir(parents=True, exist_ok=True)
    for leftover in (out / SHARDS).glob("*.tmp"):  # from a process killed while writing
        leftover.unlink()
    absolute = [os.path.abspath(p) for p in corpus.path]
    root = os.path.abspath(corpus.root) if os.path.isdir(corpus.root) else \
        os.path.commonpath([os.path.dirname(p) for p in absolute])
    files = [os.path.relpath(p, root) for p in absolute]
    if client is None:
        threads: Union[int, Dict[str, int]] = num_threads or available_cores()
    else:
        threads = num_threads or _worker_threads(client)
    specs = [{"root": root, "files": files[i:i + shard_size], "out": str(out), "extractor": extractor,
              "threads": threads} for i in range(0, len(files), shard_size)]

    from tqdm.auto import tqdm

    if client is not None and progress:
        print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr, flush=True)
    records: List[Optional[Dict[str, Any]]] = [None] * len(specs)
    with tqdm(total=len(files), desc=extractor.name, unit="file", disable=not progress) as bar:
        def finished(i: int, record: Dict[str, Any]) -> None:
            records[i] = record
            bar.set_postfix(computed=sum(r is not None and r["status"] == "computed" for r in records),
                            skipped=sum(r is not None and r["status"] == "skipped" for r in records), refresh=False)
            bar.update(len(specs[i]["files"]))

        if client is None:
            for i, spec in enumerate(specs):
                finished(i, _run_shard(spec))
        else:
            _run_on_dask(client, specs, finished)

    failed: Dict[str, str] = {}
    for record in records:
        failed.update({os.path.join(root, name): reason for name, reason in record["failed"].items()})
    paths = [os.path.join(root, name) for name in files]
    manifest = Manifest(str(out), [{k: r[k] for k in ("key", "files", "status", "seconds", "kind", "data")}
                                   for r in records],
                        [p for p in paths if p not in failed], failed, time.perf_counter() - start)
    about = {"extractor": {"name": extractor.name, "params": dict(extractor.params), "sr": extractor.sr,
                           "key": extractor.key},
             "root": root, "shard_size": shard_size, "scheduler": "in-process" if client is None else "dask",
             "shards": manifest.shards, "succeeded": manifest.succeeded, "failed": manifest.failed,
             "seconds": manifest.seconds}
    write_atomic(out / MANIFEST, lambda s: s.write(json.dumps(about, indent=1, default=str).encode()))
    return manifest


def _run_on_dask(client, specs: List[Dict[str, Any]], finished) -> None:
    """Submits one task per shard and reports each as it completes; a task that fails
    (its worker died too often) marks its shard's files failed."""
    from distributed import as_completed

    futures = {client.submit(_run_shard, spec, pure=False): i for i, spec in enumerate(specs)}
    try:
        for future in as_completed(futures):
            i = futures[future]
            try:
                finished(i, future.result())
            except Exception as error:  # KilledWorker and the like: this shard only, redone next run
                reason = f"shard task failed: {type(error).__name__}: {error}"
                finished(i, {"key": None, "files": specs[i]["files"], "status": "failed", "seconds": 0.0,
                             "kind": None, "data": None, "failed": {name: reason for name in specs[i]["files"]}})
    finally:  # on Ctrl-C, drop the shards not yet done; finished ones are stored
        client.cancel([f for f in futures if not f.done()])


def load(out: PathLike) -> ExtractionResult:
    """The results of :func:`extract` stored in ``out``, in the corpus's order.

    Returns
    -------
    affectkit.cache.ExtractionResult: ``features[i]`` is the result for ``paths[i]``
    (absolute), exactly as the extractor returned it, or None if that file failed
    (``failures`` gives the reason); ``computed`` counts the files with a result.
    """
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"invalid argument 'out': must be a path, got {type(out).__name__}")
    out = Path(out).expanduser()
    try:
        about = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"invalid argument 'out': {str(out)!r} holds no manifest written by "
                         f"affectkit.corpus.extract: {error}") from None
    try:
        paths, features = _read_shards(about, out / SHARDS)
    except (OSError, ValueError, KeyError, TypeError) as error:  # a shard deleted or damaged after the run
        raise ValueError(f"invalid argument 'out': the store {str(out)!r} is damaged ({type(error).__name__}: "
                         f"{error}); run extract again to redo the missing shards") from None
    return ExtractionResult(paths, features, dict(about["failed"]), 0, sum(f is not None for f in features), str(out))


def _read_shards(about: Dict[str, Any], directory: Path):
    root = about["root"]
    paths: List[str] = []
    features: List[Optional[np.ndarray]] = []
    for shard in about["shards"]:
        stored: Dict[str, np.ndarray] = {}
        if shard["data"] is not None:
            record = json.loads((directory / f"{shard['key']}.json").read_text())
            if shard["kind"] == "functionals":
                import pyarrow.parquet as pq

                table = pq.read_table(directory / shard["data"])
                matrix = np.column_stack([table.column(j).to_numpy() for j in range(1, table.num_columns)])
                stored = dict(zip(table.column("path").to_pylist(), matrix))
            else:
                frames = np.load(directory / shard["data"], mmap_mode="r", allow_pickle=False)
                stored = {name: np.array(frames[..., s:s + n]) for name, (s, n) in record["offsets"].items()}
        for name in shard["files"]:
            paths.append(os.path.join(root, name))
            features.append(stored.get(name))
    return paths, features
