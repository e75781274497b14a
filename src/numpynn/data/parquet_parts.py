"""A Parquet file, or a folder of Parquet files, as the row groups it is stored in: read one row group at a time
in record batches of a bounded number of rows, so that a table larger than memory can be read through piece by
piece (numpynn.tables.stream trains on one that way).

A folder's table is its *.parquet and *.pq files, sorted by name (names that start with "." or "_", such as
_SUCCESS or checksums, are not tables; sub-folders are not read), all with the same columns of the same types.
Each record batch becomes a Frame the way `read_table` converts a whole file (numbers float32, text, dates).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from ..memory import check_available
from .files import open_regular
from .table import Frame, _from_arrow

PARQUET_SUFFIXES = (".parquet", ".pq")
BATCH_ROWS = 65_536  # rows per record batch read: bounds the memory of a read whatever the row groups' size
TEXT_CELL_BYTES = 64  # a text cell once read: a pointer and a small Python string


@dataclass(frozen=True)
class Piece:
    """One row group: its file, its index in that file, its rows and the index (from 0) of its first row there."""

    file: Path
    group: int
    rows: int
    first_row: int


@dataclass
class ParquetParts:
    """A Parquet table stored in pieces. `schema`: the pyarrow schema every file shares; `decoded_bytes`: an
    estimate of the memory the whole table would take read into a Frame (see `decoded_bytes`)."""

    path: Path
    files: list[Path]
    pieces: list[Piece]
    schema: Any
    decoded_bytes: int

    @property
    def names(self) -> list[str]:
        return list(self.schema.names)

    @property
    def n_rows(self) -> int:
        return sum(p.rows for p in self.pieces)

    def batches(self, piece: Piece, columns: list[str] | None = None,
                batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
        """The pyarrow record batches of one row group, `columns` only (all when None), at most `batch_rows`
        rows each."""
        pq, pa = _parquet()
        try:
            with pq.ParquetFile(piece.file) as f:
                yield from f.iter_batches(batch_size=batch_rows, row_groups=[piece.group], columns=columns,
                                          use_threads=True)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DatasetError(f"{piece.file}: row group {piece.group} is not readable "
                               f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None

    def frames(self, piece: Piece, columns: list[str] | None = None,
               batch_rows: int = BATCH_ROWS) -> Iterator[Frame]:
        """The row group as Frames of at most `batch_rows` rows, each knowing its rows' numbers in the file."""
        at = piece.first_row + 1
        for batch in self.batches(piece, columns, batch_rows):
            yield frame_of(batch, piece, np.arange(at, at + batch.num_rows, dtype=np.int64))
            at += batch.num_rows


def frame_of(batch: Any, piece: Piece, rows: np.ndarray | None = None) -> Frame:
    """A record batch (or a pyarrow Table) of `piece` as a Frame; `rows`: its rows' numbers in the file (from 1),
    for messages."""
    return _from_arrow(batch, str(piece.file), rows)


def _parquet():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError("reading Parquet files needs pyarrow: pip install 'numpynn[tables]'") from None
    return pq, pa


def tables_in(folder: Path) -> list[Path]:
    """The Parquet files of a folder, sorted by name (hidden and underscore names left out)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PARQUET_SUFFIXES
                  and not p.name.startswith((".", "_")) and not p.is_dir())


def is_parquet_source(path: Any) -> bool:
    """Whether `path` names a Parquet file or a folder holding Parquet files."""
    if not isinstance(path, (str, Path)) or str(path) == "":
        return False
    p = Path(path)
    if p.suffix.lower() in PARQUET_SUFFIXES:
        return True
    try:
        return p.is_dir() and bool(tables_in(p))
    except OSError:
        return False


def decoded_bytes(metadata: Any, schema: Any) -> int:
    """The memory a file's rows take read into a Frame, estimated from its metadata: numbers at 4 bytes a cell
    (float32), dates at 8, text and booleans at TEXT_CELL_BYTES (plus the text itself). Not the file's own
    'uncompressed size', which counts dictionary codes: a column of few values is far larger read than stored."""
    import pyarrow as pa

    rows = metadata.num_rows
    total = 0
    for j, field in enumerate(schema):
        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_null(t):
            total += 4 * rows
        elif pa.types.is_timestamp(t) or pa.types.is_date(t):
            total += 8 * rows
        else:
            text = sum(metadata.row_group(i).column(j).total_uncompressed_size
                       for i in range(metadata.num_row_groups)) if j < metadata.num_columns else 0
            total += TEXT_CELL_BYTES * rows + text
    return total


def open_parts(path: str | Path) -> ParquetParts:
    """A Parquet file or folder as its row groups, every file's columns checked against the first's."""
    pq, pa = _parquet()
    path = Path(path)
    if path.is_dir():
        files = tables_in(path)
        if not files:
            raise DatasetError(f"{path}: the folder holds no Parquet files (*.parquet, *.pq)")
    else:
        files = [path]
    pieces: list[Piece] = []
    schema = None
    total = 0
    for f in files:
        open_regular(f, "Parquet file").close()
        try:
            with pq.ParquetFile(f) as pf:
                meta, file_schema = pf.metadata, pf.schema_arrow
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DatasetError(f"{f}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
        if schema is None:
            schema = file_schema
        elif not file_schema.equals(schema, check_metadata=False):
            raise DatasetError(f"{f}: its columns differ from {files[0].name}'s; every file of a folder holds the "
                               f"same columns of the same types ({_columns(schema)} against {_columns(file_schema)})")
        at = 0
        for g in range(meta.num_row_groups):
            rows = meta.row_group(g).num_rows
            pieces.append(Piece(f, g, rows, at))
            at += rows
        total += decoded_bytes(meta, file_schema)
    if not schema.names:
        raise DatasetError(f"{path}: the table has no columns")
    return ParquetParts(path, files, [p for p in pieces if p.rows], schema, total)


def _columns(schema: Any) -> str:
    shown = ", ".join(f"{f.name}: {f.type}" for f in list(schema)[:8])
    return f"[{shown}{', ...' if len(schema) > 8 else ''}]"


def read_whole(path: str | Path) -> Frame:
    """A Parquet folder read whole into one Frame (for a table that fits in memory); files in name order."""
    pq, pa = _parquet()
    parts = open_parts(path)
    check_available(parts.decoded_bytes, f"{path} ({parts.n_rows:,} rows)")
    tables = []
    for f in parts.files:
        try:
            tables.append(pq.read_table(f))
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DatasetError(f"{f}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    held = [pa.concat_tables(tables)]
    del tables  # _from_arrow then holds the only reference, and each column's memory goes once converted
    return _from_arrow(held.pop(), str(path))
