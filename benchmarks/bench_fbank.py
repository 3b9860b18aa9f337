"""Kaldi fbank: affectkit against kaldi-native-fbank (knf), one thread, and affectkit's
throughput in times real time per core, with its 2-thread speed-up.

(a) 64 clips of 1-8 s at 16 kHz, (b) one hour of 16 kHz audio; float32, Kaldi's
defaults (25 ms povey window, 10 ms shift, 23 mel bins) with 80 mel bins, dither 0.

    python benchmarks/bench_fbank.py [--repeats N] [--quick] [--no-write]
"""

from harness import arguments, compare, limit_threads, report

limit_threads(1)

import numpy as np  # noqa: E402
import kaldi_native_fbank as knf  # noqa: E402

import affectkit as ak  # noqa: E402

SR = 16000


def knf_fbank(waves):
    options = knf.FbankOptions()
    options.frame_opts.dither = 0.0
    options.mel_opts.num_bins = 80
    out = []
    for wave in waves:
        computer = knf.OnlineFbank(options)
        computer.accept_waveform(SR, wave)
        computer.input_finished()
        out.append(np.array([computer.get_frame(i) for i in range(computer.num_frames_ready)]))
    return out


def main():
    args = arguments(__doc__.split("\n\n")[0])
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(int(s * SR))).astype(np.float32)
             for s in rng.uniform(1, 8, 8 if args.quick else 64)]
    hour = [(0.1 * rng.standard_normal((60 if args.quick else 3600) * SR)).astype(np.float32)]
    for waves in (clips, hour):  # never time a wrong answer
        for a, b in zip(ak.fbank(waves, num_mel_bins=80), knf_fbank(waves)):
            # knf computes in float32: on white noise the lowest mel bins hold one or two
            # FFT bins, whose rounding can move their log by ~1e-3.
            assert a.shape == b.shape and np.max(np.abs(a - b)) < 1e-2

    hour_label = "one hour" if hour[0].size == 3600 * SR else f"{hour[0].size // SR} s"
    results = []
    for label, waves in ((f"{len(clips)} clips of 1-8 s", clips), (hour_label, hour)):
        results.append(compare(f"fbank 80 bins, {label}, 1 thread", {
            "affectkit": lambda w=waves: ak.fbank(w, num_mel_bins=80, num_threads=1),
            "kaldi-native-fbank": lambda w=waves: knf_fbank(w),
        }, args.repeats))
    scaling = compare(f"fbank 80 bins, {hour_label}: 1 vs 2 threads", {
        "affectkit 2 threads": lambda: ak.fbank(hour, num_mel_bins=80, num_threads=2),
        "affectkit 1 thread": lambda: ak.fbank(hour, num_mel_bins=80, num_threads=1),
    }, args.repeats)
    results.append(scaling)
    hour_seconds = hour[0].size / SR
    one_thread, two_threads = scaling.median("affectkit 1 thread"), scaling.median("affectkit 2 threads")
    notes = (f"(a) {len(clips)} clips of 1-8 s ({sum(c.size for c in clips) / SR:.0f} s), (b) one signal of "
             f"{hour_seconds / 60:g} min; 16 kHz float32 noise. Outputs agree with knf to 1e-2 absolute "
             "(log mel energies; knf computes in float32). "
             f"Throughput of affectkit on (b): one thread {hour_seconds / one_thread:,.0f}x real time per core; "
             f"two threads {hour_seconds / two_threads:,.0f}x real time, {hour_seconds / two_threads / 2:,.0f}x per "
             f"core; 2-thread speed-up {one_thread / two_threads:.2f}x "
             "(in the last case the ratio column is 1-thread time / 2-thread time). "
             "knf: one OnlineFbank per clip, numpy array in, frames gathered with get_frame.")
    report("Kaldi fbank", results, args, notes)


if __name__ == "__main__":
    main()
