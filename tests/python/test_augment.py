"""Augmentation: noise at an exact SNR, SpecAugment's mask geometry, energy-adaptive
mixup's SNR and energy-share label, checked on their outputs; fuzz for bad input."""

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings, strategies as st

from affectkit.augment import add_noise, energy_adaptive_mixup, spec_augment, spec_augment_mask


def snr(clean, noisy):
    noise = noisy.astype(np.float64) - clean
    return 10 * np.log10(np.mean(clean.astype(np.float64) ** 2, axis=-1) / np.mean(noise**2, axis=-1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_noise_at_the_requested_snr(dtype):
    rng = np.random.default_rng(0)
    y = (0.3 * np.sin(np.arange(16000) * 0.05) * np.array([[1.0], [0.01]])).astype(dtype)  # a batch of two levels
    noisy = add_noise(y, 12.5, seed=1)
    assert noisy.dtype == dtype and noisy.shape == y.shape
    np.testing.assert_allclose(snr(y, noisy), 12.5, atol=1e-3 if dtype == np.float32 else 1e-9)
    babble = rng.standard_normal(3000) * np.hanning(3000)
    np.testing.assert_allclose(snr(y[0], add_noise(y[0], -3.0, noise=babble, seed=2)), -3.0,
                               atol=1e-3 if dtype == np.float32 else 1e-9)
    assert np.array_equal(add_noise(y, 5.0, seed=3), add_noise(y, 5.0, seed=3))


def test_noise_bad_input():
    with pytest.raises(ValueError, match="'y': a silent"):
        add_noise(np.zeros(100), 10.0)
    with pytest.raises(TypeError, match="'y'"):
        add_noise(np.ones(100, np.int16), 10.0)
    with pytest.raises(ValueError, match="'noise'"):
        add_noise(np.ones(100), 10.0, noise=np.zeros(10))
    with pytest.raises(ValueError, match="'snr_db'"):
        add_noise(np.ones(100), np.inf)
    with pytest.raises(TypeError, match="'seed'"):
        add_noise(np.ones(100), 1.0, seed="x")


def runs(flags):
    """Lengths of the runs of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def test_spec_augment_mask_geometry():
    for seed in range(50):
        mask = spec_augment_mask(80, 300, freq_mask_param=15, time_mask_param=40, n_freq_masks=1, n_time_masks=1,
                                 seed=seed)
        rows, columns = mask.all(axis=1), mask.all(axis=0)
        # Every masked cell lies in a fully masked channel or a fully masked frame.
        assert np.array_equal(mask, rows[:, None] | columns[None, :])
        assert rows.sum() <= 15 and columns.sum() <= 40
        assert len(runs(rows)) <= 1 and len(runs(columns)) <= 1  # one contiguous band, one span
    capped = [spec_augment_mask(10, 50, time_mask_param=100, n_freq_masks=0, max_time_ratio=0.2, seed=s)
              for s in range(30)]
    assert max(m.all(axis=0).sum() for m in capped) <= 2 * 10  # two spans of at most 0.2 * 50 frames
    assert not spec_augment_mask(10, 50, n_freq_masks=0, n_time_masks=0).any()


def test_spec_augment_applies_independent_masks_per_item():
    S = np.random.default_rng(0).random((3, 40, 120)).astype(np.float32) + 1.0
    out = spec_augment(S, freq_mask_param=10, time_mask_param=20, seed=0)
    assert out.dtype == np.float32 and out.shape == S.shape and np.all(S >= 1.0)  # input untouched
    masked = out == 0
    assert masked.any() and not np.array_equal(masked[0], masked[1])
    np.testing.assert_array_equal(out[~masked], S[~masked])
    mean_filled = spec_augment(S[0], mask_value=None, seed=4)
    changed = mean_filled != S[0]
    np.testing.assert_allclose(mean_filled[changed], S[0].mean(), rtol=1e-6)
    with pytest.raises(ValueError, match="'S'"):
        spec_augment(np.ones(10))
    with pytest.raises(ValueError, match="'max_time_ratio'"):
        spec_augment(S, max_time_ratio=2.0)


def test_energy_adaptive_mixup_snr_position_and_energy_label():
    rng = np.random.default_rng(0)
    a = 0.5 * rng.standard_normal(8000)
    b = 0.05 * rng.standard_normal(5000) + 0.01  # no exact zeros: the inserted span is visible
    for seed in range(20):
        mixed, soft = energy_adaptive_mixup(a, 1, b, 3, n_classes=4, snr_db=(6.0, 6.0), segment=(0.2, 0.5),
                                            seed=seed)
        inserted = mixed - a
        span = np.flatnonzero(inserted)
        length = span[-1] - span[0] + 1
        assert span.size == length and 0.2 * 8000 - 1 <= length <= 0.5 * 8000 + 1
        # The segment is a positively gained copy of a contiguous piece of b: its cosine
        # similarity with some window of b is 1.
        segment = inserted[span]
        windows = np.sqrt(np.convolve(b**2, np.ones(length), "valid"))
        cosine = scipy.signal.correlate(b, segment, "valid", method="fft") / (windows * np.linalg.norm(segment))
        assert cosine.max() == pytest.approx(1.0, abs=1e-9)
        # P(x_a) / P(inserted) is the drawn SNR (6 dB).
        assert 10 * np.log10(np.mean(a**2) / np.mean(inserted[span] ** 2)) == pytest.approx(6.0, abs=1e-9)
        energy_a, energy_b = np.sum(a**2), np.sum(inserted**2)
        np.testing.assert_allclose(soft, [0, energy_a / (energy_a + energy_b), 0, energy_b / (energy_a + energy_b)],
                                   rtol=1e-12, atol=1e-15)
    same, label = energy_adaptive_mixup(a, 2, b, 2, n_classes=3, seed=0)
    np.testing.assert_allclose(label, [0, 0, 1])
    silent, label = energy_adaptive_mixup(a, 0, np.zeros(100), 1, n_classes=2, seed=0)
    np.testing.assert_array_equal(silent, a)
    np.testing.assert_array_equal(label, [1, 0])


def test_energy_adaptive_mixup_bad_input():
    a = np.ones(100)
    with pytest.raises(ValueError, match="'label_b'"):
        energy_adaptive_mixup(a, 0, a, 5, n_classes=3)
    with pytest.raises(ValueError, match="'snr_db'"):
        energy_adaptive_mixup(a, 0, a, 1, n_classes=3, snr_db=(10, 0))
    with pytest.raises(ValueError, match="'segment'"):
        energy_adaptive_mixup(a, 0, a, 1, n_classes=3, segment=(0, 0.5))
    with pytest.raises(ValueError, match="'x_a'/'x_b'"):
        energy_adaptive_mixup(np.ones((2, 50)), 0, a, 1, n_classes=3)
    with pytest.raises(TypeError, match="'label_a'"):
        energy_adaptive_mixup(a, 0.5, a, 1, n_classes=3)


def signal(n, dtype, fill, seed):
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore"):  # 1e300 in float32 is inf: a bad input like any other
        return np.where(rng.random(n) < 0.2, fill, rng.standard_normal(n)).astype(dtype)


FLOATS = st.sampled_from([0.0, 1.0, -1.0, 1e-300, 1e300, np.nan, np.inf, 3.5e38])
SIGNAL = st.builds(signal, st.integers(0, 40), st.sampled_from([np.float32, np.float64]), FLOATS,
                   st.integers(0, 100))


@settings(max_examples=200, deadline=None)
@given(y=SIGNAL, other=SIGNAL, snr_db=st.floats(-400, 400), seed=st.integers(0, 2**16),
       which=st.sampled_from(["noise", "spec", "mixup"]), width=st.integers(-2, 50))
def test_fuzz(y, other, snr_db, seed, which, width):
    try:
        if which == "noise":
            out = add_noise(y, snr_db, noise=other if other.size else None, seed=seed)
            assert out.shape == y.shape
        elif which == "spec":
            S = y.reshape(1, -1) if y.size else y.reshape(0, 0)
            out = spec_augment(S, freq_mask_param=width, time_mask_param=width, seed=seed)
            assert out.shape == S.shape
        else:
            out, soft = energy_adaptive_mixup(y, 0, other, 1, n_classes=2, snr_db=(snr_db, snr_db), seed=seed)
            assert out.shape == y.shape and soft.sum() == pytest.approx(1.0) and np.all(soft >= 0)
    except (ValueError, TypeError):
        return
    assert out.dtype == y.dtype and np.isfinite(out).all()
