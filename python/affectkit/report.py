"""The evaluation report: ``report.md`` (tables), ``results.json`` (every number) and
PNG plots (confusion matrices, per-class recall, log-mel spectrograms of examples).

Plots are drawn with matplotlib's object API on an Agg canvas, so writing a report
never changes the pyplot backend of the calling session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

__all__ = ["plot_confusion", "plot_recall", "plot_spectrograms", "write_report"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def plot_confusion(path: Path, confusion: Sequence[Sequence[int]], classes: Sequence[str], title: str) -> None:
    """Row-normalised confusion matrix (recall on the diagonal) with the counts."""
    matrix = np.asarray(confusion, dtype=np.float64)
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 1.2 + 0.6 * len(classes)
    figure = _figure(size + 1.0, size)
    axes = figure.add_subplot()
    image = axes.imshow(share, vmin=0, vmax=1, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        axes.text(j, i, f"{int(count)}", ha="center", va="center", fontsize=8,
                  color="white" if share[i, j] > 0.6 else "black")
    axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label="share of the true class")
    figure.savefig(path)


def plot_recall(path: Path, recalls: Dict[str, Sequence[Any]], classes: Sequence[str]) -> None:
    """Per-class recall of each probe (pooled over folds), with chance level."""
    figure = _figure(1.5 + 0.7 * len(classes), 3.2)
    axes = figure.add_subplot()
    width = 0.8 / max(len(recalls), 1)
    for k, (name, values) in enumerate(recalls.items()):
        heights = [np.nan if v is None else v for v in values]
        axes.bar(np.arange(len(classes)) + (k - (len(recalls) - 1) / 2) * width, heights, width, label=name)
    axes.axhline(1 / len(classes), color="grey", linestyle="--", linewidth=1, label="chance")
    axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("recall")
    axes.legend(fontsize=8)
    figure.savefig(path)


def plot_spectrograms(path: Path, examples: List[Tuple[str, np.ndarray]], sr: int) -> None:
    """Log-mel spectrograms (:func:`affectkit.log_mel`, 25 ms / 10 ms, 64 mels) of a few
    examples, one panel each."""
    from .features import log_mel

    figure = _figure(4.0 * len(examples), 3.0)
    win_length = int(round(0.025 * sr))
    hop = int(round(0.01 * sr))
    for k, (title, y) in enumerate(examples):
        axes = figure.add_subplot(1, len(examples), k + 1)
        S = log_mel(np.ascontiguousarray(y, dtype=np.float32), sr=sr, n_fft=1 << (win_length - 1).bit_length(),
                    hop_length=hop, win_length=win_length, n_mels=64, fmax=sr / 2, ref=np.max, top_db=80.0)
        axes.imshow(S, origin="lower", aspect="auto", cmap="magma", extent=(0, S.shape[1] * hop / sr, 0, S.shape[0]))
        axes.set_title(title, fontsize=9)
        axes.set_xlabel("s")
        if k == 0:
            axes.set_ylabel("mel band")
    figure.savefig(path)


def _mean_std(summary: Dict[str, Dict[str, float]], key: str) -> str:
    return f"{100 * summary[key]['mean']:.1f} ± {100 * summary[key]['std']:.1f}"


def write_report(out: Path, results: Dict[str, Any], examples: List[Tuple[str, np.ndarray]], sr: int) -> List[Path]:
    """Writes ``results.json``, the plots and ``report.md`` into ``out``; returns the
    files written. ``results`` is the dict the CLI assembles (corpus, features,
    folds, one :func:`affectkit.eval.evaluate` result per probe)."""
    out.mkdir(parents=True, exist_ok=True)
    classes = results["corpus"]["classes"]
    written = [out / "results.json"]
    (out / "results.json").write_text(json.dumps(results, indent=1))
    for probe, result in results["probes"].items():
        written.append(out / f"confusion_{probe}.png")
        plot_confusion(written[-1], result["pooled"]["confusion"], classes,
                       f"{probe} probe, pooled over {len(result['per_fold'])} folds")
    written.append(out / "recall.png")
    plot_recall(written[-1], {p: r["pooled"]["per_class_recall"] for p, r in results["probes"].items()}, classes)
    if examples:
        written.append(out / "spectrogram.png")
        plot_spectrograms(written[-1], examples, sr)

    corpus, features, folds = results["corpus"], results["features"], results["folds"]
    lines = [f"# affectkit evaluation: {corpus['name']}", "",
             f"- corpus: {corpus['n_files']} files, {corpus['n_speakers']} speakers, classes "
             + ", ".join(f"{c} ({n})" for c, n in zip(classes, corpus["class_counts"])) + f"; root `{corpus['root']}`",
             f"- features: `{features['name']}`, {features['dim']} dimensions per file; cache {features['hits']} hits, "
             f"{features['computed']} computed ({features['seconds']:.1f} s)"
             + (f"; cache `{features['cache_dir']}`" if features.get("cache_dir") else ""),
             f"- folds: {folds['scheme']}, {folds['n_folds']} folds (no speaker in both train and test"
             f"{'' if not folds.get('allow_speaker_overlap') else ', unless overlap was allowed'}); split file "
             f"`folds.json`", ""]
    failures = results.get("failures", {})
    if failures:
        lines += [f"**{len(failures)} file(s) failed and were left out:**", ""]
        lines += [f"- `{path}`: {message}" for path, message in sorted(failures.items())[:20]]
        if len(failures) > 20:
            lines.append(f"- ... and {len(failures) - 20} more (all in results.json)")
        lines.append("")
    lines += ["## Scores (%)", "", "Mean ± standard deviation over folds; pooled: all test predictions together. "
              f"Chance (a constant guess) has UA {100 / len(classes):.1f}.", "",
              "| probe | UA | WA | macro-F1 | pooled UA | pooled WA |", "|---|---|---|---|---|---|"]
    for probe, result in results["probes"].items():
        summary, pooled = result["summary"], result["pooled"]
        lines.append(f"| {probe} | {_mean_std(summary, 'ua')} | {_mean_std(summary, 'wa')} | "
                     f"{_mean_std(summary, 'macro_f1')} | {100 * pooled['ua']:.1f} | {100 * pooled['wa']:.1f} |")
    lines += ["", "## Per-class recall (%, pooled)", "", "| class | " + " | ".join(results["probes"]) + " |",
              "|---|" + "---|" * len(results["probes"])]
    for i, name in enumerate(classes):
        cells = []
        for result in results["probes"].values():
            value = result["pooled"]["per_class_recall"][i]
            cells.append("-" if value is None else f"{100 * value:.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Per fold (UA %)", "", "| fold | test files | " + " | ".join(results["probes"]) + " |",
              "|---|---|" + "---|" * len(results["probes"])]
    first = next(iter(results["probes"].values()))
    for k, fold in enumerate(first["per_fold"]):
        cells = [f"{100 * r['per_fold'][k]['ua']:.1f}" for r in results["probes"].values()]
        lines.append(f"| {fold['name']} | {fold['n_test']} | " + " | ".join(cells) + " |")
    if "dimensions" in results:
        dimensions = results["dimensions"]
        lines += ["", f"## Dimensions: CCC of ridge regression (alpha {dimensions['alpha']})", "",
                  "| dimension | CCC (mean ± std over folds) |", "|---|---|"]
        for name in dimensions["names"]:
            summary = dimensions["summary"][f"ccc_{name}"]
            lines.append(f"| {name} | {summary['mean']:.3f} ± {summary['std']:.3f} |")
    lines += ["", "## Plots", ""]
    lines += [f"![{p.stem}]({p.name})" for p in written if p.suffix == ".png"]
    lines += ["", f"affectkit {results['affectkit']}; {results['seconds']:.1f} s in all; command: "
              f"`{results['command']}`", ""]
    (out / "report.md").write_text("\n".join(lines))
    written.append(out / "report.md")
    return written
