"""Boundary checks for user data: every failure says what was expected and what came."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import is_int
from .errors import ArgumentError, DataError, ShapeError
from .ops import get_ops


def _describe_bad(a: np.ndarray) -> str:
    bad = ~np.isfinite(a)
    first = np.unravel_index(int(np.argmax(bad)), a.shape)
    kinds = []
    if np.isnan(a).any():
        kinds.append("NaN")
    if np.isinf(a).any():
        kinds.append("inf")
    return f"{int(bad.sum())} {'/'.join(kinds)} value(s), the first at index {tuple(int(i) for i in first)}"


def _describe_too_large(a: np.ndarray, cast: np.ndarray) -> str:
    big = np.isfinite(a) & ~np.isfinite(cast)
    first = np.unravel_index(int(np.argmax(big)), a.shape)
    return (f"{int(big.sum())} value(s) too large for {cast.dtype} (whose largest is {np.finfo(cast.dtype).max:.4g}), "
            f"the first {float(a[first]):.4g} at index {tuple(int(i) for i in first)}; scale it first")


def astype_finite(a: np.ndarray, dtype: Any, name: str) -> np.ndarray:
    """`a` in `dtype` (no copy when it already is), refusing NaN, inf and values the cast would make inf (1e300
    in float32), as scikit-learn refuses values too large for the dtype."""
    with np.errstate(over="ignore"):
        cast = a.astype(dtype, copy=False)
    if not all_finite(cast):
        if cast is not a and a.dtype.kind == "f" and all_finite(a):
            raise DataError(f"{name} contains {_describe_too_large(a, cast)}")
        raise DataError(f"{name} contains {_describe_bad(a if a.dtype.kind == 'f' else cast)}; expected only "
                        f"finite numbers")
    return cast


def _numeric(a: Any, name: str, hint: str = "") -> np.ndarray:
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name} must be a numeric array, could not convert it: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{name} must be numeric, got an array of dtype {arr.dtype}{hint}")
    return arr


def all_finite(a: np.ndarray) -> bool:
    """True when no element is NaN or inf (integer arrays always are)."""
    return get_ops().all_finite(a)


def as_float_array(a: Any, name: str, dtype: np.dtype) -> np.ndarray:
    """A finite floating array in `dtype` (a copy only when the dtype differs; the caller's array is never written)."""
    if type(a) is np.ndarray and a.dtype == dtype and a.ndim and a.shape[0]:  # the common case, checked cheaply
        if not all_finite(a):
            raise DataError(f"{name} contains {_describe_bad(a)}; expected only finite numbers")
        return a
    arr = _numeric(a, name)
    if arr.ndim == 0:
        raise ShapeError(f"{name} must have a batch axis, got a scalar")
    if arr.shape[0] == 0:
        raise DataError(f"{name} is empty: expected at least 1 sample, got shape {arr.shape}")
    return astype_finite(arr, dtype, name)


def check_X(X: Any, input_shape: tuple[int, ...] | None, dtype: np.dtype, name: str = "X") -> np.ndarray:
    """Validate features against the model's per-sample input shape."""
    arr = as_float_array(X, name, dtype)
    if arr.ndim == 1 and input_shape is not None and len(input_shape) == 1 and arr.shape[0] == input_shape[0]:
        raise ShapeError(f"{name} must be 2-D (samples, {input_shape[0]}); got one sample of shape {arr.shape} "
                         f"- use X.reshape(1, -1) for a single sample")
    if input_shape is not None and tuple(arr.shape[1:]) != tuple(input_shape):
        want = ", ".join(map(str, input_shape))
        raise ShapeError(f"model expects {name} of shape (n, {want}), got {tuple(arr.shape)}")
    return arr


def check_lengths(X: np.ndarray, y: np.ndarray, xname: str = "X", yname: str = "y") -> None:
    if len(X) != len(y):
        raise DataError(f"{xname} and {yname} must have the same number of samples, got {len(X)} and {len(y)}")


def check_targets(y: Any, n_outputs: int, loss_name: str, dtype: np.dtype, name: str = "y") -> np.ndarray:
    """Targets in the form the loss needs: int labels or one-hot for cross-entropy, 0/1 for binary, floats for MSE."""
    arr = _numeric(y, name, " (map class names to integers 0..k-1 first)")
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise DataError(f"{name} is empty: expected at least 1 target, got shape {arr.shape}")
    if not all_finite(arr):
        raise DataError(f"{name} contains {_describe_bad(arr)}; expected only finite numbers")
    if loss_name == "cross_entropy":
        if arr.ndim == 2 and arr.shape[1] == n_outputs:
            if (arr < 0).any() or (arr > 1).any():
                raise DataError(f"one-hot/probability {name} must lie in [0, 1], got values in "
                                f"[{arr.min()}, {arr.max()}]")
            return arr.astype(dtype, copy=False)
        if arr.ndim != 1:
            raise ShapeError(f"{name} must be labels (n,) or one-hot (n, {n_outputs}), got shape {arr.shape}")
        return _labels(arr, n_outputs, name)
    if loss_name == "binary_cross_entropy" and n_outputs > 1:  # one yes/no per output
        if arr.ndim == 1:
            return np.eye(n_outputs, dtype=dtype)[_labels(arr, n_outputs, name)]
        if arr.shape[1:] != (n_outputs,) or ((arr != 0) & (arr != 1)).any():
            raise DataError(f"targets {name} for {n_outputs} sigmoid outputs must be labels (n,) or 0/1 rows "
                            f"(n, {n_outputs}), got {arr.dtype} {arr.shape}")
        return arr.astype(dtype, copy=False)
    if loss_name == "binary_cross_entropy":
        if not (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1)):
            raise ShapeError(f"binary targets {name} must have shape (n,) or (n, 1), got {arr.shape}")
        if ((arr != 0) & (arr != 1)).any():
            raise DataError(f"binary targets {name} must be 0 or 1, got values {np.unique(arr)[:10].tolist()}")
        return arr.reshape(-1).astype(dtype, copy=False)
    # regression
    allowed = [(n_outputs,)] + ([()] if n_outputs == 1 else [])  # one output also takes a flat (n,) vector
    if arr.shape[1:] not in allowed:
        raise ShapeError(f"regression targets {name} must have shape (n, {n_outputs})"
                         f"{' or (n,)' if n_outputs == 1 else ''}, got {arr.shape}")
    return arr.reshape(len(arr), n_outputs).astype(dtype, copy=False)


def _labels(arr: np.ndarray, n_classes: int, name: str) -> np.ndarray:
    if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
        raise DataError(f"class labels {name} must be whole numbers 0..{n_classes - 1}, got non-integer values")
    lo, hi = int(arr.min()), int(arr.max())  # before the cast: a uint64 2**63 would wrap to a negative label
    if lo < 0 or hi >= n_classes:
        raise DataError(f"labels {name} must be in [0, {n_classes - 1}] for a model with {n_classes} outputs, "
                        f"got values from {lo} to {hi}")
    return arr.astype(np.int64, copy=False)


def check_integer(value: Any, name: str, minimum: int | None = None, maximum: int | None = None,
                  none: str | None = None, expected: str | None = None) -> int | None:
    """`value` as a Python int when it is an integer in [minimum, maximum] (NumPy integers too); None when it is
    None and `none` says what None means; anything else an ArgumentError naming `name` and what it `expected`."""
    if value is None and none is not None:
        return None
    if not is_int(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if expected is None:
            bounds = (f" in [{minimum}, {maximum}]" if minimum is not None and maximum is not None
                      else f" >= {minimum}" if minimum is not None else f" <= {maximum}" if maximum is not None else "")
            expected = f"an integer{bounds}{f' or None ({none})' if none else ''}"
        raise ArgumentError(f"{name} must be {expected}, got {value!r:.40} ({type(value).__name__})")
    return int(value)


def check_batch_size(batch_size: Any, name: str = "batch_size") -> int | None:
    """None (one pass over everything) or a positive integer; anything else an ArgumentError naming `name`."""
    return check_integer(batch_size, name, 1, none="one batch", expected="a positive integer or None")
