"""Argument checks shared by the Python facade.

Value checks on numbers live in the C++ core (one place, always on); here we only
turn Python objects into the types the core expects, with errors that name the
argument.
"""

from __future__ import annotations

import operator
import os
from typing import Any, Optional

import numpy as np


# The largest value the core's integer arguments hold (int64_t; int for thread
# counts): a larger Python int would fail pybind11's conversion with a message
# that names no argument.
INT64_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


def as_int(name: str, value: Any, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """``value`` as a Python int, or a TypeError/ValueError naming ``name``."""
    if isinstance(value, bool):
        raise TypeError(f"invalid argument '{name}': must be an integer, got {value!r}")
    try:
        result = operator.index(value)
    except TypeError:
        raise TypeError(
            f"invalid argument '{name}': must be an integer, got {type(value).__name__} {value!r}"
        ) from None
    if minimum is not None and result < minimum:
        raise ValueError(f"invalid argument '{name}': must be >= {minimum}, got {result}")
    if maximum is not None and result > maximum:
        raise ValueError(f"invalid argument '{name}': must be <= {maximum}, got {result}")
    return result


def as_float(name: str, value: Any) -> float:
    """``value`` as a Python float, or a TypeError naming ``name`` (bools and strings
    are refused, as by :func:`as_int`: a flag or text where a number belongs is a mistake)."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"invalid argument '{name}': must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"invalid argument '{name}': must be a number, got {value!r}") from None


def finite_array(name: str, value: Any, *, complex_ok: bool = False) -> np.ndarray:
    """``value`` as a non-empty ndarray of finite values (real unless ``complex_ok``) in
    float32/float64 (complex64/128), other numeric dtypes converted to 64 bits; or a
    TypeError/ValueError naming ``name``."""
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested sequences
        raise ValueError(f"invalid argument '{name}': not an array ({error})") from None
    kinds = "iufc" if complex_ok else "iuf"
    if array.dtype.kind not in kinds:
        expected = "a real or complex" if complex_ok else "a real"
        raise TypeError(f"invalid argument '{name}': must be {expected} numeric array, got dtype {array.dtype}")
    if array.ndim == 0 or array.size == 0:
        raise ValueError(f"invalid argument '{name}': must be a non-empty array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"invalid argument '{name}': must be finite, found NaN or Inf")
    if array.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        # float16 would underflow amin-style floors to 0; integers have no fractions
        array = array.astype(np.complex128 if array.dtype.kind == "c" else np.float64)
    return array


def float64_signal(y: np.ndarray, name: str = "y") -> np.ndarray:
    """A float32/float64 signal as contiguous float64 (for analyses that, like Praat,
    compute in double); anything else is a TypeError naming ``name``."""
    if y.dtype.kind != "f" or y.dtype.itemsize not in (4, 8):
        raise TypeError(f"invalid argument '{name}': must be float32 or float64, got {y.dtype}")
    return np.ascontiguousarray(y, dtype=np.float64)


def as_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, int, np.bool_)):
        raise TypeError(f"invalid argument '{name}': must be a bool, got {value!r}")
    return bool(value)


def num_threads(value: Any) -> int:
    """Threads for a core call: None means every core this process may run on."""
    if value is None:
        if hasattr(os, "sched_getaffinity"):  # respects taskset / container CPU sets
            return len(os.sched_getaffinity(0)) or 1
        return os.cpu_count() or 1
    return as_int("num_threads", value, minimum=1, maximum=INT_MAX)
