"""The first pass over a table stored in pieces (numpynn.data.parquet_parts): every row group once, in file order.

It checks every label and learns the task and the class set from all of them; it keeps a uniform sample of the
training rows (a Reservoir), from which the schema and the preprocessing are then learned; and it keeps the
held-out validation and test rows, each part bounded to a number of rows. Which part a row belongs to is drawn
per row group from seeded generators (`split_codes`), so every later pass finds the same rows in the same part
without remembering them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.parquet_parts import ParquetParts, frame_of
from ..data.table import Frame, label_of
from ..errors import DatasetError
from .reservoir import Reservoir
from .stream_labels import LabelCoder, LabelStats, column_cells, label_cells

TRAIN, VALIDATION, TEST = 0, 1, 2
READ_ROWS = 16_384  # rows per record batch read: every column of them is held at once
TEST_SEED = 0  # the test rows are the same whatever the run's seed, as a table read whole is split 80/20
# each draw has a generator of its own: [what it draws, the seed, the row group]
_VALIDATION_DRAW, _TEST_DRAW, _SAMPLE_DRAW = 1, 2, 3


def split_codes(piece: int, rows: int, test_fraction: float, validation_fraction: float, seed: int) -> np.ndarray:
    """(rows,) uint8: TRAIN, VALIDATION or TEST for each row of row group number `piece` of the table. A row is a
    test row with chance `test_fraction` (drawn with TEST_SEED), else a validation row with chance
    `validation_fraction` (drawn with the run's `seed`)."""
    codes = np.zeros(rows, np.uint8)
    if validation_fraction:
        codes[np.random.default_rng([_VALIDATION_DRAW, seed, piece]).random(rows) < validation_fraction] = VALIDATION
    if test_fraction:
        codes[np.random.default_rng([_TEST_DRAW, TEST_SEED, piece]).random(rows) < test_fraction] = TEST
    return codes


@dataclass
class Scan:
    """What the first pass found. Frames hold the feature columns and the label column; `y_*` their targets."""

    label: str
    how: str  # how the label column was chosen, for the log
    coder: LabelCoder
    sample: Frame
    y_sample: np.ndarray
    validation: Frame | None
    y_validation: np.ndarray | None
    test: Frame
    y_test: np.ndarray
    counts: tuple[int, int, int]  # rows of each part (TRAIN, VALIDATION, TEST), held or not


def scan(parts: ParquetParts, *, label_column: int | str | None = None, task: str = "auto", loss: str = "auto",
         test_fraction: float, validation_fraction: float, seed: int, sample_rows: int,
         held_out_rows: int) -> Scan:
    """One pass over `parts`: the label checked and encoded, a sample of at most `sample_rows` training rows,
    and at most `held_out_rows` rows of each held-out part."""
    if not parts.pieces:
        raise DatasetError(f"{parts.path}: the table has no rows")
    first = parts.frames(parts.pieces[0], batch_rows=2000)
    head = next(first)
    first.close()
    label, how = label_of(head, label_column)
    if len(parts.names) < 2:
        raise DatasetError(f"{parts.path}: one column only: no features besides the labels")
    stats = LabelStats(label)
    reservoir = Reservoir(sample_rows, np.random.default_rng([_SAMPLE_DRAW, seed]))
    held: dict[int, list] = {VALIDATION: [], TEST: []}
    room = {VALIDATION: held_out_rows, TEST: held_out_rows}
    counts = [0, 0, 0]
    for k, piece in enumerate(parts.pieces):
        codes = split_codes(k, piece.rows, test_fraction, validation_fraction, seed)
        at = 0
        for batch in parts.batches(piece, batch_rows=READ_ROWS):
            n = batch.num_rows
            part = codes[at:at + n]
            rows = np.arange(piece.first_row + at + 1, piece.first_row + at + 1 + n, dtype=np.int64)
            stats.add(label_cells(batch.column(label), label, str(piece.file)), str(piece.file), rows)
            train = np.flatnonzero(part == TRAIN)
            take, slots = reservoir.admit(len(train))
            if len(take):
                reservoir.put(frame_of(batch.take(train[take]), piece), slots)
            for p in (VALIDATION, TEST):
                idx = np.flatnonzero(part == p)
                counts[p] += len(idx)
                idx = idx[:room[p]]
                if len(idx):  # as a Frame at once: float32 numbers take half the memory of Arrow's float64
                    held[p].append(frame_of(batch.take(idx), piece, rows[idx]))
                    room[p] -= len(idx)
            counts[TRAIN] += len(train)
            at += n
    coder = stats.coder(task, loss)
    if counts[TRAIN] == 0:
        raise DatasetError(f"{parts.path}: {parts.n_rows:,} rows leave none to train on")
    if not held[TEST]:
        raise DatasetError(f"{parts.path}: {parts.n_rows:,} rows are too few to hold some out for testing")
    sample = reservoir.frame(f"{parts.path} (a sample of {min(counts[TRAIN], sample_rows):,} training rows)")
    y_sample = coder.encode(column_cells(sample.column(label)), sample.source)
    validation, y_validation = _held(held[VALIDATION], coder, label, parts.path)
    test, y_test = _held(held[TEST], coder, label, parts.path)
    return Scan(label, how, coder, sample, y_sample, validation, y_validation, test, y_test, tuple(counts))


def _held(frames: list[Frame], coder: LabelCoder, label: str,
          parts_path: object) -> tuple[Frame | None, np.ndarray | None]:
    """The held-out Frames of one part as one Frame and its targets (None when there are none)."""
    if not frames:
        return None, None
    whole = concat(frames, str(parts_path))
    frames.clear()
    return whole, coder.encode(column_cells(whole.column(label)), whole.source)


def concat(frames: list[Frame], source: str) -> Frame:
    """Frames of the same columns one after the other; their row numbers are kept when they name one file,
    which then names the whole, else `source` does."""
    first = frames[0]
    columns = [np.concatenate([f.columns[j] for f in frames]) for j in range(len(first.names))]
    if all(f.rows is not None and f.source == first.source for f in frames):
        return Frame(list(first.names), columns, first.source, np.concatenate([f.rows for f in frames]))
    return Frame(list(first.names), columns, source)

