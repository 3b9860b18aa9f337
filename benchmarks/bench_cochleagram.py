"""Gammatone cochleagram: affectkit against the gammatone package (Slaney's filterbank:
make_erb_filters + erb_filterbank, then the per-frame RMS), one thread.

64 clips of 1-8 s at 16 kHz (float32, a list of different lengths); 64 ERB-spaced
channels from 50 Hz to 8 kHz, 25 ms frames (400 samples), 10 ms hop, frames not centred.

    python benchmarks/bench_cochleagram.py [--repeats N] [--quick] [--no-write]
"""

from harness import arguments, compare, limit_threads, report

limit_threads(1)

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402
import gammatone.filters as gammatone  # noqa: E402

import affectkit as ak  # noqa: E402

SR = 16000
BANK = dict(n_channels=64, fmin=50.0, fmax=SR / 2)
WIN, HOP = 400, 160


def gammatone_cochleagram(waves, coefficients):
    """erb_filterbank (scipy.signal.lfilter, float64) per clip, then the RMS of each
    400-sample frame every 160 samples (as gtgram, but vectorised rather than its loop
    over frames); channels reversed into ascending frequency as affectkit returns them."""
    out = []
    for wave in waves:
        bands = gammatone.erb_filterbank(wave.astype(np.float64), coefficients)
        frames = sliding_window_view(bands * bands, WIN, axis=1)[:, ::HOP]
        out.append(np.sqrt(frames.mean(axis=2))[::-1])
    return out


def main():
    args = arguments(__doc__.split("\n\n")[0])
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(int(s * SR))).astype(np.float32)
             for s in rng.uniform(1, 8, 8 if args.quick else 64)]
    coefficients = gammatone.make_erb_filters(SR, gammatone.centre_freqs(SR, BANK["n_channels"], BANK["fmin"],
                                                                         BANK["fmax"]))
    group = {
        "affectkit": lambda: ak.cochleagram(clips, sr=SR, **BANK, win_length=WIN, hop_length=HOP, num_threads=1),
        "gammatone": lambda: gammatone_cochleagram(clips, coefficients),
    }
    # Never time a wrong answer: the same filters (coefficients equal to 1e-12, see
    # tests/python/test_cochleagram.py); affectkit runs in float32, gammatone in float64.
    for a, b in zip(group["affectkit"](), group["gammatone"]()):
        assert a.shape == b.shape and np.max(np.abs(a - b)) / np.max(b) < 1e-4

    seconds = sum(c.size for c in clips) / SR
    results = [compare(f"cochleagram 64 channels, {len(clips)} clips, 1 thread", group, args.repeats)]
    report("Cochleagram", results, args,
           f"{len(clips)} clips of 1-8 s ({seconds:.0f} s of audio) at 16 kHz, float32, as a list; 64 gammatone "
           "channels ERB-spaced from 50 Hz to 8 kHz (Slaney's 4th-order filters as four biquads), RMS over "
           "400-sample frames every 160 samples, not centred. gammatone: make_erb_filters once, then per clip "
           "erb_filterbank (four scipy.signal.lfilter calls per channel, float64) and a vectorised frame RMS "
           "(numpy sliding_window_view); outputs agree with affectkit (float32) to 1e-4 of the peak.")


if __name__ == "__main__":
    main()
