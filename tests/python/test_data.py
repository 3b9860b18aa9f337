"""Corpus loaders on tiny fake trees with the corpora's real file-name patterns, and
audio I/O (soundfile + the core's resampler)."""

import csv
import json
import string
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings, strategies as st

from affectkit import data
from affectkit.data import AudioError, CorpusError, IncompleteCorpusWarning

SR = 8000


def wav(path, seconds=0.01, sr=SR, channels=1, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    y = 0.1 * np.random.default_rng(seed).standard_normal((int(seconds * sr), channels))
    soundfile.write(str(path), y, sr, subtype="PCM_16")
    return path


def lfs_pointer(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 123456\n")


def test_ravdess_speech_files_with_emotion_and_actor(tmp_path):
    for actor in (1, 2):
        for emotion in range(1, 9):
            wav(tmp_path / f"Actor_{actor:02d}" / f"03-01-{emotion:02d}-01-01-01-{actor:02d}.wav")
    wav(tmp_path / "Actor_01" / "03-02-03-01-01-01-01.wav")  # song: not speech
    wav(tmp_path / "Actor_01" / "01-01-03-01-01-01-01.wav")  # audio-video file
    wav(tmp_path / "Actor_01" / "notes.wav")  # not a RAVDESS name
    with pytest.warns(IncompleteCorpusWarning, match="found 16 of the 1440"):
        corpus = data.load_ravdess(tmp_path)
    assert corpus.classes == ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
    assert len(corpus) == 16 and sorted(set(corpus.speaker)) == ["actor01", "actor02"]
    row = corpus.path.index(str(tmp_path / "Actor_02" / "03-01-05-01-01-01-02.wav"))
    assert (corpus.label[row], corpus.speaker[row], corpus.fold[row]) == ("angry", "actor02", "")
    assert corpus.y[row] == corpus.classes.index("angry")
    assert any("not named" in note for note in corpus.notes)
    assert repr(corpus).startswith("Corpus('RAVDESS', 16 files, 2 speakers, classes=('neutral', ")


def test_crema_d_names(tmp_path):
    for actor in ("1001", "1002"):
        for code in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"):
            wav(tmp_path / "AudioWAV" / f"{actor}_DFA_{code}_XX.wav")
    with pytest.warns(IncompleteCorpusWarning):
        corpus = data.load_crema_d(tmp_path)
    assert corpus.classes == ("neutral", "happy", "sad", "angry", "fearful", "disgust")
    row = corpus.path.index(str(tmp_path / "AudioWAV" / "1002_DFA_FEA_XX.wav"))
    assert (corpus.label[row], corpus.speaker[row]) == ("fearful", "1002")


def test_emodb_letter_codes(tmp_path):
    for speaker, letter in zip(["03", "08", "09", "10", "11", "12", "13"], "WLEAFTN"):
        wav(tmp_path / "wav" / f"{speaker}a01{letter}a.wav")
    with pytest.warns(IncompleteCorpusWarning):
        corpus = data.load_emodb(tmp_path)
    assert corpus.classes == ("neutral", "happy", "sad", "angry", "fearful", "disgust", "bored")
    assert dict(zip(corpus.speaker, corpus.label)) == {"03": "angry", "08": "bored", "09": "disgust", "10": "fearful",
                                                       "11": "happy", "12": "sad", "13": "neutral"}


def iemocap_tree(root, sessions=(1, 2)):
    codes = ["neu", "hap", "exc", "sad", "ang", "fru", "xxx"]
    for session in sessions:
        dialog = f"Ses0{session}F_impro01" if session % 2 else f"Ses0{session}M_script01_1b"  # scripted: more "_"
        lines = ["% header line", ""]
        for i, code in enumerate(codes):
            gender = "FM"[i % 2]
            utterance = f"{dialog}_{gender}{i:03d}"
            lines.append(f"[{i}.0000 - {i + 1}.5000]\t{utterance}\t{code}\t[{1 + i % 4}.5000, 2.0000, 3.0000]")
            lines.append(f"C-E1:\t{code};\t()")
            wav(root / f"Session{session}" / "sentences" / "wav" / dialog / f"{utterance}.wav")
        label_file = root / f"Session{session}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
        label_file.parent.mkdir(parents=True, exist_ok=True)
        label_file.write_text("\n".join(lines) + "\n")


def test_iemocap_four_classes_excited_merged_sessions_and_dimensions(tmp_path):
    iemocap_tree(tmp_path)
    with pytest.warns(IncompleteCorpusWarning):
        corpus = data.load_iemocap(tmp_path)
    assert corpus.classes == ("neutral", "happy", "sad", "angry")
    assert len(corpus) == 10  # 5 of the 7 codes per session (fru and xxx are not in the 4 classes)
    assert corpus.label[:5] == ["neutral", "happy", "happy", "sad", "angry"]
    assert corpus.speaker[:5] == ["Ses01F", "Ses01M", "Ses01F", "Ses01M", "Ses01F"]
    assert sorted(set(corpus.fold)) == ["Ses01", "Ses02"]
    assert corpus.path[5].endswith("Session2/sentences/wav/Ses02M_script01_1b/Ses02M_script01_1b_F000.wav")
    assert corpus.speaker[5:7] == ["Ses02F", "Ses02M"]
    assert corpus.values.shape == (10, 3) and corpus.value_names == ("valence", "arousal", "dominance")
    np.testing.assert_array_equal(corpus.values[:4, 0], [1.5, 2.5, 3.5, 4.5])


def test_iemocap_without_label_files(tmp_path):
    (tmp_path / "Session1").mkdir()
    with pytest.raises(CorpusError, match="EmoEvaluation"):
        data.load_iemocap(tmp_path)


def esc50_tree(root, rows):
    (root / "meta").mkdir(parents=True)
    with open(root / "meta" / "esc50.csv", "w") as handle:
        handle.write("filename,fold,target,category,esc10,src_file,take\n")
        for name, fold, target, category, source in rows:
            handle.write(f"{name},{fold},{target},{category},False,{source},A\n")
            wav(root / "audio" / name)


def test_esc50_meta_folds_and_target_order(tmp_path):
    esc50_tree(tmp_path, [("1-100-A-1.wav", 1, 1, "rooster", "100"), ("2-200-A-0.wav", 2, 0, "dog", "200"),
                          ("1-101-A-0.wav", 1, 0, "dog", "101"), ("2-201-A-1.wav", 2, 1, "rooster", "201")])
    with pytest.warns(IncompleteCorpusWarning, match="of the 2000"):
        corpus = data.load_esc50(tmp_path)
    assert corpus.classes == ("dog", "rooster")  # by target index, not by name or file order
    assert corpus.fold == ["1", "2", "1", "2"] and corpus.speaker == ["100", "200", "101", "201"]
    folds = data.official_folds(corpus)
    assert [f.name for f in folds] == ["fold 1", "fold 2"]
    np.testing.assert_array_equal(folds[0].test, [0, 2])


def test_vocalsound_names_and_official_split(tmp_path):
    names = [f"{s}_0_{label}.wav" for s in ("f0003", "m0004", "f0005") for label in
             ("laughter", "sigh", "cough", "throatclearing", "sneeze", "sniff")]
    for name in names:
        wav(tmp_path / "audio_16k" / name)
    (tmp_path / "datafiles").mkdir()
    for file_name, speaker in (("tr.json", "f0003"), ("val.json", "m0004"), ("te.json", "f0005")):
        entries = [{"wav": f"/somewhere/audio_16k/{n}", "labels": "/m/vs_x"} for n in names if n.startswith(speaker)]
        (tmp_path / "datafiles" / file_name).write_text(json.dumps({"data": entries}))
    with pytest.warns(IncompleteCorpusWarning):
        corpus = data.load_vocalsound(tmp_path)
    assert corpus.classes == ("laughter", "sigh", "cough", "throatclearing", "sneeze", "sniff")
    assert dict(zip(corpus.speaker, corpus.fold)) == {"f0003": "train", "m0004": "validation", "f0005": "test"}
    (fold,) = data.official_folds(corpus)
    assert {corpus.speaker[i] for i in fold.train} == {"f0003"} and {corpus.speaker[i] for i in fold.test} == {"f0005"}


def test_generic_csv_relative_paths_and_class_order(tmp_path):
    wav(tmp_path / "a" / "x.wav")
    wav(tmp_path / "b.wav")
    (tmp_path / "list.csv").write_text("path,label,speaker\na/x.wav,sad,s1\nb.wav,happy,s2\n")
    corpus = data.load_csv(tmp_path / "list.csv")
    assert corpus.classes == ("happy", "sad")  # the emotion vocabulary's order
    assert corpus.path == [str(tmp_path / "a" / "x.wav"), str(tmp_path / "b.wav")]
    assert corpus.speaker == ["s1", "s2"] and corpus.fold == ["", ""]
    assert data.load_csv(tmp_path / "list.csv", classes=["sad", "happy"]).y.tolist() == [0, 1]
    with pytest.raises(CorpusError, match=r"\['angry'\] have no files"):
        data.load_csv(tmp_path / "list.csv", classes=["sad", "happy", "angry"])
    with pytest.raises(CorpusError, match="not among"):
        data.load_csv(tmp_path / "list.csv", classes=["sad"])
    frame = corpus.to_frame()
    assert list(frame.columns) == ["path", "label", "speaker", "fold"] and len(frame) == 2


def test_csv_bad_input(tmp_path):
    (tmp_path / "no_label.csv").write_text("path,emotion\nx.wav,sad\n")
    with pytest.raises(CorpusError, match=r"missing column\(s\) \['label'\]"):
        data.load_csv(tmp_path / "no_label.csv")
    (tmp_path / "missing.csv").write_text("path,label\nnothere.wav,sad\n")
    with pytest.raises(CorpusError, match="do not exist"):
        data.load_csv(tmp_path / "missing.csv")
    with pytest.raises(CorpusError, match="is not a file"):
        data.load_csv(tmp_path / "absent.csv")
    wav(tmp_path / "x.wav")
    (tmp_path / "twice.csv").write_text("path,label,label\nx.wav,sad,happy\n")
    with pytest.raises(CorpusError, match=r"\['label'\] appear more than once"):
        data.load_csv(tmp_path / "twice.csv")
    (tmp_path / "unlabelled.csv").write_text("path,label\nx.wav, \n")
    with pytest.raises(CorpusError, match="line 2 has an empty label"):
        data.load_csv(tmp_path / "unlabelled.csv")
    with pytest.raises(TypeError, match="'path'"):
        data.load_csv(3)


def test_folder_per_class_with_speaker_pattern(tmp_path):
    for label in ("cough", "laugh"):
        for speaker in ("ann", "bob"):
            wav(tmp_path / label / f"{speaker}_1.flac")
    corpus = data.load_folders(tmp_path, speaker_pattern=r"^([a-z]+)_")
    assert corpus.classes == ("cough", "laugh") and sorted(set(corpus.speaker)) == ["ann", "bob"]
    unknown = data.load_folders(tmp_path)
    assert set(unknown.speaker) == {""}
    with pytest.raises(CorpusError, match="no speaker"):
        data.leave_one_speaker_out(unknown)
    with pytest.raises(CorpusError, match="finds no speaker"):
        data.load_folders(tmp_path, speaker_pattern=r"^(\d+)_")


def test_empty_class_folder(tmp_path):
    wav(tmp_path / "happy" / "a.wav")
    (tmp_path / "sad").mkdir()
    with pytest.raises(CorpusError, match=r"\['sad'\] hold no audio"):
        data.load_folders(tmp_path)


def test_missing_root_wrong_layout_and_unknown_corpus(tmp_path):
    with pytest.raises(CorpusError, match="is not a directory"):
        data.load_ravdess(tmp_path / "nope")
    wav(tmp_path / "random.wav")
    with pytest.raises(CorpusError, match="no audio files in the expected layout"):
        data.load_crema_d(tmp_path)
    with pytest.raises(CorpusError, match="meta/esc50.csv"):
        data.load_esc50(tmp_path)
    with pytest.raises(CorpusError, match="audio_16k"):
        data.load_vocalsound(tmp_path)
    with pytest.raises(ValueError, match="'name'"):
        data.load_corpus("timit", tmp_path)
    with pytest.raises(TypeError, match="'root'"):
        data.load_emodb(None)


def test_a_class_without_files_is_an_error(tmp_path):
    wav(tmp_path / "wav" / "03a01Wa.wav")
    with pytest.raises(CorpusError, match="have no files"):
        data.load_emodb(tmp_path)


def test_git_lfs_pointers_are_reported(tmp_path):
    for emotion in range(1, 9):
        wav(tmp_path / "Actor_01" / f"03-01-{emotion:02d}-01-01-01-01.wav")
    lfs_pointer(tmp_path / "Actor_02" / "03-01-01-01-01-01-02.wav")
    with pytest.raises(CorpusError, match="1 of 9 audio files are git-lfs pointers.*git lfs pull"):
        data.load_ravdess(tmp_path)


def test_research_modules_load_on_first_use():
    import affectkit as ak

    assert ak.data is data and ak.metrics.ccc([0.0, 1.0], [0.0, 1.0]) == 1.0
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        ak.nothing  # noqa: B018


def test_load_corpus_by_name(tmp_path):
    for speaker, letter in zip(["03", "08", "09", "10", "11", "12", "13"], "WLEAFTN"):
        wav(tmp_path / "wav" / f"{speaker}b02{letter}b.wav")
    with pytest.warns(IncompleteCorpusWarning):
        assert len(data.load_corpus("EmoDB", tmp_path)) == 7


# Audio I/O ---------------------------------------------------------------------------

def test_load_audio_mixes_to_mono_and_resamples_with_the_core(tmp_path):
    import affectkit as ak

    sr = 22050
    t = np.arange(sr) / sr
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 440 * t)], axis=1)
    soundfile.write(str(tmp_path / "s.wav"), stereo, sr, subtype="FLOAT")
    y, rate = data.load_audio(tmp_path / "s.wav", sr=None, dtype=np.float64)
    assert rate == sr and y.dtype == np.float64
    np.testing.assert_allclose(y, stereo.mean(axis=1), atol=1e-7)  # float WAV round trip
    y16, rate16 = data.load_audio(tmp_path / "s.wav", sr=16000)
    assert rate16 == 16000 and y16.dtype == np.float32 and y16.shape == (16000,)
    np.testing.assert_allclose(y16, ak.resample(stereo.mean(axis=1), orig_sr=sr, target_sr=16000), atol=1e-6)
    both, _ = data.load_audio(tmp_path / "s.wav", sr=None, mono=False)
    assert both.shape == (2, sr)


def test_unreadable_and_empty_audio(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(AudioError, match="bad.wav"):
        data.load_audio(tmp_path / "bad.wav")
    with pytest.raises(AudioError, match="cannot read"):
        data.load_audio(tmp_path / "missing.wav")
    soundfile.write(str(tmp_path / "empty.wav"), np.zeros(0), 8000)
    with pytest.raises(AudioError, match="no samples"):
        data.load_audio(tmp_path / "empty.wav")
    soundfile.write(str(tmp_path / "nan.wav"), np.array([0.0, np.nan]), 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        data.load_audio(tmp_path / "nan.wav")
    with pytest.raises(TypeError, match="'dtype'"):
        data.load_audio(tmp_path / "bad.wav", dtype=np.int16)
    with pytest.raises(ValueError, match="'sr'"):
        data.load_audio(tmp_path / "bad.wav", sr=0)


# Fuzz: arbitrary file names never crash a loader; each is parsed or ignored.
NAME = st.one_of(st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=24),
                 st.sampled_from(["03-01-05-01-02-01-12", "03-01-09-01-02-01-12", "1001_DFA_ANG_XX", "1001_DFA_ANG_",
                                  "03a01Fa", "03a01Xa", "f0003_0_cough", "f0003_0_cry"]))


@settings(max_examples=200, deadline=None)
@given(names=st.lists(NAME, min_size=1, max_size=6, unique=True), loader=st.sampled_from(
    [data.load_ravdess, data.load_crema_d, data.load_emodb, data.load_vocalsound]))
def test_fuzz_file_names(tmp_path_factory, names, loader):
    root = tmp_path_factory.mktemp("fuzz")
    for name in names:
        path = root / "audio_16k" / f"{name}.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"RIFF")  # loaders read names, not audio
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IncompleteCorpusWarning)
            corpus = loader(root)
    except CorpusError:
        return
    assert len(corpus) <= len(names)
    assert set(corpus.label) <= set(corpus.classes) and all(corpus.speaker)


# The demo corpus ------------------------------------------------------------------------

def test_demo_corpus_is_reproducible_and_complete(tmp_path, monkeypatch):
    first = data.demo_corpus(tmp_path / "one", utterances_per_class=1)
    monkeypatch.setenv("AFFECTKIT_DATA", str(tmp_path / "data"))
    second = data.demo_corpus(utterances_per_class=1)  # the default place
    assert second.root == str(tmp_path / "data" / "demo-corpus-v2-16000hz-1")
    assert first.classes == ("neutral", "happy", "sad", "angry")
    assert sorted(set(first.speaker)) == ["f1", "f2", "f3", "m1", "m2", "m3"] and len(first) == 24
    for a, b in zip(first.path, second.path):
        assert Path(a).read_bytes() == Path(b).read_bytes()
    again = data.demo_corpus(tmp_path / "one", utterances_per_class=1)  # reused, not regenerated
    assert again.path == first.path
    y, sr = data.load_audio(first.path[0])
    assert sr == 16000 and 0.5 < y.size / sr < 3 and np.abs(y).max() < 1
    with pytest.raises(FileExistsError, match="not this demo corpus"):
        data.demo_corpus(tmp_path / "one", utterances_per_class=2)


WAV_HEADER = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00"


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from([b"", WAV_HEADER, WAV_HEADER + b"data"]), body=st.binary(max_size=64),
       sr=st.one_of(st.none(), st.integers(-1, 48000)), mono=st.booleans())
def test_fuzz_load_audio(tmp_path_factory, prefix, body, sr, mono):
    path = tmp_path_factory.mktemp("audio") / "x.wav"
    path.write_bytes(prefix + body)
    try:
        y, rate = data.load_audio(path, sr=sr, mono=mono)
    except (ValueError, TypeError):
        return
    assert np.isfinite(y).all() and y.shape[-1] > 0 and (y.ndim == 1) == mono and rate > 0


CSV_CELL = st.one_of(st.sampled_from(["a.wav", "missing.wav", "", "sad", "happy", "s1", "1", "train", "test"]),
                     st.text(alphabet=string.ascii_letters + ",\"\n ", max_size=6))


@settings(max_examples=200, deadline=None)
@given(header=st.lists(st.sampled_from(["path", "label", "speaker", "fold", "x"]), min_size=0, max_size=4),
       rows=st.lists(st.lists(CSV_CELL, min_size=0, max_size=5), max_size=4))
def test_fuzz_csv_corpus(tmp_path_factory, header, rows):
    root = tmp_path_factory.getbasetemp() / "csv-fuzz"  # one directory; each example rewrites the list
    if not (root / "a.wav").exists():
        wav(root / "a.wav")
    with open(root / "list.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    try:
        corpus = data.load_csv(root / "list.csv")
    except CorpusError:
        return
    assert len(corpus) >= 1 and set(corpus.label) <= set(corpus.classes)
    assert all(p == str(root / "a.wav") for p in corpus.path)
