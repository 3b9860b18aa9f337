"""ak.stft / ak.power_spectrogram against librosa.stft and torch.stft.

64 clips of 4 s at 16 kHz (float32), librosa's default framing (n_fft 2048, hop 512)
and the speech front end (25 ms Hann window in a 512-point FFT, 10 ms hop); first one
thread for every library, then each library's default threads.

    python benchmarks/bench_stft.py [--repeats N] [--quick] [--no-write]
"""

import os

from harness import arguments, compare, limit_threads, report

limit_threads(1)  # before numpy/torch are imported

import numpy as np  # noqa: E402
import librosa  # noqa: E402
import torch  # noqa: E402

import affectkit as ak  # noqa: E402

FRAMINGS = {
    "n_fft=2048 hop=512": dict(n_fft=2048, hop_length=512, win_length=2048),
    "n_fft=512 hop=160 win=400": dict(n_fft=512, hop_length=160, win_length=400),
}


def clips(count: int, seconds: float, sr: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    chirp = np.sin(2 * np.pi * (100 + 400 * t) * t)
    return (chirp + 0.1 * rng.standard_normal((count, t.size))).astype(np.float32)


def torch_stft(batch: torch.Tensor, framing: dict) -> torch.Tensor:
    window = torch.hann_window(framing["win_length"], periodic=True)
    return torch.stft(batch, framing["n_fft"], framing["hop_length"], framing["win_length"], window=window,
                      center=True, pad_mode="constant", return_complex=True)


def implementations(batch: np.ndarray, framing: dict, threads):
    tensor = torch.from_numpy(batch)
    spectra = {
        "affectkit": lambda: ak.stft(batch, **framing, num_threads=threads),
        "librosa": lambda: librosa.stft(batch, **framing),
        "torch": lambda: torch_stft(tensor, framing),
    }
    power = {
        "affectkit": lambda: ak.power_spectrogram(batch, **framing, num_threads=threads),
        "librosa": lambda: np.abs(librosa.stft(batch, **framing)) ** 2,
        "torch": lambda: torch_stft(tensor, framing).abs() ** 2,
    }
    return spectra, power


def check_agreement(spectra: dict, power: dict) -> None:
    """Never time a wrong answer: all outputs agree to float32 rounding."""
    for group in (spectra, power):
        reference = np.asarray(group["affectkit"]())
        for name, run in group.items():
            other = np.asarray(run())
            error = np.max(np.abs(other - reference)) / np.max(np.abs(reference))
            assert error < 1e-4, f"{name} differs from affectkit by {error:.2e} (relative to the peak)"


def run(batch, repeats, threads, label):
    results = []
    for framing_name, framing in FRAMINGS.items():
        spectra, power = implementations(batch, framing, threads)
        check_agreement(spectra, power)
        results.append(compare(f"stft, {framing_name}, {label}", spectra, repeats))
        results.append(compare(f"power, {framing_name}, {label}", power, repeats))
    return results


def main():
    args = arguments(__doc__.split("\n\n")[0])
    batch = clips(8 if args.quick else 64, 1.0 if args.quick else 4.0)
    shape = f"{batch.shape[0]} clips x {batch.shape[1] / 16000:g} s at 16 kHz, float32"

    torch.set_num_threads(1)
    single = run(batch, args.repeats, 1, "1 thread")
    report("STFT and power spectrogram, one thread", single, args,
           f"{shape}. affectkit `num_threads=1`, `torch.set_num_threads(1)`, OMP/MKL/OpenBLAS threads 1.")

    torch.set_num_threads(os.cpu_count() or 1)
    default = run(batch, args.repeats, None, "all threads")
    report("STFT and power spectrogram, all threads", default, args,
           f"{shape}. affectkit `num_threads=None` (all cores), torch with one thread per core; "
           "librosa is single-threaded (numpy's FFT).")


if __name__ == "__main__":
    main()
