"""Every public numpy function that takes a signal, fuzzed with hypothesis: odd
shapes (0 and 1 included), dtypes, strides (non-contiguous, negative, broadcast,
Fortran order), silence, DC, full-scale square waves, denormals, huge values,
NaN/Inf and wrong types. Each call either returns a correctly shaped result with
no Inf (and NaN only where the function documents it: unvoiced frames, undefined
voice measures) or raises ValueError/TypeError whose message names one of the
function's arguments. It runs in this process: a crash fails the run.
"""

from __future__ import annotations

import inspect
import re
import warnings
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import affectkit as ak

EXAMPLES = 200
SR = 8000

# ------------------------------------------------------------ odd signals

DTYPES = ["float32", "float64", "float16", "int16", "int64", "complex64", "bool", ">f8", "object"]
FILLS = ["noise", "zeros", "dc", "square", "denormal", "huge", "nan", "inf", "tone"]


def fill(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SR
    if kind == "noise":
        return 0.1 * rng.standard_normal(n)
    if kind == "zeros":
        return np.zeros(n)
    if kind == "dc":
        return np.full(n, 0.5)
    if kind == "square":  # full scale, 150 Hz
        return np.where(np.sin(2 * np.pi * 150 * t) >= 0, 1.0, -1.0)
    if kind == "denormal":
        return np.full(n, 1e-310) * np.sign(rng.standard_normal(n))
    if kind == "huge":
        return 1e30 * np.sin(2 * np.pi * 200 * t)
    if kind == "tone":
        return 0.5 * np.sin(2 * np.pi * 220 * t)
    y = 0.1 * rng.standard_normal(n)
    if n:
        y[rng.integers(n)] = np.nan if kind == "nan" else -np.inf
    return y


@st.composite
def signals(draw) -> Any:
    """An array (1-D or 2-D, any layout and dtype), a list of 1-D arrays, or not a signal at all."""
    form = draw(st.sampled_from(["1d", "2d", "list", "strided", "reversed", "broadcast", "fortran", "scalar",
                                 "3d", "wrong"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n = draw(st.sampled_from([0, 1, 2, 7, 160, 401, 1000, 2400]))
    kind = draw(st.sampled_from(FILLS))
    dtype = draw(st.sampled_from(DTYPES + ["float32", "float64"] * 3))  # valid dtypes more often

    def make(length: int) -> np.ndarray:
        values = fill(kind, length, rng)
        if dtype == "object":
            return values.astype(object)
        with np.errstate(invalid="ignore", over="ignore"):
            return values.astype(dtype)

    if form == "1d":
        return make(n)
    if form == "2d":
        rows = [make(n) for _ in range(draw(st.integers(0, 3)))]
        return np.stack(rows) if rows else make(0).reshape(0, 0)
    if form == "list":
        return [make(draw(st.sampled_from([1, 160, 1000, 2400]))) for _ in range(draw(st.integers(0, 3)))]
    if form == "strided":
        return make(2 * n)[::2]
    if form == "reversed":
        return make(n)[::-1]
    if form == "broadcast":
        return np.broadcast_to(make(n), (2, n))
    if form == "fortran":
        return np.asfortranarray(np.stack([make(n), make(n)]))
    if form == "scalar":
        return make(1)[0] if n else np.float64(0.25)
    if form == "3d":
        return make(2 * max(n, 1)).reshape(2, 1, -1)
    return draw(st.sampled_from(["audio.wav", None, 3, [1.0, "a"], {"y": 1}, b"\x00\x01"]))


# ------------------------------------------------------------ the checks

def argument_named(error: BaseException, function: Callable) -> bool:
    names = set(inspect.signature(function).parameters) | {"y", "S", "data", "items", "stft_matrix"}
    return any(name in names for name in re.findall(r"'(\w+)'", str(error)))


def arrays_in(result: Any) -> List[np.ndarray]:
    """The float arrays of a result: an array, a list of them, or a track/report object."""
    if isinstance(result, np.ndarray):
        return [result]
    if isinstance(result, (list, tuple)):
        return [a for item in result for a in arrays_in(item)]
    if isinstance(result, dict):
        return [a for value in result.values() for a in arrays_in(value)]
    if hasattr(result, "__dict__") or hasattr(result, "_fields"):
        fields = result._asdict() if hasattr(result, "_asdict") else vars(result)
        return [a for value in fields.values() for a in arrays_in(value)]
    if isinstance(result, (float, np.floating)):
        return [np.asarray(result)]
    return []


def n_signals(y: Any) -> int:
    """Signals along the first axis of an (..., n_samples) array or in a list."""
    return y.shape[0] if isinstance(y, np.ndarray) and y.ndim >= 2 else len(y) if isinstance(y, list) else 1


# name: (call on a signal, what the result may hold: "finite"; "nan" where the
# function documents NaN; "as given" for functions that only move the values)
CALLS: Dict[str, Tuple[Callable[[Any], Any], str]] = {
    "stft": (lambda y: ak.stft(y, n_fft=256, hop_length=64), "finite"),
    "power_spectrogram": (lambda y: ak.power_spectrogram(y, n_fft=256, hop_length=64), "finite"),
    "melspectrogram": (lambda y: ak.melspectrogram(y, sr=SR, n_fft=256, hop_length=64, n_mels=20), "finite"),
    "log_mel": (lambda y: ak.log_mel(y, sr=SR, n_fft=256, hop_length=64, n_mels=20), "finite"),
    "mfcc": (lambda y: ak.mfcc(y, sr=SR, n_fft=256, hop_length=64, n_mels=20, n_mfcc=8), "finite"),
    "fbank": (lambda y: ak.fbank(y, sample_frequency=SR, num_mel_bins=15), "finite"),
    "kaldi_mfcc": (lambda y: ak.kaldi_mfcc(y, sample_frequency=SR, num_mel_bins=15), "finite"),
    "cochleagram": (lambda y: ak.cochleagram(y, sr=SR, n_channels=8), "finite"),
    "resample": (lambda y: ak.resample(y, orig_sr=SR, target_sr=11025), "finite"),
    "rms": (lambda y: ak.rms(y, frame_length=256, hop_length=64), "finite"),
    "zero_crossing_rate": (lambda y: ak.zero_crossing_rate(y, frame_length=256, hop_length=64), "finite"),
    "spectral_centroid": (lambda y: ak.spectral_centroid(y, sr=SR, n_fft=256, hop_length=64), "finite"),
    "spectral_bandwidth": (lambda y: ak.spectral_bandwidth(y, sr=SR, n_fft=256, hop_length=64), "finite"),
    "spectral_rolloff": (lambda y: ak.spectral_rolloff(y, sr=SR, n_fft=256, hop_length=64), "finite"),
    "spectral_flatness": (lambda y: ak.spectral_flatness(y, n_fft=256, hop_length=64), "finite"),
    "spectral_contrast": (lambda y: ak.spectral_contrast(y, sr=SR, n_fft=256, hop_length=64, n_bands=3), "finite"),
    "spectral_flux": (lambda y: ak.spectral_flux(y, n_fft=256, hop_length=64), "finite"),
    "spectral_slope": (lambda y: ak.spectral_slope(y, sr=SR, n_fft=256, hop_length=64), "finite"),
    "egemaps_lld": (lambda y: ak.egemaps_lld(y, sr=16000), "finite"),
    # NaN is how the Praat measures say "unvoiced" / "undefined" (documented).
    "pitch": (lambda y: ak.pitch(y, sr=SR), "nan"),
    "pitch_cc": (lambda y: ak.pitch(y, sr=SR, method="cc"), "nan"),
    "harmonicity": (lambda y: ak.harmonicity(y, sr=SR), "nan"),
    "formants": (lambda y: ak.formants(y, sr=SR, maximum_formant=3500.0), "nan"),
    "point_process": (lambda y: ak.point_process(y, sr=SR), "nan"),
    "voice_report": (lambda y: ak.voice_report(y, sr=SR), "nan"),
    "pyin": (lambda y: ak.pyin(y, sr=SR, fmin=80.0, fmax=400.0, frame_length=512), "nan"),
    # the same odd arrays as spectrograms, feature matrices and batches
    "amplitude_to_db": (lambda S: ak.amplitude_to_db(S), "finite"),
    "power_to_db": (lambda S: ak.power_to_db(S), "finite"),
    "delta": (lambda data: ak.delta(data, width=3), "finite"),
    "istft": (lambda S: ak.istft(S, n_fft=2 * (S.shape[-2] - 1) if getattr(S, "ndim", 0) >= 2 else 256), "finite"),
    "pad_batch": (lambda items: ak.pad_batch(items), "as given"),
}


TAKE_SIGNALS = set(CALLS) - {"amplitude_to_db", "power_to_db", "delta", "istft", "pad_batch"}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_any_signal_gives_a_clean_result_or_a_clear_error(name: str) -> None:
    call, values = CALLS[name]
    function = getattr(ak, name.split("_cc")[0])

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(y=signals())
    def check(y: Any) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # undefined measures warn; that is not under test
                result = call(y)
        except (ValueError, TypeError) as error:
            assert argument_named(error, function), f"{type(error).__name__} names no argument: {error}"
            return
        arrays = arrays_in(result)
        assert arrays or n_signals(y) == 0, f"no arrays in the result {type(result)}"
        for a in arrays:
            if a.dtype.kind in "fc" and values != "as given":
                assert not np.isinf(a).any(), "Inf in the result"
                assert values == "nan" or not np.isnan(a).any(), "NaN in the result"
        if name in TAKE_SIGNALS:  # (signals are batched along the first axis; spectrograms are not)
            if isinstance(result, list):
                assert len(result) == n_signals(y)
            elif isinstance(result, np.ndarray) and isinstance(y, np.ndarray) and y.ndim >= 2:
                assert result.shape[0] == y.shape[0]

    check()
