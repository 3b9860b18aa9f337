"""Short, readable reference implementations of affectkit's fast kernels.

Each is the definition written plainly in NumPy or PyTorch; the tests compare the
compiled kernels with these (and with the external libraries people would use).
"""

from __future__ import annotations

import numpy as np


def stft_ref(y, window, n_fft, hop_length, center=True, pad_mode="constant"):
    """STFT of a 1-D signal from the definition: pad the whole signal with np.pad
    (``pad_mode`` as numpy, so 'reflect' reflects again and again when the pad is
    longer than the signal), frame, window, rfft. ``window`` has n_fft values.
    Computed in float64 whatever the input dtype."""
    y = np.asarray(y, dtype=np.float64)
    if center:
        y = np.pad(y, n_fft // 2, mode=pad_mode)
    n_frames = 1 + (y.size - n_fft) // hop_length
    if n_frames < 1:
        raise ValueError(f"n_fft={n_fft} is longer than the {y.size} samples")
    frames = np.stack([y[t * hop_length : t * hop_length + n_fft] for t in range(n_frames)], axis=1)
    return np.fft.rfft(frames * np.asarray(window, dtype=np.float64)[:, None], axis=0)


def istft_ref(stft_matrix, window, n_fft, hop_length, center=True, length=None):
    """Inverse STFT of one (1 + n_fft // 2, n_frames) matrix by weighted overlap-add,
    as librosa.istft: irfft of each frame times the window, summed, divided by the
    overlap-added squared window where that exceeds the smallest normal number;
    then trimmed (n_fft // 2 on both sides when centred) or cut/zero-padded to length."""
    S = np.asarray(stft_matrix, dtype=np.complex128)
    window = np.asarray(window, dtype=np.float64)
    n_frames = S.shape[1]
    start = n_fft // 2 if center else 0
    if length is not None:  # librosa uses only the frames that reach into length
        n_frames = min(n_frames, -(-(length + 2 * start) // hop_length))
    full = n_fft + hop_length * (n_frames - 1)
    y, envelope = np.zeros(full), np.zeros(full)
    for t in range(n_frames):
        y[t * hop_length : t * hop_length + n_fft] += np.fft.irfft(S[:, t], n_fft) * window
        envelope[t * hop_length : t * hop_length + n_fft] += window**2
    tiny = np.finfo(np.float64).tiny
    y = np.where(envelope > tiny, y / np.where(envelope > tiny, envelope, 1.0), y)
    if length is None:
        return y[start : full - start]
    y = y[start : start + length]
    return np.pad(y, (0, length - y.size))


def causal_conv1d_ref(x, weight, bias=None, activation=None):
    """Depthwise causal conv1d in plain PyTorch: pad width-1 zeros on the left,
    grouped conv1d, optional SiLU (causal-conv1d's causal_conv1d_ref)."""
    import torch
    import torch.nn.functional as F

    width = weight.shape[1]
    out = F.conv1d(F.pad(x, (width - 1, 0)), weight.unsqueeze(1), bias, groups=x.shape[1])
    return F.silu(out) if activation in ("silu", "swish") else out


def kaldi_fbank_ref(y, sr=16000, frame_length=25.0, frame_shift=10.0, preemph=0.97, num_bins=23,
                    low_freq=20.0, high_freq=0.0, snip_edges=True, window="povey", use_energy=False):
    """Kaldi's compute-fbank-feats in float64 from its definition (dither 0, remove DC,
    power spectrum, log mel energies floored at float epsilon; raw log energy first)."""
    size, shift = int(sr * 0.001 * frame_length), int(sr * 0.001 * frame_shift)
    padded = 1 << (size - 1).bit_length()
    n = len(y)
    if snip_edges:
        starts = [f * shift for f in range(0 if n < size else 1 + (n - size) // shift)]
    else:
        starts = [f * shift + shift // 2 - size // 2 for f in range((n + shift // 2) // shift)]
    a = 2 * np.pi / (size - 1)
    i = np.arange(size)
    w = {"povey": (0.5 - 0.5 * np.cos(a * i)) ** 0.85, "hamming": 0.54 - 0.46 * np.cos(a * i),
         "hanning": 0.5 - 0.5 * np.cos(a * i), "rectangular": np.ones(size)}[window]
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    high = high_freq if high_freq > 0 else sr / 2 + high_freq
    edges = mel(low_freq) + np.arange(num_bins + 2) * (mel(high) - mel(low_freq)) / (num_bins + 1)
    bin_mel = mel(np.arange(padded // 2) * sr / padded)
    bank = np.zeros((num_bins, padded // 2 + 1))
    for m in range(num_bins):
        left, center, right = edges[m : m + 3]
        up = (bin_mel - left) / (center - left)
        down = (right - bin_mel) / (right - center)
        inside = (bin_mel > left) & (bin_mel < right)
        bank[m, : padded // 2] = np.where(inside, np.where(bin_mel <= center, up, down), 0.0)
    rows = []
    for start in starts:
        idx = np.arange(start, start + size)
        while np.any((idx < 0) | (idx >= n)):
            idx = np.where(idx < 0, -idx - 1, np.where(idx >= n, 2 * n - 1 - idx, idx))
        frame = np.asarray(y, dtype=np.float64)[idx]
        frame = frame - frame.mean()
        energy = np.log(max(np.dot(frame, frame), np.finfo(np.float32).eps))
        frame = np.concatenate([[frame[0] * (1 - preemph)], frame[1:] - preemph * frame[:-1]]) * w
        power = np.abs(np.fft.rfft(frame, padded)) ** 2
        features = np.log(np.maximum(bank @ power, np.finfo(np.float32).eps))
        rows.append(np.concatenate([[energy], features]) if use_energy else features)
    return np.array(rows).reshape(len(starts), num_bins + use_energy)


def sinkhorn_log_ref(a, b, M, reg, n_iter, reg_m=np.inf):
    """Entropic OT in the log domain, written as POT's sinkhorn_log (and, for finite
    reg_m, sinkhorn_unbalanced with reg_type 'kl'): n_iter iterations, each updating
    g then f; returns the plan and the potentials f, g (P = exp((f + g - M) / reg)).
    Zero weights are not supported (log 0). Float64."""
    from scipy.special import logsumexp

    a, b, M = (np.asarray(v, dtype=np.float64) for v in (a, b, M))
    fraction = 1.0 if np.isinf(reg_m) else reg_m / (reg_m + reg)
    f, g = np.zeros(M.shape[0]), np.zeros(M.shape[1])
    for _ in range(n_iter):
        g = reg * (np.log(b) - fraction * logsumexp((f[:, None] - M) / reg, axis=0))
        f = reg * (np.log(a) - fraction * logsumexp((g[None, :] - M) / reg, axis=1))
    return np.exp((f[:, None] + g[None, :] - M) / reg), f, g


def sinkhorn_torch_ref(a, b, M, reg, n_iter):
    """The objective <P, M> + reg KL(P | a b^T) of balanced entropic OT, by n_iter
    log-domain iterations unrolled in PyTorch (autograd differentiates through every
    iteration: the reference for the envelope-theorem gradients)."""
    import torch

    f = torch.zeros_like(a)
    g = torch.zeros_like(b)
    for _ in range(n_iter):
        g = reg * (torch.log(b) - torch.logsumexp((f[:, None] - M) / reg, dim=0))
        f = reg * (torch.log(a) - torch.logsumexp((g[None, :] - M) / reg, dim=1))
    P = torch.exp((f[:, None] + g[None, :] - M) / reg)
    return (P * M).sum() + reg * (P * (torch.log(P) - torch.log(a)[:, None] - torch.log(b)[None, :])).sum()
