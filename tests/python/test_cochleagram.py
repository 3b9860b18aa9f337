"""Cochleagram against the `gammatone` package (Slaney's filterbank in Python) and
against the filters' analytic frequency response."""

import numpy as np
import pytest

import affectkit as ak

gammatone = pytest.importorskip("gammatone.filters")


def reference_envelopes(y, sr, n_channels, fmin, fmax, win, hop):
    """gammatone's erb_filterbank + the RMS framing of its gtgram, channels ascending."""
    cfs = gammatone.centre_freqs(sr, n_channels, fmin, fmax)
    out = gammatone.erb_filterbank(np.asarray(y, np.float64), gammatone.make_erb_filters(sr, cfs))
    frames = 1 + (out.shape[1] - win) // hop
    env = np.stack([np.sqrt(np.mean(out[:, f * hop : f * hop + win] ** 2, axis=1)) for f in range(frames)], axis=1)
    return env[::-1], cfs[::-1]


def test_centre_frequencies_and_coefficients_equal_gammatone():
    cfs = ak.erb_frequencies(32, fmin=50.0, fmax=8000.0)
    np.testing.assert_allclose(cfs, gammatone.centre_freqs(16000, 32, 50.0, 8000.0)[::-1], rtol=1e-12)
    np.testing.assert_allclose(ak.gammatone_coefficients(16000, cfs), gammatone.make_erb_filters(16000, cfs), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sr, f0", [(16000, 440.0), (16000, 2500.0), (44100, 150.0), (8000, 1000.0)])
def test_tones_match_gammatone(dtype, sr, f0):
    """Same channel of maximum response and the same relative magnitudes."""
    t = np.arange(int(0.5 * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * f0 * t)).astype(dtype)
    win, hop = int(0.025 * sr), int(0.010 * sr)
    ours = ak.cochleagram(y, sr=sr, n_channels=40, fmin=50.0, win_length=win, hop_length=hop)
    expected, cfs = reference_envelopes(y, sr, 40, 50.0, sr / 2, win, hop)
    assert ours.shape == expected.shape and ours.dtype == dtype
    assert np.argmax(ours[:, -1]) == np.argmax(expected[:, -1])
    assert abs(cfs[np.argmax(ours[:, -1])] - f0) / f0 < 0.15  # the best channel sits at the tone
    np.testing.assert_allclose(ours, expected, rtol=1e-4 if dtype == np.float32 else 1e-9, atol=1e-7 * expected.max())


def test_unit_gain_at_centre_frequency_and_erb_bandwidth():
    """Slaney's gain makes |H(cf)| = 1; one bandwidth b = 1.019 ERB above cf the
    4th-order gammatone's magnitude is |1 + j|^-4 = 1/4 (-12 dB). Measured as the RMS
    of a steady 1 s tone (a unit sine has RMS 1/sqrt(2))."""
    sr = 16000
    cfs = ak.erb_frequencies(8, fmin=200.0, fmax=6000.0)
    t = np.arange(2 * sr) / sr
    kw = dict(sr=sr, n_channels=8, fmin=200.0, fmax=6000.0, win_length=sr, hop_length=sr)  # 1 s frames
    for i, cf in enumerate(cfs):
        env = ak.cochleagram(np.sin(2 * np.pi * cf * t), **kw)
        assert env[i, -1] == pytest.approx(1 / np.sqrt(2), rel=1e-3)  # unit gain: RMS of a unit sine
        # gammatone magnitude response: |1 + j (f - cf) / b|^-4 with b = 1.019 ERB
        b = 1.019 * (cf / 9.26449 + 24.7)
        off = cf + b
        env_off = ak.cochleagram(np.sin(2 * np.pi * off * t), **kw)
        assert env_off[i, -1] * np.sqrt(2) == pytest.approx(abs(1 + 1j) ** -4, rel=0.05)


def test_lists_batches_threads():
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(n).astype(np.float32) for n in (400, 4000, 1234)]
    listed = ak.cochleagram(clips, n_channels=16)
    for clip, env in zip(clips, listed):
        np.testing.assert_array_equal(env, ak.cochleagram(clip, n_channels=16))
    assert ak.cochleagram(np.stack([clips[1]] * 2), n_channels=16, num_threads=1).shape == (2, 16, 23)
    np.testing.assert_array_equal(ak.cochleagram(clips, n_channels=16, num_threads=1)[1], listed[1])


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda y: ak.cochleagram(y[:100]), ValueError, "y"),
        (lambda y: ak.cochleagram(y, fmax=9000.0), ValueError, "fmax"),
        (lambda y: ak.cochleagram(y, fmin=0.0), ValueError, "fmin"),
        (lambda y: ak.cochleagram(y, n_channels=0), ValueError, "n_channels"),
        (lambda y: ak.cochleagram(y, hop_length=0), ValueError, "hop_length"),
        (lambda y: ak.cochleagram(y.astype(np.int32)), TypeError, "y"),
        (lambda y: ak.cochleagram(np.where(np.arange(y.size) == 2, np.nan, y)), ValueError, "y"),
    ],
)
def test_bad_input_names_the_argument(call, error, argument):
    y = np.random.default_rng(0).standard_normal(4000)
    with pytest.raises(error, match=f"'{argument}'"):
        call(y)
