"""Real and synthetic speech for the tests, from Debian packages (nothing is downloaded):
human voice recordings shipped by alsa-utils and speech synthesised by espeak-ng."""

import glob
import os
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

ALSA_SOUNDS = "/usr/share/sounds/alsa"


def human_voices():
    """[(name, y float64, sr)] of the alsa-utils recordings (a man saying "front
    center" and so on, 48 kHz); the Noise.wav file is left out."""
    sf = pytest.importorskip("soundfile")
    paths = sorted(p for p in glob.glob(os.path.join(ALSA_SOUNDS, "*.wav")) if "Noise" not in p)
    if not paths:
        pytest.skip("alsa-utils' voice recordings are not installed (apt-get install alsa-utils)")
    voices = []
    for path in paths:
        y, sr = sf.read(path, always_2d=True)
        voices.append((os.path.basename(path), y.mean(axis=1), sr))
    return voices


def espeak(text: str, *, pitch: int = 50, speed: int = 160, voice: str = "en"):
    """(y float64, sr) of espeak-ng saying text (its -p pitch 0-99, -s words per minute)."""
    sf = pytest.importorskip("soundfile")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "speech.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", path, text], check=True)
        y, sr = sf.read(path)
    return np.asarray(y, dtype=np.float64), sr
