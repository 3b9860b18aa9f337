"""Prosody and voice quality: Praat's measures (pitch by autocorrelation, formants by
Burg LPC, jitter, shimmer, harmonicity), computed in the core, batched over clips."""

from .formants import FormantTrack, formants
from .pitch import HarmonicityTrack, PitchTrack, harmonicity, pitch

__all__ = ["FormantTrack", "HarmonicityTrack", "PitchTrack", "formants", "harmonicity", "pitch"]
