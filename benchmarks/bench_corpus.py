"""Corpus-scale extraction (affectkit.corpus.extract): the demo corpus's baseline utterance
features in-process and on a LocalCluster of 1 and 2 worker processes (one thread each),
against the single-process path of the research layer (affectkit.cache.extract, no cache);
the cost per shard (scheduling, hashing, writing) and of a re-run that finds every shard
complete. Every run writes a new store; the stores are checked equal to the
single-process results bit for bit before timing.

Not pinned to one core: the 2-worker case needs two. On a shared machine the 2-worker
ratio depends on the load, which is reported with the table.

    python benchmarks/bench_corpus.py [--repeats N] [--quick] [--no-write]
"""

import itertools
import os
import tempfile

from harness import arguments, compare, limit_threads, report

limit_threads(1)

import numpy as np  # noqa: E402

from affectkit.cache import extract as cache_extract  # noqa: E402
from affectkit.corpus import extract, load  # noqa: E402
from affectkit.data import demo_corpus, load_audio  # noqa: E402
from affectkit.eval import utterance_extractor  # noqa: E402


def main():
    from distributed import Client, LocalCluster

    args = arguments(__doc__.split("\n\n")[0])
    args.repeats = min(args.repeats, 5)  # whole-corpus runs: a few rounds are enough and keep it short
    work = tempfile.TemporaryDirectory()
    corpus = demo_corpus(os.path.join(work.name, "demo"), utterances_per_class=2 if args.quick else 6)
    seconds = sum(load_audio(p, sr=None)[0].size for p in corpus.path) / 16000
    extractor = utterance_extractor(num_threads=1)
    stores = (os.path.join(work.name, f"store{i}") for i in itertools.count())
    reference = cache_extract(corpus.path, extractor, progress=False)

    def sharded(client=None, shard_size=16, out=None):
        return lambda: extract(corpus, extractor, out=out or next(stores), client=client, shard_size=shard_size,
                               num_threads=1, progress=False)

    def checked(run):
        out = next(stores)
        sharded(*run, out=out)()
        result = load(out)
        assert all(np.array_equal(a, b) for a, b in zip(result.features, reference.features))

    clusters = {n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
                for n in (1, 2)}
    clients = {n: Client(cluster) for n, cluster in clusters.items()}
    try:
        for run in ((None,), (clients[1],), (clients[2],)):
            checked(run)
        n = len(corpus)
        throughput = compare(f"{n} demo clips ({seconds:.0f} s of audio), shards of 16", {
            "cache.extract, one process": lambda: cache_extract(corpus.path, extractor, progress=False),
            "corpus.extract in-process": sharded(),
            "corpus.extract, 1 worker": sharded(clients[1]),
            "corpus.extract, 2 workers": sharded(clients[2])}, args.repeats)
        per_shard = compare(f"{n} clips in 1 shard or in {n} shards (1 worker)", {
            "1 shard of all clips": sharded(clients[1], shard_size=n),
            f"{n} shards of 1 clip": sharded(clients[1], shard_size=1),
            f"{n} shards of 1 clip, in-process": sharded(None, shard_size=1),
            "1 shard, in-process": sharded(None, shard_size=n)}, args.repeats)
        complete = os.path.join(work.name, "complete")
        sharded(out=complete)()
        rerun = compare(f"re-run of {n} clips, every shard complete", {
            "in-process": sharded(out=complete),
            "2 workers": sharded(clients[2], out=complete)}, args.repeats)
    finally:
        for client in clients.values():
            client.close()
        for cluster in clusters.values():
            cluster.close()

    rates = "; ".join(f"{name}: {n / throughput.median(name):.1f} clips/s, {seconds / throughput.median(name):.0f}x "
                      f"real time" for name in throughput.times)
    dask_overhead = (per_shard.median(f"{n} shards of 1 clip") - per_shard.median("1 shard of all clips")) / (n - 1)
    local_overhead = (per_shard.median(f"{n} shards of 1 clip, in-process")
                      - per_shard.median("1 shard, in-process")) / (n - 1)
    report("Corpus-scale extraction on Dask (affectkit.corpus)", [throughput, per_shard, rerun], args, notes=(
        f"Baseline utterance features (`ak.eval.utterance_extractor(num_threads=1)`) of the demo corpus; Dask "
        f"LocalCluster of worker processes with one thread each; clusters started before timing. {rates}. "
        f"Overhead per shard (difference of the 1-clip-shard and 1-shard runs / {n - 1}): "
        f"{1e3 * dask_overhead:.1f} ms on Dask, {1e3 * local_overhead:.1f} ms in-process (hashing, the Parquet and "
        f"JSON writes, and on Dask the task round trip). Not pinned; load average when done: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores (a shared machine: the "
        f"2-worker speed-up is bounded by the free cores). The first row is the reference of the ratios."))
    work.cleanup()


if __name__ == "__main__":
    main()
