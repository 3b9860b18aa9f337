"""affectkit: fast, reference-exact speech-emotion and paralinguistic research tools.

NumPy in, NumPy out; torch is imported only by :mod:`affectkit.nn`.

>>> import affectkit as ak
>>> S = ak.power_spectrogram(y, n_fft=512, hop_length=160, win_length=400)
"""

from __future__ import annotations

from ._build import build_info
from ._version import __version__
from .features import (KaldiFbankStream, amplitude_to_db, fbank, kaldi_mfcc, delta, istft, log_mel, mel_filters, melspectrogram, mfcc,
                       power_spectrogram, power_to_db, stft)

__all__ = [
    "KaldiFbankStream", "__version__", "amplitude_to_db", "fbank", "kaldi_mfcc", "build_info", "delta", "istft", "log_mel", "mel_filters",
    "melspectrogram", "mfcc", "power_spectrogram", "power_to_db", "stft",
]
