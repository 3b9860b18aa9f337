"""The demo corpus: synthetic "utterances" of a few speakers in four prosody-defined
emotion classes, generated on first use by :func:`affectkit.synthetic_voice`, so every
command works without downloading data.

An utterance is a run of 4-6 vowel syllables separated by short pauses. A speaker
is a base F0, a formant scaling (vocal-tract length) and a baseline jitter. The
classes differ the way acted emotions differ on average (Banse & Scherer 1996;
Juslin & Laukka 2003), not in any one cue alone, and every cue varies from
utterance to utterance:

=========  =========  ===============  ==========  =========  =========================
class      F0 level   F0 range (st)    syllable s  loudness   voice quality
=========  =========  ===============  ==========  =========  =========================
neutral    x1.00      2                0.20        0.25       modal
happy      x1.30      7                0.15        0.40       modal
sad        x0.88      1                0.28        0.12       breathy (noise at 18 dB)
angry      x1.20      4                0.14        0.60       rough (jitter, shimmer),
                                                              raised F1
=========  =========  ===============  ==========  =========  =========================

The same arguments give the same files, sample for sample (every random draw is
seeded by speaker, class and index).
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .._checks import as_int
from ..synth import VOWELS, synthetic_voice
from .audio import save_audio
from .corpora import Corpus, load_csv

__all__ = ["demo_corpus", "DEMO_CLASSES", "DEMO_SPEAKERS", "default_data_dir"]

DEMO_VERSION = 2

#: class: (F0 factor, F0 range in semitones, syllable seconds, peak amplitude, extra
#: jitter, shimmer, SNR dB, F1 factor)
DEMO_CLASSES = {
    "neutral": (1.00, 2.0, 0.20, 0.25, 0.000, 0.02, 35.0, 1.00),
    "happy": (1.30, 7.0, 0.15, 0.40, 0.002, 0.03, 35.0, 1.00),
    "sad": (0.88, 1.0, 0.28, 0.12, 0.004, 0.05, 18.0, 1.00),
    "angry": (1.20, 4.0, 0.14, 0.60, 0.015, 0.09, 30.0, 1.12),
}

#: speaker: (base F0 Hz, formant scaling, baseline jitter)
DEMO_SPEAKERS = {
    "m1": (105.0, 1.00, 0.004), "m2": (125.0, 0.96, 0.008), "m3": (145.0, 1.04, 0.006),
    "f1": (195.0, 1.15, 0.005), "f2": (220.0, 1.19, 0.009), "f3": (240.0, 1.12, 0.007),
}


def default_data_dir() -> Path:
    """Where generated data lives: ``$AFFECTKIT_DATA`` or ``~/.cache/affectkit``."""
    return Path(os.environ.get("AFFECTKIT_DATA") or Path.home() / ".cache" / "affectkit")


def _utterance(speaker: str, label: str, index: int, sr: int) -> np.ndarray:
    base_f0, formant_scale, base_jitter = DEMO_SPEAKERS[speaker]
    f0_factor, range_st, syllable, amplitude, jitter, shimmer, snr_db, f1_factor = DEMO_CLASSES[label]
    seed = [DEMO_VERSION, sorted(DEMO_SPEAKERS).index(speaker), list(DEMO_CLASSES).index(label), index]
    rng = np.random.default_rng(seed)
    f0 = base_f0 * f0_factor * np.exp(0.05 * rng.standard_normal())
    syllable *= np.exp(0.08 * rng.standard_normal())
    amplitude *= np.exp(0.15 * rng.standard_normal())
    pause = np.zeros(int(0.06 * sr))
    parts = [np.zeros(int(0.1 * sr))]
    n_syllables = int(rng.integers(4, 7))
    for k in range(n_syllables):
        vowel = "aeiou"[int(rng.integers(5))]
        formants = np.array(VOWELS[vowel][0]) * formant_scale
        formants[0] *= f1_factor
        start, end = rng.uniform(-range_st / 2, range_st / 2, size=2) - 0.5 * k / n_syllables  # declination
        duration = syllable * np.exp(0.1 * rng.standard_normal())
        voice = synthetic_voice(sr=sr, duration=duration, f0=(f0 * 2 ** (start / 12), f0 * 2 ** (end / 12)),
                                jitter=base_jitter + jitter, shimmer=shimmer, formants=tuple(formants),
                                bandwidths=VOWELS[vowel][1], snr_db=snr_db, amplitude=amplitude,
                                seed=int(rng.integers(2**31)))
        ramp = np.minimum(1.0, np.minimum(np.arange(voice.y.size), np.arange(voice.y.size)[::-1]) / (0.02 * sr))
        parts += [voice.y * ramp, pause]
    y = np.concatenate(parts + [np.zeros(int(0.1 * sr))])
    return y + 1e-4 * amplitude * rng.standard_normal(y.size)  # a quiet noise floor, as in any recording


def demo_corpus(root: Optional[Union[str, "os.PathLike[str]"]] = None, *, utterances_per_class: int = 6,
                sr: int = 16000, progress: bool = False) -> Corpus:
    """The demo corpus, generated on first use (a second or two) and then read back.

    Parameters
    ----------
    root : path, optional
        Directory to hold it (default: ``default_data_dir() / "demo-corpus-v2-16000hz-6"``,
        named by version, sample rate and size).
        Generated into a temporary sibling and renamed, so an interrupted generation
        leaves nothing half-written; an existing complete corpus is reused.
    utterances_per_class : int
        Per speaker and class (6 speakers x 4 classes x 6 = 144 files by default).
    sr : int
        Sample rate in Hz.
    progress : bool
        A progress bar while generating.

    Returns
    -------
    Corpus
        classes ('neutral', 'happy', 'sad', 'angry'), speakers 'f1'..'f3', 'm1'..'m3',
        WAV files (16-bit) listed in ``metadata.csv``.
    """
    per_class = as_int("utterances_per_class", utterances_per_class, minimum=1)
    sr = as_int("sr", sr, minimum=8000)
    name = f"demo-corpus-v{DEMO_VERSION}-{sr}hz-{per_class}"
    target = Path(root) if root is not None else default_data_dir() / name
    stamp = f"affectkit demo corpus v{DEMO_VERSION} sr={sr} per_class={per_class}\n"

    def complete() -> bool:
        return ((target / "metadata.csv").is_file() and (target / "VERSION").is_file()
                and (target / "VERSION").read_text() == stamp)

    if not complete():
        if target.exists():
            raise FileExistsError(f"invalid argument 'root': {str(target)!r} exists and is not this demo corpus "
                                  f"({stamp.strip()}); remove it or choose another directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=target.parent))
        try:
            from tqdm.auto import tqdm

            utterances = [(speaker, label, index) for speaker in DEMO_SPEAKERS for label in DEMO_CLASSES
                          for index in range(per_class)]
            rows = [(f"{speaker}/{speaker}_{label}_{index:02d}.wav", label, speaker)
                    for speaker, label, index in utterances]
            for speaker in DEMO_SPEAKERS:
                (staging / speaker).mkdir()
            for (name, *_), (speaker, label, index) in tqdm(list(zip(rows, utterances)), desc="demo corpus",
                                                            unit="file", disable=not progress):
                save_audio(staging / name, _utterance(speaker, label, index, sr), sr)
            with open(staging / "metadata.csv", "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["path", "label", "speaker"])
                writer.writerows(rows)
            (staging / "VERSION").write_text(stamp)
            try:
                os.replace(staging, target)
            except OSError:  # another process finished the same corpus first
                if not complete():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    corpus = load_csv(target / "metadata.csv", classes=tuple(DEMO_CLASSES))
    corpus.name = "affectkit demo corpus"
    return corpus
