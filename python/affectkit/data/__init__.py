"""Corpora, speaker-independent folds, audio I/O and the bundled demo corpus.

>>> from affectkit import data
>>> corpus = data.load_ravdess("/data/RAVDESS")        # path, label, speaker, fold columns
>>> folds = data.make_folds(corpus, "loso")             # leave one speaker out
>>> y, sr = data.load_audio(corpus.path[0], sr=16000)   # mono float32 at 16 kHz
"""

from .audio import AudioError, load_audio, save_audio
from .corpora import (AUDIO_EXTENSIONS, CORPORA, EMOTIONS, Corpus, CorpusError, IncompleteCorpusWarning, load_corpus,
                      load_crema_d, load_csv, load_emodb, load_esc50, load_folders, load_iemocap, load_ravdess,
                      load_vocalsound)
from .demo import DEMO_CLASSES, DEMO_SPEAKERS, default_data_dir, demo_corpus
from .folds import (FOLD_SCHEMES, Fold, leave_one_speaker_out, make_folds, official_folds, read_folds, speaker_kfold,
                    write_folds)

__all__ = [
    "AudioError", "load_audio", "save_audio",
    "AUDIO_EXTENSIONS", "CORPORA", "EMOTIONS", "Corpus", "CorpusError", "IncompleteCorpusWarning", "load_corpus",
    "load_crema_d", "load_csv", "load_emodb", "load_esc50", "load_folders", "load_iemocap", "load_ravdess",
    "load_vocalsound",
    "DEMO_CLASSES", "DEMO_SPEAKERS", "default_data_dir", "demo_corpus",
    "FOLD_SCHEMES", "Fold", "leave_one_speaker_out", "make_folds", "official_folds", "read_folds", "speaker_kfold",
    "write_folds",
]
