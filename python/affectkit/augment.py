"""Data augmentation for speech-emotion training: additive noise at a given SNR,
SpecAugment's frequency and time masks, and energy-adaptive mixup.

Every function takes ``seed`` (an int, a ``numpy.random.Generator`` or None) and
returns new arrays in the input's dtype; inputs are never modified.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import numpy as np

from ._checks import as_float, as_int

__all__ = ["add_noise", "spec_augment_mask", "spec_augment", "energy_adaptive_mixup"]

Seed = Union[None, int, np.random.Generator]


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, (bool, np.bool_)) or not (seed is None or isinstance(seed, (int, np.integer, np.random.Generator))):
        raise TypeError(f"invalid argument 'seed': must be None, an int or a numpy Generator, got {seed!r}")
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"invalid argument 'seed': must be >= 0, got {seed}")
    return np.random.default_rng(seed)


def _signal(name: str, y, min_ndim: int = 1) -> np.ndarray:
    array = np.asarray(y)
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"invalid argument '{name}': must be float32 or float64, got {array.dtype}")
    if array.ndim < min_ndim or array.shape[-1] == 0:
        raise ValueError(f"invalid argument '{name}': must have at least {min_ndim} dimension(s) and a non-empty last "
                         f"axis, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"invalid argument '{name}': holds NaN or Inf")
    return array


def _rms(y: np.ndarray) -> np.ndarray:
    """Root mean square along the last axis, computed on a max-abs-scaled copy so that
    signals near the float range do not overflow."""
    peak = np.max(np.abs(y), axis=-1, keepdims=True).astype(np.float64)
    scaled = y / np.where(peak > 0, peak, 1.0)
    return np.sqrt(np.mean(scaled**2, axis=-1)) * peak[..., 0]


def add_noise(y, snr_db: float, *, noise=None, seed: Seed = None) -> np.ndarray:
    """``y`` plus noise scaled so that ``10 log10(P_y / P_noise) = snr_db`` (P: mean square
    over the whole signal, per row of a batch).

    Parameters
    ----------
    y : ndarray (..., n_samples), float32/float64
    snr_db : float
        Signal-to-noise ratio in dB.
    noise : ndarray (n_noise,), optional
        The noise to add (tiled or cut to ``n_samples``, from a random offset); default
        white Gaussian noise.
    seed : int, Generator or None

    Returns
    -------
    ndarray, same shape and dtype as ``y``. A silent row (power 0) has no SNR and is a
    ValueError.
    """
    y = _signal("y", y)
    snr = as_float("snr_db", snr_db)
    if not np.isfinite(snr):
        raise ValueError(f"invalid argument 'snr_db': must be finite, got {snr}")
    rng = _rng(seed)
    n = y.shape[-1]
    if noise is None:
        added = rng.standard_normal(y.shape)
    else:
        source = _signal("noise", noise).astype(np.float64)
        if source.ndim != 1:
            raise ValueError(f"invalid argument 'noise': must be 1-D, got shape {source.shape}")
        if not _rms(source) > 0:
            raise ValueError("invalid argument 'noise': is silent (power 0)")
        offsets = rng.integers(0, source.size, size=y.shape[:-1] + (1,))
        added = source[(offsets + np.arange(n)) % source.size]
    signal_rms = _rms(y)
    if np.any(signal_rms == 0):
        raise ValueError("invalid argument 'y': a silent signal (power 0) has no signal-to-noise ratio")
    with np.errstate(all="ignore"):  # overflow is checked below
        gain = signal_rms / (_rms(added) * 10 ** (snr / 20))
        result = (y + gain[..., None] * added).astype(y.dtype)
    if not np.isfinite(result).all():
        raise ValueError(f"invalid argument 'snr_db': noise at {snr} dB does not fit in {y.dtype}")
    return result


def spec_augment_mask(n_freq: int, n_frames: int, *, freq_mask_param: int = 27, time_mask_param: int = 100,
                      n_freq_masks: int = 2, n_time_masks: int = 2, max_time_ratio: float = 1.0,
                      seed: Seed = None) -> np.ndarray:
    """SpecAugment's masks (Park et al. 2019) as a boolean ``(n_freq, n_frames)`` array,
    True where masked: ``n_freq_masks`` bands of ``f ~ U{0..F}`` channels starting at
    ``f0 ~ U{0..n_freq - f}``, and ``n_time_masks`` spans of ``t ~ U{0..T}`` frames (``T``
    capped at ``max_time_ratio * n_frames``) starting at ``t0 ~ U{0..n_frames - t}``.
    Masks may overlap."""
    n_freq = as_int("n_freq", n_freq, minimum=1)
    n_frames = as_int("n_frames", n_frames, minimum=1)
    F = as_int("freq_mask_param", freq_mask_param, minimum=0)
    T = as_int("time_mask_param", time_mask_param, minimum=0)
    n_f = as_int("n_freq_masks", n_freq_masks, minimum=0, maximum=1000)
    n_t = as_int("n_time_masks", n_time_masks, minimum=0, maximum=1000)
    ratio = as_float("max_time_ratio", max_time_ratio)
    if not 0 <= ratio <= 1:
        raise ValueError(f"invalid argument 'max_time_ratio': must lie in [0, 1], got {ratio}")
    rng = _rng(seed)
    mask = np.zeros((n_freq, n_frames), dtype=bool)
    for _ in range(n_f):
        width = int(rng.integers(0, min(F, n_freq) + 1))
        start = int(rng.integers(0, n_freq - width + 1))
        mask[start:start + width, :] = True
    longest = min(T, int(ratio * n_frames))
    for _ in range(n_t):
        width = int(rng.integers(0, longest + 1))
        start = int(rng.integers(0, n_frames - width + 1))
        mask[:, start:start + width] = True
    return mask


def spec_augment(S, *, freq_mask_param: int = 27, time_mask_param: int = 100, n_freq_masks: int = 2,
                 n_time_masks: int = 2, max_time_ratio: float = 1.0, mask_value: Optional[float] = 0.0,
                 seed: Seed = None) -> np.ndarray:
    """SpecAugment's frequency and time masking of a spectrogram ``S`` (..., n_freq,
    n_frames), with an independent mask per leading index (see
    :func:`spec_augment_mask`). Masked cells become ``mask_value``, or the mean of that
    spectrogram when ``mask_value`` is None (for log spectra, where 0 is not
    silence). The defaults are LibriSpeech basic's LB policy (F=27, T=100, 2 + 2 masks)."""
    S = _signal("S", S, min_ndim=2)
    if S.shape[-2] == 0:
        raise ValueError(f"invalid argument 'S': has no frequency channels, shape {S.shape}")
    value = None if mask_value is None else as_float("mask_value", mask_value)
    rng = _rng(seed)
    out = np.array(S, copy=True)
    items = out.reshape((-1,) + S.shape[-2:])
    for item in items:
        mask = spec_augment_mask(S.shape[-2], S.shape[-1], freq_mask_param=freq_mask_param,
                                 time_mask_param=time_mask_param, n_freq_masks=n_freq_masks,
                                 n_time_masks=n_time_masks, max_time_ratio=max_time_ratio, seed=rng)
        item[mask] = item.mean() if value is None else value
    return items.reshape(S.shape)


def energy_adaptive_mixup(x_a, label_a: int, x_b, label_b: int, *, n_classes: int,
                          snr_db: Tuple[float, float] = (0.0, 10.0), segment: Tuple[float, float] = (0.2, 0.5),
                          seed: Seed = None) -> Tuple[np.ndarray, np.ndarray]:
    """Energy-adaptive mixup (EAM; Wang et al., arXiv:2512.04551): a random segment of
    utterance ``x_b`` is added into ``x_a`` at a random position, scaled so that the
    power of ``x_a`` over the power of the inserted segment is an SNR drawn from
    ``snr_db``; the soft label gives each class its share of the mixture's energy.

    In detail: ``L = round(u * len(x_a))`` samples with ``u ~ U(segment)`` (at most
    ``len(x_b)``), taken from a random offset of ``x_b`` and added at a random offset of
    ``x_a`` with gain ``g = sqrt(P(x_a) / (P(segment) 10^(snr/10)))``, ``snr ~ U(snr_db)``,
    P the mean square. With ``E_a = sum(x_a^2)`` and ``E_b = sum((g segment)^2)``,
    the label is ``E_a / (E_a + E_b)`` on ``label_a`` plus ``E_b / (E_a + E_b)`` on
    ``label_b``. (This follows the method as summarised in the paper's abstract and
    issue 9; the paper's exact sampling ranges were not available to us.)

    Returns
    -------
    mixed : ndarray (len(x_a),), the dtype of ``x_a``
    soft_label : ndarray (n_classes,) float64, sums to 1
    """
    a, b = _signal("x_a", x_a), _signal("x_b", x_b)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"invalid argument 'x_a'/'x_b': must be 1-D signals, got shapes {a.shape} and {b.shape}")
    n_classes = as_int("n_classes", n_classes, minimum=1)
    labels = [as_int(name, value, minimum=0, maximum=n_classes - 1)
              for name, value in (("label_a", label_a), ("label_b", label_b))]
    low, high = (as_float("snr_db", v) for v in snr_db)
    if not (np.isfinite(low) and np.isfinite(high) and low <= high):
        raise ValueError(f"invalid argument 'snr_db': must be a finite (low, high) with low <= high, got {snr_db}")
    shortest, longest = (as_float("segment", v) for v in segment)
    if not 0 < shortest <= longest <= 1:
        raise ValueError(f"invalid argument 'segment': must be (low, high) fractions with 0 < low <= high <= 1, "
                         f"got {segment}")
    rng = _rng(seed)
    length = int(np.clip(round(rng.uniform(shortest, longest) * a.size), 1, min(a.size, b.size)))
    piece = b[int(rng.integers(0, b.size - length + 1)):][:length].astype(np.float64)
    at = int(rng.integers(0, a.size - length + 1))
    snr = rng.uniform(low, high)
    host_rms, piece_rms = _rms(a), _rms(piece)
    with np.errstate(all="ignore"):  # overflow is checked below
        gain = host_rms / (piece_rms * 10 ** (snr / 20)) if host_rms > 0 and piece_rms > 0 else 0.0
        inserted = gain * piece
        mixed = a.astype(np.float64)
        mixed[at:at + length] += inserted
        mixed = mixed.astype(a.dtype)
        # Energy shares as ratios of powers (the lengths are exact), safe near the float range.
        share_b = 1.0 / (1.0 + (host_rms / _rms(inserted)) ** 2 * a.size / length) if gain > 0 else 0.0
    if not (np.isfinite(mixed).all() and np.isfinite(share_b)):
        raise ValueError(f"invalid argument 'x_a': the mixture does not fit in {a.dtype}")
    soft = np.zeros(n_classes)
    soft[labels[0]] += 1.0 - share_b
    soft[labels[1]] += share_b
    return mixed, soft
