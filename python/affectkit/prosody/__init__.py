"""Prosody and voice quality, computed in the core, batched over clips: Praat's
measures (pitch by autocorrelation or cross-correlation, harmonicity, formants by Burg
LPC, glottal pulses, jitter, shimmer) and librosa's probabilistic YIN."""

from .formants import FormantTrack, formants
from .pitch import HarmonicityTrack, PitchTrack, harmonicity, pitch
from .pyin import PyinTrack, pyin
from .voice_report import VOICE_REPORT_MEASURES, point_process, voice_report

__all__ = ["FormantTrack", "HarmonicityTrack", "PitchTrack", "PyinTrack", "VOICE_REPORT_MEASURES", "formants",
           "harmonicity", "pitch", "point_process", "pyin", "voice_report"]
