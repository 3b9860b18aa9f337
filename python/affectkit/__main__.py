"""``python -m affectkit [FILE ...]`` / ``affectkit [FILE ...]``: the main job.

Until the research layer exists this is a small demo: for the given audio files,
or for generated voices with known F0 and formants when none is given, it prints
per-signal spectral statistics (25 ms windows, 10 ms hop), the STFT round-trip
error, and Praat's voice measures (median F0, mean HNR, median F1 and F2).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import build_info, formants, harmonicity, istft, pitch, power_spectrogram, stft, synthetic_voice


def demo_signals(sr: int = 16000, seconds: float = 2.0, seed: int = 0) -> List[Tuple[str, np.ndarray]]:
    """Synthetic vowels (ak.synthetic_voice) with a gliding F0, a little jitter and
    noise: their F0 and formants are known, which makes the statistics checkable."""
    signals = []
    for (f0_start, f0_end), vowel in zip([(110.0, 160.0), (200.0, 260.0), (300.0, 220.0)], "aiu"):
        voice = synthetic_voice(sr=sr, duration=seconds, f0=(f0_start, f0_end), vowel=vowel, jitter=0.005,
                                snr_db=30, seed=seed)
        name = f"demo F0 {f0_start:.0f}->{f0_end:.0f} Hz /{vowel}/ F1 {voice.formants[0]:.0f}"
        signals.append((name, voice.y.astype(np.float32)))
    return signals


def read_signals(paths: Sequence[str]) -> Tuple[List[Tuple[str, np.ndarray]], int]:
    try:
        import soundfile
    except ImportError:
        sys.exit("reading audio files needs soundfile: pip install soundfile")
    signals, rates = [], set()
    for path in paths:
        try:
            y, sr = soundfile.read(path, dtype="float32", always_2d=True)
        except Exception as error:  # a bad file is reported; the others go on
            print(f"skipping {path}: {error}", file=sys.stderr)
            continue
        signals.append((path, y.mean(axis=1)))
        rates.add(sr)
    if len(rates) > 1:
        sys.exit(f"files have different sample rates {sorted(rates)}; resample them first")
    return signals, rates.pop() if rates else 16000


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="affectkit", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="audio files (default: generated demo voices)")
    args = parser.parse_args(argv)
    if args.files:
        named, sr = read_signals(args.files)
    else:
        named, sr = demo_signals(), 16000
    if not named:
        return 1
    names, signals = zip(*named)
    info = build_info()
    print(f"affectkit {info['version']} ({info['compiler']}, {info['simd']}, {info['fft_backend']})")
    win_length = int(0.025 * sr)
    framing = dict(n_fft=1 << (win_length - 1).bit_length(), hop_length=sr // 100, win_length=win_length)
    power_spectrogram(signals[0], **framing)  # warm-up: window and FFT plan set-up
    start = time.perf_counter()
    spectra = power_spectrogram(list(signals), **framing)
    elapsed = time.perf_counter() - start
    freqs = np.arange(framing["n_fft"] // 2 + 1) * sr / framing["n_fft"]
    print(f"{len(signals)} signal(s) at {sr} Hz, power spectrogram in {1e3 * elapsed:.1f} ms")
    tracks = pitch(list(signals), sr=sr)
    hnrs = harmonicity(list(signals), sr=sr)
    resonances = formants(list(signals), sr=sr)
    print(f"{'signal':40} {'frames':>6} {'centroid Hz':>11} {'dB range':>8} {'istft err':>9} "
          f"{'F0 Hz':>6} {'HNR dB':>6} {'F1 Hz':>6} {'F2 Hz':>6}")
    for name, y, S, track, hnr, formant in zip(names, signals, spectra, tracks, hnrs, resonances):
        centroid = float(np.mean((freqs[:, None] * S).sum(0) / np.maximum(S.sum(0), 1e-20)))
        db = 10 * np.log10(np.maximum(S.sum(0), 1e-10))
        back = istft(stft(y, **framing), length=y.size, **framing)
        error = float(np.max(np.abs(back - y)))
        f0 = np.nanmedian(track.f0) if track.voiced.any() else np.nan
        hnr_mean = np.nanmean(hnr.hnr) if np.isfinite(hnr.hnr).any() else np.nan
        f1, f2 = (np.nanmedian(formant.frequencies[:, i]) if np.isfinite(formant.frequencies[:, i]).any() else np.nan
                  for i in (0, 1))
        print(f"{name[-40:]:40} {S.shape[1]:6d} {centroid:11.1f} {np.ptp(db):8.1f} {error:9.1e} "
              f"{f0:6.1f} {hnr_mean:6.1f} {f1:6.0f} {f2:6.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
