"""Transformer encoder inference without torch: the weights of a trained
``torch.nn.TransformerEncoder`` (or :class:`affectkit.nn.AttentionEncoder`) run in the
C++ core in float32.

>>> encoder = ak.TransformerEncoderInference(
...     {k: v.numpy() for k, v in model.state_dict().items()}, num_heads=4)
>>> embeddings, lengths = encoder(features, lengths)
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from . import _core
from ._checks import as_bool, as_float, as_int, num_threads as _num_threads

__all__ = ["TransformerEncoderInference"]

_LAYER_KEY = re.compile(r"^layers\.(\d+)\.")
_POSITIONAL = ("none", "sinusoidal", "learned")


def _as_array(key: str, value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor (torch itself is not imported here)
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind != "f":
        raise TypeError(f"invalid argument 'state_dict': '{key}' must be floating point, got {array.dtype}")
    return array


def state_dict_shapes(
    d_model: int, num_layers: int, dim_feedforward: int, *, input_dim: Optional[int] = None,
    max_frames: Optional[int] = None, final_norm: bool = False,
) -> Dict[str, Tuple[int, ...]]:
    """The keys and shapes of an encoder's state dict: ``torch.nn.TransformerEncoder``'s
    ``layers.{i}.self_attn.in_proj_weight`` ... ``layers.{i}.norm2.bias``, plus
    ``input_proj.weight/bias`` when ``input_dim`` is given, ``positional.weight`` when
    ``max_frames`` is given (a learned positional embedding) and ``norm.weight/bias``
    with ``final_norm``."""
    d, f = d_model, dim_feedforward
    shapes: Dict[str, Tuple[int, ...]] = {}
    if input_dim is not None:
        shapes.update({"input_proj.weight": (d, input_dim), "input_proj.bias": (d,)})
    if max_frames is not None:
        shapes["positional.weight"] = (max_frames, d)
    for i in range(num_layers):
        p = f"layers.{i}."
        shapes.update({
            p + "self_attn.in_proj_weight": (3 * d, d), p + "self_attn.in_proj_bias": (3 * d,),
            p + "self_attn.out_proj.weight": (d, d), p + "self_attn.out_proj.bias": (d,),
            p + "linear1.weight": (f, d), p + "linear1.bias": (f,),
            p + "linear2.weight": (d, f), p + "linear2.bias": (d,),
            p + "norm1.weight": (d,), p + "norm1.bias": (d,), p + "norm2.weight": (d,), p + "norm2.bias": (d,),
        })
    if final_norm:
        shapes.update({"norm.weight": (d,), "norm.bias": (d,)})
    return shapes


def _size(arrays: Mapping[str, np.ndarray], candidates: List[Tuple[str, int]]) -> Optional[int]:
    """The first available size among (key, axis) candidates."""
    for key, axis in candidates:
        if key in arrays and arrays[key].ndim > axis:
            return int(arrays[key].shape[axis])
    return None


def state_dict_arrays(state_dict: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    """A state dict's values as numpy arrays (torch tensors are detached and copied)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"invalid argument 'state_dict': must be a mapping of names to arrays, "
                        f"got {type(state_dict).__name__}")
    arrays = {str(k): _as_array(str(k), v) for k, v in state_dict.items()}
    for key, array in arrays.items():
        if not np.all(np.isfinite(array)):
            raise ValueError(f"invalid argument 'state_dict': '{key}' contains NaN or infinity")
    return arrays


def check_keys(arrays: Mapping[str, np.ndarray], expected: Mapping[str, Tuple[int, ...]], note: str = "") -> None:
    """One ValueError listing every missing, unexpected and wrong-shaped key (-1 in an
    expected shape matches any size)."""
    missing = [k for k in expected if k not in arrays]
    unexpected = [k for k in arrays if k not in expected]
    wrong = [f"{k} {arrays[k].shape} instead of {expected[k]}" for k in expected
             if k in arrays and (arrays[k].ndim != len(expected[k])
                                 or any(e not in (-1, g) for e, g in zip(expected[k], arrays[k].shape)))]
    if missing or unexpected or wrong:
        problems = [f"missing keys {missing}" if missing else "", f"unexpected keys {unexpected}" if unexpected else "",
                    "wrong shapes: " + ", ".join(wrong) if wrong else ""]
        raise ValueError("invalid argument 'state_dict': " + "; ".join(p for p in problems if p) + note)


def _check_state_dict(arrays: Dict[str, np.ndarray], positional: str) -> int:
    """Reads the sizes from the arrays, then lists every missing, unexpected and
    wrong-shaped key in one ValueError. Returns the number of layers."""
    layers = sorted({int(m.group(1)) for key in arrays if (m := _LAYER_KEY.match(key))})
    num_layers = layers[-1] + 1 if layers else 0
    d_model = _size(arrays, [(f"layers.{i}.{key}", 0) for i in layers
                             for key in ("norm1.weight", "self_attn.out_proj.weight", "norm2.weight")] + [
        ("input_proj.weight", 0), ("norm.weight", 0), ("positional.weight", 1)])
    if d_model is None:
        raise ValueError("invalid argument 'state_dict': found no encoder weights (expected keys such as "
                         "'layers.0.self_attn.in_proj_weight')")
    dim_feedforward = _size(arrays, [(f"layers.{i}.linear1.weight", 0) for i in layers]) or -1
    has_input_proj = any(k.startswith("input_proj.") for k in arrays)
    # -1: a size that could not be read (its key is missing) and matches anything.
    expected = state_dict_shapes(
        d_model, num_layers, dim_feedforward,
        input_dim=(_size(arrays, [("input_proj.weight", 1)]) or -1) if has_input_proj else None,
        max_frames=(_size(arrays, [("positional.weight", 0)]) or -1) if positional == "learned" else None,
        final_norm=any(k.startswith("norm.") for k in arrays))
    check_keys(arrays, expected, f" (read as {num_layers} layer(s) of d_model {d_model}, dim_feedforward "
                                 f"{dim_feedforward}, positional={positional!r})")
    return num_layers


class TransformerEncoderInference:
    """A trained transformer encoder run by the C++ core (float32, no torch needed).

    Computes what ``torch.nn.TransformerEncoder`` computes in eval mode (and
    :class:`affectkit.nn.AttentionEncoder`, which adds an input projection, a
    positional embedding and a final LayerNorm around it), from its state dict.

    Parameters
    ----------
    state_dict : mapping of str to arrays (numpy, or torch tensors)
        ``layers.{i}.self_attn.in_proj_weight`` (3 d_model, d_model), ``in_proj_bias``,
        ``self_attn.out_proj.weight/bias``, ``linear1.weight`` (dim_feedforward, d_model),
        ``linear1.bias``, ``linear2.weight/bias``, ``norm1/norm2.weight/bias``; optionally
        ``input_proj.weight`` (d_model, input_dim) and ``bias``, ``positional.weight``
        (max_frames, d_model) with ``positional='learned'``, ``norm.weight/bias`` (a final
        LayerNorm). Sizes and the number of layers are read from the arrays; weights are
        copied to float32. Missing, unexpected and wrong-shaped keys are listed in one
        ValueError.
    num_heads : int
        Attention heads (``nhead``); must divide d_model.
    norm_first : bool
        Pre-norm layers (``norm_first=True`` in torch), else post-norm.
    activation : 'relu' or 'gelu'
        The feed-forward activation (``'gelu'`` is the exact erf form).
    layer_norm_eps : float
    positional : 'none', 'sinusoidal' or 'learned'
        Positional embedding added after the input projection: none (torch's
        TransformerEncoder has none), the fixed sinusoids of Vaswani et al. (2017), or
        the learned table ``positional.weight``.
    """

    def __init__(self, state_dict: Mapping[str, Any], *, num_heads: int, norm_first: bool = False,
                 activation: str = "relu", layer_norm_eps: float = 1e-5, positional: str = "none") -> None:
        if positional not in _POSITIONAL:
            raise ValueError(f"invalid argument 'positional': must be one of {_POSITIONAL}, got {positional!r}")
        if activation not in ("relu", "gelu"):
            raise ValueError(f"invalid argument 'activation': must be 'relu' or 'gelu', got {activation!r}")
        arrays = state_dict_arrays(state_dict)
        num_layers = _check_state_dict(arrays, positional)
        self.num_heads = as_int("num_heads", num_heads, minimum=1)
        d_model = _size(arrays, [("layers.0.norm1.weight", 0)])
        if d_model is not None and d_model % self.num_heads:
            raise ValueError(f"invalid argument 'num_heads': must divide d_model = {d_model}, got {num_heads}")
        self.norm_first = as_bool("norm_first", norm_first)
        self.activation = activation
        self.positional = positional
        self.num_layers = num_layers
        self._encoder = _core.TransformerEncoder(
            {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}, num_layers,
            self.num_heads, self.norm_first, activation, as_float("layer_norm_eps", layer_norm_eps), positional)

    @property
    def d_model(self) -> int:
        return self._encoder.d_model

    @property
    def input_dim(self) -> int:
        return self._encoder.input_dim

    def __call__(self, features: np.ndarray, lengths: Optional[np.ndarray] = None, *,
                 key_padding_mask: Optional[np.ndarray] = None,
                 num_threads: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
        """Frame embeddings of a batch.

        Parameters
        ----------
        features : float32 array, shape (batch, frames, input_dim)
        lengths : int array, shape (batch,), optional
            Valid frames of each sequence (the rest is padding); None: all frames.
        key_padding_mask : bool array, shape (batch, frames), optional
            True marks padding (PyTorch's ``src_key_padding_mask``); any pattern. Give
            ``lengths`` or this, not both.
        num_threads : int, optional
            Threads of the core (default: all the process may use).

        Returns
        -------
        embeddings : float32 array, shape (batch, frames, d_model)
            Padded frames are zero.
        lengths : int64 array, shape (batch,)
            The valid frames of each sequence (unchanged: the encoder keeps the frame rate).
        """
        features = np.asarray(features)
        if features.ndim != 3:
            raise ValueError(f"invalid argument 'features': must have shape (batch, frames, input_dim), "
                             f"got {features.shape}")
        batch, frames = features.shape[:2]
        if lengths is not None and key_padding_mask is not None:
            raise ValueError("invalid argument 'key_padding_mask': give lengths or key_padding_mask, not both")
        if lengths is not None:
            lengths, key_padding_mask = lengths_mask(lengths, batch, frames)
        elif key_padding_mask is not None:
            key_padding_mask = np.asarray(key_padding_mask)
            if key_padding_mask.dtype != np.bool_:
                raise TypeError(f"invalid argument 'key_padding_mask': must be boolean (True = padding), "
                                f"got {key_padding_mask.dtype}")
            if key_padding_mask.shape != (batch, frames):
                raise ValueError(f"invalid argument 'key_padding_mask': must have shape (batch, frames) = "
                                 f"{(batch, frames)} like features, got {key_padding_mask.shape}")
            lengths = (~key_padding_mask).sum(axis=1).astype(np.int64)
        else:
            lengths = np.full(batch, frames, dtype=np.int64)
        out = self._encoder.forward(features, key_padding_mask, _num_threads(num_threads))
        return out, lengths

    forward = __call__


def lengths_mask(lengths: Any, batch: int, frames: int) -> Tuple[np.ndarray, np.ndarray]:
    """Checked int64 lengths and the (batch, frames) padding mask they mean (True = padding)."""
    lengths = _lengths(lengths, batch, frames)
    return lengths, np.arange(frames)[None, :] >= lengths[:, None]


def _lengths(lengths: Any, batch: int, frames: int) -> np.ndarray:
    """``lengths`` as an int64 array of ``batch`` values in [0, frames]."""
    if hasattr(lengths, "detach"):
        lengths = lengths.detach().cpu().numpy()
    lengths = np.asarray(lengths)
    if lengths.dtype.kind not in "iu":
        raise TypeError(f"invalid argument 'lengths': must be integers, got {lengths.dtype}")
    if lengths.shape != (batch,):
        raise ValueError(f"invalid argument 'lengths': must have shape (batch,) = ({batch},), got {lengths.shape}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > frames):
        raise ValueError(f"invalid argument 'lengths': must lie in [0, frames = {frames}], got {lengths.tolist()}")
    return lengths.astype(np.int64)
