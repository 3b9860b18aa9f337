"""Praat's voice measures: affectkit against Praat itself (praat-parselmouth) on 100
clips of 3 s at 16 kHz, one core.

    python benchmarks/bench_prosody.py [--repeats N] [--quick] [--no-write]
"""

import os

from harness import arguments, compare, limit_threads, report

limit_threads(1)
# Praat runs its pitch analysis on several threads of its own; pinning the process to
# one core makes both sides use one core's time.
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import numpy as np  # noqa: E402
import parselmouth  # noqa: E402
from parselmouth.praat import call  # noqa: E402

import affectkit as ak  # noqa: E402


def voices(count, seconds=3.0, sr=16000, snr_db=(10, 30)):
    """Vowel-like voices with F0 glides, jitter, shimmer and noise (SNR uniform in
    snr_db), half with pauses."""
    rng = np.random.default_rng(0)
    clips = []
    for i in range(count):
        start, end = rng.uniform(90, 250, 2)
        voiced = [(0.2, 1.3), (1.6, 2.8)] if i % 2 else None
        clips.append(ak.synthetic_voice(sr=sr, duration=seconds, f0=(start, end), jitter=0.01, shimmer=0.05,
                                        vowel="aeiou"[i % 5], snr_db=rng.uniform(*snr_db), voiced=voiced,
                                        seed=i).y)
    return clips


JITTER = ("local", "local, absolute", "rap", "ppq5", "ddp")
SHIMMER = ("local", "local_dB", "apq3", "apq5", "apq11", "dda")


def praat_voice_report(sound):
    """Pitch, pulses and the eleven jitter/shimmer measures, as Praat's voice report."""
    pitch = sound.to_pitch_ac()
    pulses = call([sound, pitch], "To PointProcess (cc)")
    jitter = [call(pulses, f"Get jitter ({name})", 0, 0, 0.0001, 0.02, 1.3) for name in JITTER]
    shimmer = [call([sound, pulses], f"Get shimmer ({name})", 0, 0, 0.0001, 0.02, 1.3, 1.6) for name in SHIMMER]
    return jitter + shimmer


def check(clips, sr):
    """Never time a wrong answer: F0 and HNR equal Praat's (1e-6 relative, 1e-9 dB),
    F2 (1e-6 relative) and the jitter and shimmer measures (1e-9 relative)."""
    tracks = ak.pitch(clips, sr=sr, num_threads=1)
    hnrs = ak.harmonicity(clips, sr=sr, num_threads=1)
    for clip, track, hnr in zip(clips, tracks, hnrs):
        sound = parselmouth.Sound(clip, sr)
        f0 = sound.to_pitch_ac().selected_array["frequency"]
        np.testing.assert_allclose(track.f0, np.where(f0 > 0, f0, np.nan), rtol=1e-6)
        praat = sound.to_harmonicity_cc().values[0]
        np.testing.assert_allclose(hnr.hnr, np.where(praat == -200, np.nan, praat), atol=1e-9)
        formant = sound.to_formant_burg()
        ours = ak.formants(clip, sr=sr)
        for t, time in enumerate(formant.xs()):
            f2 = formant.get_value_at_time(2, time)
            np.testing.assert_allclose(ours.frequencies[t, 1], f2, rtol=1e-6)
        report = ak.voice_report(clip, sr=sr)
        ours = [report[f"jitter_{k}"] for k in ("local", "local_absolute", "rap", "ppq5", "ddp")]
        ours += [report[f"shimmer_{k}"] for k in ("local", "local_db", "apq3", "apq5", "apq11", "dda")]
        np.testing.assert_allclose(ours, praat_voice_report(sound), rtol=1e-9)


def main():
    args = arguments(__doc__.split("\n\n")[0])
    sr = 16000
    count = 10 if args.quick else 100
    clips = voices(count)
    # Pitch's speed depends on what it hears: each frame costs two FFTs on both sides, and
    # each peak of its autocorrelation a refinement, where affectkit gains the most. Noisy
    # voices have fewer clean peaks; white noise has few, so there the FFTs set the pace.
    noisy = voices(count, snr_db=(0, 5))
    noise = [0.1 * np.random.default_rng(1000 + i).standard_normal(int(3 * sr)) for i in range(count)]
    for corpus in (clips, noisy, noise):
        check(corpus[:10], sr)
    sounds = [parselmouth.Sound(c, sr) for c in clips]
    results = [
        compare("pitch (ac), 1 core", {
            "affectkit": lambda: ak.pitch(clips, sr=sr, num_threads=1),
            "parselmouth": lambda: [s.to_pitch_ac() for s in sounds],
        }, args.repeats),
        *(compare(f"pitch (ac), {name}, 1 core", {
            "affectkit": lambda corpus=corpus: ak.pitch(corpus, sr=sr, num_threads=1),
            "parselmouth": lambda sounds=[parselmouth.Sound(c, sr) for c in corpus]: [s.to_pitch_ac() for s in sounds],
        }, args.repeats) for name, corpus in (("voices at 0-5 dB SNR", noisy), ("white noise", noise))),
        compare("harmonicity (cc), 1 core", {
            "affectkit": lambda: ak.harmonicity(clips, sr=sr, num_threads=1),
            "parselmouth": lambda: [s.to_harmonicity_cc() for s in sounds],
        }, args.repeats),
        compare("voice report (pitch, pulses, 5 jitter + 6 shimmer), 1 core", {
            "affectkit": lambda: ak.voice_report(clips, sr=sr, num_threads=1),
            "parselmouth": lambda: [praat_voice_report(s) for s in sounds],
        }, args.repeats),
        compare("formants (burg), 1 core", {
            "affectkit": lambda: ak.formants(clips, sr=sr, num_threads=1),
            "parselmouth": lambda: [s.to_formant_burg() for s in sounds],
        }, args.repeats),
    ]
    report("Prosody (Praat's measures)", results, args,
           f"{len(clips)} synthetic voices of 3 s at 16 kHz (F0 glides 90-250 Hz, jitter 1%, shimmer 5%, "
           "SNR 10-30 dB, half with pauses). parselmouth runs Praat's own code (to_pitch_ac, "
           "to_harmonicity_cc, to_formant_burg with Praat's defaults); the process is pinned to one core, since Praat "
           "threads its pitch analysis. Pitch also on the same voices at 0-5 dB SNR and on white noise (3 s clips of "
           "N(0, 0.1^2)): there Praat's own per-frame FFTs, which affectkit also needs, are most of the time. "
           "Outputs checked first (on 10 clips of each): F0 and F2 equal to 1e-6 relative, HNR to 1e-9 dB, jitter and shimmer to 1e-9 relative. The voice report on both sides includes its pitch analysis.")


if __name__ == "__main__":
    main()
