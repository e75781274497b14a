"""A comma-separated table: an optional header, numeric feature columns and one label column (numbers or text).

All-numeric files go through NumPy's C reader into float32 (see docs/performance.md for its speed); a file
with a text column (class names such as `setosa`) through Python's csv module. A UTF-8 byte
order mark is dropped before anything is read, so it can hide neither the first row nor the header's first name.
Every failure is a DatasetError naming the file and, where there is one, the row and column.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .files import open_regular
from .labels import is_number as _is_number

LABEL_NAMES = ("label", "class", "target", "y")  # a header column with one of these names is the label column


@dataclass
class CsvTable:
    """A CSV file as read: `columns` holds each column as float32 (n,) or, for a text column, str (n,)."""

    path: str
    header: list[str] | None
    columns: list[np.ndarray]
    matrix: np.ndarray | None = None  # (rows, cols) float32 when every column is numeric; columns are its views

    @property
    def n_rows(self) -> int:
        return len(self.columns[0])

    def label_index(self, label_column: int | str | None = None) -> int:
        """The label column: an index (negative from the end), a header name, or by default the only text column,
        else a column named label/class/target/y, else the last one."""
        n = len(self.columns)
        if isinstance(label_column, str) and label_column.strip() == "":
            label_column = None
        if label_column is None:  # only the labels may be text, so a lone text column is the label column
            text = [i for i, c in enumerate(self.columns) if c.dtype.kind == "U"]
            named = [i for i, h in enumerate(self.header or []) if h.strip().lower() in LABEL_NAMES]
            return text[0] if len(text) == 1 else named[0] if named else n - 1
        if isinstance(label_column, str):
            if self.header is not None and label_column in self.header:
                return self.header.index(label_column)
            try:
                label_column = int(label_column)
            except ValueError:
                names = f"the header is {self.header[:8]}{'...' if len(self.header) > 8 else ''}" if self.header \
                    else "the file has no header row (give the column's index)"
                raise DatasetError(f"{self.path}: no column named {label_column!r}; {names}") from None
        if not -n <= label_column < n:
            raise DatasetError(f"{self.path}: label column index {label_column} is out of range for {n} columns "
                               f"(0..{n - 1}, or -{n}..-1 from the end)")
        return label_column % n

    def split(self, label_column: int | str | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """(features (n, cols-1) float32, labels (n,) float32 or str, the label column's index)."""
        col = self.label_index(label_column)
        if len(self.columns) < 2:
            raise DatasetError(f"{self.path}: one column only: no features besides the labels")
        for j, c in enumerate(self.columns):
            if j != col and c.dtype.kind == "U":
                raise DatasetError(f"{self.path}: column {self._name(j)} holds text ({_first_text(c)!r}); only "
                                   f"the label column ({self._name(col)}) may")
        m = self.matrix
        if m is not None and col in (0, m.shape[1] - 1):  # the usual layouts: the features are a view, no copy
            return (m[:, 1:] if col == 0 else m[:, :-1]), m[:, col].copy(), col
        if m is not None:
            return np.delete(m, col, axis=1), m[:, col].copy(), col
        X = np.column_stack([c for j, c in enumerate(self.columns) if j != col]).astype(np.float32, copy=False)
        return X, self.columns[col], col

    def feature_names(self, col: int) -> list[str] | None:
        return None if self.header is None else [h for j, h in enumerate(self.header) if j != col]

    def _name(self, j: int) -> str:
        return f"{j} ({self.header[j]!r})" if self.header else str(j)


def _first_text(c: np.ndarray) -> str:
    return next(v for v in c.tolist() if not _is_number(v))


def _open(path: Path):
    # utf-8-sig drops a byte order mark; undecodable bytes become U+FFFD and are reported as non-numbers
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def _check_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
    open_regular(path, "CSV file").close()  # a FIFO or a device would hang or never end: refused, never read
    if st.st_size == 0:
        raise DatasetError(f"{path}: the file is empty")


def _first_rows(path: Path) -> list[list[str]]:
    """The first two non-blank rows, split into fields."""
    rows: list[list[str]] = []
    with _open(path) as f:
        for row in csv.reader(f):
            if any(field.strip() for field in row):
                rows.append([field.strip() for field in row])
                if len(rows) == 2:
                    break
    return rows


def _is_header(first: list[str], second: list[str] | None) -> bool:
    """A header row has a non-number where the next row has a number (a text label column is text in both);
    a lone row is a header when any of its fields is not a number."""
    if second is None or len(second) != len(first):
        return not all(_is_number(v) for v in first)
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second, strict=True)) or not any(
        _is_number(v) for v in first)


def read_csv(path: str | os.PathLike) -> CsvTable:
    """Read a CSV file (header optional, double-quoted fields allowed) into its columns."""
    p = Path(path)
    _check_file(p)
    try:
        rows = _first_rows(p)
    except (OSError, csv.Error) as exc:
        raise DatasetError(f"{p}: not a readable CSV file ({exc})") from None
    if not rows:
        raise DatasetError(f"{p}: the file is empty")
    header = rows[0] if _is_header(rows[0], rows[1] if len(rows) > 1 else None) else None
    if header is not None and len(rows) < 2:
        raise DatasetError(f"{p}: no data rows after the header")
    try:
        with _open(p) as f:
            m = np.loadtxt(f, delimiter=",", skiprows=1 if header else 0, dtype=np.float32, quotechar='"', ndmin=2)
        columns = list(m.T)
        matrix = m
    except ValueError:  # a text column, a ragged row or a bad number: the careful reader says which
        columns, matrix = _read_mixed(p, header is not None), None
    except OSError as exc:
        raise DatasetError(f"{p}: not a readable CSV file ({exc})") from None
    if not columns or len(columns[0]) == 0:
        raise DatasetError(f"{p}: no data rows")
    if header is not None and len(header) != len(columns):
        raise DatasetError(f"{p}: the header has {len(header)} names but the rows have {len(columns)} fields")
    finite = np.isfinite(matrix).all() if matrix is not None else False
    for j, c in enumerate([] if finite else columns):
        if c.dtype.kind == "f" and not np.isfinite(c).all():
            i = int(np.argmax(~np.isfinite(c)))
            raise DatasetError(f"{p}: row {i + 1 + (header is not None)}, column {j + 1}: {c[i]} is not a finite "
                               "number (a missing value, NaN or one beyond float32's range)")
    return CsvTable(str(p), header, columns, matrix)


def _read_mixed(path: Path, has_header: bool) -> list[np.ndarray]:
    """Columns of a file with text in it: each column float32 if every field is a number, else str."""
    try:
        with _open(path) as f:
            rows = [(i, [v.strip() for v in r]) for i, r in enumerate(csv.reader(f), 1) if any(v.strip() for v in r)]
    except (OSError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a readable CSV file ({exc})") from None
    body = rows[1:] if has_header else rows
    if not body:
        return []
    width = len(body[0][1])
    for line, r in body:
        if len(r) != width:
            raise DatasetError(f"{path}: row {line} has {len(r)} fields, expected {width} like the first row")
    table = np.array([r for _, r in body], dtype=str).reshape(len(body), width)
    columns: list[np.ndarray] = []
    for j in range(width):
        col = table[:, j]
        try:
            columns.append(col.astype(np.float32))
        except ValueError:
            if (col == "").any():
                i = int(np.argmax(col == ""))
                raise DatasetError(f"{path}: row {body[i][0]}, column {j + 1}: the field is empty "
                                   "(missing values are not supported)") from None
            columns.append(col)
    return columns


def read_csv_matrix(path: str | os.PathLike) -> tuple[list[str] | None, np.ndarray]:
    """(header names or None, a (rows, cols) float32 array) from an all-numeric CSV file."""
    table = read_csv(path)
    for j, c in enumerate(table.columns):
        if c.dtype.kind == "U":
            raise DatasetError(f"{path}: column {table._name(j)} holds text ({_first_text(c)!r}); expected numbers")
    if table.matrix is not None:
        return table.header, table.matrix
    return table.header, np.column_stack(table.columns).astype(np.float32, copy=False)


def load_csv(path: str | os.PathLike, label_column: int | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, cols-1) float32 and labels (n,) from a CSV with one sample per row: float32 numbers, or str
    for a text column. `label_column`: an index or a header name (see CsvTable.label_index)."""
    X, y, _ = read_csv(path).split(label_column)
    return X, y
