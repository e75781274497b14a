"""Checks of the values a model file holds against their meaning, for files that may have been crafted.

A crafted file can carry a valid checksum (anyone can recompute it), so every value is checked as if it came
from a stranger: its type, then its range. Each failure is a ModelFileError naming the field, e.g.
"training.optimizer.iterations must be an integer in [0, 4611686018427387904], got -1". The files of a run folder
are checked with the same functions (numpynn.runfiles names the file in front of the field).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from .checks import in_range, is_finite_real, is_int
from .errors import ModelFileError, NumpynnError

MAX_COUNT = 2**62  # epochs, steps: far beyond any run, and small enough for every int64 and float computation
MAX_DIM = 2**31  # one axis of an input shape
_RAW_ERRORS = (NumpynnError, ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
               RecursionError, ZeroDivisionError)


@contextlib.contextmanager
def reading(field: str) -> Iterator[None]:
    """Turn any failure while a field's value is used into a ModelFileError that names the field."""
    try:
        yield
    except ModelFileError:
        raise
    except _RAW_ERRORS as exc:
        raise ModelFileError(f"{field}: {str(exc):.300}") from None



def integer(value: Any, field: str, lo: int = 0, hi: int = MAX_COUNT) -> int:
    if not is_int(value) or not lo <= value <= hi:
        raise ModelFileError(f"{field} must be an integer in [{lo}, {hi}], got {_show(value)}")
    return value


def number(value: Any, field: str, *, positive: bool = False) -> float:
    """A finite number (> 0 with `positive`)."""
    ok = in_range(value, 0, open_lo=True) if positive else in_range(value)
    if not ok:
        raise ModelFileError(f"{field} must be a finite number{' > 0' if positive else ''}, got {_show(value)}")
    return float(value)


def flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ModelFileError(f"{field} must be true or false, got {_show(value)}")
    return value


def shape(value: Any, field: str) -> list[int] | None:
    """None or a per-sample shape: a short list of positive integers."""
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= 8:
        raise ModelFileError(f"{field} must be null or a list of 1 to 8 positive integers, got {_show(value)}")
    return [integer(d, f"{field}[{i}]", 1, MAX_DIM) for i, d in enumerate(value)]


def obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ModelFileError(f"{field} must be an object, got {_show(value)}")
    return value


def numbers(value: Any, field: str, *, finite: bool = True) -> list[float]:
    """A list of numbers (NaN and inf allowed without `finite`: a history records what happened)."""
    if not isinstance(value, list):
        raise ModelFileError(f"{field} must be a list of numbers, got {_show(value)}")
    for i, v in enumerate(value):
        if not (is_finite_real(v) if finite else _float(v)):
            raise ModelFileError(f"{field}[{i}] must be a {'finite ' if finite else ''}number, got {_show(v)}")
    return [float(v) for v in value]


def rng_state(value: Any, field: str) -> dict[str, Any]:
    """A PCG64 state as numpy.random.PCG64().state writes it, every integer in its range."""
    state = obj(value, field)
    if state.get("bit_generator") != "PCG64":
        raise ModelFileError(f"{field} must be a PCG64 state, got bit_generator {_show(state.get('bit_generator'))}")
    inner = obj(state.get("state"), f"{field}.state")
    integer(inner.get("state"), f"{field}.state.state", 0, 2**128 - 1)
    integer(inner.get("inc"), f"{field}.state.inc", 0, 2**128 - 1)
    integer(state.get("has_uint32", 0), f"{field}.has_uint32", 0, 1)
    integer(state.get("uinteger", 0), f"{field}.uinteger", 0, 2**32 - 1)
    return state


def history(value: Any, field: str) -> dict[str, Any]:
    """A History.to_dict(): per-epoch figures, per-step losses and two flags (`field` "" for a history.json)."""
    d = obj(value, field or "the history")
    epochs = obj(d.get("epochs", {}), at(field, "epochs"))
    for name, values in epochs.items():
        numbers(values, at(field, f"epochs[{name!r:.40}]"), finite=False)
    numbers(d.get("batch_loss", []), at(field, "batch_loss"), finite=False)
    for key in ("stopped_early", "interrupted"):
        flag(d.get(key, False), at(field, key))
    return d


def at(field: str, key: str) -> str:
    """The name of `key` inside `field` ("training.history" + "epochs"); `key` alone for a whole file's fields."""
    return f"{field}.{key}" if field else key


def optional_number(value: Any, field: str) -> float | None:
    """None, or a number (NaN and inf allowed: a figure records what happened)."""
    if value is None:
        return None
    if not _float(value):
        raise ModelFileError(f"{field} must be a number or null, got {_show(value)}")
    return float(value)


def text(value: Any, field: str, *, optional: bool = False) -> str | None:
    """A string (or None with `optional`)."""
    if not isinstance(value, str) and not (optional and value is None):
        raise ModelFileError(f"{field} must be a string{' or null' if optional else ''}, got {_show(value)}")
    return value


def array(value: Any, field: str, what: str = "values") -> list[Any]:
    if not isinstance(value, list):
        raise ModelFileError(f"{field} must be a list of {what}, got {_show(value)}")
    return value


def preprocessing(value: Any, field: str = "preprocessing", n_features: int | None = None) -> dict[str, Any]:
    """How raw inputs become the model's: {"normalize": "scale", "max_value": > 0} or {"normalize":
    "standardize", "mean": number(s), "std": number(s) > 0} or {"normalize": "none"}, and an "input_shape".
    Lists of means and deviations (one per feature) and the input shape must match the model's `n_features`
    when it is known. Other keys are kept as they are (a later numpynn may add some)."""
    prep = obj(value, field)
    if not prep:
        return prep
    kind = prep.get("normalize", "none")
    if kind not in ("scale", "standardize", "none"):
        raise ModelFileError(f"{field}.normalize must be 'scale', 'standardize' or 'none', got {_show(kind)}")
    if kind == "scale" and "max_value" in prep:
        number(prep["max_value"], f"{field}.max_value", positive=True)
    if kind == "standardize":
        for key in ("mean", "std"):
            if key not in prep:
                raise ModelFileError(f"{field} says normalize 'standardize' but has no {key!r}")
            values = prep[key] if isinstance(prep[key], list) else [prep[key]]
            if isinstance(prep[key], list) and n_features is not None and len(values) != n_features:
                raise ModelFileError(f"{field}.{key} lists {len(values)} values for a model of {n_features} "
                                     f"inputs")
            for i, v in enumerate(values):
                number(v, f"{field}.{key}" + (f"[{i}]" if isinstance(prep[key], list) else ""),
                       positive=key == "std")
    if "input_shape" in prep:
        dims = shape(prep["input_shape"], f"{field}.input_shape")
        if dims is not None and n_features is not None and math.prod(dims) != n_features:
            raise ModelFileError(f"{field}.input_shape {dims} does not make the model's {n_features} inputs")
    return prep


def _float(value: Any) -> bool:
    """A number a float holds (NaN and inf included, an integer too large for a float not)."""
    return is_finite_real(value) or isinstance(value, float)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
