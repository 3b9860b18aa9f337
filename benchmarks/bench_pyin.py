"""ak.pyin against librosa.pyin.

10 clips of 3 s at 16 kHz (synthetic voices with voiced and silent stretches, in
noise; float64), one thread: librosa's documented range C2-C7 with its default framing
(frame_length 2048, hop 512), and a speech setting (50-500 Hz, 64 ms frames, 10 ms hop).
librosa's decoder is dense (601 or 399 pitch bins, twice as many states); affectkit's
visits the transition band only, for the same states.

    python benchmarks/bench_pyin.py [--repeats N] [--quick] [--no-write]
"""

from harness import arguments, compare, limit_threads, report

limit_threads(1)  # before numpy is imported

import numpy as np  # noqa: E402
import librosa  # noqa: E402

import affectkit as ak  # noqa: E402
from affectkit.prosody.pyin import pyin  # noqa: E402

SETTINGS = {
    "C2-C7, frame 2048, hop 512": dict(fmin=librosa.note_to_hz("C2"), fmax=librosa.note_to_hz("C7")),
    "50-500 Hz, frame 1024, hop 160": dict(fmin=50.0, fmax=500.0, frame_length=1024, hop_length=160),
}


def clips(count: int, seconds: float, sr: int = 16000) -> np.ndarray:
    return np.stack([
        ak.synthetic_voice(sr=sr, duration=seconds, f0=lambda t, s=s: 110 + 10 * s + 30 * np.sin(2 * np.pi * 0.8 * t),
                           jitter=0.01, shimmer=0.05, seed=s, snr_db=20,
                           voiced=[(0.1 * seconds, 0.45 * seconds), (0.55 * seconds, 0.95 * seconds)]).y
        for s in range(count)])


def check_agreement(batch: np.ndarray, setting: dict) -> None:
    """Never time a wrong answer: the same voicing, voiced probabilities and pitch."""
    ours = pyin(batch, sr=16000, **setting, num_threads=1)
    theirs = librosa.pyin(batch, sr=16000, **setting)
    assert np.array_equal(ours.voiced_flag, theirs[1]), "voiced flags differ"
    assert np.max(np.abs(ours.voiced_prob - theirs[2])) < 1e-6, "voiced probabilities differ"
    voiced = ours.voiced_flag
    assert np.allclose(ours.f0[voiced], theirs[0][voiced], rtol=1e-6, atol=0), "f0 differs"


def main():
    args = arguments(__doc__.split("\n\n")[0])
    batch = clips(2 if args.quick else 10, 1.0 if args.quick else 3.0)
    shape = f"{batch.shape[0]} clips x {batch.shape[1] / 16000:g} s at 16 kHz, float64"
    results = []
    for name, setting in SETTINGS.items():
        check_agreement(batch, setting)
        results.append(compare(f"pyin, {name}, 1 thread", {
            "affectkit": lambda setting=setting: pyin(batch, sr=16000, **setting, num_threads=1),
            "librosa": lambda setting=setting: librosa.pyin(batch, sr=16000, **setting),
        }, args.repeats))
    report("pYIN, one thread", results, args,
           f"{shape}. affectkit `num_threads=1`; librosa (numba-compiled decoder, numpy's FFT), "
           "OMP/MKL/OpenBLAS threads 1. Outputs checked equal first (voicing identical, voiced probability "
           "within 1e-6, F0 within 1e-6 relative).")


if __name__ == "__main__":
    main()
