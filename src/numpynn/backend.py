"""The array namespace and the dtype policy.

numpynn computes with whatever `xp` a Backend holds (NumPy today; any module with NumPy's API,
such as CuPy, tomorrow). Code converts to NumPy only for I/O and plots. There is no module-level
switch: a model carries its own Backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}


def resolve_dtype(dtype: Any) -> np.dtype:
    """Return float32 or float64 as a NumPy dtype; anything else is a ValueError naming what came."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from exc
    if dt.name not in _FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dt.name!r}")
    return dt


@dataclass(frozen=True)
class Backend:
    """An array module plus the floating dtype every parameter, gradient and buffer uses."""

    xp: Any = np
    dtype: np.dtype = np.dtype(np.float32)

    def __reduce__(self):
        # modules do not pickle: rebuild from the module's name (scikit-learn pickles fitted estimators)
        return (_backend_from_names, (self.xp.__name__, self.dtype.name))


def _backend_from_names(module: str, dtype: str) -> Backend:
    import importlib

    if module not in ("numpy", "cupy"):
        raise ValueError(f"unknown array module {module!r}")
    return Backend(importlib.import_module(module), resolve_dtype(dtype))


def numpy_backend(dtype: Any = "float32") -> Backend:
    """The default backend: NumPy with float32 unless asked otherwise."""
    return Backend(np, resolve_dtype(dtype))
