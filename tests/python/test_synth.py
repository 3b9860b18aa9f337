"""ak.synthetic_voice: the truth it reports is the truth of the signal it makes."""

import numpy as np
import pytest

import affectkit as ak


def test_pulses_follow_the_f0_contour_and_perturbations_are_realised():
    plain = ak.synthetic_voice(sr=16000, duration=1.0, f0=(100.0, 200.0))
    mid = 0.5 * (plain.pulse_times[1:] + plain.pulse_times[:-1])
    np.testing.assert_allclose(1 / np.diff(plain.pulse_times), plain.f0(mid), rtol=0.01)
    steady = ak.synthetic_voice(sr=16000, duration=1.0, f0=130.0)
    assert steady.jitter_local < 1e-12 and steady.shimmer_local == 0.0
    rough = ak.synthetic_voice(sr=16000, duration=2.0, f0=150.0, jitter=0.02, shimmer=0.1, seed=3)
    # iid relative perturbation sigma: E|d_i - d_{i+1}| = 2 sigma / sqrt(pi) of the mean
    assert rough.jitter_local == pytest.approx(2 * 0.02 / np.sqrt(np.pi), rel=0.2)
    assert rough.shimmer_local == pytest.approx(2 * 0.1 / np.sqrt(np.pi), rel=0.2)


def test_formants_show_in_the_spectrum_and_noise_has_its_snr():
    voice = ak.synthetic_voice(sr=16000, duration=1.0, f0=100.0, vowel="i")
    spectrum = np.abs(np.fft.rfft(voice.y * np.hanning(voice.y.size)))
    freqs = np.fft.rfftfreq(voice.y.size, 1 / 16000)
    envelope = np.convolve(spectrum, np.ones(400) / 400, mode="same")  # smooth over 4 harmonics
    f2 = freqs[(freqs > 1800) & (freqs < 2800)][np.argmax(envelope[(freqs > 1800) & (freqs < 2800)])]
    assert f2 == pytest.approx(voice.formants[1], rel=0.05)
    noisy = ak.synthetic_voice(sr=16000, duration=1.0, snr_db=10.0, seed=1)
    noise = noisy.y - ak.synthetic_voice(sr=16000, duration=1.0, seed=1).y
    assert 10 * np.log10(np.mean((noisy.y - noise) ** 2) / np.mean(noise**2)) == pytest.approx(10.0, abs=0.3)


def test_voiced_intervals_and_bad_arguments():
    voice = ak.synthetic_voice(sr=8000, duration=1.0, voiced=[(0.2, 0.6)])
    assert np.all((voice.pulse_times >= 0.2) & (voice.pulse_times < 0.6))
    assert np.all(voice.y[: int(0.19 * 8000)] == 0.0)
    assert np.isnan(voice.f0(np.array([0.1, 0.8]))).all() and voice.f0(np.array([0.3]))[0] == 120.0
    with pytest.raises(ValueError, match="'vowel'"):
        ak.synthetic_voice(vowel="y")
    with pytest.raises(ValueError, match="'formants'"):
        ak.synthetic_voice(sr=8000, formants=(500, 4500), bandwidths=(50, 50))
    with pytest.raises(ValueError, match="'voiced'"):
        ak.synthetic_voice(duration=1.0, voiced=[(0.5, 1.5)])


def test_a_pulse_in_the_last_fractional_sample_fits():
    # duration * sr = 5895.24 samples: the last pulse falls after sample 5895, where the
    # kernel buffer used to be one sample short (a broadcasting ValueError).
    voice = ak.synthetic_voice(sr=16000, duration=0.36845247635746525, f0=(257.97982025213634, 309.5757843025636),
                               jitter=0.01)
    assert voice.y.shape == (5895,) and np.isfinite(voice.y).all()
