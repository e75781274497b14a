"""A table's preprocessing: learned from the training split, kept as plain data (JSON) in the model file, and
replayed on any later table with the same columns (in any order, extra columns ignored).

Numbers: a missing cell takes the training median, and gets a missing flag column when the training rows had
missing cells; then scaling, by default RealMLP's robust scaling with smooth clipping (Holzmüller et al. 2024):
z = (x - median) / (q75 - q25), then z / sqrt(1 + (z / 3)^2), which keeps outliers within (-3, 3) without a
kink. "standardize" is (x - mean) / std, "scale" x / max|x|, "none" leaves the numbers. Dates become numbers
(days since 1970, month, day of week, hour) treated as numbers. Categories: one-hot when they are few (a column
for missing cells when training had them; a category never seen in training is all zeros), else one column of
integer codes for an Embedding layer: 0 missing, 1 a category never seen (or seen once in training), 2.. the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data.table import Frame
from ..errors import DatasetError
from .record import PARTS as DATE_PARTS
from .record import SCALINGS, VERSION, width_of
from .schema import ColumnSchema, as_dates

CLIP = 3.0  # the smooth clip's bound
ONEHOT_MAX = 16  # categories one-hot up to this many distinct values, embedded beyond
MAX_VOCABULARY = 10_000  # an embedded column keeps at most this many categories, the most frequent


def text_of(col: np.ndarray) -> np.ndarray:
    """Any column as text cells (object, None where missing): numbers as integers where whole (3.0 -> "3")."""
    if col.dtype == object:
        return col
    out = np.empty(len(col), dtype=object)
    if col.dtype.kind == "M":
        for i, v in enumerate(col):
            out[i] = None if np.isnat(v) else str(v)
        return out
    for i, v in enumerate(col.tolist()):
        out[i] = None if v != v else (str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else repr(v))
    return out


def numbers_of(col: np.ndarray, name: str, source: str, frame: Frame | None = None) -> np.ndarray:
    """Any column as float64 numbers, NaN where missing; text that is not a number is refused."""
    if col.dtype == np.float32 or col.dtype.kind in "iuf":
        return col.astype(np.float64)
    if col.dtype.kind == "M":
        raise DatasetError(f"{source}: column {name!r} holds dates where the model expects numbers")
    out = np.full(len(col), np.nan)
    for i, v in enumerate(col.tolist()):
        if v is None:
            continue
        try:
            out[i] = float(v)
        except ValueError:
            row = frame.row_of(i) if frame is not None else i + 1
            raise DatasetError(f"{source}: row {row}, column {name!r}: {v!r} is not a number; the model was "
                               "trained with numbers in this column") from None
    return out


def _dates_of(col: np.ndarray, name: str, frame: Frame) -> np.ndarray:
    """A column the model reads as dates: dates, ISO text, or a column with no cell at all (read as numbers, NaN);
    numbers are refused, naming a row (seconds or days since when? the model cannot tell)."""
    if col.dtype.kind != "f":
        return col
    present = np.flatnonzero(~np.isnan(col))
    if len(present):
        i = int(present[0])
        raise DatasetError(f"{frame.source}: row {frame.row_of(i)}, column {name!r}: {float(col[i]):g} is a number; "
                           "the model was trained with dates in this column (ISO text such as 2024-01-31 or "
                           "2024-01-31T12:30:00)")
    return np.full(len(col), np.datetime64("NaT"), dtype="datetime64[s]")


def date_parts(col: np.ndarray) -> dict[str, np.ndarray]:
    """A dates column's numeric parts, float64, NaN where missing."""
    d = as_dates(col)
    missing = np.isnat(d)
    secs = d.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    days = np.floor(secs / 86400)
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    parts = {"days": secs / 86400, "month": month.astype(np.float64), "weekday": (days + 3) % 7,
             "hour": (secs - days * 86400) / 3600}
    for v in parts.values():
        v[missing] = np.nan
    return parts


def _scaler(x: np.ndarray, scaling: str) -> tuple[float, float, bool]:
    """(center, factor, smooth clip) of present values x for `scaling`."""
    if scaling == "robust":
        q25, median, q75 = np.quantile(x, [0.25, 0.5, 0.75])
        spread = q75 - q25 if q75 > q25 else 0.5 * (x.max() - x.min())
        return float(median), float(1.0 / spread) if spread > 0 else 0.0, True
    if scaling == "standardize":
        std = float(x.std())
        return float(x.mean()), 1.0 / std if std > 0 else 1.0, False
    if scaling == "scale":
        top = float(np.abs(x).max())
        return 0.0, 1.0 / top if top > 0 else 1.0, False
    return 0.0, 1.0, False


def _numeric_entry(name: str, x: np.ndarray, scaling: str, part: str | None = None) -> dict[str, Any]:
    present = x[~np.isnan(x)]
    if present.size == 0:
        present = np.zeros(1)
    center, factor, clip = _scaler(present, scaling)
    entry: dict[str, Any] = {"name": name, "kind": "numeric", "fill": float(np.median(present)), "center": center,
                             "factor": factor, "clip": clip, "indicator": bool(np.isnan(x).any())}
    if part is not None:
        entry.update(kind="datetime", part=part)
    return entry


def _categorical_entry(name: str, cells: np.ndarray, onehot_max: int) -> dict[str, Any]:
    counts = Counter(v for v in cells.tolist() if v is not None)
    ranked = sorted(counts, key=lambda v: (-counts[v], v))
    missing = any(v is None for v in cells.tolist())
    if len(ranked) <= onehot_max:
        return {"name": name, "kind": "categorical", "encoding": "onehot", "categories": sorted(ranked),
                "missing": missing}
    kept = [v for v in ranked if counts[v] > 1][:MAX_VOCABULARY]  # a value seen once teaches the unknown code
    cardinality = len(kept) + 2
    dim = int(min(16, max(2, round(1.6 * cardinality ** 0.56))))
    return {"name": name, "kind": "categorical", "encoding": "embedding", "categories": kept, "missing": missing,
            "dim": dim}


def fit(frame: Frame, schema: Sequence[ColumnSchema], *, scaling: str = "robust",
        onehot_max: int = ONEHOT_MAX) -> dict[str, Any]:
    """The preprocessing record learned from `frame` (the training rows) for the used columns of `schema`."""
    if scaling not in SCALINGS:
        raise DatasetError(f"scaling must be one of {SCALINGS}, got {scaling!r}")
    entries: list[dict[str, Any]] = []
    for c in schema:
        if not c.used:
            continue
        col = frame.column(c.name)
        if c.kind == "numeric":
            entries.append(_numeric_entry(c.name, numbers_of(col, c.name, frame.source, frame), scaling))
        elif c.kind == "datetime":
            parts = date_parts(col)
            for part in DATE_PARTS:
                x = parts[part]
                if part == "hour" and not np.nanmax(x, initial=0) > 0:
                    continue  # dates without times
                entries.append(_numeric_entry(c.name, x, scaling, part))
        else:
            entries.append(_categorical_entry(c.name, text_of(col), onehot_max))
    dropped = [{"name": c.name, "kind": c.kind, "why": c.why} for c in schema if not c.used]
    return {"version": VERSION, "scaling": scaling, "columns": entries, "dropped": dropped}


def n_inputs(record: dict[str, Any]) -> int:
    return sum(width_of(e) for e in record["columns"])


def input_names(record: dict[str, Any]) -> list[str]:
    """The model inputs' names, in order: a column, its missing flag, one per category, a code column."""
    out: list[str] = []
    for e in record["columns"]:
        base = e["name"] if e["kind"] != "datetime" else f"{e['name']}.{e['part']}"
        if e["kind"] in ("numeric", "datetime"):
            out += [base] + ([f"{base} missing"] if e["indicator"] else [])
        elif e["encoding"] == "onehot":
            out += [f"{base}={v}" for v in e["categories"]] + ([f"{base} missing"] if e["missing"] else [])
        else:
            out.append(f"{base} code")
    return out


def required_columns(record: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(e["name"] for e in record["columns"]))


def embedding_spec(record: dict[str, Any]) -> dict[str, list[int]] | None:
    """The Embedding layer a model of this record starts with (input positions, cardinalities, dims), or None."""
    columns, cards, dims, at = [], [], [], 0
    for e in record["columns"]:
        if e["kind"] == "categorical" and e["encoding"] == "embedding":
            columns.append(at)
            cards.append(len(e["categories"]) + 2)
            dims.append(int(e["dim"]))
        at += width_of(e)
    return {"columns": columns, "cardinalities": cards, "dims": dims} if columns else None


def _scaled(x: np.ndarray, e: dict[str, Any]) -> np.ndarray:
    z = (x - e["center"]) * e["factor"]
    if e["clip"]:
        z = z / np.sqrt(1.0 + (z / CLIP) ** 2)
    return z


def transform(record: dict[str, Any], frame: Frame, dtype=np.float32) -> np.ndarray:
    """The model's inputs (n, n_inputs(record)) from a table with (at least) the record's columns, by name."""
    missing = [n for n in required_columns(record) if n not in frame.names]
    if missing:
        raise DatasetError(f"{frame.source}: the model needs column{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(map(repr, missing))}, which the table does not have (it has "
                           f"{', '.join(map(repr, frame.names[:20]))}{', ...' if len(frame.names) > 20 else ''})")
    n = frame.n_rows
    out = np.zeros((n, n_inputs(record)), dtype)
    at = 0
    parts: dict[str, dict[str, np.ndarray]] = {}
    for e in record["columns"]:
        col = frame.column(e["name"])
        if e["kind"] in ("numeric", "datetime"):
            if e["kind"] == "datetime":
                if e["name"] not in parts:
                    parts[e["name"]] = date_parts(_dates_of(col, e["name"], frame))
                x = parts[e["name"]][e["part"]].copy()
            else:
                x = numbers_of(col, e["name"], frame.source, frame)
            gap = np.isnan(x)
            x[gap] = e["fill"]
            out[:, at] = _scaled(x, e)
            if e["indicator"]:
                out[:, at + 1] = gap
        else:
            cells = text_of(col)
            lut = {v: i for i, v in enumerate(e["categories"])}
            if e["encoding"] == "onehot":
                idx = np.fromiter((lut.get(v, -1) if v is not None else -2 for v in cells.tolist()), np.int64, n)
                rows = np.flatnonzero(idx >= 0)
                out[rows, at + idx[rows]] = 1
                if e["missing"]:
                    out[idx == -2, at + len(e["categories"])] = 1
            else:
                out[:, at] = np.fromiter((lut.get(v, -1) + 2 if v is not None else (0 if e["missing"] else 1)
                                          for v in cells.tolist()), np.int64, n)
        at += width_of(e)
    return out
