"""Fusion of two frozen encoders (issue 10), one thread pinned to one core:

(a) UA / WA / macro-F1 (mean +- std over speaker folds x seeds) on the bundled demo corpus
    of each single encoder, each baseline fusion, HadamardOTFusion and its ablations, and
    RenyiAlignedFusion, with random-initialised Mamba and attention encoders
    (affectkit.recipes.fusion);
(b) forward time of the fusion modules, one utterance and a batch of 16, against the
    same Hadamard-OT computation written with POT's torch back end (ot.sinkhorn, log
    domain, one utterance at a time: what one would write without affectkit).

    python benchmarks/bench_fusion.py [--repeats N] [--quick] [--no-write]
"""

import os
import time

from harness import arguments, compare, limit_threads, report

limit_threads(1)
if hasattr(os, "sched_setaffinity"):  # one core: the numbers are per core
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import numpy as np  # noqa: E402
import ot  # noqa: E402
import torch  # noqa: E402

from affectkit.data import demo_corpus, make_folds  # noqa: E402
from affectkit.nn import HadamardOTFusion, PooledFusion, RenyiAlignedFusion  # noqa: E402
from affectkit.recipes import fusion  # noqa: E402

torch.set_num_threads(1)


def hadamard_ot_pot(module, x, y, x_lengths, y_lengths):
    """HadamardOTFusion's forward, one utterance at a time, the plan from POT (torch)."""
    rows = []
    for b in range(x.shape[0]):
        X = module.x_proj(x[b, : x_lengths[b]])
        Y = module.y_proj(y[b, : y_lengths[b]])
        M = 1 - torch.nn.functional.normalize(X, dim=-1) @ torch.nn.functional.normalize(Y, dim=-1).T
        P = ot.sinkhorn(torch.full((len(X),), 1 / len(X)), torch.full((len(Y),), 1 / len(Y)), M, module.reg,
                        method="sinkhorn_log", numItermax=module.numItermax, stopThr=module.stopThr)
        A = P.T @ X / P.sum(0)[:, None]
        rows.append(torch.cat([torch.cat([A, A * Y, Y], dim=1).mean(0), X.mean(0)]))
    return torch.stack(rows)


def timing_cases(args, x, y):
    results = []
    d = x[0].shape[1]
    for batch in (1, 16):
        rows = np.arange(batch)
        xb, xl = fusion.padded_batch(x, rows)
        yb, yl = fusion.padded_batch(y, rows)
        torch.manual_seed(0)
        hot = HadamardOTFusion(d, d, dim=64, warn=False).eval()
        concat = PooledFusion(d, d, dim=64).eval()
        renyi = RenyiAlignedFusion(d, d, 4, dim=64).eval()
        with torch.no_grad():
            np.testing.assert_allclose(hot(xb, yb, xl, yl).numpy(), hadamard_ot_pot(hot, xb, yb, xl, yl).numpy(),
                                       rtol=1e-4, atol=1e-4)

        def run(f):
            def timed():
                with torch.no_grad():
                    return f()
            return timed

        frames = int(xl.float().mean())
        results.append(compare(
            f"forward, batch {batch} ({frames} frames of {d} per utterance, dim 64)",
            {"affectkit HadamardOTFusion": run(lambda: hot(xb, yb, xl, yl)),
             "HadamardOT with POT torch sinkhorn_log, loop": run(lambda: hadamard_ot_pot(hot, xb, yb, xl, yl)),
             "affectkit PooledFusion concat (no OT)": run(lambda: concat(xb, yb, xl, yl)),
             "affectkit RenyiAlignedFusion": run(lambda: renyi(xb, yb, xl, yl))}, args.repeats))
    return results


def main():
    args = arguments(__doc__.split("\n\n")[0])
    corpus = demo_corpus()
    x, y = fusion.demo_embeddings(corpus, progress=False)
    results = timing_cases(args, x, y)
    n_splits, seeds, epochs = (2, (0,), 2) if args.quick else (3, (0, 1, 2), 20)
    folds = make_folds(corpus, "speaker-kfold", n_splits=n_splits)
    start = time.perf_counter()
    scores = fusion.compare_fusions(x, y, corpus.y, folds, seeds=seeds, epochs=epochs, progress=False)
    minutes = (time.perf_counter() - start) / 60
    table = fusion.results_table(scores)
    print(table)
    report("Fusion of a Mamba and an attention encoder", results, args,
           f"(a) Demo corpus ({len(corpus)} utterances, 6 speakers, 4 classes, chance UA 25 %), frame embeddings "
           "from a random-initialised 2-layer MambaEncoder (x) and AttentionEncoder (y), d_model 64, on 40-band "
           f"log-mel at 20 ms hops (`affectkit.recipes.fusion.demo_embeddings`). Each fusion + linear classifier "
           f"trained with AdamW (lr 3e-3, {epochs} epochs, batch 16, width 64) on {n_splits} speaker folds "
           f"(speaker-kfold) x {len(seeds)} seeds; UA / WA / macro-F1 in %, mean ± std (population) over the "
           f"{n_splits * len(seeds)} runs; {minutes:.1f} min for the whole table on one core. The encoders are "
           "untrained and the corpus synthetic: the ranking says nothing about pretrained models, and differences "
           "within about one std are noise.\n\n" + table + "\n\n"
           "(b) Forward only, no_grad, float32; the POT loop is checked against HadamardOTFusion to 1e-4 before "
           "timing (cosine cost, reg 0.1, stopThr 1e-6, numItermax 200). Per utterance: the batch-16 time / 16. "
           f"Load average {os.getloadavg()[0]:.1f} when written (shared machine).")


if __name__ == "__main__":
    main()
