"""ak.prompts.entropy_weights against its NumPy reference (affectkit.prompts._reference_entropy_weights).

N = 50,000 samples, P = 50 prompts, C = 50 classes, dataset mode, exactly 20 damped
updates (tol 0, no pruning): 21 passes over the logits, each computing the objective and
its gradient. One thread (numpy's BLAS threads too; the reference's einsums are
single-threaded anyway); one row gives affectkit on 2 threads. The last rows read the
logits once (numpy's max over the array, on one thread and over two halves on two): the
floor of one pass, memory bandwidth.

    python benchmarks/bench_prompts.py [--repeats N] [--quick] [--no-write]
"""

import os
from concurrent.futures import ThreadPoolExecutor

from harness import arguments, compare, limit_threads, report

limit_threads(1)  # before numpy is imported

import numpy as np  # noqa: E402

from affectkit.prompts import _reference_entropy_weights, entropy_weights, simulated_zero_shot  # noqa: E402
from affectkit.prompts import prompt_logits  # noqa: E402

UPDATES = 20
OPTIONS = dict(mode="dataset", max_iter=UPDATES, tol=0.0, prune_rounds=0)


def read_in_halves(L, pool):
    """max(L) over two halves on two threads (numpy's reductions release the GIL)."""
    half = len(L) // 2
    return max(pool.map(np.max, (L[:half], L[half:])))


def main():
    args = arguments(__doc__.split("\n\n")[0])
    args.repeats = min(args.repeats, 5)  # the reference takes tens of seconds per call
    n = 2000 if args.quick else 50_000
    sim = simulated_zero_shot(n_samples=n, n_prompts=50, n_classes=50, dim=128, n_good=10, n_biased=10, seed=0)
    results, notes = [], []
    pool = ThreadPoolExecutor(2)
    for dtype in (np.float64, np.float32):
        L = prompt_logits(sim.audio_embeddings.astype(dtype), sim.text_embeddings.astype(dtype), num_threads=1)
        ours = entropy_weights(L, **OPTIONS, num_threads=1)
        ref = _reference_entropy_weights(L, **OPTIONS)
        # Never time a wrong answer (float32: the reference computes on the logits in float64 too).
        assert len(ours.objective[0]) == len(ref.objective[0]) == UPDATES + 1
        assert np.max(np.abs(ours.weights - ref.weights)) < 1e-10, "weights differ"
        assert np.max(np.abs(ours.predictions - ref.predictions)) < (1e-10 if dtype == np.float64 else 1e-6)
        name = np.dtype(dtype).name
        result = compare(f"{n} x 50 x 50 {name} logits, {UPDATES} updates", {
            "affectkit": lambda L=L: entropy_weights(L, **OPTIONS, num_threads=1),
            "NumPy reference": lambda L=L: _reference_entropy_weights(L, **OPTIONS),
            "affectkit, 2 threads": lambda L=L: entropy_weights(L, **OPTIONS, num_threads=2),
            "one read of the logits (np.max)": lambda L=L: L.max(),
            "one read of the logits, 2 threads": lambda L=L: read_in_halves(L, pool),
        }, args.repeats)
        results.append(result)
        passes = UPDATES + 1
        ours_pass = result.median("affectkit") / passes
        two_pass = result.median("affectkit, 2 threads") / passes
        reference_pass = result.median("NumPy reference") / passes
        read = result.median("one read of the logits (np.max)")
        two_read = result.median("one read of the logits, 2 threads")
        notes.append(f"{name}: affectkit {1e3 * ours_pass:.1f} ms per pass on 1 thread ({ours_pass / read:.1f}x one "
                     f"read of the {L.nbytes / 1e9:.2f} GB of logits, {1e3 * read:.1f} ms), {1e3 * two_pass:.1f} ms on "
                     f"2 threads ({two_pass / two_read:.1f}x one read on 2 threads, {1e3 * two_read:.1f} ms); NumPy "
                     f"reference {1e3 * reference_pass:.1f} ms per pass, so a pass at the read floor would be "
                     f"{reference_pass / read:.1f}x the reference on 1 thread, {reference_pass / two_read:.1f}x on 2")
    load = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    report("Entropy prompt weighting", results, args,
           f"Simulated CLAP-like cosine logits (ak.prompts.simulated_zero_shot, d = 128). A pass computes J and "
           f"g together; a call makes {UPDATES + 1} passes (J at the uniform start and after each update). "
           "Results checked first: weights within 1e-10, predictions within 1e-10 (float64) / 1e-6 (float32). "
           "Per pass: " + "; ".join(notes) + f". Load average at the end of the run: {load:.1f}.")


if __name__ == "__main__":
    main()
