"""Speaker-independent folds: disjointness (property test), balance, official folds,
and folds written to disk and read back."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from affectkit import data
from affectkit.data import Corpus, CorpusError


def corpus_of(speakers, folds=None, root="/corpus"):
    n = len(speakers)
    return Corpus("fake", root, ("a", "b"), [f"{root}/{i}.wav" for i in range(n)], ["ab"[i % 2] for i in range(n)],
                  list(speakers), list(folds) if folds is not None else [""] * n)


def check_partition(folds, speakers, n):
    speakers = np.asarray(speakers)
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(n))  # every row tested exactly once
    for fold in folds:
        assert np.intersect1d(fold.train, fold.test).size == 0
        assert np.union1d(fold.train, fold.test).size == n
        assert not set(speakers[fold.train]) & set(speakers[fold.test])


SPEAKERS = st.lists(st.sampled_from([f"s{i}" for i in range(12)]), min_size=2, max_size=60)


@settings(max_examples=200, deadline=None)
@given(speakers=SPEAKERS, n_splits=st.integers(2, 7), seed=st.integers(0, 2**16))
def test_speaker_folds_are_disjoint_partitions(speakers, n_splits, seed):
    n_speakers = len(set(speakers))
    if n_speakers < 2:
        with pytest.raises(CorpusError, match="at least 2 speakers"):
            data.leave_one_speaker_out(speakers)
    else:
        folds = data.leave_one_speaker_out(speakers)
        assert len(folds) == n_speakers
        check_partition(folds, speakers, len(speakers))
    if n_speakers < n_splits:
        with pytest.raises(CorpusError, match="'n_splits'"):
            data.speaker_kfold(speakers, n_splits, seed=seed)
    else:
        folds = data.speaker_kfold(speakers, n_splits, seed=seed)
        assert len(folds) == n_splits and all(f.test.size for f in folds)
        check_partition(folds, speakers, len(speakers))


def test_speaker_kfold_balances_file_counts_and_depends_on_seed():
    speakers = [f"s{i}" for i in range(20) for _ in range(5 + i % 3)]
    folds = data.speaker_kfold(speakers, 5, seed=0)
    sizes = [f.test.size for f in folds]
    assert max(sizes) - min(sizes) <= 7  # at most one speaker's worth apart
    again = data.speaker_kfold(speakers, 5, seed=0)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(folds, again))
    other = data.speaker_kfold(speakers, 5, seed=1)
    assert any(not np.array_equal(a.test, b.test) for a, b in zip(folds, other))


def test_one_speaker_corpus_and_missing_speakers():
    with pytest.raises(CorpusError, match="needs at least 2 speakers, the corpus has 1"):
        data.make_folds(corpus_of(["only"] * 4), "loso")
    with pytest.raises(CorpusError, match="have no speaker"):
        data.make_folds(corpus_of(["a", ""]), "speaker-kfold", n_splits=2)
    with pytest.raises(ValueError, match="'scheme'"):
        data.make_folds(corpus_of(["a", "b"]), "random")
    with pytest.raises(TypeError, match="'speakers'"):
        data.leave_one_speaker_out("abc")
    with pytest.raises(TypeError, match="'n_splits'"):
        data.speaker_kfold(["a", "b"], 2.5)


def test_official_folds_refuse_speaker_overlap_unless_asked():
    corpus = corpus_of(["a", "b", "a", "c"], folds=["1", "1", "2", "2"])
    with pytest.raises(CorpusError, match=r"speaker\(s\) \['a'\] in both train and test"):
        data.official_folds(corpus)
    folds = data.official_folds(corpus, allow_speaker_overlap=True)
    assert [f.test.tolist() for f in folds] == [[0, 1], [2, 3]]
    with pytest.raises(CorpusError, match="no official folds"):
        data.official_folds(corpus_of(["a", "b"]))
    with pytest.raises(CorpusError, match="needs 'train' and 'test'"):
        data.official_folds(corpus_of(["a", "b"], folds=["train", "validation"]))


def test_iemocap_style_leave_one_session_out():
    speakers = ["Ses01F", "Ses01M", "Ses02F", "Ses02M", "Ses03F", "Ses03M"]
    corpus = corpus_of(speakers, folds=[s[:5] for s in speakers])
    folds = data.make_folds(corpus, "official")
    assert [f.name for f in folds] == ["fold Ses01", "fold Ses02", "fold Ses03"]
    check_partition(folds, speakers, 6)


def test_folds_written_and_read_back(tmp_path):
    corpus = corpus_of([f"s{i % 4}" for i in range(12)], root=str(tmp_path))
    folds = data.speaker_kfold(corpus, 2, seed=3)
    data.write_folds(folds, corpus, tmp_path / "folds.json")
    shuffled = corpus.subset(np.random.default_rng(0).permutation(len(corpus)))
    back = data.read_folds(tmp_path / "folds.json", shuffled)
    for fold, again in zip(folds, back):
        assert fold.name == again.name
        assert sorted(corpus.path[i] for i in fold.test) == sorted(shuffled.path[i] for i in again.test)
        assert sorted(corpus.path[i] for i in fold.train) == sorted(shuffled.path[i] for i in again.train)
    with pytest.raises(CorpusError, match="not in the corpus"):
        data.read_folds(tmp_path / "folds.json", corpus.subset(range(6)))
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(CorpusError, match="not a folds file"):
        data.read_folds(tmp_path / "junk.json", corpus)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b", "c", ""]), st.sampled_from(["1", "2", "3", "train",
                                                                                        "test", "validation", ""])),
                     min_size=1, max_size=12), allow=st.booleans())
def test_fuzz_official_folds(rows, allow):
    speakers, groups = zip(*rows)
    corpus = corpus_of(speakers, folds=groups)
    try:
        folds = data.official_folds(corpus, allow_speaker_overlap=allow)
    except CorpusError:
        return
    for fold in folds:
        assert fold.test.size and np.intersect1d(fold.train, fold.test).size == 0
        if not allow:
            shared = {speakers[i] for i in fold.train} & {speakers[i] for i in fold.test}
            assert shared <= {""}
