"""What each column of a table is, inferred from the training rows and shown before anything is trained.

Kinds: numeric (numbers), categorical (text, booleans, and any column declared so), datetime (expanded into
numeric parts), identifier (a distinct value in every row: a row number or a key, which can only be memorised:
dropped), constant (one value: nothing to learn: dropped), empty (every cell missing: dropped). Every decision
has a reason, printed by `numpynn inspect` and the run's log; `categorical`, `numeric` and `drop` override them.
A column that mixes numbers and text, or holds an infinite number, is refused, every such column in one error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..data.labels import is_number
from ..data.table import Frame
from ..errors import DatasetError

KINDS = ("numeric", "categorical", "datetime", "identifier", "constant", "empty")
DROPPED = ("identifier", "constant", "empty", "dropped")
ID_NAMES = re.compile(r"^(|id|.*[_ ]id|index|rownames|row|row_?number|unnamed: ?\d+)$", re.IGNORECASE)
MIN_ROWS_FOR_IDENTIFIER = 20  # fewer rows than this are too few to call distinct values a key
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class ColumnSchema:
    """One column: its name, kind, why, and what the training rows hold (missing cells, distinct values)."""

    name: str
    kind: str
    why: str
    missing: int
    distinct: int

    @property
    def used(self) -> bool:
        return self.kind not in DROPPED


def _distinct(col: np.ndarray, present: np.ndarray) -> int:
    values = col[present]
    if col.dtype == object:
        return len(set(values.tolist()))
    return len(np.unique(values))


def _parse_dates(col: np.ndarray, present: np.ndarray) -> np.ndarray | None:
    """A text column as datetime64[s] when every present cell is an ISO date or time, else None."""
    values = col[present].tolist()
    if not values or not all(DATE_PATTERN.match(v) for v in values[:200]) or not all(
            DATE_PATTERN.match(v) for v in values):
        return None
    out = np.full(len(col), np.datetime64("NaT"), dtype="datetime64[s]")
    try:
        out[present] = np.array([v.rstrip("Z")[:19].replace(" ", "T") for v in values], dtype="datetime64[s]")
    except ValueError:
        return None
    return out


def as_dates(col: np.ndarray) -> np.ndarray:
    """A datetime column, or a text column of ISO dates, as datetime64[s] (NaT where missing or unreadable)."""
    if col.dtype.kind == "M":
        return col.astype("datetime64[s]")
    present = np.array([v is not None for v in col.tolist()], bool)
    dates = _parse_dates(col, present)
    if dates is None:
        out = np.full(len(col), np.datetime64("NaT"), dtype="datetime64[s]")
        for i in np.flatnonzero(present):
            try:
                out[i] = np.datetime64(str(col[i]).rstrip("Z")[:19].replace(" ", "T"), "s")
            except ValueError:
                pass
        return out
    return dates


def _is_identifier(name: str, col: np.ndarray, present: np.ndarray, distinct: int, n: int) -> bool:
    if n < MIN_ROWS_FOR_IDENTIFIER or distinct != n or not present.all():
        return False
    if col.dtype == object:
        return True  # text unique in every row: a name or a key, never a category that comes back
    values = col.astype(np.float64)
    if not np.all(values == np.round(values)):
        return False  # distinct measurements (prices, lengths) are features
    span = values.max() - values.min() + 1
    return bool(ID_NAMES.match(name.strip())) or span == n  # a named key, or a permutation of a range


def infer_schema(frame: Frame, *, label: str | None = None, categorical: Sequence[str] = (),
                 numeric: Sequence[str] = (), drop: Sequence[str] = ()) -> list[ColumnSchema]:
    """Each feature column's schema (the label column is left out), from the rows of `frame` (the training
    split). `categorical`, `numeric`, `drop`: column names whose kind the caller decides."""
    known = set(frame.names)
    for flag, names in (("categorical", categorical), ("numeric", numeric), ("drop", drop)):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DatasetError(f"{frame.source}: --{flag} names no column {', '.join(map(repr, unknown))}; the "
                               f"columns are {', '.join(map(repr, frame.names[:20]))}")
    both = set(categorical) & set(numeric)
    if both:
        raise DatasetError(f"{frame.source}: {', '.join(map(repr, sorted(both)))} declared both categorical and "
                           "numeric")
    n = frame.n_rows
    schema: list[ColumnSchema] = []
    mixed: list[str] = []
    infinite: list[str] = []
    for j, (name, col) in enumerate(zip(frame.names, frame.columns, strict=True)):
        if name == label:
            continue
        where = name if name == f"column {j + 1}" else f"column {j + 1} ({name!r})"  # a file without header
        present = ~np.isnan(col) if col.dtype == np.float32 else (
            ~np.isnat(col) if col.dtype.kind == "M" else np.array([v is not None for v in col.tolist()], bool))
        missing = int(n - present.sum())
        distinct = _distinct(col, present)

        def add(kind: str, why: str, name=name, missing=missing, distinct=distinct) -> None:
            schema.append(ColumnSchema(name, kind, why, missing, distinct))

        if name in drop:
            add("dropped", "dropped as asked")
        elif missing == n:
            add("empty", "every cell is missing")
        elif name in categorical:
            add("categorical", "declared categorical")
        elif col.dtype == np.float32:
            bad = present & ~np.isfinite(col)
            if bad.any() and name not in numeric:
                i = int(np.argmax(bad))
                infinite.append(f"row {frame.row_of(i)}, {where}: {col[i]}")
            elif distinct == 1 and missing == 0:
                add("constant", f"one value only ({col[present][0]:g})")
            elif name not in numeric and _is_identifier(name, col, present, distinct, n):
                add("identifier", "a distinct whole number in every row (a row number or key)")
            else:
                add("numeric", "numbers" + (f", {missing} missing" if missing else ""))
        elif col.dtype.kind == "M":
            add("datetime", "dates")
        else:
            texts = col[present].tolist()
            numbers = sum(map(is_number, texts))
            if name in numeric:
                if numbers < len(texts):
                    i = next(i for i in np.flatnonzero(present) if not is_number(col[i]))
                    mixed.append(f"row {frame.row_of(int(i))}, {where}: {col[i]!r} is not a number")
                else:
                    add("numeric", "declared numeric")
            elif numbers == len(texts):
                add("numeric", "numbers written as text" + (f", {missing} missing" if missing else ""))
            elif numbers * 2 >= len(texts):
                i = next(i for i in np.flatnonzero(present) if not is_number(col[i]))
                mixed.append(f"row {frame.row_of(int(i))}, {where}: {col[i]!r} is not a number, though {numbers:,} "
                             f"of the column's {len(texts):,} cells are")
            elif _parse_dates(col, present) is not None:
                add("datetime", "ISO dates")
            elif distinct == 1 and missing == 0:
                add("constant", f"one value only ({texts[0]!r})")
            elif _is_identifier(name, col, present, distinct, n):
                add("identifier", "a distinct text in every row (a name or key)")
            else:
                add("categorical", f"text, {distinct:,} distinct values" + (f", {missing} missing" if missing else ""))
    problems = []
    if mixed:
        problems.append((f"{mixed[0]}: the column mixes numbers and text" if len(mixed) == 1 else
                         "these columns mix numbers and text: " + "; ".join(mixed)) +
                        ". Fix the cells, or say how to read each column: --categorical NAME (categories) or "
                        "--numeric NAME (numbers; a cell that is not one is refused), or --drop NAME")
    if infinite:
        problems.append("these columns hold an infinite number (or one beyond float32's range): " +
                        "; ".join(infinite) + ". Fix the cells or --drop the column")
    if problems:
        raise DatasetError(f"{frame.source}: " + "\n".join(problems))
    if not any(c.used for c in schema):
        raise DatasetError(f"{frame.source}: no column is left to learn from: "
                           + "; ".join(f"{c.name!r} {c.kind} ({c.why})" for c in schema))
    return schema


def describe(schema: Sequence[ColumnSchema], label: str | None = None, record: dict | None = None) -> str:
    """The schema as a table for people: one line per column, what it is and what is done to it (from the
    learned `record` where given, else what will be)."""
    done: dict[str, list[str]] = {}
    for e in (record or {}).get("columns", []):
        if e["kind"] == "categorical":
            k = len(e["categories"])
            text = f"one-hot ({k} columns{' + missing' if e['missing'] else ''})" if e["encoding"] == "onehot" \
                else f"embedding of {k + 2} codes (dim {e['dim']})"
        else:
            scale = {"robust": "robust scaling", "standardize": "standardised", "scale": "scaled by max |x|",
                     "none": "as is"}[record["scaling"]]
            text = (f"{e.get('part', 'value')}: " if e["kind"] == "datetime" else "") + \
                f"{scale}" + (f", missing -> {e['fill']:.4g} + flag" if e["indicator"] else "")
        done.setdefault(e["name"], []).append(text)
    plans = {"numeric": "impute the median (+ a missing flag), scale", "categorical": "one-hot or embed",
             "datetime": "expand into days since 1970, month, day of week, hour"}
    width = max([6, *(len(c.name) for c in schema)] + ([len(label)] if label else []))
    lines = [f"{'column':<{width}}  {'kind':<11}  {'missing':>7}  {'distinct':>8}  action (why)"]
    if label is not None:
        lines.append(f"{label:<{width}}  {'label':<11}  {'':>7}  {'':>8}  the target")
    for c in schema:
        action = "drop" if not c.used else "; ".join(done[c.name]) if c.name in done else plans[c.kind]
        lines.append(f"{c.name:<{width}}  {c.kind:<11}  {c.missing:>7,}  {c.distinct:>8,}  {action} ({c.why})")
    return "\n".join(lines)
