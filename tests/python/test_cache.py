"""The feature cache: hits and misses by audio content and extractor parameters,
resuming an interrupted run, bad files reported while the rest finishes."""

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
import soundfile

from affectkit.cache import Extractor, extract, file_hash


def make_files(directory, n):
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = directory / f"clip{i}.wav"
        soundfile.write(str(path), 0.1 * np.random.default_rng(i).standard_normal(800), 8000, subtype="PCM_16")
        paths.append(path)
    return paths


class Counting:
    """An extractor function that counts its calls and can be told to fail."""

    def __init__(self, interrupt_at=None):
        self.calls = 0
        self.interrupt_at = interrupt_at

    def __call__(self, y, sr):
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        return np.array([y.mean(), y.std(), float(sr)])


def test_miss_then_hit_by_content_and_parameters(tmp_path):
    paths = make_files(tmp_path / "audio", 4)
    function = Counting()
    extractor = Extractor("stats", function, {"version": 1}, sr=8000)
    first = extract(paths, extractor, cache_dir=tmp_path / "cache", progress=False)
    assert (first.hits, first.computed, function.calls) == (0, 4, 4) and not first.failures
    second = extract(paths, extractor, cache_dir=tmp_path / "cache", progress=False)
    assert (second.hits, second.computed, function.calls) == (4, 0, 4)
    np.testing.assert_array_equal(first.stacked(), second.stacked())
    # A copy under another name is the same content: a hit. An edited file is a miss.
    shutil.copy(paths[0], tmp_path / "audio" / "copy.wav")
    soundfile.write(str(paths[1]), np.zeros(800), 8000, subtype="PCM_16")
    third = extract([tmp_path / "audio" / "copy.wav", paths[1]], extractor, cache_dir=tmp_path / "cache",
                    progress=False)
    assert (third.hits, third.computed) == (1, 1)
    # Other parameters (or sample rate) key another cache.
    other = extract(paths, Extractor("stats", function, {"version": 2}, sr=8000), cache_dir=tmp_path / "cache",
                    progress=False)
    assert other.computed == 4 and other.cache_dir != first.cache_dir
    about = json.loads((tmp_path / "cache").joinpath(first.cache_dir, "extractor.json").read_text())
    assert about == {"name": "stats", "params": {"version": 1}, "sr": 8000}


@pytest.mark.parametrize("jobs", [1, 2])
def test_interrupted_run_resumes(tmp_path, jobs):
    paths = make_files(tmp_path / "audio", 6)
    interrupted = Counting(interrupt_at=4)
    with pytest.raises(KeyboardInterrupt):
        extract(paths, Extractor("stats", interrupted, sr=8000), cache_dir=tmp_path / "cache", jobs=jobs,
                progress=False)
    function = Counting()
    result = extract(paths, Extractor("stats", function, sr=8000), cache_dir=tmp_path / "cache", jobs=jobs,
                     progress=False)
    assert result.hits >= 3 and result.hits + result.computed == 6 and function.calls == result.computed
    assert not list((tmp_path / "cache").rglob("*.tmp"))  # no half-written results


@pytest.mark.parametrize("jobs", [1, 2])
def test_bad_files_are_reported_and_the_rest_finishes(tmp_path, jobs):
    paths = make_files(tmp_path / "audio", 3)
    (tmp_path / "audio" / "corrupt.wav").write_bytes(b"RIFF\x00\x00junk that is not audio")
    paths.insert(1, tmp_path / "audio" / "corrupt.wav")
    paths.append(tmp_path / "audio" / "missing.wav")
    result = extract(paths, Extractor("stats", Counting(), sr=8000), cache_dir=tmp_path / "cache", jobs=jobs,
                     progress=False)
    assert result.ok.tolist() == [True, False, True, True, False]
    assert set(result.failures) == {str(paths[1]), str(paths[4])}
    assert "cannot read audio file" in result.failures[str(paths[1])]
    manifest = json.loads((tmp_path / "cache").joinpath(result.cache_dir, "failures.json").read_text())
    assert manifest == result.failures
    assert result.stacked().shape == (3, 3)


def test_non_finite_results_and_damaged_cache_entries(tmp_path):
    paths = make_files(tmp_path / "audio", 2)
    result = extract(paths, Extractor("nan", lambda y, sr: np.array([np.nan]), sr=8000), progress=False)
    assert not result.ok.any() and all("non-finite" in m for m in result.failures.values())
    with pytest.raises(ValueError, match="no file has a result"):
        result.stacked()
    extractor = Extractor("stats", Counting(), sr=8000)
    first = extract(paths, extractor, cache_dir=tmp_path / "cache", progress=False)
    (tmp_path / "cache").joinpath(first.cache_dir, f"{file_hash(paths[0])}.npy").write_bytes(b"damaged")
    again = extract(paths, extractor, cache_dir=tmp_path / "cache", progress=False)
    assert (again.hits, again.computed) == (1, 1)


def test_bad_arguments(tmp_path):
    paths = make_files(tmp_path / "audio", 1)
    with pytest.raises(TypeError, match="'extractor'"):
        extract(paths, lambda y, sr: y)
    with pytest.raises(TypeError, match="'paths'"):
        extract(str(paths[0]), Extractor("x", Counting()))
    with pytest.raises(ValueError, match="'jobs'"):
        extract(paths, Extractor("x", Counting()), jobs=0)
    with pytest.raises(TypeError, match="'cache_dir'"):
        extract(paths, Extractor("x", Counting()), cache_dir=3)


@settings(max_examples=200, deadline=None)
@given(contents=st.lists(st.one_of(st.binary(max_size=40), st.just(None)), min_size=1, max_size=4),
       output=st.sampled_from(["vector", "scalar", "nan", "raise", "string"]), jobs=st.integers(1, 3))
def test_fuzz_extract(tmp_path_factory, contents, output, jobs):
    directory = tmp_path_factory.mktemp("fuzz")
    paths = []
    for i, content in enumerate(contents):
        path = directory / f"{i}.wav"
        if content is None:  # a real, readable file
            soundfile.write(str(path), np.full(100, 0.1), 8000, subtype="PCM_16")
        else:
            path.write_bytes(content)
        paths.append(path)

    def function(y, sr):
        if output == "raise":
            raise RuntimeError("extractor failed")
        return {"vector": y[:3], "scalar": np.float64(y.mean()), "nan": np.array([np.nan]),
                "string": np.array(["x"])}[output]

    try:
        result = extract(paths, Extractor("fuzz", function, sr=8000), cache_dir=directory / "cache", jobs=jobs,
                         progress=False)
    except (ValueError, TypeError):
        return
    assert len(result.features) == len(paths)
    assert set(result.failures) == {str(p) for p, ok in zip(paths, result.ok) if not ok}
    assert all(np.isfinite(f).all() for f in result.features if f is not None)
