"""Loaders for the public layouts of emotion and paralinguistic corpora.

Each loader reads file names (and label files where the corpus has them) without
decoding any audio, and returns a :class:`Corpus`: one row per utterance with its
path, label, speaker and official fold or split. Labels are normalised to one
vocabulary (:data:`EMOTIONS` for emotion corpora) and ``classes`` lists them in a
stable order, so class indices mean the same thing in every run.

A tree with fewer files than the corpus's release holds gives a
:class:`IncompleteCorpusWarning`; audio files that are git-lfs pointers (a clone
without ``git lfs pull``), a missing root, a wrong layout or an empty class raise
:class:`CorpusError` (a ``ValueError``) saying what was expected.
"""

from __future__ import annotations

import csv
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    "Corpus", "CorpusError", "IncompleteCorpusWarning", "EMOTIONS", "AUDIO_EXTENSIONS", "CORPORA",
    "load_corpus", "load_ravdess", "load_crema_d", "load_emodb", "load_iemocap", "load_esc50",
    "load_vocalsound", "load_csv", "load_folders",
]

#: The emotion vocabulary every emotion corpus is mapped to, in class order.
EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised", "bored")

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")

PathLike = Union[str, "os.PathLike[str]"]


class CorpusError(ValueError):
    """A corpus root that is missing, laid out differently than expected, or unusable."""


class IncompleteCorpusWarning(UserWarning):
    """A corpus tree holds fewer files than the corpus's release."""


@dataclass
class Corpus:
    """A table of utterances: ``path``, ``label``, ``speaker`` and ``fold`` columns.

    ``fold`` is the corpus's own partition where it has one: ESC-50's fold number
    ('1'..'5'), IEMOCAP's session ('Ses01'..'Ses05'), VocalSound's split ('train',
    'validation', 'test'); ``''`` otherwise. ``classes`` gives the class order;
    ``values`` holds per-utterance dimensional labels where the corpus has them
    (IEMOCAP: columns valence, arousal, dominance on its 1-5 scale).
    """

    name: str
    root: str
    classes: Tuple[str, ...]
    path: List[str]
    label: List[str]
    speaker: List[str]
    fold: List[str]
    values: Optional[np.ndarray] = None
    value_names: Tuple[str, ...] = ()
    notes: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.path)

    def __repr__(self) -> str:
        folds = sorted(set(self.fold) - {""})
        return (f"Corpus({self.name!r}, {len(self)} files, {len(set(self.speaker))} speakers, classes={self.classes}, "
                f"folds={folds if len(folds) <= 6 else f'{len(folds)} values'}, root={self.root!r})")

    @property
    def y(self) -> np.ndarray:
        """Labels as class indices into ``classes`` (int64)."""
        index = {name: i for i, name in enumerate(self.classes)}
        return np.array([index[label] for label in self.label], dtype=np.int64)

    def subset(self, rows: Iterable[int]) -> "Corpus":
        """The corpus restricted to ``rows`` (indices), same classes."""
        rows = list(rows)
        values = None if self.values is None else self.values[rows]
        return Corpus(self.name, self.root, self.classes, [self.path[i] for i in rows], [self.label[i] for i in rows],
                      [self.speaker[i] for i in rows], [self.fold[i] for i in rows], values, self.value_names,
                      list(self.notes))

    def to_frame(self):
        """A pandas DataFrame with columns path, label, speaker, fold (and the values)."""
        import pandas as pd

        frame = pd.DataFrame({"path": self.path, "label": self.label, "speaker": self.speaker, "fold": self.fold})
        for i, name in enumerate(self.value_names):
            frame[name] = self.values[:, i]
        return frame


def _root(root: PathLike, name: str) -> Path:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"invalid argument 'root': must be a path, got {type(root).__name__}")
    path = Path(root)
    if not path.is_dir():
        raise CorpusError(f"invalid argument 'root': {name} root {str(path)!r} is not a directory")
    return path


def _audio_files(directory: Path) -> List[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


def _is_lfs_pointer(path: Path) -> bool:
    try:
        if path.stat().st_size > 1024:  # pointers are ~130 bytes
            return False
        with open(path, "rb") as handle:
            return handle.read(40).startswith(b"version https://git-lfs.github.com/spec")
    except OSError:
        return False


def _finish(name: str, root: Path, rows: List[Tuple[str, str, str, str]], classes: Sequence[str],
            expected: Optional[int], values: Optional[np.ndarray] = None, value_names: Tuple[str, ...] = (),
            notes: Optional[List[str]] = None) -> Corpus:
    """Common checks: something found, no git-lfs pointers, every class present, the
    expected count (a warning when short)."""
    if not rows:
        raise CorpusError(f"{name}: no audio files in the expected layout under {str(root)!r}")
    pointers = [path for path, *_ in rows if _is_lfs_pointer(Path(path))]
    if pointers:
        raise CorpusError(f"{name}: {len(pointers)} of {len(rows)} audio files are git-lfs pointers, not audio "
                          f"(e.g. {pointers[0]!r}); run 'git lfs pull' in the corpus repository")
    present = {label for _, label, _, _ in rows}
    missing = [c for c in classes if c not in present]
    if missing:
        raise CorpusError(f"{name}: class(es) {missing} have no files under {str(root)!r}; expected files of every "
                          f"class {list(classes)}")
    notes = list(notes or [])
    if expected is not None and len(rows) < expected:
        message = f"{name}: found {len(rows)} of the {expected} files of the release under {str(root)!r}"
        warnings.warn(message, IncompleteCorpusWarning, stacklevel=3)
        notes.append(message)
    path, label, speaker, fold = (list(column) for column in zip(*rows))
    return Corpus(name, str(root), tuple(classes), path, label, speaker, fold, values, value_names, notes)


def _emotion_classes(labels: Iterable[str]) -> Tuple[str, ...]:
    present = set(labels)
    return tuple(e for e in EMOTIONS if e in present)


# RAVDESS file names: modality-channel-emotion-intensity-statement-repetition-actor,
# e.g. 03-01-05-01-02-01-12.wav (audio-only, speech, angry, normal, "dogs", 1st, actor 12).
_RAVDESS = re.compile(r"^(0[1-3])-(0[12])-(0[1-8])-(0[12])-(0[12])-(0[12])-(\d\d)$")
_RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                     "06": "fearful", "07": "disgust", "08": "surprised"}


def load_ravdess(root: PathLike) -> Corpus:
    """RAVDESS speech (Livingstone & Russo 2018): ``Actor_XX/03-01-EE-II-SS-RR-AA.wav``,
    24 actors x 60 files = 1440, 8 emotions (neutral, calm, happy, sad, angry, fearful,
    disgust, surprised). Song files (channel 02) and video files are skipped."""
    base = _root(root, "RAVDESS")
    rows, unparsed = [], []
    for path in _audio_files(base):
        match = _RAVDESS.match(path.stem)
        if match is None:
            unparsed.append(path.name)
            continue
        modality, channel, emotion, _, _, _, actor = match.groups()
        if modality == "03" and channel == "01":
            rows.append((str(path), _RAVDESS_EMOTIONS[emotion], f"actor{actor}", ""))
    notes = [f"skipped {len(unparsed)} files not named MM-CC-EE-II-SS-RR-AA"] if unparsed else []
    return _finish("RAVDESS", base, rows, tuple(_RAVDESS_EMOTIONS.values()), 1440, notes=notes)


# CREMA-D: ActorID_Sentence_Emotion_Level, e.g. 1001_DFA_ANG_XX.wav.
_CREMA_D = re.compile(r"^(\d{4})_([A-Z]{3})_(ANG|DIS|FEA|HAP|NEU|SAD)_(LO|MD|HI|XX|X)$")
_CREMA_D_EMOTIONS = {"NEU": "neutral", "HAP": "happy", "SAD": "sad", "ANG": "angry", "FEA": "fearful",
                     "DIS": "disgust"}


def load_crema_d(root: PathLike) -> Corpus:
    """CREMA-D (Cao et al. 2014): ``AudioWAV/ActorID_Sentence_Emotion_Level.wav``, 91
    actors, 7442 files, 6 emotions (neutral, happy, sad, angry, fearful, disgust)."""
    base = _root(root, "CREMA-D")
    rows = []
    for path in _audio_files(base):
        match = _CREMA_D.match(path.stem)
        if match is not None:
            rows.append((str(path), _CREMA_D_EMOTIONS[match.group(3)], match.group(1), ""))
    return _finish("CREMA-D", base, rows, _emotion_classes(_CREMA_D_EMOTIONS.values()), 7442)


# EmoDB: speaker (2 digits), text (a01..b10), emotion letter (German), version, e.g. 03a01Fa.wav.
_EMODB = re.compile(r"^(\d\d)([ab]\d\d)([WLEAFTN])([a-z])$")
_EMODB_EMOTIONS = {"N": "neutral", "F": "happy", "T": "sad", "W": "angry", "A": "fearful", "E": "disgust",
                   "L": "bored"}


def load_emodb(root: PathLike) -> Corpus:
    """Berlin EmoDB (Burkhardt et al. 2005): ``wav/SSTTTEV.wav`` (speaker, text, emotion
    letter W anger, L boredom, E disgust, A fear, F happiness, T sadness, N neutral,
    version), 10 speakers, 535 files."""
    base = _root(root, "EmoDB")
    rows = []
    for path in _audio_files(base):
        match = _EMODB.match(path.stem)
        if match is not None:
            rows.append((str(path), _EMODB_EMOTIONS[match.group(3)], match.group(1), ""))
    return _finish("EmoDB", base, rows, _emotion_classes(_EMODB_EMOTIONS.values()), 535)


# IEMOCAP EmoEvaluation lines: "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]"
_IEMOCAP_LINE = re.compile(r"^\[[\d.]+ - [\d.]+\]\t(Ses0[1-5][MF]_\S+_([MF])\d+)\t(\w+)\t\[([\d., ]+)\]")
# The usual 4-class protocol: excited merged into happy (e.g. Poria et al. 2017).
_IEMOCAP_FOUR = {"neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry"}


def load_iemocap(root: PathLike) -> Corpus:
    """IEMOCAP (Busso et al. 2008), 4-class protocol: neutral, happy (with excited), sad,
    angry; 5531 utterances. Labels from ``SessionN/dialog/EmoEvaluation/*.txt``, audio
    at ``SessionN/sentences/wav/<dialog>/<utterance>.wav``. Speaker is session + the
    utterance's speaker gender (``Ses01F``), ``fold`` the session (``Ses01``) for
    leave-one-session-out; ``values`` holds valence, arousal, dominance (1-5)."""
    base = _root(root, "IEMOCAP")
    label_files = sorted(base.glob("Session[1-5]/dialog/EmoEvaluation/*.txt"))
    if not label_files:
        raise CorpusError(f"IEMOCAP: no label files Session[1-5]/dialog/EmoEvaluation/*.txt under {str(base)!r}")
    rows, values, missing_audio = [], [], 0
    for label_file in label_files:
        session_dir = label_file.parents[2]
        for line in label_file.read_text(errors="replace").splitlines():
            match = _IEMOCAP_LINE.match(line)
            if match is None or match.group(3) not in _IEMOCAP_FOUR:
                continue
            utterance, gender, code, dimensions = match.groups()
            dialog = utterance.rsplit("_", 1)[0]
            wav = session_dir / "sentences" / "wav" / dialog / f"{utterance}.wav"
            if not wav.is_file():
                missing_audio += 1
                continue
            rows.append((str(wav), _IEMOCAP_FOUR[code], utterance[:5] + gender, utterance[:5]))
            values.append([float(v) for v in dimensions.split(",")][:3])
    notes = [f"{missing_audio} labelled utterances have no wav file"] if missing_audio else []
    # EmoEvaluation lists [valence, activation, dominance].
    return _finish("IEMOCAP", base, rows, ("neutral", "happy", "sad", "angry"), 5531,
                   np.array(values, dtype=np.float64).reshape(-1, 3), ("valence", "arousal", "dominance"), notes)


def _read_csv(path: Path, required: Sequence[str]) -> List[Dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, restval="")  # short rows: missing cells are empty
            rows = list(reader)
            columns = list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CorpusError(f"cannot read {str(path)!r}: {error}") from None
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise CorpusError(f"{str(path)!r}: column(s) {repeated} appear more than once")
    absent = [c for c in required if c not in columns]
    if absent:
        raise CorpusError(f"{str(path)!r}: missing column(s) {absent}; expected at least {list(required)}, "
                          f"found {columns}")
    return rows


def load_esc50(root: PathLike) -> Corpus:
    """ESC-50 (Piczak 2015): ``meta/esc50.csv`` (filename, fold, target, category,
    src_file, ...) and ``audio/<filename>``; 2000 clips, 50 classes in target order, 5
    official folds. ``speaker`` is the Freesound source clip (``src_file``), which the
    official folds keep together."""
    base = _root(root, "ESC-50")
    meta = base / "meta" / "esc50.csv"
    if not meta.is_file():
        raise CorpusError(f"ESC-50: expected the meta file meta/esc50.csv under {str(base)!r}")
    records = _read_csv(meta, ("filename", "fold", "target", "category", "src_file"))
    rows, classes, missing = [], {}, 0
    for record in records:
        try:
            classes[int(record["target"])] = record["category"]
        except ValueError:
            raise CorpusError(f"ESC-50: target {record['target']!r} in {str(meta)!r} is not an integer") from None
        path = base / "audio" / record["filename"]
        if not path.is_file():
            missing += 1
            continue
        rows.append((str(path), record["category"], record["src_file"], record["fold"]))
    notes = [f"{missing} files listed in meta/esc50.csv are missing"] if missing else []
    return _finish("ESC-50", base, rows, tuple(classes[t] for t in sorted(classes)), 2000, notes=notes)


# VocalSound: audio_16k/<f|m><speaker id>_<session>_<label>.wav, e.g. f0003_0_cough.wav.
_VOCALSOUND = re.compile(r"^([fm]\d+)_(\d+)_(laughter|sigh|cough|throatclearing|sneeze|sniff)$")
_VOCALSOUND_CLASSES = ("laughter", "sigh", "cough", "throatclearing", "sneeze", "sniff")
_VOCALSOUND_SPLITS = {"tr.json": "train", "val.json": "validation", "te.json": "test"}


def load_vocalsound(root: PathLike) -> Corpus:
    """VocalSound (Gong et al. 2022): ``audio_16k/`` (or ``audio_44k/``) files
    ``<speaker>_<n>_<label>.wav``, 21024 clips of laughter, sigh, cough, throat clearing,
    sneeze, sniff; ``fold`` is the official split from ``datafiles/{tr,val,te}.json``
    ('train', 'validation', 'test'), or '' when those files are absent."""
    base = _root(root, "VocalSound")
    audio_dir = next((base / d for d in ("audio_16k", "audio_44k") if (base / d).is_dir()), None)
    if audio_dir is None:
        raise CorpusError(f"VocalSound: expected an audio_16k/ or audio_44k/ directory under {str(base)!r}")
    split_of: Dict[str, str] = {}
    for file_name, split in _VOCALSOUND_SPLITS.items():
        datafile = base / "datafiles" / file_name
        if datafile.is_file():
            try:
                entries = json.loads(datafile.read_text())["data"]
                split_of.update({os.path.basename(entry["wav"]): split for entry in entries})
            except (ValueError, KeyError, TypeError) as error:
                raise CorpusError(f"VocalSound: {str(datafile)!r} is not a datafile "
                                  f"{{'data': [{{'wav': ...}}]}}: {error}") from None
    rows = []
    for path in _audio_files(audio_dir):
        match = _VOCALSOUND.match(path.stem)
        if match is not None:
            rows.append((str(path), match.group(3), match.group(1), split_of.get(path.name, "")))
    return _finish("VocalSound", base, rows, _VOCALSOUND_CLASSES, 21024)


def _label_order(labels: Iterable[str], classes: Optional[Sequence[str]]) -> Tuple[str, ...]:
    present = set(labels)
    if classes is not None:
        unknown = sorted(present - set(classes))
        if unknown:
            raise CorpusError(f"invalid argument 'classes': labels {unknown} are not among {list(classes)}")
        return tuple(classes)
    if present <= set(EMOTIONS):
        return _emotion_classes(present)
    return tuple(sorted(present))


def load_csv(path: PathLike, *, classes: Optional[Sequence[str]] = None) -> Corpus:
    """A corpus described by a CSV file with columns ``path`` and ``label`` and
    optionally ``speaker`` and ``fold``; relative paths are relative to the CSV file's
    directory. Class order: ``classes`` if given, else the :data:`EMOTIONS` order when
    every label is in it, else sorted."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"invalid argument 'path': must be a path, got {type(path).__name__}")
    csv_path = Path(path)
    if not csv_path.is_file():
        raise CorpusError(f"invalid argument 'path': {str(csv_path)!r} is not a file")
    records = _read_csv(csv_path, ("path", "label"))
    rows, missing = [], []
    for line, record in enumerate(records, start=2):
        if not record["label"].strip():
            raise CorpusError(f"{str(csv_path)!r}: line {line} has an empty label; expected a label on every row")
        audio = Path(record["path"])
        audio = audio if audio.is_absolute() else csv_path.parent / audio
        if not audio.is_file():
            missing.append(record["path"])
            continue
        rows.append((str(audio), record["label"].strip(), (record.get("speaker") or "").strip(),
                     (record.get("fold") or "").strip()))
    if missing:
        raise CorpusError(f"{str(csv_path)!r}: {len(missing)} listed audio file(s) do not exist, e.g. {missing[0]!r}")
    return _finish(csv_path.stem, csv_path.parent, rows, _label_order((r[1] for r in rows), classes), None)


def load_folders(root: PathLike, *, speaker_pattern: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None) -> Corpus:
    """A folder-per-class corpus: ``root/<label>/**/<file>`` with audio extensions.
    ``speaker_pattern`` is a regular expression whose first group, searched in the file
    name, is the speaker (e.g. ``r"^(\\w+?)_"``); without it the speaker is unknown
    ('') and speaker-independent folds refuse the corpus."""
    base = _root(root, "folder-per-class corpus")
    pattern = re.compile(speaker_pattern) if speaker_pattern is not None else None
    rows, empty = [], []
    for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        files = _audio_files(class_dir)
        if not files:
            empty.append(class_dir.name)
        for path in files:
            speaker = ""
            if pattern is not None:
                match = pattern.search(path.name)
                if match is None or not match.groups():
                    raise CorpusError(f"invalid argument 'speaker_pattern': {speaker_pattern!r} finds no speaker "
                                      f"group in {path.name!r}")
                speaker = match.group(1)
            rows.append((str(path), class_dir.name, speaker, ""))
    if empty:
        raise CorpusError(f"folder-per-class corpus {str(base)!r}: class folder(s) {empty} hold no audio files "
                          f"({', '.join(AUDIO_EXTENSIONS)})")
    return _finish(base.name, base, rows, _label_order((r[1] for r in rows), classes), None)


CORPORA = {"ravdess": load_ravdess, "crema-d": load_crema_d, "emodb": load_emodb, "iemocap": load_iemocap,
           "esc50": load_esc50, "vocalsound": load_vocalsound, "csv": load_csv, "folders": load_folders}


def load_corpus(name: str, root: PathLike) -> Corpus:
    """One of :data:`CORPORA` by name ('ravdess', 'crema-d', 'emodb', 'iemocap', 'esc50',
    'vocalsound', 'csv' (root is the CSV file), 'folders')."""
    key = str(name).lower().replace("_", "-")
    if key not in CORPORA:
        raise ValueError(f"invalid argument 'name': must be one of {sorted(CORPORA)}, got {name!r}")
    return CORPORA[key](root)
