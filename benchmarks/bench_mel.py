"""Log-mel and MFCC: affectkit against librosa and a torch.stft + mel-matmul pipeline.

64 clips of 1-8 s at 16 kHz (float32, a list of different lengths), n_fft 512,
25 ms window, 10 ms hop, 80 mels; one thread everywhere.

    python benchmarks/bench_mel.py [--repeats N] [--quick] [--no-write]
"""

from harness import arguments, compare, limit_threads, report

limit_threads(1)  # before numpy/torch are imported

import numpy as np  # noqa: E402
import librosa  # noqa: E402
import torch  # noqa: E402

import affectkit as ak  # noqa: E402

SR = 16000
FRAMING = dict(n_fft=512, hop_length=160, win_length=400)
MEL = dict(sr=SR, n_mels=80)


def clips(count: int) -> list:
    rng = np.random.default_rng(0)
    lengths = rng.uniform(1.0, 8.0, count)
    return [(0.1 * rng.standard_normal(int(s * SR))).astype(np.float32) for s in lengths]


def torch_log_mel(waves, window, basis):
    """The usual PyTorch front end: torch.stft, |X|^2, mel matmul, dB with per-clip top_db."""
    out = []
    for wave in waves:
        spec = torch.stft(wave, FRAMING["n_fft"], FRAMING["hop_length"], FRAMING["win_length"], window=window,
                          center=True, pad_mode="constant", return_complex=True).abs() ** 2
        db = 10 * torch.log10(torch.clamp(basis @ spec, min=1e-10))
        out.append(torch.maximum(db, db.max() - 80.0))
    return out


def main():
    args = arguments(__doc__.split("\n\n")[0])
    torch.set_num_threads(1)
    batch = clips(8 if args.quick else 64)
    waves = [torch.from_numpy(c) for c in batch]
    window = torch.hann_window(FRAMING["win_length"], periodic=True)
    basis = torch.from_numpy(ak.mel_filters(n_fft=FRAMING["n_fft"], **MEL))

    log_mel = {
        "affectkit": lambda: ak.log_mel(batch, **FRAMING, **MEL, num_threads=1),
        "librosa": lambda: [librosa.power_to_db(librosa.feature.melspectrogram(y=c, **FRAMING, **MEL)) for c in batch],
        "torch": lambda: torch_log_mel(waves, window, basis),
    }
    mfcc = {
        "affectkit": lambda: ak.mfcc(batch, n_mfcc=13, **FRAMING, **MEL, num_threads=1),
        "librosa": lambda: [librosa.feature.mfcc(y=c, n_mfcc=13, **FRAMING, **MEL) for c in batch],
    }
    # Never time a wrong answer.
    for group in (log_mel, mfcc):
        reference = group["affectkit"]()
        for name, run in group.items():
            for a, b in zip(reference, run()):
                b = np.asarray(b)
                assert np.max(np.abs(a - b)) / np.max(np.abs(b)) < 1e-4, name

    seconds = sum(c.size for c in batch) / SR
    results = [compare("log-mel (80 mels), 1 thread", log_mel, args.repeats),
               compare("MFCC (13 of 80 mels), 1 thread", mfcc, args.repeats)]
    report("Log-mel and MFCC, one thread", results, args,
           f"{len(batch)} clips of 1-8 s ({seconds:.0f} s of audio) at 16 kHz, float32, as a list; "
           "n_fft 512, win_length 400, hop 160, 80 Slaney mels; librosa and torch loop over the clips "
           "(torch: stft, |X|^2, mel matmul, dB with top_db 80).")


if __name__ == "__main__":
    main()
