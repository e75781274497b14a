"""The NumPy-only file's `preprocess(rows)` for a table model: numpynn's reading of a table's columns and
numpynn.tables.transform's arithmetic, written out for NumPy and the standard library alone.

The record (column names, statistics, categories) travels as JSON bytes in the .npz (`prep.table`), never as
code: the text below is the same for every model, and no column name or category is ever part of it.
`preprocess` takes a dict of columns (or anything with `.items()`, such as a DataFrame), a list of row dicts
(a key absent from a row is a missing cell) or a CSV/TSV file's path (read with the csv module as numpynn's own
reader reads it: delimiter and header sniffed, the usual spellings of a missing cell).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..data.table import DELIMITERS, MISSING
from ..tables.preprocess import CLIP

WEIGHT = "prep.table"  # the .npz key of the record's JSON bytes


def record_bytes(record: dict[str, Any]) -> np.ndarray:
    """The record as uint8 JSON bytes, ASCII only, for the .npz (loaded without pickle)."""
    return np.frombuffer(json.dumps(record, ensure_ascii=True, allow_nan=False).encode("ascii"), np.uint8).copy()


def table_lines(n_inputs: int) -> list[str]:
    """The file's table section: constants, the readers, `preprocess(rows)`."""
    return [f"TABLE = json.loads(W.pop({WEIGHT!r}).tobytes())  # the preprocessing learned from the training rows",
            "# the spellings of a missing cell, as numpynn reads them", f"MISSING = {MISSING!r}",
            f"DELIMITERS = {DELIMITERS!r}", f"CLIP = {CLIP!r}", f"N_INPUTS = {int(n_inputs)!r}",
            *_SOURCE.splitlines()]


_SOURCE = '''

def text_cells(values):
    """Cells as text (object), None where missing: spaces stripped, missing spellings, true/false in lower case."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType"):
            out[i] = None
        else:
            s = (v if isinstance(v, str) else str(v)).strip()
            out[i] = None if s in MISSING else (s.lower() if s.lower() in ("true", "false") else s)
    return out


def as_column(name, values):
    """One column as numpynn reads it: float32 numbers, text cells, or datetime64[s] dates."""
    a = values if isinstance(values, np.ndarray) else np.asarray(values)
    if a.ndim != 1:
        raise ValueError(f"column {name!r} must be one-dimensional, got shape {a.shape}")
    if a.dtype.kind in "iuf":
        return a.astype(np.float32)
    if a.dtype.kind == "b":
        return text_cells(["true" if v else "false" for v in a.tolist()])
    if a.dtype.kind == "M":
        return a.astype("datetime64[s]")
    if a.dtype.kind in "OUS":
        return text_cells(a.tolist())
    raise ValueError(f"column {name!r} has dtype {a.dtype}; expected numbers, text or dates")


def is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def sniff(path, text):
    """The delimiter: a .tsv's tab, or the one that splits the first lines into equally many fields."""
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\\t"
    head = text[:1 << 16]
    lines = [ln for ln in head.splitlines()[:20] if ln.strip()]
    if len(head) == 1 << 16 and len(lines) > 1:
        lines = lines[:-1]
    best, best_fields = ",", 1
    for d in DELIMITERS:
        counts = {len(r) for r in csv.reader(lines, delimiter=d)}
        if len(counts) == 1 and (n := counts.pop()) > best_fields:
            best, best_fields = d, n
    return best


def is_header(first, second):
    """A header has a name where the data has a number or a missing cell; a lone row, any name at all."""
    if second is None or len(second) != len(first):
        header = not all(is_number(v) for v in first)
    else:
        header = any(not is_number(a) and is_number(b) for a, b in zip(first, second)) or not any(
            is_number(v) for v in first)
    return header or second is not None and any(
        not is_number(a) and a not in MISSING and b in MISSING for a, b in zip(first, second))


def parse_column(cells):
    """A CSV column: float32 numbers (NaN where missing) when every present cell is a number, else text."""
    missing = [v in MISSING for v in cells]
    present = [v for v, m in zip(cells, missing) if not m]
    if present and all(is_number(v) for v in present):
        out = np.full(len(cells), np.nan, np.float32)
        out[[i for i, m in enumerate(missing) if not m]] = np.asarray(present, dtype=np.float64).astype(np.float32)
        return out
    if not present:
        return np.full(len(cells), np.nan, np.float32)
    return text_cells(cells)


def read_csv(path):
    """A CSV/TSV file's columns by name (a file without a header: "column 1", "column 2", ...)."""
    path = Path(path)
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        text = f.read()
    rows = [[v.strip() for v in r] for r in csv.reader(io.StringIO(text, newline=""), delimiter=sniff(path, text))
            if any(v.strip() for v in r)]
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    header = is_header(rows[0], rows[1] if len(rows) > 1 else None)
    names = rows[0] if header else [f"column {j + 1}" for j in range(len(rows[0]))]
    body = rows[1:] if header else rows
    for line, r in enumerate(body, 2 if header else 1):
        if len(r) != len(names):
            raise ValueError(f"{path}: row {line} has {len(r)} fields, expected {len(names)} like the first row")
    return {name: parse_column([r[j] for r in body]) for j, name in enumerate(names)}


def columns_of(rows):
    """{name: column} from a dict of columns (or a DataFrame), a list of row dicts or a CSV file's path."""
    if isinstance(rows, (str, Path)):
        return read_csv(rows)
    needed = dict.fromkeys(e["name"] for e in TABLE["columns"])
    if hasattr(rows, "items"):
        given = {str(k): v for k, v in rows.items()}
        return {n: as_column(n, given[n]) for n in needed if n in given}
    rows = list(rows)
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError("expected a dict of columns, a list of row dicts or a CSV file's path")
    return {n: as_column(n, [r.get(n) for r in rows]) for n in needed if any(n in r for r in rows)}


def numbers(name, col):
    """A column as float64 numbers, NaN where missing."""
    if col.dtype.kind in "iuf":
        return col.astype(np.float64)
    if col.dtype.kind == "M":
        raise ValueError(f"column {name!r} holds dates where the model expects numbers")
    out = np.full(len(col), np.nan)
    for i, v in enumerate(col.tolist()):
        if v is not None:
            try:
                out[i] = float(v)
            except ValueError:
                raise ValueError(f"row {i + 1}, column {name!r}: {v!r} is not a number; the model was trained with "
                                 "numbers in this column") from None
    return out


def texts(col):
    """A column as text cells: a number as numpynn writes one (3.0 -> "3")."""
    if col.dtype == object:
        return col.tolist()
    if col.dtype.kind == "M":
        return [None if np.isnat(v) else str(v) for v in col]
    return [None if v != v else (str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else repr(v))
            for v in col.tolist()]


def dates(col):
    """A column as datetime64[s], NaT where missing or not a date (ISO text: its first 19 characters)."""
    if col.dtype.kind == "M":
        return col.astype("datetime64[s]")
    out = np.full(len(col), np.datetime64("NaT"), dtype="datetime64[s]")
    for i, v in enumerate(col.tolist()):
        if v is not None:
            try:
                out[i] = np.datetime64(str(v).rstrip("Z")[:19].replace(" ", "T"), "s")
            except ValueError:
                pass
    return out


def date_parts(col):
    """Days since 1970 (fractional), month, day of the week (Monday 0) and hour, float64, NaN where missing."""
    d = dates(col)
    missing = np.isnat(d)
    secs = d.astype(np.int64).astype(np.float64)
    days = np.floor(secs / 86400)
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    parts = {"days": secs / 86400, "month": month.astype(np.float64), "weekday": (days + 3) % 7,
             "hour": (secs - days * 86400) / 3600}
    for v in parts.values():
        v[missing] = np.nan
    return parts


def preprocess(rows):
    """A table's rows (a dict of columns, a list of row dicts, a CSV path) -> model inputs (n, N_INPUTS): a
    missing number takes the training median (and a 1 in its flag column), numbers are scaled (robust scaling
    smoothly clipped to (-3, 3), or standardised), categories one-hot (a column for missing cells; an unseen one
    all zeros) or an Embedding's codes (0 missing, 1 unseen, 2.. the categories). Columns by name, extra ones
    ignored."""
    columns = columns_of(rows)
    needed = list(dict.fromkeys(e["name"] for e in TABLE["columns"]))
    absent = [n for n in needed if n not in columns]
    if absent:
        raise ValueError(f"the model needs the columns {absent}, which the rows do not have")
    n = len(columns[needed[0]])
    if any(len(columns[c]) != n for c in needed):
        raise ValueError(f"columns of different lengths {sorted({len(columns[c]) for c in needed})}")
    out = np.zeros((n, N_INPUTS), np.float32)
    at = 0
    parts = {}
    for e in TABLE["columns"]:
        col = columns[e["name"]]
        if e["kind"] in ("numeric", "datetime"):
            if e["kind"] == "datetime":
                if e["name"] not in parts:
                    parts[e["name"]] = date_parts(col)
                x = parts[e["name"]][e["part"]].copy()
            else:
                x = numbers(e["name"], col)
            gap = np.isnan(x)
            x[gap] = e["fill"]
            z = (x - e["center"]) * e["factor"]
            if e["clip"]:
                z = z / np.sqrt(1.0 + (z / CLIP) ** 2)
            out[:, at] = z
            if e["indicator"]:
                out[:, at + 1] = gap
            at += 1 + e["indicator"]
            continue
        cells = texts(col)
        lut = {v: i for i, v in enumerate(e["categories"])}
        if e["encoding"] == "onehot":
            idx = np.fromiter((lut.get(v, -1) if v is not None else -2 for v in cells), np.int64, n)
            hit = np.flatnonzero(idx >= 0)
            out[hit, at + idx[hit]] = 1
            if e["missing"]:
                out[idx == -2, at + len(lut)] = 1
            at += len(lut) + e["missing"]
        else:
            out[:, at] = np.fromiter((lut.get(v, -1) + 2 if v is not None else (0 if e["missing"] else 1)
                                      for v in cells), np.int64, n)
            at += 1
    return out.astype(DTYPE)
'''
