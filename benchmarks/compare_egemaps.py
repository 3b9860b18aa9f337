"""ak.egemaps against opensmile's eGeMAPSv02 functionals, per column: the correlation
across clips and the median relative difference, on generated voices (ak.synthetic_voice
with varied F0 contours, jitter, shimmer, vowels, noise and pauses), espeak-ng sentences
and the alsa-utils voice recordings (resampled to 16 kHz). Writes the table into
docs/egemaps.md (between its "comparison" markers).

    python benchmarks/compare_egemaps.py [--no-write]
"""

import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

import affectkit as ak

SR = 16000
DOCS = os.path.join(os.path.dirname(__file__), "..", "docs", "egemaps.md")
BEGIN, END = "<!-- comparison: begin -->", "<!-- comparison: end -->"
SENTENCES = ["The quick brown fox jumps over the lazy dog.", "How are you today? I am fine, thank you.",
             "Please call Stella and ask her to bring these things.", "Seven slow seals swam south.",
             "Where were you when the lights went out?", "I never said she stole my money."]


def pcm(y):
    """The samples openSMILE gets from opensmile's process_signal (see ak.egemaps_lld)."""
    return np.trunc(np.asarray(y, np.float32) * 32768).astype(np.float64) / 32767


def synthetic_clips(count):
    rng = np.random.default_rng(0)
    clips = []
    for i in range(count):
        lo = rng.uniform(80, 220)
        f0 = (lo, lo * rng.uniform(0.7, 1.6))
        start = rng.uniform(0.05, 0.4)
        v = ak.synthetic_voice(sr=SR, duration=2.0, f0=f0, vowel="aeiou"[i % 5], jitter=rng.uniform(0.0, 0.03),
                               shimmer=rng.uniform(0.0, 0.12), snr_db=rng.uniform(10, 40),
                               voiced=[(start, start + rng.uniform(0.4, 0.8)), (1.2, 1.2 + rng.uniform(0.2, 0.7))],
                               seed=i)
        clips.append(v.y)
    return clips


def espeak_clips(count):
    clips = []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(count):
            path = os.path.join(folder, f"{i}.wav")
            subprocess.run(["espeak-ng", "-v", ["en", "en-us", "de", "fr"][i % 4], "-p", str(20 + 13 * i % 70),
                            "-s", str(130 + 11 * i % 60), "-w", path, SENTENCES[i % len(SENTENCES)]], check=True)
            import soundfile as sf
            y, sr = sf.read(path)
            clips.append(ak.resample(y, orig_sr=sr, target_sr=SR))
    return clips


def human_clips():
    import glob
    import soundfile as sf
    clips = []
    for path in sorted(glob.glob("/usr/share/sounds/alsa/*.wav")):
        if "Noise" not in path:
            y, sr = sf.read(path, always_2d=True)
            clips.append(ak.resample(y.mean(axis=1), orig_sr=sr, target_sr=SR))
    return clips


def compare(clips):
    """{column: (correlation, median relative difference)} of ak.egemaps vs opensmile."""
    import opensmile
    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                            feature_level=opensmile.FeatureLevel.Functionals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = np.stack([smile.process_signal(np.asarray(c, np.float32), SR).to_numpy()[0] for c in clips])
    ours = ak.egemaps([pcm(c) for c in clips], sr=SR)[list(ak.EGEMAPS_NAMES)].to_numpy()
    result = {}
    for j, name in enumerate(ak.EGEMAPS_NAMES):
        a, b = ours[:, j], reference[:, j]
        if not np.all(np.isfinite(a)):
            result[name] = (np.nan, np.nan)
            continue
        corr = np.corrcoef(a, b)[0, 1] if np.std(a) > 0 and np.std(b) > 0 else (1.0 if np.allclose(a, b) else np.nan)
        rel = np.median(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))
        result[name] = (corr, rel)
    return result


def table(result, n_clips):
    good = sum(1 for c, _ in result.values() if np.isfinite(c) and c >= 0.9)
    lines = [f"{n_clips} clips at 16 kHz; {good} of {len(result)} columns with correlation >= 0.9.", "",
             "| column | correlation | median relative difference |", "|---|---:|---:|"]
    for name, (corr, rel) in result.items():
        lines.append(f"| `{name}` | {corr:.3f} | {rel:.2e} |" if np.isfinite(corr) or np.isfinite(rel)
                     else f"| `{name}` | not computed | |")
    return "\n".join(lines)


def main():
    clips = synthetic_clips(30) + espeak_clips(16) + human_clips()
    text = table(compare(clips), len(clips))
    print(text)
    if "--no-write" not in sys.argv:
        with open(DOCS) as f:
            doc = f.read()
        head, rest = doc.split(BEGIN)
        _, tail = rest.split(END)
        with open(DOCS, "w") as f:
            f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")


if __name__ == "__main__":
    main()
