"""The ``affectkit`` command (also ``python -m affectkit``).

=========  ==========================================================================
demo       the main job: generate the bundled demo corpus, extract features (cached),
           evaluate the linear and kNN probes on leave-one-speaker-out folds, write the
           report (markdown, JSON, PNG plots) into --out (default ./affectkit-demo)
features   extract the baseline features of a corpus on disk into --out/features.npz
           (with --scheduler: on a Dask cluster, sharded and resumable; docs/cluster.md)
eval       the same evaluation as demo, on a corpus on disk or a features.npz
zeroshot   prompt ensembling of saved zero-shot logits or embeddings (affectkit.prompts)
bench      run the benchmark scripts of an affectkit source tree (benchmarks/)
=========  ==========================================================================

With no subcommand, ``affectkit`` runs ``demo``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

__all__ = ["main", "build_parser"]

DEMO_OUT = "affectkit-demo"


def _add_extraction(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sr", type=int, default=16000, help="analysis sample rate in Hz (default 16000)")
    parser.add_argument("--jobs", type=int, default=2, help="files analysed at once (default 2)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="feature cache (default: $AFFECTKIT_DATA/features or ~/.cache/affectkit/features)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--extractor", metavar="MODULE:NAME", default=None,
                        help="use your own features or embeddings: an affectkit.cache.Extractor or "
                             "affectkit.eval.EncoderAdapter importable as MODULE:NAME (default: affectkit's baseline "
                             "utterance features)")


def _add_evaluation(parser: argparse.ArgumentParser) -> None:
    from .data import FOLD_SCHEMES

    parser.add_argument("--folds", choices=FOLD_SCHEMES, default="loso",
                        help="loso: leave one speaker out; speaker-kfold; official: the corpus's folds/split")
    parser.add_argument("--n-splits", type=int, default=5, help="folds of speaker-kfold (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of speaker-kfold")
    parser.add_argument("--folds-file", type=Path, default=None,
                        help="read the folds from this file (written as folds.json by an earlier run)")
    parser.add_argument("--allow-speaker-overlap", action="store_true",
                        help="accept official folds that put a speaker in both train and test")
    parser.add_argument("--probes", nargs="+", choices=("linear", "knn"), default=["linear", "knn"])
    parser.add_argument("--baseline", action="store_true",
                        help="with --extractor: also evaluate affectkit's baseline features on the same files and "
                             "folds, reported as baseline-linear / baseline-knn")


def build_parser() -> argparse.ArgumentParser:
    from .data import CORPORA

    parser = argparse.ArgumentParser(prog="affectkit", description="affectkit: speech-emotion research tools. "
                                     "Without a subcommand, runs 'demo'.")
    commands = parser.add_subparsers(dest="command", metavar="{demo,features,eval,zeroshot,bench}")

    demo = commands.add_parser("demo", help="evaluate the probes on the bundled demo corpus and write a report")
    demo.add_argument("--out", type=Path, default=Path(DEMO_OUT), help=f"report directory (default ./{DEMO_OUT})")
    demo.add_argument("--corpus-dir", type=Path, default=None,
                      help="where the demo corpus is generated (default: under ~/.cache/affectkit or $AFFECTKIT_DATA)")
    _add_extraction(demo)
    _add_evaluation(demo)

    corpus_help = f"corpus layout: {', '.join(CORPORA)}"
    features = commands.add_parser("features", help="extract baseline features of a corpus into features.npz")
    features.add_argument("corpus", choices=sorted(CORPORA), metavar="CORPUS", help=corpus_help)
    features.add_argument("root", type=Path, help="corpus root (for 'csv': the CSV file)")
    features.add_argument("--out", type=Path, required=True, help="output directory")
    _add_extraction(features)
    features.add_argument("--scheduler", metavar="ADDRESS|local", default=None,
                          help="run the extraction on Dask (affectkit.corpus.extract): a scheduler address "
                               "(tcp://host:8786) or 'local' for a local cluster of --workers processes; the sharded "
                               "store and manifest.json go into --out and replace the feature cache (docs/cluster.md)")
    features.add_argument("--workers", type=int, default=None,
                          help="with --scheduler local: worker processes, one thread each (default: the cores)")
    features.add_argument("--shard-size", type=int, default=None, help="with --scheduler: files per Dask task "
                          "(default: affectkit.corpus.extract's, 64)")

    evaluation = commands.add_parser("eval", help="evaluate the probes on a corpus or a features.npz")
    source = evaluation.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", nargs=2, metavar=("CORPUS", "ROOT"), help=corpus_help)
    source.add_argument("--features", type=Path, help="a features.npz written by 'affectkit features'")
    evaluation.add_argument("--out", type=Path, required=True, help="report directory")
    _add_extraction(evaluation)
    _add_evaluation(evaluation)

    zeroshot = commands.add_parser("zeroshot", help="entropy-weighted prompt ensembling of saved zero-shot logits, "
                                   "with its baselines")
    zeroshot.add_argument("logits", type=Path, nargs="?", default=None,
                          help=".npy of logits (n_items, n_prompts, n_classes)")
    zeroshot.add_argument("--embeddings", type=Path, nargs=2, metavar=("AUDIO", "TEXT"), default=None,
                          help="instead of logits: .npy of audio embeddings (n_items, dim) and of text embeddings "
                               "(n_prompts, n_classes, dim)")
    zeroshot.add_argument("--labels", type=Path, default=None, help=".npy of true class indices (n_items,)")
    zeroshot.add_argument("--tau", type=float, default=0.01,
                          help="temperature: 0.01 for cosine similarities, 1 for logits with a CLAP logit scale")
    zeroshot.add_argument("--mode", choices=("dataset", "sample"), default="dataset",
                          help="one set of prompt weights for all items, or one per item")
    zeroshot.add_argument("--out", type=Path, required=True, help="output directory")

    bench = commands.add_parser("bench", help="run the benchmark scripts of a source tree (benchmarks/)")
    bench.add_argument("names", nargs="*", help="benchmarks to run, e.g. stft mel (default: all)")
    bench.add_argument("--benchmarks-dir", type=Path, default=Path("benchmarks"),
                       help="the source tree's benchmarks/ directory (default ./benchmarks)")
    bench.add_argument("--quick", action="store_true", help="small inputs, few rounds")
    bench.add_argument("--write", action="store_true", help="let the scripts update docs/benchmarks.md")
    return parser


def _cache_dir(args) -> Optional[Path]:
    from .data import default_data_dir

    if args.no_cache:
        return None
    return args.cache_dir if args.cache_dir is not None else default_data_dir() / "features"


def _extractor(args):
    """The Extractor named by --extractor (MODULE:NAME), or the baseline features."""
    from .cache import Extractor
    from .eval import EncoderAdapter, utterance_extractor

    if args.extractor is None:
        return utterance_extractor(args.sr)
    module_name, _, attribute = args.extractor.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"invalid argument '--extractor': cannot import {args.extractor!r} (MODULE:NAME): "
                         f"{error}") from None
    if isinstance(found, EncoderAdapter):
        found = found.extractor({"extractor": args.extractor})
    if not isinstance(found, Extractor):
        raise ValueError(f"invalid argument '--extractor': {args.extractor!r} is a {type(found).__name__}, not an "
                         f"affectkit.cache.Extractor or affectkit.eval.EncoderAdapter")
    return found


def _extract(corpus, args):
    from .cache import extract

    if args.jobs < 1:
        raise ValueError(f"invalid argument '--jobs': must be >= 1, got {args.jobs}")
    extractor = _extractor(args)
    start = time.perf_counter()
    result = extract(corpus.path, extractor, cache_dir=_cache_dir(args), jobs=args.jobs, progress=not args.quiet)
    info = {"name": extractor.name, "params": dict(extractor.params, sr=extractor.sr), "hits": result.hits,
            "computed": result.computed, "seconds": time.perf_counter() - start, "cache_dir": result.cache_dir}
    return result, info


def _evaluate(corpus, X, args, info: Dict[str, Any], failures: Dict[str, str], command: str,
              start: float, baseline_X: Optional[np.ndarray] = None) -> Dict[str, Any]:
    """Folds, the probes (also on ``baseline_X``, the baseline features of the same
    rows, when given), CCC of dimensional labels, and the report in args.out."""
    from . import __version__
    from .data import load_audio, make_folds, read_folds, write_folds
    from .eval import evaluate, evaluate_dimensions, utterance_extractor

    if args.folds_file is not None:
        folds = read_folds(args.folds_file, corpus)
    else:
        folds = make_folds(corpus, args.folds, n_splits=args.n_splits, seed=args.seed,
                           allow_speaker_overlap=args.allow_speaker_overlap)
    args.out.mkdir(parents=True, exist_ok=True)
    write_folds(folds, corpus, args.out / "folds.json")
    y = corpus.y
    results: Dict[str, Any] = {
        "affectkit": __version__, "command": command,
        "corpus": {"name": corpus.name, "root": corpus.root, "n_files": len(corpus), "classes": list(corpus.classes),
                   "class_counts": np.bincount(y, minlength=len(corpus.classes)).tolist(),
                   "n_speakers": len(set(corpus.speaker)), "notes": corpus.notes},
        "features": dict(info, dim=int(X.shape[1])),
        "folds": {"scheme": f"file {args.folds_file}" if args.folds_file is not None else args.folds,
                  "n_folds": len(folds), "allow_speaker_overlap": args.allow_speaker_overlap},
        "failures": failures, "paths": corpus.path, "probes": {}}
    runs = [("", X, info["name"] == utterance_extractor().name)]
    if baseline_X is not None:
        runs.append(("baseline-", baseline_X, True))
    for prefix, features, hand_crafted in runs:
        for probe in args.probes:
            # kNN on the baseline's hand-crafted features (mixed units) standardises them first; embeddings are
            # used as they are, as in X-ARES.
            probe_args = {"standardize": hand_crafted} if probe == "knn" else {}
            results["probes"][prefix + probe] = evaluate(features, y, folds, classes=corpus.classes, probe=probe,
                                                         probe_args=probe_args, progress=not args.quiet)
    if corpus.values is not None:  # dimensional labels (IEMOCAP): ridge regression scored by CCC
        results["dimensions"] = evaluate_dimensions(X, corpus.values, folds, names=corpus.value_names)
    examples = []
    for name in corpus.classes[:4]:  # one example per class for the spectrogram plot
        row = corpus.label.index(name)
        try:
            examples.append((f"{name}: {Path(corpus.path[row]).name}", load_audio(corpus.path[row], sr=args.sr)[0]))
        except ValueError:
            pass
    results["seconds"] = time.perf_counter() - start
    from .report import write_report

    write_report(args.out, results, examples, args.sr)
    return results


def _print_summary(results: Dict[str, Any], out: Path) -> None:
    print(f"{results['corpus']['name']}: {results['corpus']['n_files']} files, {results['corpus']['n_speakers']} "
          f"speakers, {results['folds']['n_folds']} folds ({results['folds']['scheme']})")
    if results["failures"]:
        print(f"{len(results['failures'])} file(s) failed (listed in the report)")
    width = max(len(probe) for probe in results["probes"])
    for probe, result in results["probes"].items():
        s = result["summary"]
        print(f"  {probe:{width}} probe: UA {100 * s['ua']['mean']:5.1f} ± {100 * s['ua']['std']:4.1f}  "
              f"WA {100 * s['wa']['mean']:5.1f} ± {100 * s['wa']['std']:4.1f}  "
              f"macro-F1 {100 * s['macro_f1']['mean']:5.1f} ± {100 * s['macro_f1']['std']:4.1f}")
    print(f"report: {out / 'report.md'} ({results['seconds']:.1f} s)")


def _corpus_with_features(corpus, result):
    """The corpus rows that have features (failed files are reported, not fatal)."""
    ok = np.flatnonzero(result.ok)
    if ok.size == 0:
        raise ValueError(f"no file of {corpus.name} could be analysed; first failure: "
                         f"{next(iter(result.failures.items()))}")
    return corpus.subset(ok), result.stacked()


def _corpus_features(corpus, args):
    """Features of every file (failures reported, not fatal), and with --baseline the
    baseline features of the same rows: (corpus rows kept, X, info, failures, baseline_X)."""
    if args.baseline and args.extractor is None:
        raise ValueError("invalid argument '--baseline': compares an --extractor with the baseline features; "
                         "give --extractor MODULE:NAME")
    result, info = _extract(corpus, args)
    failures = dict(result.failures)
    corpus, X = _corpus_with_features(corpus, result)
    baseline_X = None
    if args.baseline:  # the same rows for both: those where both extractors succeed
        from .cache import extract
        from .eval import utterance_extractor

        reference = extract(corpus.path, utterance_extractor(args.sr), cache_dir=_cache_dir(args), jobs=args.jobs,
                            progress=not args.quiet)
        failures.update({p: f"baseline features: {m}" for p, m in reference.failures.items()})
        both = np.flatnonzero(reference.ok)
        if both.size == 0:
            raise ValueError(f"the baseline features failed on every file; first failure: "
                             f"{next(iter(reference.failures.items()))}")
        corpus, X, baseline_X = corpus.subset(both), X[both], reference.stacked()
    return corpus, X, info, failures, baseline_X


def _run_demo(args, command: str) -> int:
    from .data import demo_corpus

    start = time.perf_counter()
    corpus = demo_corpus(args.corpus_dir, sr=args.sr, progress=not args.quiet)
    corpus, X, info, failures, baseline_X = _corpus_features(corpus, args)
    _print_summary(_evaluate(corpus, X, args, info, failures, command, start, baseline_X), args.out)
    return 0


def _dask_client(args):
    """A Dask client for --scheduler: a LocalCluster of --workers single-threaded
    processes, or the scheduler at that address."""
    from distributed import Client, LocalCluster

    from .corpus import available_cores

    if args.scheduler == "local":
        workers = available_cores() if args.workers is None else args.workers
        if workers < 1:
            raise ValueError(f"invalid argument '--workers': must be >= 1, got {workers}")
        return Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"))
    if args.workers is not None:
        raise ValueError("invalid argument '--workers': only with --scheduler local (a running scheduler has its "
                         "own workers)")
    return Client(args.scheduler, timeout="30s")


def _extract_on_dask(corpus, args):
    """affectkit.corpus.extract on the --scheduler cluster into --out; the stored
    results as an ExtractionResult, and the info of _extract."""
    from . import corpus as sharded

    if args.shard_size is not None and args.shard_size < 1:
        raise ValueError(f"invalid argument '--shard-size': must be >= 1, got {args.shard_size}")
    shards = {} if args.shard_size is None else {"shard_size": args.shard_size}
    extractor = _extractor(args)
    start = time.perf_counter()
    try:
        client = _dask_client(args)
    except OSError as error:  # no scheduler at that address
        raise ValueError(f"invalid argument '--scheduler': cannot connect to {args.scheduler!r}: {error}") from None
    try:
        manifest = sharded.extract(corpus, extractor, out=args.out, client=client, progress=not args.quiet,
                                   **shards)
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None and args.scheduler == "local":
            cluster.close()
    info = {"name": extractor.name, "params": dict(extractor.params, sr=extractor.sr), "hits": 0,
            "computed": len(manifest.succeeded), "seconds": time.perf_counter() - start, "cache_dir": str(args.out),
            "shards": {"computed": manifest.computed, "skipped": manifest.skipped}}
    return sharded.load(args.out), info


def _run_features(args) -> int:
    from .data import load_corpus
    from .eval import UTTERANCE_FEATURE_NAMES

    if args.scheduler is None and (args.workers is not None or args.shard_size is not None):
        raise ValueError("invalid argument '--workers'/'--shard-size': only with --scheduler")
    corpus = load_corpus(args.corpus, args.root)
    result, info = _extract(corpus, args) if args.scheduler is None else _extract_on_dask(corpus, args)
    if args.scheduler is not None:
        print(f"{info['shards']['computed']} shard(s) computed, {info['shards']['skipped']} already complete "
              f"(store and manifest.json in {args.out})")
        if any(f is not None and f.ndim != 1 for f in result.features):  # frame features stay in the store
            print(f"frame features: read them with affectkit.corpus.load({str(args.out)!r})")
            return 0
    kept, X = _corpus_with_features(corpus, result)
    args.out.mkdir(parents=True, exist_ok=True)
    names = UTTERANCE_FEATURE_NAMES if args.extractor is None else [f"{info['name']}_{i}" for i in range(X.shape[1])]
    np.savez(args.out / "features.npz", X=X, path=np.array(kept.path), label=np.array(kept.label),
             speaker=np.array(kept.speaker), fold=np.array(kept.fold), classes=np.array(kept.classes),
             feature_names=np.array(names), name=np.array(kept.name), root=np.array(kept.root),
             extractor=np.array(info["name"]))
    (args.out / "failures.json").write_text(json.dumps(result.failures, indent=1, sort_keys=True))
    print(f"{len(kept)} of {len(corpus)} files -> {args.out / 'features.npz'} ({X.shape[1]} features each); "
          f"{len(result.failures)} failed (failures.json)")
    return 0


def _load_features(path: Path):
    from .data import Corpus

    try:
        with np.load(path, allow_pickle=False) as stored:
            columns = {k: stored[k] for k in ("X", "path", "label", "speaker", "fold", "classes", "name", "root",
                                              "extractor")}
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"invalid argument '--features': {str(path)!r} is not a features.npz written by "
                         f"'affectkit features': {error}") from None
    corpus = Corpus(str(columns["name"]), str(columns["root"]), tuple(columns["classes"].tolist()),
                    columns["path"].tolist(), columns["label"].tolist(), columns["speaker"].tolist(),
                    columns["fold"].tolist())
    return corpus, np.asarray(columns["X"], dtype=np.float64), str(columns["extractor"])


def _run_eval(args, command: str) -> int:
    from .data import load_corpus

    start = time.perf_counter()
    if args.features is not None:
        if args.baseline:
            raise ValueError("invalid argument '--baseline': needs --corpus (the audio), not --features")
        corpus, X, extractor = _load_features(args.features)
        info, failures, baseline_X = {"name": extractor, "params": {"features": str(args.features)},
                                      "hits": len(corpus), "computed": 0, "seconds": 0.0, "cache_dir": None}, {}, None
    else:
        corpus, X, info, failures, baseline_X = _corpus_features(load_corpus(*args.corpus), args)
    results = _evaluate(corpus, X, args, info, failures, command, start, baseline_X)
    _print_summary(results, args.out)
    return 0


def _run_zeroshot(args) -> int:
    """Entropy-weighted prompt ensembling (affectkit.prompts.entropy_weights) and the
    baselines of affectkit.prompts.ensemble on saved logits (N, P, C) or embeddings."""
    from . import prompts
    from .metrics import classification_scores

    if (args.logits is None) == (args.embeddings is None):
        raise ValueError("invalid argument 'logits': give either LOGITS.npy or --embeddings AUDIO.npy TEXT.npy")
    if args.logits is not None:
        inputs = {"logits": np.load(args.logits, allow_pickle=False)}
        if inputs["logits"].ndim != 3:
            raise ValueError(f"invalid argument 'logits': must be (n_items, n_prompts, n_classes), got "
                             f"{inputs['logits'].shape}")
    else:
        inputs = {"audio_embeddings": np.load(args.embeddings[0], allow_pickle=False),
                  "text_embeddings": np.load(args.embeddings[1], allow_pickle=False)}
    labels = None if args.labels is None else np.load(args.labels, allow_pickle=False)
    weighted = prompts.entropy_weights(**inputs, tau=args.tau, mode=args.mode)
    scores = {"entropy_weights": np.asarray(weighted.predictions)}
    for method in prompts.ENSEMBLE_METHODS:
        if method != "text_mean" or args.embeddings is not None:  # text_mean needs the embeddings
            scores[method] = np.asarray(prompts.ensemble(**inputs, method=method, tau=args.tau))
    n_classes = scores["entropy_weights"].shape[-1]
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "prompt_weights.npy", np.asarray(weighted.weights))
    summary: Dict[str, Any] = {"inputs": {k: list(np.shape(v)) for k, v in inputs.items()}, "tau": args.tau,
                               "mode": args.mode, "methods": {}}
    for method, probabilities in scores.items():
        np.save(args.out / f"scores_{method}.npy", probabilities)
        summary["methods"][method] = {} if labels is None else classification_scores(
            labels, probabilities.argmax(axis=-1), n_classes)
        if labels is not None:
            result = summary["methods"][method]
            print(f"  {method:16} UA {100 * result['ua']:5.1f}  WA {100 * result['wa']:5.1f}  "
                  f"macro-F1 {100 * result['macro_f1']:5.1f}")
    (args.out / "zeroshot.json").write_text(json.dumps(summary, indent=1))
    print(f"class probabilities of {len(scores)} methods -> {args.out}/scores_*.npy, prompt weights -> "
          f"{args.out / 'prompt_weights.npy'}")
    return 0


def _run_bench(args) -> int:
    directory = args.benchmarks_dir
    if not (directory / "harness.py").is_file():
        print(f"no benchmarks/ here ({str(directory)!r} has no harness.py): 'affectkit bench' runs the benchmark "
              f"scripts of an affectkit source tree; run it from the repository root or pass --benchmarks-dir",
              file=sys.stderr)
        return 2
    available = {p.stem[len("bench_"):]: p for p in sorted(directory.glob("bench_*.py"))}
    unknown = [n for n in args.names if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {sorted(available)}", file=sys.stderr)
        return 2
    status = 0
    for name in args.names or sorted(available):
        command = [sys.executable, str(available[name])] + (["--quick"] if args.quick else []) \
            + ([] if args.write else ["--no-write"])
        print(f"$ {' '.join(command)}", flush=True)
        status = max(status, subprocess.run(command).returncode)
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["demo"] + argv  # the main job
    args = parser.parse_args(argv)
    command = "affectkit " + " ".join(argv)
    from .data import AudioError, CorpusError

    try:
        if args.command == "demo":
            return _run_demo(args, command)
        if args.command == "features":
            return _run_features(args)
        if args.command == "eval":
            return _run_eval(args, command)
        if args.command == "zeroshot":
            return _run_zeroshot(args)
        return _run_bench(args)
    except (CorpusError, AudioError, ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"affectkit {args.command}: {error}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:  # soundfile, tqdm, matplotlib or scikit-learn missing; dask for --scheduler
        extra = "cluster" if error.name in ("dask", "distributed") else "research"
        print(f"affectkit {args.command}: {error}; the research layer needs its extra: "
              f"pip install 'affectkit[{extra}]'", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"affectkit {args.command}: interrupted; finished files are cached, rerun to continue",
              file=sys.stderr)
        return 130
