"""Short, readable reference implementations of affectkit's fast kernels.

Each is the definition written plainly in NumPy or PyTorch; the tests compare the
compiled kernels with these (and with the external libraries people would use).
"""

from __future__ import annotations

import numpy as np


def stft_ref(y, window, n_fft, hop_length, center=True, pad_mode="constant"):
    """STFT of a 1-D signal from the definition: pad, frame, window, rfft.
    ``window`` has n_fft values."""
    y = np.asarray(y, dtype=np.float64)
    if center:
        y = np.pad(y, n_fft // 2, mode=pad_mode)
    n_frames = 1 + (y.size - n_fft) // hop_length
    frames = np.stack([y[t * hop_length : t * hop_length + n_fft] for t in range(n_frames)], axis=1)
    return np.fft.rfft(frames * np.asarray(window, dtype=np.float64)[:, None], axis=0)


def causal_conv1d_ref(x, weight, bias=None, activation=None):
    """Depthwise causal conv1d in plain PyTorch: pad width-1 zeros on the left,
    grouped conv1d, optional SiLU (causal-conv1d's causal_conv1d_ref)."""
    import torch
    import torch.nn.functional as F

    width = weight.shape[1]
    out = F.conv1d(F.pad(x, (width - 1, 0)), weight.unsqueeze(1), bias, groups=x.shape[1])
    return F.silu(out) if activation in ("silu", "swish") else out
