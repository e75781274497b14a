"""The label column of a table read in pieces: what a first pass learns of it (a missing or infinite label is
refused where it is; the task and the class set, by the rules `load_frame` applies to a table read whole), and
each later chunk's targets encoded as they would be had the table been read whole.

Cells are read as the table reader reads them (numbers as float32, booleans and text as text with the missing
spellings missing), but text is dictionary-encoded first, so a chunk costs one look-up per distinct label rather
than a Python string per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data.labels import MAX_CLASSES, choose_task, class_labels, regression_targets
from ..data.table import text_column
from ..errors import DatasetError

MAX_TRACKED = 10 * MAX_CLASSES  # distinct labels remembered: beyond this many they are a regression's targets


@dataclass
class LabelCells:
    """One chunk's labels: numbers (float32, NaN missing), or text as codes (-1 missing) into `texts`."""

    numbers: np.ndarray | None = None
    codes: np.ndarray | None = None
    texts: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.numbers) if self.numbers is not None else len(self.codes)

    def missing(self) -> np.ndarray:
        if self.numbers is not None:
            return np.isnan(self.numbers)
        gone = np.array([t is None for t in self.texts] + [True], bool)  # the last slot: a null code (-1)
        return gone[self.codes]


def label_cells(column: Any, name: str, source: str) -> LabelCells:
    """A pyarrow array of labels as LabelCells; dates (no label) are refused."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = column.type
    if pa.types.is_dictionary(t):
        column, t = column.cast(t.value_type), t.value_type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        values = pc.cast(column, pa.float32()) if t != pa.float32() else column
        return LabelCells(numbers=values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False))
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        raise DatasetError(f"{source}: the label column {name!r} holds dates; a label is a class or a number")
    if pa.types.is_null(t):
        return LabelCells(numbers=np.full(len(column), np.nan, np.float32))
    encoded = pc.dictionary_encode(pc.cast(column, pa.string()))
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(np.isnan(codes), -1, codes).astype(np.int64) if codes.dtype.kind == "f" else \
        codes.astype(np.int64)
    return LabelCells(codes=codes, texts=list(text_column(encoded.dictionary.to_pylist())))


def column_cells(col: np.ndarray) -> LabelCells:
    """A Frame's label column (float32 numbers or object text, as the table reader makes them) as LabelCells."""
    if col.dtype != object:
        return LabelCells(numbers=col.astype(np.float32, copy=False))
    present = [v for v in col.tolist() if v is not None]
    texts = sorted(set(present))
    lut = {t: i for i, t in enumerate(texts)}
    codes = np.fromiter((lut[v] if v is not None else -1 for v in col.tolist()), np.int64, len(col))
    return LabelCells(codes=codes, texts=list(texts))


class LabelStats:
    """What the first pass learns of the label column: refuses a missing or non-finite label at its row, and
    keeps the distinct labels (up to MAX_TRACKED) and whether any number is fractional."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.text: bool | None = None
        self.distinct: set = set()
        self.fraction: float | None = None  # one fractional label, if any

    def add(self, cells: LabelCells, source: str, rows: np.ndarray) -> None:
        """A chunk's labels; `rows`: their row numbers in `source` (from 1), for messages."""
        gap = cells.missing()
        if gap.any():
            i = int(np.argmax(gap))
            raise DatasetError(f"{source}: row {rows[i]}: the label column {self.name!r} is missing; remove the rows "
                               "without a label or fill their labels")
        self.text = cells.numbers is None
        if cells.numbers is not None:
            v = cells.numbers
            bad = ~np.isfinite(v)
            if bad.any():
                i = int(np.argmax(bad))
                raise DatasetError(f"{source}: row {rows[i]}, label column {self.name!r}: {v[i]} is not a finite "
                                   "number")
            if self.fraction is None and (frac := v != np.round(v)).any():
                self.fraction = float(v[np.argmax(frac)])
            values = np.unique(v).tolist()
        else:
            values = [cells.texts[c] for c in np.unique(cells.codes).tolist()]
        if len(self.distinct) < MAX_TRACKED:
            self.distinct.update(values[:MAX_TRACKED])

    def coder(self, task: str = "auto", loss: str = "auto") -> LabelCoder:
        """The task chosen and the coder of targets, as `load_frame` would choose from every label."""
        if self.text is None:
            raise DatasetError(f"no rows: the label column {self.name!r} is empty")
        if self.text:
            seen = np.array(sorted(self.distinct), dtype=str)
        else:
            seen = np.array(sorted(self.distinct), dtype=np.float32)
        rep = seen if self.fraction is None else np.append(seen, np.float32(self.fraction))
        task = choose_task(rep, task, loss)
        if task == "regression":
            return LabelCoder(task, (), seen, regression_targets(seen, self.name), self.text)
        index, names = class_labels(rep, self.name)
        return LabelCoder(task, names, seen, index[:len(seen)], self.text)


@dataclass
class LabelCoder:
    """Targets from LabelCells: `seen` the distinct labels of the first pass (sorted), `targets` theirs (a class
    index, or a regression's number)."""

    task: str
    class_names: tuple[str, ...]
    seen: np.ndarray
    targets: np.ndarray
    text: bool

    def encode(self, cells: LabelCells, source: str) -> np.ndarray:
        """(n,) int64 class indices or float64 targets; a label the first pass did not see is refused (the file
        changed since)."""
        if self.text != (cells.numbers is None):
            raise DatasetError(f"{source}: the label column changed type since the first pass")
        if cells.numbers is not None:
            keys, where = cells.numbers, None
        else:
            keys, where = np.array([t if t is not None else "" for t in cells.texts], dtype=str), cells.codes
        pos = np.minimum(np.searchsorted(self.seen, keys), len(self.seen) - 1)
        unseen = self.seen[pos] != keys
        if where is not None:
            unseen = unseen[where] | (where < 0)
            pos = pos[where]
        if unseen.any():
            i = int(np.argmax(unseen))
            value = cells.numbers[i] if cells.numbers is not None else cells.texts[cells.codes[i]]
            raise DatasetError(f"{source}: label {value!r} was not in the table's first pass: the files changed "
                               "while training")
        return self.targets[pos]
