"""A table as it arrives, before any preprocessing: named columns from a CSV/TSV, Parquet or Arrow/Feather file,
a pandas or polars DataFrame, a pyarrow Table or a dict of columns.

Each column of a `Frame` is one of three kinds of NumPy array, whatever it came from:
- numbers: float32 (n,), NaN where a cell is missing (integers and booleans of a numeric dtype included);
- text: object (n,) of str, None where a cell is missing (categories, booleans, anything not a number);
- dates and times: datetime64[s] (n,), NaT where missing.
What the columns mean (categories, identifiers, ...) is decided later, by numpynn.tables from the training split.

Files are read with pyarrow where it is installed (`numpynn[tables]`: multi-threaded, Parquet and Feather), else
with numpynn's own CSV reader (NumPy's C parser for all-numeric files, Python's csv module for the rest). Both
treat the usual spellings of a missing cell as missing: empty, NA, N/A, NaN, null, None, ?, #N/A.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from ..memory import check_available
from .csv import _check_file, _check_names, _column, _is_header, _open
from .files import open_regular
from .labels import is_number

MISSING = ("", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "none", "?", "#N/A", "<NA>", "NaT", "-")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
ARROW_SUFFIXES = (".parquet", ".pq", ".feather", ".arrow", ".ipc")
TABLE_SUFFIXES = CSV_SUFFIXES + ARROW_SUFFIXES
DELIMITERS = ",;\t|"


@dataclass
class Frame:
    """Named columns of equal length (see the module's docstring for the three kinds); `source` names it in
    messages; `rows[i]` is data row i's line in its file (from 1, the header included) where that is known."""

    names: list[str]
    columns: list[np.ndarray]
    source: str = "the table"
    rows: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.names) != len(self.columns):
            raise DatasetError(f"{self.source}: {len(self.names)} names for {len(self.columns)} columns")
        lengths = {len(c) for c in self.columns}
        if len(lengths) > 1:
            raise DatasetError(f"{self.source}: columns of different lengths {sorted(lengths)}")
        seen: dict[str, int] = {}
        for j, name in enumerate(self.names):
            if name in seen:
                raise DatasetError(f"{self.source}: columns {seen[name] + 1} and {j + 1} are both named {name!r}; "
                                   "each column needs a name of its own")
            seen[name] = j

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, index: np.ndarray | slice) -> Frame:
        return self.take(index)

    def column(self, name: str) -> np.ndarray:
        return self.columns[self.names.index(name)]

    def row_of(self, i: int) -> int:
        """The file line (from 1) of data row i, or i + 1 where lines are not known."""
        return int(self.rows[i]) if self.rows is not None else i + 1

    def take(self, index: np.ndarray) -> Frame:
        """The rows at `index` (an integer array or a boolean mask), as a new Frame."""
        rows = None if self.rows is None else self.rows[index]
        return Frame(list(self.names), [c[index] for c in self.columns], self.source, rows)

    def drop(self, names: Iterable[str]) -> Frame:
        gone = set(names)
        keep = [j for j, n in enumerate(self.names) if n not in gone]
        return Frame([self.names[j] for j in keep], [self.columns[j] for j in keep], self.source, self.rows)

    def numeric_matrix(self) -> np.ndarray | None:
        """(n, columns) float32 when every column is numeric, else None."""
        if not all(c.dtype == np.float32 for c in self.columns):
            return None
        return np.column_stack(self.columns) if self.columns else np.zeros((self.n_rows, 0), np.float32)


def is_table_source(source: Any) -> bool:
    """A DataFrame, pyarrow Table, dict of columns, Frame, or a path with a table file's suffix."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source).suffix.lower() in TABLE_SUFFIXES
    return isinstance(source, (Frame, dict)) or _library_of(source) is not None


def read_table(source: Any, *, delimiter: str | None = None, name: str | None = None) -> Frame:
    """A Frame from a file path (CSV/TSV with the delimiter and header sniffed, Parquet, Feather/Arrow), a pandas
    or polars DataFrame, a pyarrow Table, a dict of name -> column, or a Frame (returned as it is)."""
    if isinstance(source, Frame):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix in ARROW_SUFFIXES:
            return _read_arrow_file(path)
        return _read_csv_file(path, delimiter)
    if isinstance(source, dict):
        return _from_columns(list(source.keys()), list(source.values()), name or "the dict of columns")
    kind = _library_of(source)
    if kind == "pandas":
        return _from_pandas(source, name or "the DataFrame")
    if kind == "polars":
        return _from_polars(source, name or "the polars DataFrame")
    if kind == "pyarrow":
        return _from_arrow(source, name or "the pyarrow Table")
    raise DatasetError(f"expected a table (a CSV/Parquet/Feather path, a pandas or polars DataFrame, a pyarrow "
                       f"Table or a dict of columns), got {type(source).__name__}")


def _library_of(obj: Any) -> str | None:
    module = type(obj).__module__.split(".")[0]
    name = type(obj).__name__
    if module == "pandas" and name == "DataFrame":
        return "pandas"
    if module == "polars" and name == "DataFrame":
        return "polars"
    if module == "pyarrow" and name in ("Table", "RecordBatch"):
        return "pyarrow"
    return None


def _pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return None
    return pyarrow


# ---- columns from Python objects --------------------------------------------------------------------------------

def text_column(values: Sequence[Any]) -> np.ndarray:
    """Cells as an object array of str, None for a missing one (None, NaN, pandas' NA, a missing token)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType"):
            out[i] = None
        else:
            s = (v if isinstance(v, str) else str(v)).strip()
            out[i] = None if s in MISSING else (s.lower() if s.lower() in ("true", "false") else s)
    return out


def _column_of(name: str, values: Any, source: str) -> np.ndarray:
    """One column of a dict or a DataFrame library, as one of the Frame's three kinds."""
    a = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if a.ndim != 1:
        raise DatasetError(f"{source}: column {name!r} must be one-dimensional, got shape {a.shape}")
    if a.dtype.kind in "iuf":
        return a.astype(np.float32)
    if a.dtype.kind == "b":  # booleans are two categories, "true" and "false", as text_column spells them
        return text_column(a.tolist())
    if a.dtype.kind == "M":
        return a.astype("datetime64[s]")
    if a.dtype.kind in "OUS":
        return text_column(a.tolist())
    raise DatasetError(f"{source}: column {name!r} has dtype {a.dtype}; expected numbers, text or dates")


def _from_columns(names: list[Any], values: list[Any], source: str) -> Frame:
    names = [str(n) for n in names]
    return Frame(names, [_column_of(n, v, source) for n, v in zip(names, values, strict=True)], source)


def _from_pandas(df: Any, source: str) -> Frame:
    import pandas as pd

    names, columns = [], []
    for name in df.columns:
        s = df[name]
        if isinstance(s, pd.DataFrame):  # two columns of one name
            raise DatasetError(f"{source}: more than one column is named {name!r}; each needs a name of its own")
        dtype = s.dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
            col = text_column(s.astype(object).tolist())
        elif pd.api.types.is_numeric_dtype(dtype):
            col = s.to_numpy(dtype=np.float32, na_value=np.nan)
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            col = s.dt.tz_localize(None).to_numpy(dtype="datetime64[s]") if getattr(s.dt, "tz", None) else \
                s.to_numpy(dtype="datetime64[s]")
        else:
            col = text_column(s.tolist())
        names.append(str(name))
        columns.append(col)
    return Frame(names, columns, source)


def _from_polars(df: Any, source: str) -> Frame:
    import polars as pl

    names, columns = [], []
    for s in df.get_columns():
        dtype = s.dtype
        if dtype.is_numeric():
            col = s.cast(pl.Float32).to_numpy()  # a null becomes NaN
        elif dtype in (pl.Datetime, pl.Date) or isinstance(dtype, (pl.Datetime, pl.Date)):
            col = s.cast(pl.Datetime("ms")).to_numpy().astype("datetime64[s]")
        else:  # text, categories, booleans
            col = text_column(s.cast(pl.String).to_list())
        names.append(str(s.name))
        columns.append(np.asarray(col))
    return Frame(names, columns, source)


def _from_arrow(table: Any, source: str, rows: np.ndarray | None = None) -> Frame:
    import pyarrow as pa

    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    names, columns = [], []
    for name in list(table.column_names):
        col = table.column(0)
        table = table.remove_column(0)  # each column's Arrow memory can go once it is converted
        sink = ColumnSink(col.type, len(col))
        for chunk in col.chunks:
            sink.add(chunk)
        del col
        names.append(str(name))
        columns.append(sink.finish())
    return Frame(names, columns, source, rows)


class ColumnSink:
    """One Arrow column converted chunk by chunk into its Frame array (see the module's docstring), numbers
    written straight into one preallocated float32 array of at most `capacity` rows: no chunk is held after it
    is added, and nothing goes through pandas (which pyarrow's own to_numpy imports and copies through)."""

    def __init__(self, arrow_type: Any, capacity: int) -> None:
        import pyarrow as pa

        t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
        self.kind = "number" if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
                                 or pa.types.is_null(t)) else \
            "date" if (pa.types.is_timestamp(t) or pa.types.is_date(t)) else "text"
        self.n = 0
        self.numbers = np.empty(capacity, np.float32) if self.kind == "number" else None
        self.parts: list[np.ndarray] = []

    def add(self, chunk: Any) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.cast(chunk.type.value_type)
        if self.kind == "text":
            self.parts.append(_text_cells(pc.cast(chunk, pa.string())))
        elif self.kind == "date":
            seconds = pc.cast(pc.cast(chunk, pa.timestamp("s")), pa.int64())
            self.parts.append(_plain(seconds, np.int64, np.iinfo(np.int64).min).view("datetime64[s]"))
        else:
            k = len(chunk)
            if self.n + k > len(self.numbers):  # a source that grew while read: make room
                self.numbers = np.concatenate([self.numbers[:self.n], np.empty(self.n + 2 * k, np.float32)])
            if pa.types.is_null(chunk.type):
                self.numbers[self.n:self.n + k] = np.nan
            else:
                if chunk.type != pa.float32():
                    chunk = pc.cast(chunk, pa.float32())
                self.numbers[self.n:self.n + k] = _plain(chunk, np.float32, np.nan)
            self.n += k

    def finish(self) -> np.ndarray:
        if self.kind == "number":
            return self.numbers[:self.n]
        empty = np.empty(0, dtype=object if self.kind == "text" else "datetime64[s]")
        return self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts) if self.parts else empty


def _plain(chunk: Any, dtype: type, missing: Any) -> np.ndarray:
    """A primitive Arrow array's values as a NumPy view of its buffer, `missing` where a cell is null."""
    values = np.frombuffer(chunk.buffers()[1], dtype, len(chunk), chunk.offset * np.dtype(dtype).itemsize)
    if chunk.null_count == 0:
        return values
    values = values.copy()
    values[chunk.is_null().to_numpy(zero_copy_only=False)] = missing
    return values


def _text_cells(col: Any) -> np.ndarray:
    """An Arrow text column as `text_column` makes its cells, each distinct value converted once: a column of a
    few categories costs a look-up per row, not a Python string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = []
    for chunk in (col.chunks if isinstance(col, pa.ChunkedArray) else [col]):
        encoded = pc.dictionary_encode(chunk)
        texts = text_column(encoded.dictionary.to_pylist() + [None])  # the last slot: missing cells
        codes = _plain(encoded.indices, np.dtype(f"int{encoded.indices.type.bit_width}"), len(texts) - 1)
        parts.append(texts[codes])
    if not parts:
        return np.empty(0, dtype=object)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


# ---- files ------------------------------------------------------------------------------------------------------

def _read_arrow_file(path: Path) -> Frame:
    open_regular(path, "table file").close()
    pa = _pyarrow()
    if pa is None:
        raise DatasetError(f"{path}: reading Parquet and Feather files needs pyarrow: pip install 'numpynn[tables]'")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            check_available(meta.num_rows * max(meta.num_columns, 1) * 8, f"{path} ({meta.num_rows:,} rows)")
            table = pq.read_table(path)
        else:
            import pyarrow.feather as feather

            table = feather.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable {path.suffix[1:]} file ({str(exc).splitlines()[0]})") from None
    return _from_arrow(table, str(path))


def sniff_delimiter(path: Path, given: str | None = None) -> str:
    """The field delimiter: `given`, a .tsv's tab, or the one of , ; tab | that splits the first lines alike."""
    if given:
        if len(given) != 1 or given in "\"\r\n":
            raise DatasetError(f"a delimiter is one character other than a quote or a line end, got {given!r}")
        return given
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    with _open(path) as f:
        head = f.read(1 << 16)
    lines = [ln for ln in head.splitlines()[:20] if ln.strip()]
    if len(head) == 1 << 16 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    best, best_fields = ",", 1
    for d in DELIMITERS:
        counts = {len(r) for r in csv.reader(lines, delimiter=d)}
        if len(counts) == 1 and (n := counts.pop()) > best_fields:
            best, best_fields = d, n
    return best


def _header_of(path: Path, delimiter: str) -> tuple[list[str] | None, int]:
    """The header names (None: the file has none) and the number of fields of the first row."""
    rows: list[list[str]] = []
    with _open(path) as f:
        for row in csv.reader(f, delimiter=delimiter):
            if any(v.strip() for v in row):
                rows.append([v.strip() for v in row])
                if len(rows) == 2:
                    break
    if not rows:
        raise DatasetError(f"{path}: the file is empty")
    first = rows[0]
    second = rows[1] if len(rows) > 1 else None
    # a header has a name where the data has a number or a missing cell
    header = _is_header(first, second) or (second is not None and any(
        not is_number(a) and a not in MISSING and b in MISSING for a, b in zip(first, second, strict=False)))
    if header and second is None:
        raise DatasetError(f"{path}: no data rows after the header")
    return (first if header else None), len(first)


def _read_csv_file(path: Path, delimiter: str | None) -> Frame:
    nul, longest, lines = _check_file(path)
    delimiter = sniff_delimiter(path, delimiter)
    header, width = _header_of(path, delimiter)
    _check_names(path, header)
    names = header if header is not None else [f"column {j + 1}" for j in range(width)]
    if nul:
        _refuse_nul(path, delimiter, header)
    pa = _pyarrow()
    frame = _read_csv_arrow(path, delimiter, names, header is not None, longest, lines) if pa else \
        _read_csv_python(path, delimiter, names, header is not None)
    if frame.n_rows == 0:
        raise DatasetError(f"{path}: no data rows")
    return frame


def _refuse_nul(path: Path, delimiter: str, header: list[str] | None) -> None:
    """A NUL byte is no text a table holds (and readers would drop it silently): refused where it is."""
    with _open(path) as f:
        for line, row in enumerate(csv.reader(f, delimiter=delimiter), 1):
            for j, v in enumerate(row):
                if "\0" in v:
                    raise DatasetError(f"{path}: row {line}, {_column(j, header)}: {v.strip()!r} is not a number, nor "
                                       "text either: it holds a NUL byte")
    raise DatasetError(f"{path}: the file holds a NUL byte: it is not a text table")


def _read_csv_arrow(path: Path, delimiter: str, names: list[str], has_header: bool, longest: int,
                    lines: int) -> Frame:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    read = pcsv.ReadOptions(column_names=names, skip_rows=1 if has_header else 0, encoding="utf8",
                            # small blocks keep the parser's memory small; a block must hold the longest line
                            block_size=max(1 << 18, longest + 2))
    parse = pcsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=True, newlines_in_values=False)
    convert = pcsv.ConvertOptions(null_values=list(MISSING), strings_can_be_null=True,
                                  quoted_strings_can_be_null=True, true_values=[], false_values=[])
    try:  # the types pyarrow infers from the first block; numbers are then parsed straight into float32
        with open(path, "rb") as f:  # the block alone: a reader opened on the file would read ahead far more
            head = f.read(read.block_size)
        head = head[:head.rfind(b"\n") + 1] or head
        first = pcsv.read_csv(io.BytesIO(head), read_options=read, parse_options=parse, convert_options=convert)
        convert.column_types = {f.name: pa.float32() for f in first.schema
                                if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)}
        del first
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"{path}: not a readable table ({_arrow_message(str(exc))})") from None
    for _ in range(len(names) + 1):
        try:
            columns = _stream_csv(path, read, parse, convert, lines)
            break
        except pa.ArrowInvalid as exc:
            text = str(exc)
            # a column typed as numbers from the first block holds text further down: read it as text
            column = next((n for n in names if f"In CSV column #{names.index(n)}:" in text), None)
            if column is None or "conversion error" not in text.lower():
                raise DatasetError(f"{path}: not a readable table ({_arrow_message(text)})") from None
            types = dict(convert.column_types or {})
            types[column] = pa.string()
            convert.column_types = types
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{path}: not a readable table ({_arrow_message(str(exc))})") from None
    # the file line of each data row, as long as no empty line or quoted line break comes before it
    n = len(columns[0]) if columns else 0
    return Frame(list(names), columns, str(path), np.arange(n, dtype=np.int64) + 1 + has_header)


def _stream_csv(path: Path, read: Any, parse: Any, convert: Any, lines: int) -> list[np.ndarray]:
    """The file's columns, block by block into arrays of at most `lines` rows: the parsed file is never held
    whole beside them (peak memory: the columns and a few blocks)."""
    import pyarrow.csv as pcsv

    with pcsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert) as reader:
        sinks = [ColumnSink(field.type, lines) for field in reader.schema]
        for batch in reader:
            for sink, col in zip(sinks, batch.columns, strict=True):
                sink.add(col)
    return [sink.finish() for sink in sinks]


def _arrow_message(text: str) -> str:
    first = text.splitlines()[0] if text else "unknown error"
    return first.replace("CSV parse error: ", "").replace("Expected", "expected")


def _read_csv_python(path: Path, delimiter: str, names: list[str], has_header: bool) -> Frame:
    """numpynn's own reader: NumPy's C parser when every field is a number, else Python's csv module."""
    if delimiter != " ":
        try:
            with _open(path) as f:
                m = np.loadtxt(f, delimiter=delimiter, skiprows=1 if has_header else 0, dtype=np.float32,
                               quotechar='"', ndmin=2)
            if m.shape[1] == len(names):
                return Frame(list(names), [np.ascontiguousarray(c) for c in m.T], str(path))
        except ValueError:
            pass  # a text column or a missing cell: read field by field below
        except OSError as exc:
            raise DatasetError(f"{path}: not a readable CSV file ({exc})") from None
    try:
        with _open(path) as f:
            body = [(i, [v.strip() for v in r]) for i, r in enumerate(csv.reader(f, delimiter=delimiter), 1)
                    if any(v.strip() for v in r)]
    except (OSError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a readable CSV file ({exc})") from None
    if has_header:
        body = body[1:]
    width = len(names)
    for line, r in body:
        if len(r) != width:
            raise DatasetError(f"{path}: row {line} has {len(r)} fields, expected {width} like the first row")
    lines = np.array([line for line, _ in body], dtype=np.int64)
    cells = [[r[j] for _, r in body] for j in range(width)]
    columns = [_parse_column(c) for c in cells]
    return Frame(list(names), columns, str(path), lines)


def _parse_column(cells: list[str]) -> np.ndarray:
    """A column's fields as numbers (float32, NaN for missing) when every present one is a number, else text."""
    missing = [v in MISSING for v in cells]
    present = [v for v, m in zip(cells, missing, strict=True) if not m]
    if present and all(is_number(v) for v in present):
        out = np.full(len(cells), np.nan, np.float32)
        idx = [i for i, m in enumerate(missing) if not m]
        out[idx] = np.asarray(present, dtype=np.float64).astype(np.float32)
        return out
    if not present:
        return np.full(len(cells), np.nan, np.float32)
    return text_column(cells)


# ---- the label column -------------------------------------------------------------------------------------------

LABEL_WORDS = ("label", "class", "target")  # a header name that says "the label" outright
WEAK_LABEL_WORDS = ("y",)  # a label's name in many files, and a coordinate's (a width in mm) in others


def _mostly_text(col: np.ndarray) -> bool:
    """Whether most cells of a text column are not numbers (a numeric column with a stray cell is no label)."""
    present = [v for v in col[:2000].tolist() if v is not None]
    return sum(map(is_number, present)) * 2 < len(present)


def label_of(frame: Frame, label_column: int | str | None = None) -> tuple[str, str]:
    """The label column's name and how it was chosen, in a sentence for the log.

    `label_column`: a name, an index (from 0, negative from the end) or None. None: a column named label, class
    or target; else a column named y that is the last one; else the last column when it is the only text column or
    there is no text at all. Any other guess is refused with the candidates listed, rather than trained silently."""
    names = frame.names
    n = len(names)
    if isinstance(label_column, str) and label_column.strip() == "":
        label_column = None
    if isinstance(label_column, str) and label_column in names:
        return label_column, f"labels from column {label_column!r}"
    if isinstance(label_column, str):
        try:
            label_column = int(label_column)
        except ValueError:
            shown = ", ".join(repr(x) for x in names[:12]) + (", ..." if n > 12 else "")
            raise DatasetError(f"{frame.source}: no column named {label_column!r}; the columns are {shown}") from None
    if isinstance(label_column, int):
        if not -n <= label_column < n:
            raise DatasetError(f"{frame.source}: label column index {label_column} is out of range for {n} columns "
                               f"(0..{n - 1}, or -{n}..-1 from the end)")
        name = names[label_column % n]
        return name, f"labels from column {name!r}"
    strong = [x for x in names if x.strip().lower() in LABEL_WORDS]
    if len(strong) > 1:
        raise DatasetError(f"{frame.source}: more than one column could be the label "
                           f"({', '.join(map(repr, strong))}); say which with --label-column")
    if strong:
        return strong[0], f"labels from column {strong[0]!r} (its name says so; --label-column chooses another)"
    text = [x for x, c in zip(names, frame.columns, strict=True) if c.dtype == object and _mostly_text(c)]
    last = names[-1]
    weak = [x for x in names if x.strip().lower() in WEAK_LABEL_WORDS]
    candidates = list(dict.fromkeys(weak + text[:5] + [last]))
    if weak == [last] or (not weak and (text == [last] or not text)):
        why = "its name" if weak else ("the only text column" if text else "the last column")
        return last, f"labels from column {last!r} (guessed: {why}; --label-column chooses another)"
    raise DatasetError(f"{frame.source}: which column is the label? It could be any of "
                       f"{', '.join(map(repr, candidates))}; say which with --label-column NAME")
