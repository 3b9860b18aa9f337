"""affectkit.corpus.extract: sharded extraction in-process and on a LocalCluster of 2 worker
processes. Every comparison is exact (np.array_equal, same dtype): the sharded store
against the single-process cache path (affectkit.cache.extract), Dask against in-process,
whatever the shard size, worker count or core threads."""

import functools
import hashlib
import json
import os
import signal
import tempfile
import uuid

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import affectkit as ak
from affectkit import data
from affectkit.cache import Extractor
from affectkit.cache import extract as cache_extract
from affectkit.cli import main
from affectkit.corpus import extract, load
from affectkit.eval import utterance_extractor

distributed = pytest.importorskip("distributed")

SR = 16000
N_CLIPS = 300
CLIP_SAMPLES = 3200  # 0.2 s
ODD_SAMPLES = 4000  # the one clip the killing extractor recognises


def _digest(y: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(y).tobytes()).hexdigest()[:16]


def counting_mfcc(y, sr, num_threads=1, *, calls, kill_samples=None):
    """MFCC frames (13, n_frames) that logs each call as a file in ``calls`` (named by the
    audio's digest) and, with ``kill_samples``, SIGKILLs its own process the first time it
    sees a clip of that length (a worker dying mid-shard)."""
    if kill_samples is not None and len(y) == kill_samples:
        try:
            os.close(os.open(os.path.join(calls, "killed"), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    open(os.path.join(calls, f"{_digest(y)}-{uuid.uuid4().hex}"), "w").close()
    return ak.mfcc(y, sr=sr, n_mfcc=13, num_threads=num_threads)


def counting_extractor(calls, kill_samples=None) -> Extractor:
    os.makedirs(calls, exist_ok=True)
    return Extractor("mfcc-frames", functools.partial(counting_mfcc, calls=str(calls), kill_samples=kill_samples),
                     {"n_mfcc": 13})


def calls_per_file(calls, corpus) -> dict:
    made = [name.split("-")[0] for name in os.listdir(calls) if name != "killed"]
    return {path: made.count(_digest(data.load_audio(path, sr=SR)[0])) for path in corpus.path
            if not path.endswith("broken.wav")}


def assert_same(a, b):
    assert a.paths == b.paths and a.failures == b.failures
    for x, y in zip(a.features, b.features):
        assert (x is None) == (y is None)
        if x is not None:
            assert x.dtype == y.dtype and np.array_equal(x, y)


@pytest.fixture(autouse=True)
def time_limit():
    """No test may hang: SIGALRM fails it after 90 s."""
    def expire(signum, frame):
        raise TimeoutError("test_corpus: over the 90 s limit")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(90)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return data.demo_corpus(tmp_path_factory.mktemp("demo") / "corpus")


def make_clips(root, n=N_CLIPS, broken=False) -> data.Corpus:
    """``n`` short synthetic voices (one of ODD_SAMPLES samples), and with ``broken`` a
    corrupt WAV file last."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        voice = ak.synthetic_voice(sr=SR, duration=(ODD_SAMPLES if i == n // 2 else CLIP_SAMPLES) / SR,
                                   f0=90.0 + i, jitter=0.01, seed=i)
        paths.append(str(root / f"clip{i:03d}.wav"))
        data.save_audio(paths[-1], voice.y, SR)
    if broken:
        paths.append(str(root / "broken.wav"))
        with open(paths[-1], "wb") as stream:
            stream.write(b"RIFF\x00\x00\x00\x00WAVEnot audio")
    return data.Corpus("clips", str(root), ("voice",), paths, ["voice"] * len(paths),
                       [f"s{i % 5}" for i in range(len(paths))], [""] * len(paths))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return make_clips(tmp_path_factory.mktemp("clips"), broken=True)


@pytest.fixture(scope="module")
def client():
    """2 worker processes of 1 thread; a task whose worker dies is not retried
    (allowed-failures 0), so a killed worker shows as a failed shard."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    with cluster, distributed.Client(cluster) as connected:
        yield connected


def test_in_process_store_equals_the_cache_path(demo, tmp_path):
    import pandas as pd

    reference = cache_extract(demo.path, utterance_extractor(), progress=False)
    for shard_size in (1, 7, 1000):
        out = tmp_path / f"shards{shard_size}"
        manifest = extract(demo, utterance_extractor(), out=out, shard_size=shard_size, progress=False)
        assert manifest.computed == -(-len(demo) // shard_size) and manifest.skipped == 0
        assert manifest.succeeded == demo.path and manifest.failed == {}
        assert_same(load(out), reference)
    # The Parquet shards read by pandas hold the same numbers, in the corpus order.
    frame = pd.concat([pd.read_parquet(out / "shards" / s["data"]) for s in manifest.shards])
    assert list(frame.path) == [os.path.relpath(p, demo.root) for p in demo.path]
    assert list(frame.columns[1:]) == list(ak.eval.UTTERANCE_FEATURE_NAMES)
    assert np.array_equal(frame.iloc[:, 1:].to_numpy(), reference.stacked())


def test_core_threads_do_not_change_results(demo, tmp_path):
    corpus = demo.subset(range(0, len(demo), 6))
    extract(corpus, utterance_extractor(), out=tmp_path / "one", num_threads=1, progress=False)
    extract(corpus, utterance_extractor(), out=tmp_path / "two", num_threads=2, progress=False)
    assert_same(load(tmp_path / "one"), load(tmp_path / "two"))


def test_rerun_skips_complete_shards_and_redoes_a_changed_file(tmp_path):
    corpus = make_clips(tmp_path / "clips", n=40)
    out, calls = tmp_path / "store", tmp_path / "calls"
    first = extract(corpus, counting_extractor(calls), out=out, shard_size=8, progress=False)
    assert first.computed == 5 and set(calls_per_file(calls, corpus).values()) == {1}
    written = {p.name: p.stat().st_mtime_ns for p in (out / "shards").iterdir()}
    (out / "shards" / "leftover.tmp").write_bytes(b"half a shard")  # as a killed worker leaves it

    again = extract(corpus, counting_extractor(calls), out=out, shard_size=8, progress=False)
    assert again.computed == 0 and again.skipped == 5 and set(calls_per_file(calls, corpus).values()) == {1}
    assert {p.name: p.stat().st_mtime_ns for p in (out / "shards").iterdir()} == written
    assert_same(load(out), load(out))

    # A changed file changes its shard's key: that shard only is analysed again.
    data.save_audio(corpus.path[11], ak.synthetic_voice(sr=SR, duration=0.2, f0=300.0).y, SR)
    changed = extract(corpus, counting_extractor(calls), out=out, shard_size=8, progress=False)
    assert [s["status"] for s in changed.shards] == ["skipped", "computed", "skipped", "skipped", "skipped"]
    assert len(os.listdir(calls)) == 40 + 8  # one call per file, and 8 for the changed shard
    reference = cache_extract(corpus.path, counting_extractor(tmp_path / "calls2"), progress=False)
    assert_same(load(out), reference)


def test_dask_equals_in_process_on_the_demo_corpus(demo, client, tmp_path, capsys):
    extract(demo, utterance_extractor(), out=tmp_path / "here", progress=False)
    manifest = extract(demo, utterance_extractor(), out=tmp_path / "dask", client=client, shard_size=16)
    assert manifest.computed == 9 and manifest.failed == {}
    assert "Dask dashboard: http" in capsys.readouterr().err
    assert_same(load(tmp_path / "dask"), load(tmp_path / "here"))
    about = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert about["scheduler"] == "dask" and about["succeeded"] == demo.path


def frame_energies(audio):
    """A small encoder for EncoderAdapter: (n, 25 ms frames, 2) of log energy and zero crossings."""
    frames = audio[:, : audio.shape[1] // 400 * 400].reshape(audio.shape[0], -1, 400)
    crossings = np.mean(np.diff(np.signbit(frames), axis=-1), axis=-1)
    return np.stack([np.log(np.mean(frames ** 2, axis=-1) + 1e-10), crossings], axis=-1)


def test_an_encoder_adapter_on_dask_equals_the_cache_path(demo, client, tmp_path):
    adapter = ak.eval.EncoderAdapter(frame_energies, sample_rate=SR, hop_seconds=0.025, name="energy")
    extractor = adapter.extractor({"frame": 400})
    extract(demo, extractor, out=tmp_path / "dask", client=client, shard_size=30, progress=False)
    assert_same(load(tmp_path / "dask"), cache_extract(demo.path, extractor, progress=False))
    # Each worker's core threads: the host's cores shared by the 2 single-threaded workers.
    assert set(ak.corpus._worker_threads(client).values()) == {max(1, ak.corpus.available_cores() // 2)}


def test_dask_frames_equal_in_process_and_a_corrupt_file_is_reported(clips, client, tmp_path):
    broken = clips.path[-1]
    here = extract(clips, counting_extractor(tmp_path / "c1"), out=tmp_path / "here", shard_size=N_CLIPS + 1,
                   progress=False)
    there = extract(clips, counting_extractor(tmp_path / "c2"), out=tmp_path / "dask", client=client, shard_size=23,
                    progress=False)
    for manifest in (here, there):
        assert list(manifest.failed) == [broken] and "broken.wav" in manifest.failed[broken]
        assert manifest.succeeded == clips.path[:-1]
    assert json.loads((tmp_path / "dask" / "manifest.json").read_text())["failed"] == there.failed
    result = load(tmp_path / "dask")
    assert result.features[-1] is None and result.features[0].shape[0] == 13
    assert_same(result, load(tmp_path / "here"))


def test_a_killed_worker_loses_only_its_shard_and_a_rerun_completes(clips, client, tmp_path):
    out, calls = tmp_path / "store", tmp_path / "calls"
    killer = counting_extractor(calls, kill_samples=ODD_SAMPLES)
    first = extract(clips, killer, out=out, client=client, shard_size=20, progress=False)
    assert os.path.exists(calls / "killed")
    lost = [s for s in first.shards if s["status"] == "failed"]
    assert lost and all("KilledWorker" in first.failed[os.path.join(clips.root, f)] for s in lost for f in s["files"])
    done = [s for s in first.shards if s["status"] != "failed"]
    assert len(list((out / "shards").glob("*.json"))) == len(done)  # nothing of the lost shards was stored

    second = extract(clips, killer, out=out, client=client, shard_size=20, progress=False)
    assert [s["status"] for s in second.shards] == ["computed" if s["status"] == "failed" else "skipped"
                                                      for s in first.shards]
    assert list(second.failed) == [clips.path[-1]]
    counts = calls_per_file(calls, clips)
    for shard in done:  # finished shards were analysed once, never again
        assert all(counts[os.path.join(clips.root, f)] == 1 for f in shard["files"] if f != "broken.wav")
    extract(clips, counting_extractor(tmp_path / "c2"), out=tmp_path / "here", progress=False)
    assert_same(load(out), load(tmp_path / "here"))


def test_a_killed_worker_s_shard_is_retried_in_the_same_run(clips, tmp_path):
    """Dask's default: the task of a dead worker runs again (allowed-failures 3)."""
    calls = tmp_path / "calls"
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    with cluster, distributed.Client(cluster) as client:
        manifest = extract(clips, counting_extractor(calls, kill_samples=ODD_SAMPLES), out=tmp_path / "store",
                           client=client, shard_size=20, progress=False)
    assert os.path.exists(calls / "killed")
    assert list(manifest.failed) == [clips.path[-1]] and manifest.skipped + manifest.computed == len(manifest.shards)
    counts = calls_per_file(calls, clips)
    odd = clips.path[N_CLIPS // 2]
    assert counts[odd] == 1  # killed before its call was logged, then analysed once
    # Only the files of the killed shard (up to the odd clip) may have been analysed twice.
    twice = {p for p, n in counts.items() if n == 2}
    assert set(counts.values()) <= {1, 2} and twice <= set(clips.path[N_CLIPS // 2 // 20 * 20:N_CLIPS // 2])
    extract(clips, counting_extractor(tmp_path / "c2"), out=tmp_path / "here", progress=False)
    assert_same(load(tmp_path / "store"), load(tmp_path / "here"))


def test_cli_features_on_a_local_cluster(demo, tmp_path, capsys):
    listing = os.path.join(demo.root, "metadata.csv")
    assert main(["features", "csv", listing, "--out", str(tmp_path / "one"), "--no-cache", "--quiet"]) == 0
    command = ["features", "csv", listing, "--out", str(tmp_path / "dask"), "--scheduler", "local", "--workers", "2",
               "--shard-size", "40"]
    assert main(command) == 0
    captured = capsys.readouterr()
    assert "Dask dashboard: http" in captured.err and "4 shard(s) computed, 0 already complete" in captured.out
    assert "utterance-features: 100%" in captured.err  # the tqdm bar
    with np.load(tmp_path / "one" / "features.npz") as one, np.load(tmp_path / "dask" / "features.npz") as dask:
        assert np.array_equal(one["X"], dask["X"]) and list(one["path"]) == list(dask["path"])
    assert main(command + ["--quiet"]) == 0
    assert "0 shard(s) computed, 4 already complete" in capsys.readouterr().out

    assert main(["features", "csv", listing, "--out", str(tmp_path / "x"), "--workers", "2"]) == 1
    assert "'--workers'" in capsys.readouterr().err
    assert main(command[:-2] + ["--shard-size", "0", "--quiet"]) == 1
    assert "'--shard-size'" in capsys.readouterr().err


def test_bad_arguments(demo, tmp_path):
    extractor = utterance_extractor()
    corpus = demo.subset([0, 1])
    with pytest.raises(TypeError, match="'corpus'"):
        extract(demo.path, extractor, out=tmp_path)
    with pytest.raises(TypeError, match="'extractor'"):
        extract(corpus, ak.mfcc, out=tmp_path)
    with pytest.raises(TypeError, match="'extractor'.*EncoderAdapter.extractor"):
        extract(corpus, ak.eval.EncoderAdapter(frame_energies, sample_rate=SR, hop_seconds=0.025), out=tmp_path)
    with pytest.raises(TypeError, match="'out'"):
        extract(corpus, extractor, out=None)
    with pytest.raises(ValueError, match="'shard_size'"):
        extract(corpus, extractor, out=tmp_path, shard_size=0)
    with pytest.raises(TypeError, match="'shard_size'"):
        extract(corpus, extractor, out=tmp_path, shard_size=2.5)
    with pytest.raises(ValueError, match="'num_threads'"):
        extract(corpus, extractor, out=tmp_path, num_threads=-1)
    with pytest.raises(TypeError, match="'client'"):
        extract(corpus, extractor, out=tmp_path, client="tcp://localhost:8786")
    with pytest.raises(ValueError, match="'corpus'"):
        extract(demo.subset([]), extractor, out=tmp_path)
    with pytest.raises(ValueError, match="'out'"):
        load(tmp_path / "nothing")
    with pytest.raises(TypeError, match="'out'"):
        load(3)
    extract(corpus, extractor, out=tmp_path / "store", progress=False)
    next((tmp_path / "store" / "shards").glob("*.parquet")).unlink()
    with pytest.raises(ValueError, match="'out': the store .* is damaged"):
        load(tmp_path / "store")
    assert extract(corpus, extractor, out=tmp_path / "store", progress=False).computed == 1  # redone
    assert load(tmp_path / "store").ok.all()


def constant(y, sr, *, shape, dtype, fill):
    return np.full(shape, fill, dtype=dtype)


@pytest.fixture(scope="module")
def three_clips(tmp_path_factory):
    return make_clips(tmp_path_factory.mktemp("three"), n=3)


@settings(max_examples=200, deadline=None)
@given(shard_size=st.one_of(st.integers(-2, 4), st.floats(allow_nan=True), st.none(), st.text(max_size=2)),
       num_threads=st.one_of(st.none(), st.integers(-1, 3), st.just(1.5)),
       shape=st.lists(st.integers(0, 3), max_size=3).map(tuple),
       dtype=st.sampled_from([np.float32, np.float64, np.int64]),
       fill=st.one_of(st.floats(-1e6, 1e6), st.sampled_from([np.nan, np.inf, -np.inf])))
def test_fuzz_extract_and_load(three_clips, shard_size, num_threads, shape, dtype, fill):
    if dtype is np.int64 and not np.isfinite(fill):
        fill = 0
    extractor = Extractor("constant", functools.partial(constant, shape=shape, dtype=dtype, fill=fill),
                          {"shape": shape, "dtype": np.dtype(dtype).name, "fill": repr(fill)})
    with tempfile.TemporaryDirectory() as out:
        try:
            manifest = extract(three_clips, extractor, out=out, shard_size=shard_size, num_threads=num_threads,
                               progress=False)
        except (ValueError, TypeError):
            return
        result = load(out)
    expected = np.full(shape, fill, dtype=dtype)
    good = expected.ndim > 0 and expected.size > 0 and bool(np.isfinite(expected).all())
    assert sorted(manifest.succeeded + list(manifest.failed)) == sorted(three_clips.path)
    assert manifest.succeeded == (three_clips.path if good else [])
    for value in result.features:
        assert (value is not None) == good
        if good:
            assert value.shape == expected.shape and value.dtype == expected.dtype and np.array_equal(value, expected)
