"""A comma-separated table: an optional header, numeric feature columns and one label column (numbers or text).

All-numeric files go through NumPy's C reader into float32 (see docs/performance.md for its speed); a file
with a text column (class names such as `setosa`) through Python's csv module. A UTF-8 byte
order mark is dropped before anything is read, so it can hide neither the first row nor the header's first name.
No line longer than MAX_LINE_BYTES is ever read into memory, and no two columns may share a name.
Every failure is a DatasetError naming the file and, where there is one, the row and column; columns are counted
from 1 in every message, with their header name where there is one.
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
MAX_LINE_BYTES = 4 << 20  # far wider than any table row numpynn trains on; a longer line is refused unread


@dataclass
class CsvTable:
    """A CSV file as read: `columns` holds each column as float32 (n,) or, for a text column, str (n,)."""

    path: str
    header: list[str] | None
    columns: list[np.ndarray]
    matrix: np.ndarray | None = None  # (rows, cols) float32 when every column is numeric; columns are its views
    rows: list[int] | None = None  # each data row's row in the file, blank rows counted; None: i + 1 (+ 1 for a header)

    @property
    def n_rows(self) -> int:
        return len(self.columns[0])

    def label_index(self, label_column: int | str | None = None) -> int:
        """The label column: an index (negative from the end), a header name, or by default the column the header
        names label/class/target/y, else the only text column, else the last one."""
        n = len(self.columns)
        if isinstance(label_column, str) and label_column.strip() == "":
            label_column = None
        if label_column is None:
            named = [i for i, h in enumerate(self.header or []) if h.strip().lower() in LABEL_NAMES]
            if len(named) > 1:
                raise DatasetError(f"{self.path}: the header names more than one label column "
                                   f"({', '.join(self._name(i) for i in named)}); say which (--label-column)")
            if named:  # the header's word wins over any guess from the values
                return named[0]
            text = [i for i, c in enumerate(self.columns) if c.dtype.kind == "U"]
            return text[0] if len(text) == 1 else n - 1  # only the labels may be text
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
                i = _first_text(c)
                raise DatasetError(f"{self.path}: row {self.row_of(i)}, {self._name(j)}: {str(c[i])!r} is not a "
                                   f"number; only the label column, {self._name(col)}, may hold text "
                                   "(--label-column chooses it)")
        m = self.matrix
        if m is not None and col in (0, m.shape[1] - 1):  # the usual layouts: the features are a view, no copy
            return (m[:, 1:] if col == 0 else m[:, :-1]), m[:, col].copy(), col
        if m is not None:
            return np.delete(m, col, axis=1), m[:, col].copy(), col
        X = np.column_stack([c for j, c in enumerate(self.columns) if j != col]).astype(np.float32, copy=False)
        return X, self.columns[col], col

    def feature_names(self, col: int) -> list[str] | None:
        return None if self.header is None else [h for j, h in enumerate(self.header) if j != col]

    def row_of(self, i: int) -> int:
        """The file's row number (from 1, the header included) of data row i."""
        return self.rows[i] if self.rows is not None else i + 1 + (self.header is not None)

    def _name(self, j: int) -> str:
        return _column(j, self.header)


def _column(j: int, header: list[str] | None) -> str:
    """Column j (0-based) as every message names it: counted from 1, with its header name."""
    return f"column {j + 1} ({header[j]!r})" if header else f"column {j + 1}"


def _first_text(c: np.ndarray) -> int:
    """The index of the first field of a column that is not a number."""
    return next(i for i, v in enumerate(c.tolist()) if not _is_number(v))


def _open(path: Path):
    # utf-8-sig drops a byte order mark; undecodable bytes become U+FFFD and are reported as non-numbers
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def _check_file(path: Path) -> tuple[bool, int, int]:
    """Refuse what is not a regular, non-empty file of bounded lines; whether it holds a NUL byte, a bound on
    its longest line in bytes, and a bound on its number of lines."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
    open_regular(path, "CSV file").close()  # a FIFO or a device would hang or never end: refused, never read
    if st.st_size == 0:
        raise DatasetError(f"{path}: the file is empty")
    try:
        return _check_lines(path)
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_lines(path: Path) -> tuple[bool, int, int]:
    """Refuse a line longer than MAX_LINE_BYTES before either reader holds it in memory: one pass over the bytes
    in chunks no longer than the limit, so that only a line crossing a chunk's edge can be too long. Whether the
    file holds a NUL byte, which NumPy's strings would silently drop from the end of a field, and a bound on the
    longest line (a chunk's size, or the longest line crossing a chunk's edge)."""
    limit = MAX_LINE_BYTES
    longest = 0
    line, run = 1, 0  # the line being read (from 1) and its bytes before this chunk
    nul = cr = False  # cr: the last chunk ended in \r, so a \n first in this one ends no new line
    with open(path, "rb") as f:
        while chunk := f.read(min(limit, 1 << 20)):
            nul = nul or b"\0" in chunk
            has_cr = b"\r" in chunk
            ends = chunk.replace(b"\r", b"\n") if has_cr else chunk  # a lone \r ends a line, as csv reads it
            first = ends.find(b"\n")
            longest = max(longest, run + (len(chunk) if first < 0 else first), len(chunk))
            if run + (len(chunk) if first < 0 else first) > limit:
                raise DatasetError(f"{path}: line {line} is longer than {limit:,} bytes, the longest line numpynn "
                                   "reads from a CSV file")
            run = run + len(chunk) if first < 0 else len(chunk) - 1 - ends.rfind(b"\n")
            line += ends.count(b"\n") - (chunk.count(b"\r\n") if has_cr else 0) - (cr and chunk.startswith(b"\n"))
            cr = chunk.endswith(b"\r")
    return nul, longest, line


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
    nul, _, _ = _check_file(p)
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
        columns, rows, matrix = list(m.T), None, m
    except ValueError:  # a text column, a ragged row or a bad number: the careful reader says which
        columns, rows, matrix = *_read_mixed(p, header, nul), None
    except OSError as exc:
        raise DatasetError(f"{p}: not a readable CSV file ({exc})") from None
    if not columns or len(columns[0]) == 0:
        raise DatasetError(f"{p}: no data rows")
    if header is not None and len(header) != len(columns):
        raise DatasetError(f"{p}: the header has {len(header)} names but the rows have {len(columns)} fields")
    _check_names(p, header)
    table = CsvTable(str(p), header, columns, matrix, rows)
    finite = np.isfinite(matrix).all() if matrix is not None else False
    for j, c in enumerate([] if finite else columns):
        if c.dtype.kind == "f" and not np.isfinite(c).all():
            i = int(np.argmax(~np.isfinite(c)))
            raise DatasetError(f"{p}: row {table.row_of(i)}, {_column(j, header)}: {c[i]} is not a finite "
                               "number (a missing value, NaN or one beyond float32's range)")
    return table


def _check_names(path: Path, header: list[str] | None) -> None:
    """Two columns of one name would leave a name (the label's, a feature's) meaning either."""
    first: dict[str, int] = {}
    for j, name in enumerate(header or []):
        if name in first:
            raise DatasetError(f"{path}: columns {first[name] + 1} and {j + 1} are both named {name!r}; each "
                               "column needs a name of its own")
        if name:
            first[name] = j


def _read_mixed(path: Path, header: list[str] | None, nul: bool) -> tuple[list[np.ndarray], list[int]]:
    """Columns of a file with text in it, each float32 if every field is a number, else str, and the file row
    of each data row. A column whose fields are mostly numbers is a numeric column: a field in it that is not a
    number (NA, a decimal comma, a stray byte) is refused where it is, never read as text."""
    try:
        with _open(path) as f:
            rows = [(i, [v.strip() for v in r]) for i, r in enumerate(csv.reader(f), 1) if any(v.strip() for v in r)]
    except (OSError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a readable CSV file ({exc})") from None
    body = rows[1:] if header is not None else rows
    if not body:
        return [], []
    width = len(body[0][1])
    for line, r in body:
        if len(r) != width:
            raise DatasetError(f"{path}: row {line} has {len(r)} fields, expected {width} like the first row")
    names = header if header is not None and len(header) == width else None
    for line, r in body if nul else ():
        for j, v in enumerate(r):
            if "\0" in v:
                raise DatasetError(f"{path}: row {line}, {_column(j, names)}: {v!r} is not a number, nor text "
                                   "either: it holds a NUL byte")
    table = np.array([r for _, r in body], dtype=str).reshape(len(body), width)
    columns: list[np.ndarray] = []
    for j in range(width):
        col = table[:, j]
        try:
            columns.append(col.astype(np.float32))
        except ValueError:
            if (col == "").any():
                i = int(np.argmax(col == ""))
                raise DatasetError(f"{path}: row {body[i][0]}, {_column(j, names)}: the field is empty "
                                   "(missing values are not supported)") from None
            numbers = sum(map(_is_number, col.tolist()))
            if numbers * 2 >= len(col):
                i = _first_text(col)
                raise DatasetError(f"{path}: row {body[i][0]}, {_column(j, names)}: {str(col[i])!r} is not a "
                                   f"number, though {numbers} of the column's {len(col)} fields are (a numeric "
                                   "column holds numbers only: no missing values, NA or decimal commas)") from None
            columns.append(col)
    return columns, [line for line, _ in body]


def read_csv_matrix(path: str | os.PathLike) -> tuple[list[str] | None, np.ndarray]:
    """(header names or None, a (rows, cols) float32 array) from an all-numeric CSV file."""
    table = read_csv(path)
    for j, c in enumerate(table.columns):
        if c.dtype.kind == "U":
            i = _first_text(c)
            raise DatasetError(f"{path}: row {table.row_of(i)}, {table._name(j)}: {str(c[i])!r} is not a number; "
                               "expected numbers")
    if table.matrix is not None:
        return table.header, table.matrix
    return table.header, np.column_stack(table.columns).astype(np.float32, copy=False)


def load_csv(path: str | os.PathLike, label_column: int | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, cols-1) float32 and labels (n,) from a CSV with one sample per row: float32 numbers, or str
    for a text column. `label_column`: an index or a header name (see CsvTable.label_index)."""
    X, y, _ = read_csv(path).split(label_column)
    return X, y
