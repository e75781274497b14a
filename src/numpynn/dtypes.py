"""The dtype policy: numpynn computes in float32 by default, or float64 on request, and in nothing else."""

from __future__ import annotations

from typing import Any

import numpy as np

_FLOAT_DTYPES = ("float32", "float64")


def resolve_dtype(dtype: Any) -> np.dtype:
    """Return float32 or float64 as a NumPy dtype; anything else is a ValueError naming what came."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from exc
    if dt.name not in _FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dt.name!r}")
    return dt
