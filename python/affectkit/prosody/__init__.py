"""Prosody and voice quality: Praat's measures (pitch by autocorrelation, formants by
Burg LPC, jitter, shimmer, harmonicity), computed in the core, batched over clips."""

from .formants import FormantTrack, formants
from .pitch import HarmonicityTrack, PitchTrack, harmonicity, pitch
from .voice_report import VOICE_REPORT_MEASURES, point_process, voice_report

__all__ = ["FormantTrack", "HarmonicityTrack", "PitchTrack", "VOICE_REPORT_MEASURES", "formants", "harmonicity",
           "pitch", "point_process", "voice_report"]
