"""openSMILE's eGeMAPSv02 energy/spectral LLDs against openSMILE itself (the opensmile
package, eGeMAPSv02, LowLevelDescriptors; equivalentSoundLevel_dBp from Functionals).

What the reference sees: ``Smile.process_signal`` hands openSMILE ``int16(y * 32768)``
(truncated), read back as ``/ 32767``; we feed ``egemaps_lld`` those same samples
(``pcm``). Rows: the same count as openSMILE's table, row by row (no offset).

Achieved agreement over every signal here (float64 and float32 input alike): the largest
|ours - openSMILE|, that over openSMILE's peak |value| in the clip, 1 - the lowest
correlation, and the tolerance the tests hold (on diff / peak):

    LLD                   max abs diff   diff / peak   1 - corr   tolerance
    Loudness              7.2e-7         2.6e-7        4.8e-12    1e-6
    alphaRatio            1.1e-5 dB      2.6e-7        2.5e-13    1e-6
    hammarbergIndex       5.5e-5 dB      9.9e-7        2.0e-13    5e-6
    slope0-500            9.1e-6 dB/Hz   6.8e-5        1.6e-10    1e-4
    slope500-1500         2.3e-7 dB/Hz   3.8e-6        4.4e-13    1e-5
    spectralFlux          7.2e-7         2.6e-7        2.1e-13    1e-6
    mfcc1-4               7.1e-5         4.2e-6        1.7e-11    1e-5
    equivalentSoundLevel  2.6e-6 dB                               1e-5 dB

openSMILE works in float32 (its data memory); we run the FFT in the input's precision
and every reduction in float64: that is the whole difference. It is largest for
slope0-500 on float64 input in a frame with a deep spectral null below 500 Hz (a bin
90 dB under the frame's peak, at an espeak onset), where float32 FFT rounding moves
that bin's dB value (float32 input: 3.9e-7 there).
"""

import warnings

import numpy as np
import pytest

import affectkit as ak
from affectkit.features.egemaps import EGEMAPS_LLD_NAMES, egemaps_lld

from speech import espeak, human_voices

opensmile = pytest.importorskip("opensmile")

TOLERANCE = {
    "Loudness_sma3": 1e-6, "alphaRatio_sma3": 1e-6, "hammarbergIndex_sma3": 5e-6,
    "slope0-500_sma3": 1e-4, "slope500-1500_sma3": 1e-5, "spectralFlux_sma3": 1e-6,
    "mfcc1_sma3": 1e-5, "mfcc2_sma3": 1e-5, "mfcc3_sma3": 1e-5, "mfcc4_sma3": 1e-5,
}
LEQ_TOLERANCE_DB = 1e-5


@pytest.fixture(scope="module")
def smile():
    kw = dict(feature_set=opensmile.FeatureSet.eGeMAPSv02)
    return (opensmile.Smile(feature_level=opensmile.FeatureLevel.LowLevelDescriptors, **kw),
            opensmile.Smile(feature_level=opensmile.FeatureLevel.Functionals, **kw))


def pcm(y):
    """The samples openSMILE gets from opensmile's process_signal."""
    return np.trunc(np.asarray(y, np.float32) * 32768).astype(np.float64) / 32767


def reference(smile, y, sr):
    lld, functionals = smile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = lld.process_signal(np.asarray(y, np.float32), sr)
        leq = functionals.process_signal(np.asarray(y, np.float32), sr)["equivalentSoundLevel_dBp"].values[0]
    return table, leq


def assert_matches(smile, y, sr, dtype=np.float64):
    table, leq = reference(smile, y, sr)
    ours = egemaps_lld(pcm(y).astype(dtype), sr=sr)
    assert set(ours) == set(EGEMAPS_LLD_NAMES) | {"equivalentSoundLevel_dBp"}
    for name in EGEMAPS_LLD_NAMES:
        expected = table[name].to_numpy(np.float64)
        actual = ours[name]
        assert actual.dtype == dtype and actual.shape == expected.shape, name
        error = np.max(np.abs(actual - expected)) / (np.max(np.abs(expected)) or 1.0)  # all-zero: absolute
        assert error < TOLERANCE[name], (name, error)
        if np.std(expected) > 0:
            assert np.corrcoef(actual, expected)[0, 1] > 1 - 1e-9, name
    assert abs(ours["equivalentSoundLevel_dBp"] - leq) < LEQ_TOLERANCE_DB


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("vowel", list("aeiou"))
def test_synthetic_voices_match_opensmile(smile, vowel, dtype):
    """Voices with F0 glides, jitter, shimmer, noise and pauses."""
    v = ak.synthetic_voice(sr=16000, duration=2.0, f0=(100, 220), vowel=vowel, jitter=0.01, shimmer=0.05,
                           snr_db=20, voiced=[(0.2, 0.9), (1.1, 1.8)], seed=ord(vowel))
    assert_matches(smile, v.y, 16000, dtype)


def test_digital_silence_matches_opensmile(smile):
    """Exact zeros between the voiced parts: openSMILE's fallbacks (ratios and MFCCs 0,
    loudness at its floor, slopes of a flat -140 dB spectrum)."""
    v = ak.synthetic_voice(sr=16000, duration=1.5, f0=150, vowel="a", voiced=[(0.3, 1.0)])
    assert_matches(smile, v.y, 16000)
    assert_matches(smile, np.zeros(8000), 16000)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_noise_matches_opensmile(smile, dtype):
    assert_matches(smile, 0.1 * np.random.default_rng(0).standard_normal(32000), 16000, dtype)


@pytest.mark.parametrize("sr", [8000, 11025, 22050, 44100])
def test_other_sample_rates_match_opensmile(smile, sr):
    """22050 and 11025 Hz exercise cFramer's rounding (220.5 -> 221 samples)."""
    v = ak.synthetic_voice(sr=sr, duration=1.0, f0=130, vowel="o", snr_db=25)
    assert_matches(smile, v.y, sr)


def test_human_voices_match_opensmile(smile):
    """alsa-utils' recordings at their own 48 kHz (openSMILE analyses any rate as it is:
    960-sample frames, a 1024-point FFT) and resampled to 16 kHz."""
    for name, y, sr in human_voices():
        assert sr == 48000, name
        assert_matches(smile, y, sr)
        assert_matches(smile, ak.resample(y, orig_sr=sr, target_sr=16000), 16000)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_espeak_matches_opensmile(smile, dtype):
    y, sr = espeak("The quick brown fox jumps over the lazy dog. How are you today?")
    assert_matches(smile, y, sr, dtype)


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 48000])
def test_row_count_equals_opensmiles(smile, sr):
    """openSMILE's rows come from its 60 ms F0 frames: (n - round(0.06 sr)) // hop + 2."""
    rng = np.random.default_rng(sr)
    hop, pitch_frame = round(0.010 * sr + 1e-9), round(0.060 * sr + 1e-9)
    for n in (pitch_frame, pitch_frame + hop - 1, pitch_frame + hop, sr, 3 * sr + 7):
        table, _ = reference(smile, 0.1 * rng.standard_normal(n), sr)
        rows = len(egemaps_lld(0.1 * rng.standard_normal(n), sr=sr)["Loudness_sma3"])
        assert rows == len(table) == (n - pitch_frame) // hop + 2, n


def test_unquantised_input_differs_from_the_package_by_its_pcm_conversion(smile):
    """The package's int16 truncation (each sample shrinks towards zero by up to one
    step) and its / 32767 read-back move levels by about a thousandth of a dB on this
    noise; egemaps_lld(y) is openSMILE's computation on the float samples as given."""
    y = 0.1 * np.random.default_rng(1).standard_normal(32000)
    _, leq = reference(smile, y, 16000)
    assert abs(egemaps_lld(pcm(y), sr=16000)["equivalentSoundLevel_dBp"] - leq) < LEQ_TOLERANCE_DB
    assert 1e-4 < abs(egemaps_lld(y, sr=16000)["equivalentSoundLevel_dBp"] - leq) < 1e-2


def test_batches_lists_and_threads_agree():
    rng = np.random.default_rng(2)
    clips = [0.1 * rng.standard_normal(n) for n in (16000, 9000, 24000)]
    listed = egemaps_lld(clips, sr=16000, num_threads=1)
    assert isinstance(listed, list) and len(listed) == 3
    for clip, result in zip(clips, listed):
        alone = egemaps_lld(clip, sr=16000, num_threads=4)
        for name in EGEMAPS_LLD_NAMES:
            np.testing.assert_array_equal(result[name], alone[name])
        assert result["equivalentSoundLevel_dBp"] == alone["equivalentSoundLevel_dBp"]
    batch = np.stack([clips[0], clips[2][:16000]]).reshape(2, 1, 16000).astype(np.float32)
    stacked = egemaps_lld(batch, sr=16000)
    assert stacked["mfcc1_sma3"].shape == (2, 1, 96) and stacked["mfcc1_sma3"].dtype == np.float32
    assert stacked["equivalentSoundLevel_dBp"].shape == (2, 1)
    np.testing.assert_array_equal(stacked["Loudness_sma3"][1, 0], egemaps_lld(batch[1, 0], sr=16000)["Loudness_sma3"])
    assert egemaps_lld([], sr=16000) == []


Y = 0.1 * np.random.default_rng(3).standard_normal(8000)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda: egemaps_lld(np.where(np.arange(8000) == 77, np.nan, Y), sr=16000), ValueError, "y"),
        (lambda: egemaps_lld(np.where(np.arange(8000) == 7, np.inf, Y).astype(np.float32), sr=16000), ValueError, "y"),
        (lambda: egemaps_lld((Y * 32767).astype(np.int16), sr=16000), TypeError, "y"),
        (lambda: egemaps_lld(Y.astype(np.float16), sr=16000), TypeError, "y"),
        (lambda: egemaps_lld([Y, Y.astype(np.float32)], sr=16000), TypeError, "y"),
        (lambda: egemaps_lld(Y[:959], sr=16000), ValueError, "y"),  # shorter than one 60 ms frame
        (lambda: egemaps_lld([Y, Y[:100]], sr=16000), ValueError, "y"),
        (lambda: egemaps_lld("audio", sr=16000), TypeError, "y"),
        (lambda: egemaps_lld(Y, sr=4000), ValueError, "sr"),
        (lambda: egemaps_lld(Y, sr=0), ValueError, "sr"),
        (lambda: egemaps_lld(Y, sr=-16000), ValueError, "sr"),
        (lambda: egemaps_lld(Y, sr=np.nan), ValueError, "sr"),
        (lambda: egemaps_lld(Y, sr=1e9), ValueError, "sr"),
        (lambda: egemaps_lld(Y, sr="16000"), TypeError, "sr"),
        (lambda: egemaps_lld(Y, sr=None), TypeError, "sr"),
        (lambda: egemaps_lld([], sr=100), ValueError, "sr"),
        (lambda: egemaps_lld(Y, sr=16000, num_threads=0), ValueError, "num_threads"),
    ],
)
def test_bad_input_names_the_argument(call, error, argument):
    with pytest.raises(error, match=f"'{argument}'"):
        call()
