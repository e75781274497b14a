"""The check of a table preprocessing record read from a model file: every key, type and bound, before use.

A model file may be hostile: a record must not make `transform` allocate without bound, index out of range or
compute with a non-finite constant. The limits are far beyond any table numpynn trains on.
"""

from __future__ import annotations

from typing import Any

from .. import filechecks
from ..checks import is_int
from ..errors import ModelFileError
from ..filechecks import flag as _flag
from ..filechecks import number as _real
from ..filechecks import obj

MAX_COLUMNS = 100_000
MAX_CATEGORIES = 1_000_000  # over all columns
MAX_TEXT = 4096  # characters in one name or category
PARTS = ("days", "month", "weekday", "hour")
SCALINGS = ("robust", "standardize", "scale", "none")
VERSION = 1


def _text(value: Any, field: str) -> str:
    """A string of at most MAX_TEXT characters."""
    filechecks.text(value, field)
    if len(value) > MAX_TEXT:
        raise ModelFileError(f"{field} must be a string of at most {MAX_TEXT} characters, got {len(value):,}")
    return value


def width_of(entry: dict[str, Any]) -> int:
    """How many model inputs one (checked) record entry makes: a value and its missing flag, one per category and
    the missing slot (one-hot), or one code column (embedding)."""
    if entry["kind"] in ("numeric", "datetime"):
        return 1 + bool(entry["indicator"])
    if entry["encoding"] == "onehot":
        return len(entry["categories"]) + bool(entry["missing"])
    return 1


def check_record(record: Any, field: str = "preprocessing.table", n_features: int | None = None) -> dict[str, Any]:
    """The record itself when it is well formed (and makes `n_features` inputs, when given), else a
    ModelFileError naming the first bad value."""
    obj(record, field)
    if record.get("version") != VERSION:
        raise ModelFileError(f"{field}.version must be {VERSION} (this numpynn's), got {record.get('version')!r}")
    if record.get("scaling") not in SCALINGS:
        raise ModelFileError(f"{field}.scaling must be one of {SCALINGS}, got {record.get('scaling')!r}")
    columns = record.get("columns")
    if not isinstance(columns, list) or not 0 < len(columns) <= MAX_COLUMNS:
        raise ModelFileError(f"{field}.columns must be a list of 1..{MAX_COLUMNS:,} columns")
    total = width = 0
    for i, e in enumerate(columns):
        at = f"{field}.columns[{i}]"
        obj(e, at)
        _text(e.get("name"), f"{at}.name")
        kind = e.get("kind")
        if kind in ("numeric", "datetime"):
            for key in ("fill", "center", "factor"):
                _real(e.get(key), f"{at}.{key}")
            _flag(e.get("clip"), f"{at}.clip")
            _flag(e.get("indicator"), f"{at}.indicator")
            if kind == "datetime" and e.get("part") not in PARTS:
                raise ModelFileError(f"{at}.part must be one of {PARTS}, got {e.get('part')!r}")
        elif kind == "categorical":
            cats = e.get("categories")
            if not isinstance(cats, list):
                raise ModelFileError(f"{at}.categories must be a list of strings")
            total += len(cats)
            if total > MAX_CATEGORIES:
                raise ModelFileError(f"{field} holds more than {MAX_CATEGORIES:,} categories")
            for k, v in enumerate(cats):
                _text(v, f"{at}.categories[{k}]")
            if len(set(cats)) != len(cats):
                raise ModelFileError(f"{at}.categories lists a category twice")
            _flag(e.get("missing"), f"{at}.missing")
            encoding = e.get("encoding")
            if encoding == "embedding":
                if not is_int(e.get("dim")) or not 1 <= e["dim"] <= 1024:
                    raise ModelFileError(f"{at}.dim must be an integer in 1..1024, got {e.get('dim')!r}")
            elif encoding != "onehot":
                raise ModelFileError(f"{at}.encoding must be 'onehot' or 'embedding', got {encoding!r}")
        else:
            raise ModelFileError(f"{at}.kind must be numeric, datetime or categorical, got {kind!r}")
        width += width_of(e)
    if n_features is not None and width != n_features:
        raise ModelFileError(f"{field} makes {width:,} inputs for a model of {n_features:,}")
    dropped = record.get("dropped", [])
    if not isinstance(dropped, list) or len(dropped) > MAX_COLUMNS:
        raise ModelFileError(f"{field}.dropped must be a list of at most {MAX_COLUMNS:,} columns")
    for i, d in enumerate(dropped):
        obj(d, f"{field}.dropped[{i}]")
        for key in ("name", "kind", "why"):
            _text(d.get(key), f"{field}.dropped[{i}].{key}")
    return record
