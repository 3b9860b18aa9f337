"""Fuzzing the prosody functions: any signal and any parameters give a result of the
documented shape, or a ValueError/TypeError whose message names an argument; never a
crash, a hang or a non-finite value where a number is promised."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import affectkit as ak

NAMED = re.compile(r"invalid argument '\w+'")

signals = st.builds(
    lambda n, kind, seed, scale: {
        "noise": lambda: np.random.default_rng(seed).standard_normal(n) * scale,
        "silence": lambda: np.zeros(n),
        "dc": lambda: np.full(n, scale),
        "clipped": lambda: np.clip(np.random.default_rng(seed).standard_normal(n) * 10, -scale, scale),
        "voice": lambda: ak.synthetic_voice(sr=8000, duration=max(n, 1) / 8000, seed=seed).y[:n] * scale,
    }[kind](),
    st.integers(0, 6000), st.sampled_from(["noise", "silence", "dc", "clipped", "voice"]),
    st.integers(0, 1000), st.sampled_from([1e-6, 0.3, 1.0, 1e4]))

fuzz = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(call):
    """call() or a named ValueError/TypeError; warnings (short clips, no voicing) allowed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except (ValueError, TypeError) as error:
        assert NAMED.search(str(error)), str(error)
        return None


@fuzz
@given(y=signals, sr=st.sampled_from([4000, 8000, 16000, 44100]), floor=st.floats(20, 600),
       ceiling_ratio=st.floats(0.5, 20), method=st.sampled_from(["ac", "cc"]), accurate=st.booleans(),
       step=st.sampled_from([0.0, 0.001, 0.01, 0.3]))
def test_pitch_and_harmonicity(y, sr, floor, ceiling_ratio, method, accurate, step):
    track = run(lambda: ak.pitch(y, sr=sr, pitch_floor=floor, pitch_ceiling=floor * ceiling_ratio, method=method,
                                 very_accurate=accurate, time_step=step))
    if track is not None:
        assert track.f0.shape == track.strength.shape == track.times.shape
        voiced = track.f0[~np.isnan(track.f0)]
        assert np.all((voiced > 0) & (voiced <= sr / 2)) and np.all(np.isfinite(track.strength))
    hnr = run(lambda: ak.harmonicity(y, sr=sr, minimum_pitch=floor, method=method))
    if hnr is not None:
        assert hnr.hnr.shape == hnr.times.shape and not np.any(np.isinf(hnr.hnr))


@fuzz
@given(y=signals, sr=st.sampled_from([4000, 8000, 16000, 44100]), formants=st.floats(1, 8),
       ceiling=st.floats(500, 12000), window=st.floats(0.002, 0.1))
def test_formants(y, sr, formants, ceiling, window):
    track = run(lambda: ak.formants(y, sr=sr, max_number_of_formants=formants, maximum_formant=ceiling,
                                    window_length=window))
    if track is not None:
        assert track.frequencies.shape == track.bandwidths.shape
        found = track.frequencies[~np.isnan(track.frequencies)]
        assert np.all((found > 0) & np.isfinite(found))


@fuzz
@given(y=signals, sr=st.sampled_from([8000, 16000]), floor=st.floats(40, 300))
def test_voice_report(y, sr, floor):
    report = run(lambda: ak.voice_report(y, sr=sr, pitch_floor=floor, pitch_ceiling=floor * 8))
    if report is not None:
        assert set(ak.VOICE_REPORT_MEASURES) <= set(report)
        assert all(np.isnan(v) or np.isfinite(v) for v in (report[k] for k in ak.VOICE_REPORT_MEASURES))


@fuzz
@given(y=signals, sr=st.sampled_from([8000, 16000, 22050]), fmin=st.floats(30, 400), ratio=st.floats(1.01, 10),
       frame=st.sampled_from([256, 512, 1024, 2048]))
def test_pyin(y, sr, fmin, ratio, frame):
    track = run(lambda: ak.pyin(y, sr=sr, fmin=fmin, fmax=fmin * ratio, frame_length=frame))
    if track is not None:
        f0, voiced, probability = track
        assert f0.shape == voiced.shape == probability.shape
        assert np.all((probability >= 0) & (probability <= 1))


@fuzz
@given(c=st.lists(st.one_of(st.floats(1e-3, 1e3), st.floats(-1e3, -1e-3), st.just(0.0)), min_size=0, max_size=41))
@example(c=[0.0, 0.0, -961.47667373867, 0.0, 0.0, 0.0, 0.0, -279.4149895053703, 213.38146842791107, -790.9552100066876,
            -855.9985285031717, 0.0, 1 / 3])  # a double root at 0: a 2 x 2 block's second root was -1
def test_polynomial_roots(c):
    """Coefficients of 1e-3 to 1e3 in size or zero (so that no root overflows): degree roots
    that are roots (Praat's root finder behind formants),
    or a named ValueError (no coefficients, a zero leading one)."""
    from affectkit import _core

    roots = run(lambda: _core.polynomial_roots(np.array(c, dtype=np.float64)))
    if roots is not None:
        c = np.array(c)
        assert roots.shape == (len(c) - 1,) and np.all(np.isfinite(roots))
        scale = np.array([np.sum(np.abs(c) * max(1.0, abs(z)) ** np.arange(len(c))) for z in roots])
        assert np.all(np.abs(np.polynomial.polynomial.polyval(roots, c)) <= 1e-6 * scale)
