"""The research layer, one core: the kNN probe against scikit-learn's weighted
KNeighborsClassifier (same scores, checked), and the demo's baseline utterance
features against openSMILE's eGeMAPSv02 functionals (the baseline feature set a
researcher would otherwise extract; a different set of features, see the notes).

    python benchmarks/bench_research.py [--repeats N] [--quick] [--no-write]
"""

import os
import tempfile

from harness import arguments, compare, limit_threads, report

limit_threads(1)
if hasattr(os, "sched_setaffinity"):  # one core for both sides
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import numpy as np  # noqa: E402
import opensmile  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from affectkit.data import demo_corpus, load_audio  # noqa: E402
from affectkit.eval import knn_probe, utterance_features  # noqa: E402


def knn_case(n_train: int, n_test: int, dim: int, repeats: int):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 8, n_train)
    centres = rng.standard_normal((8, dim))
    train = centres[labels] + 2.0 * rng.standard_normal((n_train, dim))
    test = centres[rng.integers(0, 8, n_test)] + 2.0 * rng.standard_normal((n_test, dim))
    sk = KNeighborsClassifier(n_neighbors=10, metric="cosine", algorithm="brute",
                              weights=lambda d: np.exp((1 - d) / 0.07))
    np.testing.assert_allclose(knn_probe(train, labels, test), sk.fit(train, labels).predict_proba(test), rtol=1e-9,
                               atol=1e-12)
    return compare(f"kNN probe, {n_train} x {dim} train, {n_test} test",
                   {"affectkit knn_probe": lambda: knn_probe(train, labels, test),
                    "sklearn KNeighborsClassifier": lambda: sk.fit(train, labels).predict_proba(test)}, repeats)


def features_case(n_clips: int, repeats: int):
    with tempfile.TemporaryDirectory() as directory:
        corpus = demo_corpus(os.path.join(directory, "demo"), utterances_per_class=1)
        clips = [load_audio(p, sr=16000)[0] for p in corpus.path[:n_clips]]
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    seconds = sum(c.size for c in clips) / 16000
    return compare(f"utterance features, {n_clips} demo clips ({seconds:.0f} s of audio)",
                   {"affectkit utterance_features": lambda: [utterance_features(c, 16000) for c in clips],
                    "opensmile eGeMAPSv02 functionals": lambda: [smile.process_signal(c, 16000) for c in clips]},
                   repeats)


def main():
    args = arguments(__doc__.split("\n\n")[0])
    sizes = (1000, 200, 256) if args.quick else (4000, 1000, 768)
    results = [knn_case(*sizes, args.repeats), features_case(6 if args.quick else 24, args.repeats)]
    report("Research layer: kNN probe, baseline utterance features", results, args, notes=(
        "kNN probe: X-ARES's weighted kNN (k=10, cosine, temperature 0.07); scikit-learn's brute-force "
        "KNeighborsClassifier with weights exp((1 - d) / 0.07) gives the same probabilities (checked to 1e-9). "
        "Utterance features: affectkit's 52 baseline features (eGeMAPS energy/spectral LLD mean/std, Praat F0 "
        "statistics, 13 MFCC mean/std) against openSMILE's 88 eGeMAPSv02 functionals. The feature sets differ "
        "(openSMILE's include its own F0, jitter, shimmer, formants and more functionals), so this ratio is the "
        "cost of each baseline per clip, not of one computation done two ways."))


if __name__ == "__main__":
    main()
