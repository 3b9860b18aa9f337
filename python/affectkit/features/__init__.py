"""Spectral features with librosa's names and defaults: STFT and inverse, power and
mel spectrograms, decibels, MFCCs and deltas; Kaldi's fbank/MFCC; descriptors;
cochleagram; resampling; openSMILE's eGeMAPS energy/spectral low-level descriptors."""

from .cochleagram import cochleagram, erb_frequencies, gammatone_coefficients
from .egemaps import EGEMAPS_LLD_NAMES, egemaps_lld
from .egemaps import EGEMAPS_NAMES, egemaps
from .descriptors import (rms, spectral_bandwidth, spectral_centroid, spectral_contrast, spectral_flatness,
                          spectral_flux, spectral_rolloff, spectral_slope, zero_crossing_rate)
from .kaldi import KaldiFbankStream, fbank, kaldi_mfcc
from .mel import (amplitude_to_db, delta, hz_to_mel, log_mel, mel_filters, mel_frequencies,
                  mel_to_hz, melspectrogram, mfcc, power_to_db)
from .presets import PRESETS, Preset, preset
from .resample import RESAMPLE_PRESETS, resample
from .spectrum import get_window, istft, pad_batch, power_spectrogram, stft

__all__ = [
    "EGEMAPS_LLD_NAMES", "egemaps_lld", "KaldiFbankStream", "fbank", "kaldi_mfcc", "amplitude_to_db", "delta", "get_window", "hz_to_mel", "istft", "log_mel", "mel_filters",
    "mel_frequencies", "mel_to_hz", "melspectrogram", "mfcc", "power_spectrogram", "power_to_db",
    "stft", "pad_batch", "preset", "Preset", "PRESETS", "cochleagram", "erb_frequencies", "gammatone_coefficients", "resample", "RESAMPLE_PRESETS", "rms", "spectral_bandwidth", "spectral_centroid", "spectral_contrast", "spectral_flatness",
    "spectral_flux", "spectral_rolloff", "spectral_slope", "zero_crossing_rate",
    "EGEMAPS_NAMES", "egemaps",
]
