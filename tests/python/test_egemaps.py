"""ak.egemaps: openSMILE's eGeMAPSv02 functionals, against openSMILE itself (the
opensmile package, eGeMAPSv02, Functionals).

Two kinds of comparison:

- The functionals alone: openSMILE's own per-frame LLDs, read from its internal levels
  (``egemapsv02_lldsetE``: the energy/spectral LLDs before smoothing; ``egemapsv02_lldsetF``:
  F0 and the voice LLDs before smoothing), go through our functionals and must give its
  functionals: to 1e-4 relative (1e-6 absolute) for every column on these clips (the
  unvoiced (UV) spectral means of the generated voices, which end unvoiced, included:
  measured 1e-7).
- The voice LLDs (core) against openSMILE's unsmoothed voice level, and the F0 against
  its NumPy twin (egemaps_voice_ref.py).
- ak.egemaps end to end: the columns computed from the energy/spectral LLDs only (which
  equal openSMILE's) to 1e-3 relative; all columns by correlation across clips.
"""

import os
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import affectkit as ak
from affectkit.features import _egemaps_functionals as F

from speech import espeak, human_voices

opensmile = pytest.importorskip("opensmile")
pd = pytest.importorskip("pandas")

CONFIG = os.path.join(os.path.dirname(opensmile.__file__), "core", "config", "egemaps", "v02", "eGeMAPSv02.conf")
SPECTRAL_ONLY = ([n for n in F.FUNCTIONAL_NAMES if n.startswith(("loudness_sma3", "spectralFlux_sma3", "mfcc"))
                  and "V_" not in n] + ["loudnessPeaksPerSec", "equivalentSoundLevel_dBp"])


def pcm(y):
    """The samples openSMILE gets from opensmile's process_signal."""
    return np.trunc(np.asarray(y, np.float32) * 32768).astype(np.float64) / 32767


def quiet(call, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args)


@pytest.fixture(scope="module")
def smile():
    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals)


def opensmile_level(y, sr, level):
    """One of openSMILE's internal levels while it computes eGeMAPSv02, (fields, frames)."""
    smile = opensmile.Smile(feature_set=CONFIG, feature_level=level)
    return quiet(smile.process_signal, np.asarray(y, np.float32), sr).to_numpy(np.float64).T


def voice(seed=1, **kw):
    args = dict(sr=16000, duration=2.0, f0=(100, 220), vowel="a", jitter=0.01, shimmer=0.05, snr_db=20,
                voiced=[(0.2, 0.9), (1.1, 1.8)], seed=seed)
    args.update(kw)
    return ak.synthetic_voice(**args).y


def assert_functionals_match(smile, y, sr):
    spectral = opensmile_level(y, sr, "egemapsv02_lldsetE")
    lld = opensmile_level(y, sr, "egemapsv02_lldsetF")
    expected = quiet(smile.process_signal, np.asarray(y, np.float32), sr)
    ours = F.functionals(spectral, lld[0], lld[1:], expected["equivalentSoundLevel_dBp"].values[0], 0.010)
    assert list(ours) == list(expected.columns)
    for name, value in ours.items():
        np.testing.assert_allclose(value, expected[name].values[0], rtol=1e-4, atol=1e-6, err_msg=name)


def test_functionals_of_opensmiles_llds_are_opensmiles_functionals(smile):
    for seed in (1, 2, 3, 4):  # unvoiced at the end: the smoother's last frame counts
        assert_functionals_match(smile, voice(seed=seed), 16000)
    y, sr = espeak("The quick brown fox jumps over the lazy dog. How are you today?")
    assert_functionals_match(smile, y, sr)  # 22050 Hz
    assert_functionals_match(smile, ak.resample(y, orig_sr=sr, target_sr=16000), 16000)


def test_column_names_are_opensmiles(smile):
    assert ak.EGEMAPS_NAMES == tuple(smile.feature_names)
    assert len(ak.EGEMAPS_NAMES) == 88


def test_spectral_columns_match_opensmile(smile):
    """The functionals of the energy/spectral LLDs, which equal openSMILE's LLDs."""
    clips = [voice(seed=s, vowel=v) for s, v in zip(range(3), "aio")]
    y, sr = espeak("Please call Stella and ask her to bring these things.")
    clips.append(ak.resample(y, orig_sr=sr, target_sr=16000))
    ours = ak.egemaps([pcm(c) for c in clips], sr=16000)
    for i, clip in enumerate(clips):
        expected = quiet(smile.process_signal, np.asarray(clip, np.float32), 16000)
        for name in SPECTRAL_ONLY:
            np.testing.assert_allclose(ours[name][i], expected[name].values[0], rtol=1e-3, atol=1e-6, err_msg=name)


def test_agreement_across_clips(smile):
    """Correlation across clips with opensmile: the issue's goal is 70 of 88 columns at
    >= 0.9; this set reaches 87, the larger one of benchmarks/compare_egemaps.py all 88
    (docs/egemaps.md has the table)."""
    rng = np.random.default_rng(5)
    clips = []
    for i in range(14):
        lo = rng.uniform(80, 220)
        start = rng.uniform(0.05, 0.4)
        clips.append(voice(seed=i, f0=(lo, lo * rng.uniform(0.7, 1.6)), vowel="aeiou"[i % 5],
                           jitter=rng.uniform(0, 0.03), shimmer=rng.uniform(0, 0.12), snr_db=rng.uniform(10, 40),
                           voiced=[(start, start + rng.uniform(0.4, 0.8)), (1.2, 1.2 + rng.uniform(0.2, 0.7))]))
    for pitch, text in ((30, "How are you today?"), (70, "Seven slow seals swam south.")):
        y, sr = espeak(text, pitch=pitch)
        clips.append(ak.resample(y, orig_sr=sr, target_sr=16000))
    ours = ak.egemaps([pcm(c) for c in clips], sr=16000)
    expected = pd.concat([quiet(smile.process_signal, np.asarray(c, np.float32), 16000) for c in clips])
    good = []
    for name in ak.EGEMAPS_NAMES:
        a, b = ours[name].to_numpy(np.float64), expected[name].to_numpy(np.float64)
        if np.all(np.isfinite(a)) and np.std(a) > 0 and np.std(b) > 0 and np.corrcoef(a, b)[0, 1] >= 0.9:
            good.append(name)
    assert set(SPECTRAL_ONLY) <= set(good)
    assert all(name in good for name in ak.EGEMAPS_NAMES if name.startswith("F0") or "V_" in name or "Segment" in name)
    # Formant bandwidths are the most fragile columns (docs/egemaps.md): on these 16 clips
    # F2bandwidth's stddevNorm correlates at just under 0.9.
    assert len(good) >= 85, sorted(set(ak.EGEMAPS_NAMES) - set(good))
    assert all(name in good for name in ak.EGEMAPS_NAMES if "bandwidth" not in name)


def test_table_types_batches_and_dtypes(monkeypatch):
    y = voice()
    table = ak.egemaps(y, sr=16000)
    assert isinstance(table, pd.DataFrame) and table.shape == (1, 88)
    assert list(table.columns) == list(ak.EGEMAPS_NAMES)
    batch = ak.egemaps(np.stack([y, y[::-1].copy()]).astype(np.float32), sr=16000)
    assert batch.shape == (2, 88) and batch.dtypes.iloc[0] == np.float32
    listed = ak.egemaps([y, y[:8000]], sr=16000, num_threads=1)
    pd.testing.assert_series_equal(listed.iloc[0], table.iloc[0], check_names=False)
    pd.testing.assert_series_equal(listed.iloc[1], ak.egemaps(y[:8000], sr=16000).iloc[0], check_names=False)
    assert ak.egemaps([], sr=16000).shape == (0, 88)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    array = ak.egemaps(y, sr=16000)
    assert isinstance(array, np.ndarray) and array.dtype.names == ak.EGEMAPS_NAMES and array.shape == (1,)
    assert array["loudness_sma3_amean"][0] == pytest.approx(table["loudness_sma3_amean"][0])


def test_every_column_is_finite():
    assert np.isfinite(ak.egemaps(voice(), sr=16000).to_numpy()).all()


@pytest.mark.parametrize("y", [np.zeros(16000), np.full(16000, 0.5), np.zeros(960)], ids=["silence", "dc", "60ms"])
def test_silence_and_dc_have_no_voiced_frames(y):
    table = ak.egemaps(y, sr=16000)
    assert np.isfinite(table.to_numpy()).all()
    for name in ("F0semitoneFrom27.5Hz_sma3nz_amean", "VoicedSegmentsPerSec", "mfcc1V_sma3nz_amean"):
        assert table[name][0] == 0.0


Y = voice()[:8000]


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda: ak.egemaps(Y[:959], sr=16000), ValueError, "y"),
        (lambda: ak.egemaps(np.where(np.arange(8000) == 5, np.nan, Y), sr=16000), ValueError, "y"),
        (lambda: ak.egemaps(Y.astype(np.float16), sr=16000), TypeError, "y"),
        (lambda: ak.egemaps((Y * 1000).astype(np.int16), sr=16000), TypeError, "y"),
        (lambda: ak.egemaps("audio", sr=16000), TypeError, "y"),
        (lambda: ak.egemaps(Y, sr=4000), ValueError, "sr"),
        (lambda: ak.egemaps(Y, sr=np.nan), ValueError, "sr"),
        (lambda: ak.egemaps(Y, sr="16000"), TypeError, "sr"),
        (lambda: ak.egemaps([], sr=100), ValueError, "sr"),
        (lambda: ak.egemaps(Y, sr=16000, num_threads=0), ValueError, "num_threads"),
    ],
)
def test_bad_input_names_the_argument(call, error, argument):
    with pytest.raises(error, match=f"'{argument}'"):
        call()


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 4000),
    kind=st.sampled_from(["noise", "tone", "square", "silence", "dc", "huge", "tiny", "nan"]),
    sr=st.sampled_from([8000, 11025, 16000, 3000]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_fuzz(n, kind, sr, dtype, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    y = {"noise": 0.3 * rng.standard_normal(n), "tone": 0.5 * np.sin(2 * np.pi * 150 * t),
         "square": np.sign(np.sin(2 * np.pi * 120 * t)), "silence": np.zeros(n), "dc": np.full(n, -0.7),
         "huge": 1e30 * rng.standard_normal(n), "tiny": 1e-30 * rng.standard_normal(n),
         "nan": np.where(np.arange(n) == n // 2, np.nan, 0.1)}[kind].astype(dtype)
    try:
        table = ak.egemaps(y, sr=sr)
    except (ValueError, TypeError):
        return
    assert table.shape == (1, 88)
    assert np.isfinite(table.to_numpy()).all()


def test_voice_llds_are_opensmiles(smile):
    """egemaps_voice's 15 voice LLDs against openSMILE's unsmoothed voice level
    (egemapsv02_lldsetF). F0 (SHS + Viterbi), jitterLocal, shimmerLocaldB, HNRdBACF and
    logRelF0-H1-H2 on every frame: the same voicing, F0 semitones and H1-H2 within 1e-3 (measured: 4.3e-5 and 4.2e-5 dB), HNR
    within 2e-3 dB (measured 1.7e-3 on one 22.05 kHz frame, 2e-5 elsewhere), jitter
    within 1e-6 (measured 1.2e-8) and shimmer within 1e-5 dB (measured 4.9e-7)."""
    from affectkit import _core
    y, sr = espeak("The quick brown fox jumps over the lazy dog.", pitch=20)
    clips = [(voice(), 16000), (y, sr), (ak.resample(y, orig_sr=sr, target_sr=16000), 16000)]
    clips += [(y, sr) for _, y, sr in human_voices()[:1]]
    for y, sr in clips:
        expected = opensmile_level(y, sr, "egemapsv02_lldsetF")
        ours = _core.egemaps_voice([pcm(y)], float(sr), 1)[0]
        assert ours[0].shape == expected[0].shape
        np.testing.assert_array_equal(ours[0] > 0, expected[0] > 0)
        np.testing.assert_allclose(ours[0], expected[0], atol=1e-3, rtol=0)
        np.testing.assert_allclose(ours[1], expected[1], atol=1e-6, rtol=0)  # jitterLocal
        np.testing.assert_allclose(ours[2], expected[2], atol=1e-5, rtol=0)  # shimmerLocaldB
        np.testing.assert_allclose(ours[3], expected[3], atol=2e-3, rtol=0)  # HNRdBACF
        np.testing.assert_allclose(ours[4], expected[4], atol=1e-3, rtol=0)  # logRelF0-H1-H2
        # H1-A3 and the formant amplitudes: openSMILE's on >= 95% of voiced frames (measured
        # 98-100%; the rest follow a formant that moved, below). Formant frequencies and
        # bandwidths: median relative error < 1e-3 (measured 4e-6 to 4e-4) and >= 85% of
        # voiced frames within 1% (measured 90-100%): openSMILE solves an ill-conditioned
        # float32 LPC, where float rounding moves roots.
        voiced = expected[0] > 0
        for row in (5, 8, 11, 14):
            assert np.mean(np.abs(ours[row] - expected[row])[voiced] < 1e-3) >= 0.95, row
        for row in (6, 7, 9, 10, 12, 13):
            relative = (np.abs(ours[row] - expected[row]) / np.maximum(np.abs(expected[row]), 1.0))[voiced]
            assert np.median(relative) < 1e-3 and np.mean(relative < 0.01) >= 0.85, row


def test_voice_llds_at_11025_hz_are_opensmiles():
    """At 11025 Hz a 60 ms frame is 661.5 samples (cFramer makes it 662), but openSMILE's
    bins stay 1 / 60 ms apart after zero padding (its configured frame size, not 662 / sr),
    its jitter reads ceil(110.25) = 111 new samples per 110-sample frame step, and its
    formants take cSpecResample's target rate 11000 Hz (not the 10975 Hz of its rounded
    220-sample frames). With those, F0 (the same voicing, within 1e-3 semitones; measured 3.6e-6), jitter (1e-6;
    measured 7e-8), shimmer (1e-5 dB; measured 1.8e-6), HNR (2e-3 dB; measured 4.8e-6),
    H1-H2 (1e-3 dB; measured 3.5e-6), and H1-A3 and the formant amplitudes (within 1e-3
    on >= 95% of voiced frames; measured 97-98%) are openSMILE's, and the formant
    frequencies and bandwidths agree as at other rates (median relative < 1e-3, >= 85%
    of voiced frames within 1%)."""
    from affectkit import _core
    y, sr = espeak("The quick brown fox jumps over the lazy dog.", pitch=20)
    y = ak.resample(y, orig_sr=sr, target_sr=11025)
    expected = opensmile_level(y, 11025, "egemapsv02_lldsetF")
    ours = _core.egemaps_voice([pcm(y)], 11025.0, 1)[0]
    voiced = expected[0] > 0
    assert voiced.sum() > 100
    np.testing.assert_array_equal(ours[0] > 0, voiced)
    np.testing.assert_allclose(ours[0], expected[0], atol=1e-3, rtol=0)
    np.testing.assert_allclose(ours[1], expected[1], atol=1e-6, rtol=0)  # jitterLocal
    np.testing.assert_allclose(ours[2], expected[2], atol=1e-5, rtol=0)  # shimmerLocaldB
    np.testing.assert_allclose(ours[3], expected[3], atol=2e-3, rtol=0)  # HNRdBACF
    np.testing.assert_allclose(ours[4], expected[4], atol=1e-3, rtol=0)  # logRelF0-H1-H2
    for row in (5, 8, 11, 14):
        assert np.mean(np.abs(ours[row] - expected[row])[voiced] < 1e-3) >= 0.95, row
    for row in (6, 7, 9, 10, 12, 13):  # formant frequencies and bandwidths, as at other rates
        relative = (np.abs(ours[row] - expected[row]) / np.maximum(np.abs(expected[row]), 1.0))[voiced]
        assert np.median(relative) < 1e-3 and np.mean(relative < 0.01) >= 0.85, row


def test_f0_kernel_equals_its_numpy_reference():
    from affectkit import _core
    from egemaps_voice_ref import f0_semitones
    y, sr = espeak("Seven slow seals swam south.", pitch=70)
    for clip, rate in ((voice(seed=3, vowel="u"), 16000), (y, sr), (ak.resample(y, orig_sr=sr, target_sr=11025), 11025)):
        ours = _core.egemaps_voice([clip], float(rate), 1)[0][0]
        np.testing.assert_allclose(ours, f0_semitones(clip, rate), atol=1e-6, rtol=0)
