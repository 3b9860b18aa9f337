"""Log-mel and MFCC: affectkit against librosa, a torch.stft + mel-matmul pipeline and
python_speech_features.

(a) 64 clips of 1-8 s at 16 kHz (float32, a list of different lengths), (b) one hour of
16 kHz audio (log-mel only); n_fft 512, 25 ms window, 10 ms hop, 80 mels;
one thread everywhere.

    python benchmarks/bench_mel.py [--repeats N] [--quick] [--no-write]
"""

from harness import arguments, compare, limit_threads, report

limit_threads(1)  # before numpy/torch are imported

import numpy as np  # noqa: E402
import librosa  # noqa: E402
import python_speech_features as psf  # noqa: E402
import torch  # noqa: E402

import affectkit as ak  # noqa: E402

SR = 16000
FRAMING = dict(n_fft=512, hop_length=160, win_length=400)
MEL = dict(sr=SR, n_mels=80)


def clips(count: int) -> list:
    rng = np.random.default_rng(0)
    lengths = rng.uniform(1.0, 8.0, count)
    return [(0.1 * rng.standard_normal(int(s * SR))).astype(np.float32) for s in lengths]


def hour(seconds: int) -> list:
    rng = np.random.default_rng(1)
    return [(0.1 * rng.standard_normal(seconds * SR)).astype(np.float32)]


def psf_mfcc(waves):
    """python_speech_features' MFCC on the same framing and mel count. Not the same algorithm
    (frames not centred, pre-emphasis 0.97, HTK mels, natural log, liftering, c0 replaced by
    the log energy), so only the amount of work matches."""
    return [psf.mfcc(wave, samplerate=SR, winlen=0.025, winstep=0.01, numcep=13, nfilt=MEL["n_mels"],
                     nfft=FRAMING["n_fft"], winfunc=np.hanning) for wave in waves]


def log_mel_implementations(batch):
    waves = [torch.from_numpy(c) for c in batch]
    window = torch.hann_window(FRAMING["win_length"], periodic=True)
    basis = torch.from_numpy(ak.mel_filters(n_fft=FRAMING["n_fft"], **MEL))
    return {
        "affectkit": lambda: ak.log_mel(batch, **FRAMING, **MEL, num_threads=1),
        "librosa": lambda: [librosa.power_to_db(librosa.feature.melspectrogram(y=c, **FRAMING, **MEL)) for c in batch],
        "torch": lambda: torch_log_mel(waves, window, basis),
    }


def check(group, skip=()):
    """Never time a wrong answer: outputs agree to 1e-4 of their peak (float32 rounding);
    the implementations in ``skip`` compute something else and are only checked for shape."""
    reference = group["affectkit"]()
    for name, run in group.items():
        for a, b in zip(reference, run()):
            b = np.asarray(b)
            if name in skip:
                assert np.isfinite(b).all() and b.shape[1] == a.shape[0] and abs(b.shape[0] - a.shape[1]) <= 3, name
            else:
                assert np.max(np.abs(a - b)) / np.max(np.abs(b)) < 1e-4, name


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
    long = hour(60 if args.quick else 3600)

    log_mel = log_mel_implementations(batch)
    log_mel_hour = log_mel_implementations(long)
    mfcc = {
        "affectkit": lambda: ak.mfcc(batch, n_mfcc=13, **FRAMING, **MEL, num_threads=1),
        "librosa": lambda: [librosa.feature.mfcc(y=c, n_mfcc=13, **FRAMING, **MEL) for c in batch],
        "python_speech_features": lambda: psf_mfcc(batch),
    }
    for group in (log_mel, mfcc, log_mel_hour):
        check(group, skip=("python_speech_features",))

    seconds = sum(c.size for c in batch) / SR
    long_label = "one hour" if long[0].size == 3600 * SR else f"{long[0].size // SR} s"
    results = [compare(f"log-mel (80 mels), {len(batch)} clips, 1 thread", log_mel, args.repeats),
               compare(f"MFCC (13 of 80 mels), {len(batch)} clips, 1 thread", mfcc, args.repeats),
               compare(f"log-mel (80 mels), {long_label}, 1 thread", log_mel_hour, args.repeats)]
    report("Log-mel and MFCC, one thread", results, args,
           f"(a) {len(batch)} clips of 1-8 s ({seconds:.0f} s of audio) at 16 kHz, float32, as a list; "
           f"(b) one signal of {long[0].size / SR / 60:g} min at 16 kHz, float32. "
           "n_fft 512, win_length 400, hop 160, 80 Slaney mels; librosa and torch loop over the clips "
           "(torch: stft, |X|^2, mel matmul, dB with top_db 80); librosa and torch outputs agree with "
           "affectkit to 1e-4 of the peak. On (b) librosa and torch spend much of their time in the "
           "kernel, faulting in the pages of their multi-GB temporaries (torch: most of its time), "
           "hence their wide IQR there. python_speech_features (psf.mfcc, winlen 0.025, winstep 0.01, "
           "numcep 13, nfilt 80, nfft 512, Hann window) is a different algorithm (frames not centred, "
           "pre-emphasis, HTK mels, liftering, c0 replaced by log energy), not comparable numerically: "
           "a speed comparison for the same amount of work (checked for shape only).")


if __name__ == "__main__":
    main()
