"""The form endpoint's body -> a Frame of raw rows: every cell checked against the column it is for.

A body is one row (a JSON object of column -> value) or a list of at most MAX_ROWS of them. A row names every
column the model needs; it may also name the label column and the columns training dropped, which are ignored
(a row of the training file can be sent as it is); any other name is refused. A cell is null for a missing
one, else:
- a number column: a JSON number within float32's range (as a CSV cell is read: float64, then float32);
- a category column: text (read as a CSV's text cell is: stripped, "NA" and the other missing spellings
  missing, TRUE/False as true/false), true/false, or a number (3 is the category "3", as a CSV's number is);
- a date column: an ISO date or date and time (2024-05-01, 2024-05-01T13:30).
Each refusal is a 400 naming the row (from 1), the column and what came.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import in_range
from ..data.table import Frame, text_column
from ..tables.preprocess import text_of
from ..tables.record import MAX_TEXT
from ..tables.schema import DATE_PATTERN, as_dates
from .validate import ApiError

MAX_ROWS = 1000  # rows in one request: a page sends one; a script may send a batch
FLOAT32_MAX = float(np.finfo(np.float32).max)
KINDS = ("number", "category", "date")


@dataclass(frozen=True)
class Field:
    """One column of the form: its name, its kind (one of KINDS) and what training saw in it.

    `median`: the training median (a number column's fill value; a date column's median day, ISO); `categories`:
    a category column's training categories, in the record's order; `missing_seen`: training had missing cells;
    `time`: a date column whose training dates had times of day."""

    name: str
    kind: str
    median: float | str | None = None
    categories: tuple[str, ...] = ()
    missing_seen: bool = False
    time: bool = False

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "missing_seen": self.missing_seen}
        if self.kind == "category":
            out["categories"] = list(self.categories)
        else:
            out["median"] = self.median
        if self.kind == "date":
            out["time"] = self.time
        return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _listed(names: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(repr(n[:40]) for n in names[:most])
    return shown + (f" and {len(names) - most:,} more" if len(names) > most else "")


def rows_of(body: Any) -> tuple[list[dict[str, Any]], bool]:
    """(the body's rows, whether it was a single object rather than a list)."""
    if isinstance(body, dict):
        return [body], True
    if not isinstance(body, list):
        raise ApiError(400, "the body must be a row (a JSON object of column -> value) or a list of rows, got "
                            + ("nothing" if body is None else type(body).__name__))
    if not 1 <= len(body) <= MAX_ROWS:
        raise ApiError(400, f"a list of 1 to {MAX_ROWS:,} rows is accepted, got {len(body):,}")
    for i, row in enumerate(body):
        if not isinstance(row, dict):
            raise ApiError(400, f"row {i + 1} must be a JSON object of column -> value, got {type(row).__name__}")
    return body, False


def _number(value: Any, where: str) -> float:
    if value is None:
        return np.nan
    if not in_range(value, -FLOAT32_MAX, FLOAT32_MAX):
        raise ApiError(400, f"{where} must be a number (a finite one, within float32's range) or null for a missing "
                            f"cell, got {_shown(value)}")
    return float(value)


def _category(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if len(value) > MAX_TEXT or "\0" in value:
            raise ApiError(400, f"{where} must be text of at most {MAX_TEXT:,} characters without a NUL byte, got "
                                f"{_shown(value)}")
        return text_column([value])[0]
    if in_range(value, -FLOAT32_MAX, FLOAT32_MAX):
        return text_of(np.array([value], np.float32))[0]
    raise ApiError(400, f"{where} must be a category (text, true/false or a number) or null for a missing cell, got "
                        f"{_shown(value)}")


def _date(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= 40 and DATE_PATTERN.match(value.strip()):
        if not np.isnat(as_dates(np.array([value.strip()], object))[0]):
            return value.strip()
    raise ApiError(400, f"{where} must be an ISO date such as '2024-05-01' or '2024-05-01T13:30', or null for a "
                        f"missing cell, got {_shown(value)}")


def frame_of(rows: list[dict[str, Any]], fields: Sequence[Field], ignored: Sequence[str], single: bool) -> Frame:
    """The rows as a Frame with one column per field (numbers float32 NaN-missing, categories text None-missing,
    dates datetime64[s] NaT-missing), as read_table gives a CSV of the same rows."""
    names = [f.name for f in fields]
    allowed = set(names) | set(ignored)
    cells: list[list[Any]] = [[] for _ in fields]
    for i, row in enumerate(rows):
        at = "the row" if single else f"row {i + 1}"
        unknown = [k for k in row if k not in allowed]
        if unknown:
            raise ApiError(400, f"{at} names column(s) the model does not know: {_shown(unknown[:5])}"
                                f"{' and more' if len(unknown) > 5 else ''}; its columns are {_listed(names)}"
                                + (f" (and it ignores {_listed(ignored)})" if ignored else ""))
        absent = [n for n in names if n not in row]
        if absent:
            raise ApiError(400, f"{at} lacks column(s) {_shown(absent[:5])}{' and more' if len(absent) > 5 else ''}"
                                "; every column the model needs must be named (null for a missing cell)")
        for j, f in enumerate(fields):
            where = f"{at}, column {f.name[:60]!r}"
            value = row[f.name]
            if f.kind == "number":
                cells[j].append(_number(value, where))
            elif f.kind == "category":
                cells[j].append(_category(value, where))
            else:
                cells[j].append(_date(value, where))
    columns = []
    for f, col in zip(fields, cells, strict=True):
        if f.kind == "number":
            columns.append(np.array(col, np.float64).astype(np.float32))
            continue
        text = np.empty(len(col), object)
        text[:] = col
        columns.append(text if f.kind == "category" else as_dates(text))
    return Frame(names, columns, "the request")
