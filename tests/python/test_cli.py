"""The affectkit command end to end: the demo (the main job) on the bundled corpus,
features/eval on a corpus with a corrupt file, zeroshot's wiring, bench."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import affectkit as ak
from affectkit import data
from affectkit.cli import main


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "corpus"
    data.demo_corpus(root)
    return root


def test_demo_end_to_end_and_cached_rerun(demo_dir, tmp_path, capsys):
    out, cache = tmp_path / "report", tmp_path / "cache"
    args = ["--out", str(out), "--corpus-dir", str(demo_dir), "--cache-dir", str(cache), "--quiet"]
    assert main(args) == 0  # no subcommand: the demo
    printed = capsys.readouterr().out
    assert "linear probe: UA" in printed and "knn    probe: UA" in printed
    for name in ("report.md", "results.json", "folds.json", "confusion_linear.png", "confusion_knn.png",
                 "recall.png", "spectrogram.png"):
        assert (out / name).stat().st_size > 0
    results = json.loads((out / "results.json").read_text())
    assert results["corpus"]["n_files"] == 144 and results["folds"]["n_folds"] == 6
    assert results["features"]["computed"] == 144 and not results["failures"]
    for probe in ("linear", "knn"):  # prosody-defined classes are learnable across speakers
        assert results["probes"][probe]["summary"]["ua"]["mean"] > 0.7
    folds = json.loads((out / "folds.json").read_text())["folds"]
    for fold in folds:
        speakers = lambda names: {n.split("/")[0] for n in names}  # noqa: E731  files are <speaker>/<file>
        assert not speakers(fold["train"]) & speakers(fold["test"])
    report = (out / "report.md").read_text()
    assert "| linear |" in report and "![confusion_linear](confusion_linear.png)" in report
    assert main(["demo"] + args) == 0
    assert json.loads((out / "results.json").read_text())["features"]["hits"] == 144


def small_corpus_with_a_corrupt_file(demo_dir, root):
    """24 demo files (one per speaker and class) plus an unreadable one, as a CSV corpus."""
    root.mkdir()
    with open(demo_dir / "metadata.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["path"].endswith("_00.wav")]
    for row in rows:
        (root / row["path"]).parent.mkdir(exist_ok=True)
        shutil.copy(demo_dir / row["path"], root / row["path"])
    (root / "m1" / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEnot audio at all")
    rows.append({"path": "m1/broken.wav", "label": "sad", "speaker": "m1"})
    with open(root / "list.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "speaker"])
        writer.writeheader()
        writer.writerows(rows)
    return root / "list.csv"


def test_features_and_eval_report_a_corrupt_file_and_finish(demo_dir, tmp_path, capsys):
    listing = small_corpus_with_a_corrupt_file(demo_dir, tmp_path / "small")
    common = ["--cache-dir", str(tmp_path / "cache"), "--quiet", "--jobs", "2"]
    assert main(["features", "csv", str(listing), "--out", str(tmp_path / "features")] + common) == 0
    assert "24 of 25 files" in capsys.readouterr().out
    assert list(json.loads((tmp_path / "features" / "failures.json").read_text())) == [
        str(tmp_path / "small" / "m1" / "broken.wav")]
    with np.load(tmp_path / "features" / "features.npz") as stored:
        assert stored["X"].shape == (24, 52) and list(stored["classes"]) == ["neutral", "happy", "sad", "angry"]

    assert main(["eval", "--corpus", "csv", str(listing), "--out", str(tmp_path / "a"), "--folds", "speaker-kfold",
                 "--n-splits", "3"] + common) == 0
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    assert list(results["failures"]) == [str(tmp_path / "small" / "m1" / "broken.wav")]
    assert "1 file(s) failed" in (tmp_path / "a" / "report.md").read_text()
    assert results["features"]["hits"] == 24  # extracted once by 'features'

    # The same split read back from folds.json, on the stored features: the same predictions.
    assert main(["eval", "--features", str(tmp_path / "features" / "features.npz"), "--out", str(tmp_path / "b"),
                 "--folds-file", str(tmp_path / "a" / "folds.json"), "--probes", "knn"] + common) == 0
    again = json.loads((tmp_path / "b" / "results.json").read_text())
    assert again["probes"]["knn"]["predictions"] == results["probes"]["knn"]["predictions"]


def test_clear_errors(demo_dir, tmp_path, capsys):
    assert main(["eval", "--corpus", "ravdess", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 1
    assert "is not a directory" in capsys.readouterr().err
    one = tmp_path / "one"
    one.mkdir()
    for label in ("neutral", "happy", "sad", "angry"):
        shutil.copy(demo_dir / "m1" / f"m1_{label}_00.wav", one / f"{label}.wav")
    (one / "list.csv").write_text("path,label,speaker\n" + "".join(
        f"{label}.wav,{label},m1\n" for label in ("neutral", "happy", "sad", "angry")))
    assert main(["eval", "--corpus", "csv", str(one / "list.csv"), "--out", str(tmp_path / "o"), "--no-cache",
                 "--quiet"]) == 1
    assert "leave-one-speaker-out needs at least 2 speakers" in capsys.readouterr().err
    assert main(["eval", "--features", str(one / "list.csv"), "--out", str(tmp_path / "o")]) == 1
    assert "is not a features.npz" in capsys.readouterr().err
    assert main(["eval", "--corpus", "timit", "x", "--out", "o"]) == 1
    assert "invalid argument 'name': must be one of" in capsys.readouterr().err


def test_zeroshot_runs_the_prompt_ensembling(tmp_path, capsys):
    """The CLI saves what affectkit.prompts computes: the entropy weighting and every baseline."""
    logits = np.random.default_rng(0).standard_normal((40, 3, 4))
    labels = logits.mean(axis=1).argmax(axis=1)
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "labels.npy", labels)
    assert main(["zeroshot", str(tmp_path / "logits.npy"), "--labels", str(tmp_path / "labels.npy"), "--tau", "1",
                 "--out", str(tmp_path / "z")]) == 0
    weighted = ak.prompts.entropy_weights(logits, tau=1.0, mode="dataset")
    np.testing.assert_array_equal(np.load(tmp_path / "z" / "scores_entropy_weights.npy"), weighted.predictions)
    np.testing.assert_array_equal(np.load(tmp_path / "z" / "prompt_weights.npy"), weighted.weights)
    logit_methods = [m for m in ak.prompts.ENSEMBLE_METHODS if m != "text_mean"]
    for method in logit_methods:
        np.testing.assert_array_equal(np.load(tmp_path / "z" / f"scores_{method}.npy"),
                                      ak.prompts.ensemble(logits, method=method, tau=1.0))
    summary = json.loads((tmp_path / "z" / "zeroshot.json").read_text())
    assert list(summary["methods"]) == ["entropy_weights", *logit_methods]
    assert summary["methods"]["logit_mean"]["ua"] == 1.0  # the labels were made from the mean logits
    assert "logit_mean       UA 100.0" in capsys.readouterr().out
    np.save(tmp_path / "flat.npy", np.zeros((6, 4)))
    assert main(["zeroshot", str(tmp_path / "flat.npy"), "--out", str(tmp_path / "z")]) == 1
    assert "'logits'" in capsys.readouterr().err
    # From embeddings: text_mean (which needs them) joins the methods.
    rng = np.random.default_rng(1)
    np.save(tmp_path / "audio.npy", rng.standard_normal((6, 5)))
    np.save(tmp_path / "text.npy", rng.standard_normal((3, 4, 5)))
    assert main(["zeroshot", "--embeddings", str(tmp_path / "audio.npy"), str(tmp_path / "text.npy"), "--out",
                 str(tmp_path / "e")]) == 0
    summary = json.loads((tmp_path / "e" / "zeroshot.json").read_text())
    assert list(summary["methods"]) == ["entropy_weights", *ak.prompts.ENSEMBLE_METHODS]
    assert summary["inputs"] == {"audio_embeddings": [6, 5], "text_embeddings": [3, 4, 5]}
    assert main(["zeroshot", "--out", str(tmp_path / "e")]) == 1
    assert "either LOGITS.npy or --embeddings" in capsys.readouterr().err


def test_bench(tmp_path, capsys):
    assert main(["bench", "--benchmarks-dir", str(tmp_path / "none")]) == 2
    assert "no benchmarks/ here" in capsys.readouterr().err
    (tmp_path / "harness.py").write_text("")
    (tmp_path / "bench_fake.py").write_text(f"import sys\nopen({str(tmp_path / 'args.txt')!r}, 'w').write("
                                            "' '.join(sys.argv[1:]))\n")
    assert main(["bench", "fake", "--quick", "--benchmarks-dir", str(tmp_path)]) == 0
    assert (tmp_path / "args.txt").read_text() == "--quick --no-write"
    assert main(["bench", "nothing", "--benchmarks-dir", str(tmp_path)]) == 2


def test_python_dash_m_help():
    result = subprocess.run([sys.executable, "-m", "affectkit", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "demo" in result.stdout and "zeroshot" in result.stdout


def test_eval_on_iemocap_layout_reports_ccc(demo_dir, tmp_path):
    """IEMOCAP's layout (two sessions of demo audio): leave-one-session-out, plus CCC of
    the valence/arousal/dominance ratings."""
    with open(demo_dir / "metadata.csv") as handle:
        rows = list(csv.DictReader(handle))
    codes = {"neutral": "neu", "happy": "hap", "sad": "sad", "angry": "ang"}
    arousal = {"neutral": 2.0, "happy": 4.0, "sad": 1.5, "angry": 4.5}
    for session, speakers in ((1, ("m1", "f1")), (2, ("m2", "f2"))):
        dialog = f"Ses0{session}F_impro01"
        lines = []
        for k, row in enumerate(r for r in rows if r["speaker"] in speakers and int(r["path"][-6:-4]) < 3):
            utterance = f"{dialog}_{'MF'[row['speaker'][0] == 'f']}{k:03d}"
            target = tmp_path / "iemocap" / f"Session{session}" / "sentences" / "wav" / dialog / f"{utterance}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(demo_dir / row["path"], target)
            a = arousal[row["label"]] + 0.1 * (k % 3)
            lines.append(f"[{k}.0 - {k}.5]\t{utterance}\t{codes[row['label']]}\t[3.0000, {a:.4f}, 2.5000]")
        labels = tmp_path / "iemocap" / f"Session{session}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
        labels.parent.mkdir(parents=True)
        labels.write_text("\n".join(lines) + "\n")
    with pytest.warns(data.IncompleteCorpusWarning):
        status = main(["eval", "--corpus", "iemocap", str(tmp_path / "iemocap"), "--out", str(tmp_path / "out"),
                       "--folds", "official", "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    assert status == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [f["name"] for f in results["probes"]["linear"]["per_fold"]] == ["fold Ses01", "fold Ses02"]
    dimensions = results["dimensions"]
    assert dimensions["names"] == ["valence", "arousal", "dominance"]
    assert dimensions["summary"]["ccc_arousal"]["mean"] > 0.5  # arousal follows the prosodic classes
    assert "| arousal |" in (tmp_path / "out" / "report.md").read_text()


ENCODER_MODULE = '''
import numpy as np
from affectkit.eval import EncoderAdapter


def frames(audio):
    """10 ms frames -> log energy and zero-crossing rate."""
    n = audio.shape[1] // 160
    x = audio[:, : n * 160].reshape(audio.shape[0], n, 160)
    return np.stack([np.log(np.mean(x**2, axis=-1) + 1e-10),
                     np.mean(np.abs(np.diff(np.sign(x), axis=-1)) > 0, axis=-1)], axis=-1)


ENCODER = EncoderAdapter(frames, sample_rate=16000, hop_seconds=0.01, name="toy-encoder")
NOT_AN_EXTRACTOR = 3
'''


def test_own_encoder_through_the_cli(demo_dir, tmp_path, monkeypatch, capsys):
    (tmp_path / "my_encoder.py").write_text(ENCODER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    listing = small_corpus_with_a_corrupt_file(demo_dir, tmp_path / "small")
    common = ["--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main(["features", "csv", str(listing), "--out", str(tmp_path / "f"), "--extractor",
                 "my_encoder:ENCODER"] + common) == 0
    with np.load(tmp_path / "f" / "features.npz") as stored:
        assert stored["X"].shape == (24, 2) and str(stored["extractor"]) == "toy-encoder"
    assert main(["eval", "--features", str(tmp_path / "f" / "features.npz"), "--out", str(tmp_path / "e"),
                 "--probes", "knn"] + common) == 0
    results = json.loads((tmp_path / "e" / "results.json").read_text())
    assert results["probes"]["knn"]["probe_args"] == {"standardize": False}  # embeddings as they are
    assert results["features"]["name"] == "toy-encoder"
    assert (tmp_path / "cache").joinpath(next(p.name for p in (tmp_path / "cache").iterdir()
                                              if p.name.startswith("toy-encoder"))).is_dir()
    assert main(["eval", "--corpus", "csv", str(listing), "--out", str(tmp_path / "c"), "--extractor",
                 "my_encoder:ENCODER", "--baseline", "--folds", "speaker-kfold", "--n-splits", "3"] + common) == 0
    compared = json.loads((tmp_path / "c" / "results.json").read_text())
    assert list(compared["probes"]) == ["linear", "knn", "baseline-linear", "baseline-knn"]
    assert compared["probes"]["baseline-knn"]["probe_args"] == {"standardize": True}
    assert "| baseline-linear |" in (tmp_path / "c" / "report.md").read_text()
    assert (tmp_path / "c" / "confusion_baseline-knn.png").is_file()
    assert main(["eval", "--corpus", "csv", str(listing), "--out", str(tmp_path / "c"), "--baseline"] + common) == 1
    assert "'--baseline'" in capsys.readouterr().err
    for bad, message in (("my_encoder:NOT_AN_EXTRACTOR", "is a int"), ("no_such_module:X", "cannot import")):
        assert main(["features", "csv", str(listing), "--out", str(tmp_path / "g"), "--extractor", bad]
                    + common) == 1
        assert message in capsys.readouterr().err


def test_missing_research_dependency_is_explained(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if scikit-learn were not installed
    monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "f.npz", X=rng.standard_normal((8, 3)), path=np.array([f"/x/{i}.wav" for i in range(8)]),
             label=np.array(["a", "b"] * 4), speaker=np.array(["s1", "s2", "s3", "s4"] * 2), fold=np.array([""] * 8),
             classes=np.array(["a", "b"]), name=np.array("toy"), root=np.array("/x"), extractor=np.array("toy"))
    assert main(["eval", "--features", str(tmp_path / "f.npz"), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert "pip install 'affectkit[research]'" in capsys.readouterr().err
