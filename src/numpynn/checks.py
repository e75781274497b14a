"""The small checks every room makes of a value it is handed, and the one way a registry refuses a name.

Python counts True as the integer 1 and NumPy has integer and float types of its own: a setting of `True` is
not a count, and `np.int64(2)` epochs are two epochs. Below everything else (the engines use it too).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def is_int(v: Any) -> bool:
    """An integer: Python's or NumPy's, never a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def is_real(v: Any) -> bool:
    """A real number (finite or not): an integer or a float, Python's or NumPy's, never a bool."""
    return is_int(v) or isinstance(v, (float, np.floating))


def is_finite_real(v: Any) -> bool:
    """A real number that a float holds finitely (an integer of 400 digits does not)."""
    if not is_real(v):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def in_range(v: Any, lo: float = -math.inf, hi: float = math.inf, *, integer: bool = False,
             open_lo: bool = False, open_hi: bool = False) -> bool:
    """A finite real (an integer with `integer`, of any size) in [lo, hi]; `open_lo`/`open_hi` leave out that
    end."""
    if not (is_int(v) if integer else is_finite_real(v)):
        return False
    return (lo < v if open_lo else lo <= v) and (v < hi if open_hi else v <= hi)


def lookup(registry: Mapping[str, T] | Sequence[str], name: Any, what: str, *, error: type[Exception] = ValueError,
           also: str = "") -> T:
    """registry[name] (a mapping's value; for a sequence of names, the name itself), or `error` saying
    "unknown <what> <name>; expected one of [...]": a mapping's names sorted, a sequence's in its own order
    (`also`: other accepted forms, e.g. "or an Optimizer")."""
    mapping = isinstance(registry, Mapping)
    try:
        if mapping:
            return registry[name]
        if name in registry:
            return name
    except (KeyError, TypeError):
        pass
    names = sorted(registry) if mapping else list(registry)
    more = f" {also}" if also else ""
    raise error(f"unknown {what} {name!r:.80}; expected one of {names}{more}")
