"""``python -m affectkit [FILE ...]`` / ``affectkit [FILE ...]``: the main job.

Until the research layer exists this is a small demo: it computes power
spectrograms (speech framing: 25 ms windows, 10 ms hop) of the given audio files,
or of generated voice-like signals with known F0 when none is given, and prints
per-signal statistics and the STFT round-trip error.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import build_info, istft, power_spectrogram, stft


def demo_signals(sr: int = 16000, seconds: float = 2.0, seed: int = 0) -> List[Tuple[str, np.ndarray]]:
    """Harmonic 'vowels' with a gliding F0 plus a little noise: the strongest
    low spectral peak follows F0, which makes the statistics checkable by eye."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    signals = []
    for f0_start, f0_end in [(110.0, 160.0), (200.0, 260.0), (300.0, 220.0)]:
        f0 = np.linspace(f0_start, f0_end, t.size)
        phase = 2 * np.pi * np.cumsum(f0) / sr
        harmonics = sum(np.sin(k * phase) / k for k in range(1, 16))
        y = 0.3 * harmonics + 0.01 * rng.standard_normal(t.size)
        signals.append((f"demo F0 {f0_start:.0f}->{f0_end:.0f} Hz", y.astype(np.float32)))
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
    framing = dict(n_fft=512, hop_length=sr // 100, win_length=int(0.025 * sr))
    power_spectrogram(signals[0], **framing)  # warm-up: window and FFT plan set-up
    start = time.perf_counter()
    spectra = power_spectrogram(list(signals), **framing)
    elapsed = time.perf_counter() - start
    freqs = np.arange(framing["n_fft"] // 2 + 1) * sr / framing["n_fft"]
    print(f"{len(signals)} signal(s) at {sr} Hz, power spectrogram in {1e3 * elapsed:.1f} ms")
    print(f"{'signal':32} {'frames':>6} {'centroid Hz':>11} {'peak Hz <400':>12} {'dB range':>8} {'istft err':>9}")
    low = freqs < 400
    for name, y, S in zip(names, signals, spectra):
        centroid = float(np.mean((freqs[:, None] * S).sum(0) / np.maximum(S.sum(0), 1e-20)))
        peak = float(np.median(freqs[low][np.argmax(S[low], axis=0)]))
        db = 10 * np.log10(np.maximum(S.sum(0), 1e-10))
        back = istft(stft(y, **framing), length=y.size, **framing)
        error = float(np.max(np.abs(back - y)))
        print(f"{name[-32:]:32} {S.shape[1]:6d} {centroid:11.1f} {peak:12.1f} {np.ptp(db):8.1f} {error:9.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
