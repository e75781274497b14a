"""Training on a table larger than memory: a Parquet file, or a folder of them, read one row group at a time.

    table = numpynn.tables.open_stream("big/", label_column="y")
    model.preprocessing = table.preprocessing()
    model.fit(table, None, validation_data=table.validation, epochs=3)

- A first pass (numpynn.tables.scan) reads every row group once: each label is checked and the task and the class
  set come from all of them; a uniform sample of at most SAMPLE_ROWS training rows is kept, from which the schema
  and the preprocessing are learned, so medians, quartiles and categories are estimates from that sample; the
  validation and test rows (a seeded fraction of the rows, each part at most HELD_OUT_ROWS rows) are kept in
  memory, prepared.
- Each epoch (`batches`) reads the row groups in an order drawn from the training Generator, each in record
  batches of its training rows, prepares them with numpynn.tables.transform, gathers them in a buffer of about
  BUFFER_BYTES (at least four minibatches), shuffles the buffer and hands it out in minibatches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.parquet_parts import ParquetParts, frame_of, is_parquet_source, open_parts
from ..data.prefetch import ahead
from ..errors import DatasetError
from ..memory import available_bytes, gib
from .prepare import learn
from .preprocess import n_inputs, required_columns, transform
from .scan import READ_ROWS, TRAIN, Scan, scan, split_codes
from .schema import ColumnSchema
from .stream_labels import label_cells

SAMPLE_ROWS = 100_000  # training rows the preprocessing is learned from
HELD_OUT_ROWS = 100_000  # at most this many validation rows, and as many test rows, are held in memory
TEST_FRACTION = 0.2  # as a table read whole: 80/20, unless that many rows would pass HELD_OUT_ROWS
BUFFER_BYTES = 32 << 20  # the shuffle buffer of prepared rows (held twice: as read, and shuffled)
STREAM_SHARE = 0.25  # stream a table whose rows would take more than this share of the memory available
PROBE_ROWS = 512  # sample rows the Doctor watches


def stream_decision(dataset: str, mode: str = "auto") -> tuple[bool, str]:
    """(whether a run streams `dataset`, why, in a sentence for the log). mode "on" streams a Parquet file or
    folder, "off" never streams, "auto" streams one whose rows, read whole, would take more than STREAM_SHARE of
    the memory available (numpynn.memory.available_bytes), as estimated from its metadata."""
    if mode == "off":
        return False, ""
    parquet = is_parquet_source(dataset)
    if mode == "on":
        if not parquet:
            raise DatasetError(f"stream on reads a Parquet file or a folder of Parquet files; {dataset!r} is neither")
        return True, f"{dataset}: streamed row group by row group, as asked (stream on)"
    if not parquet or not Path(dataset).exists():
        return False, ""
    parts = open_parts(dataset)
    have = available_bytes()
    if have is None or parts.decoded_bytes <= STREAM_SHARE * have:
        return False, ""
    return True, (f"{dataset}: about {gib(parts.decoded_bytes)} once read, more than a quarter of the {gib(have)} of "
                  "memory available: streamed row group by row group (stream off reads it whole)")


class StreamedTable:
    """A Parquet table trained on without being held: what fit asks of a batch source (`n_rows`, `batches`,
    `probe`), the held-out parts prepared (`validation`, `test`: (X, y) or None) and the learned preprocessing.

    Targets are class indices (n,) int64, or a regression's (n, 1) in `dtype`."""

    def __init__(self, parts: ParquetParts, found: Scan, record: dict[str, Any], schema: list[ColumnSchema], *,
                 dtype: Any, test_fraction: float, validation_fraction: float, seed: int,
                 buffer_bytes: int = BUFFER_BYTES) -> None:
        # the scan's Frames are prepared here and not kept: only the counts and how the label was chosen stay
        self.parts, self.record, self.schema = parts, record, schema
        self.label, self.coder, self.how, self.counts = found.label, found.coder, found.how, found.counts
        self.dtype = np.dtype(dtype)
        self.test_fraction, self.validation_fraction, self.seed = test_fraction, validation_fraction, seed
        self.buffer_bytes = buffer_bytes
        self.columns = list(dict.fromkeys([*required_columns(record), self.label]))
        self.n_rows = found.counts[TRAIN]
        self.sample = (transform(record, found.sample, self.dtype), self._targets(found.y_sample))
        self.validation = None if found.validation is None else \
            (transform(record, found.validation, self.dtype), self._targets(found.y_validation))
        self.test = (transform(record, found.test, self.dtype), self._targets(found.y_test))
        self.probe = self.sample[0][:PROBE_ROWS]

    @property
    def task(self) -> str:
        return self.coder.task

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.coder.class_names

    @property
    def n_inputs(self) -> int:
        return n_inputs(self.record)

    def _targets(self, y: np.ndarray) -> np.ndarray:
        return y.astype(self.dtype).reshape(-1, 1) if self.task == "regression" else y

    def describe(self, batch_size: int) -> str:
        """How the table is streamed (with minibatches of `batch_size`), in sentences for the log."""
        n_train, n_val, n_test = self.counts
        files = len(self.parts.files)
        held_val = 0 if self.validation is None else len(self.validation[0])
        val = (f"validation: a seeded {100 * self.validation_fraction:.3g} % of the other rows ({held_val:,} held"
               f"{f' of {n_val:,}' if held_val < n_val else ''})") if self.validation_fraction else "no validation"
        return (f"{self.parts.path}: {self.parts.n_rows:,} rows in {len(self.parts.pieces):,} row groups"
                f"{f' of {files} files' if files > 1 else ''}. The schema and preprocessing were learned from a "
                f"uniform sample of {len(self.sample[0]):,} of the {n_train:,} training rows (medians, quartiles and "
                f"categories are estimates from it); labels and classes from every row. Test: a seeded "
                f"{100 * self.test_fraction:.3g} % of the rows ({len(self.test[0]):,} held"
                f"{f' of {n_test:,}' if len(self.test[0]) < n_test else ''}); {val}. Each epoch reads the row groups "
                f"in a shuffled order, rows shuffled within a buffer of {self.buffer_rows(batch_size):,} "
                "rows.")

    def buffer_rows(self, batch_size: int) -> int:
        """Rows in the shuffle buffer: about `buffer_bytes` of prepared rows, at least four minibatches, at most
        every training row."""
        rows = max(4 * batch_size, self.buffer_bytes // max(1, self.n_inputs * self.dtype.itemsize))
        return min(rows, self.n_rows)

    def batches(self, rng: np.random.Generator, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One epoch of minibatches (x (batch, n_inputs), y) of every training row once; all full but the last.
        Each is a view into the epoch's buffers, valid until the next one is asked for."""
        limit = self.buffer_rows(batch_size)
        size = limit + READ_ROWS  # room for the rows left over and one more chunk
        regression = self.task == "regression"
        fill, out = (np.empty((size, self.n_inputs), self.dtype) for _ in range(2))
        y_fill, y_out = (np.empty((size, 1) if regression else size, self.dtype if regression else np.int64)
                         for _ in range(2))
        have = 0
        order = rng.permutation(len(self.parts.pieces)).tolist()
        chunks = ahead(chunk for k in order for chunk in self.chunks(k))  # the next chunk is read while training
        with contextlib.closing(chunks):
            for x, y in chunks:
                fill[have:have + len(x)], y_fill[have:have + len(x)] = x, y
                have += len(x)
                if have >= limit:
                    full = have // batch_size * batch_size
                    yield from _shuffled_batches(fill, y_fill, out, y_out, have, full, batch_size, rng)
                    fill[:have - full], y_fill[:have - full] = out[full:have], y_out[full:have]
                    have -= full
        if have:
            yield from _shuffled_batches(fill, y_fill, out, y_out, have, have, batch_size, rng)

    def chunks(self, k: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The training rows of row group `k`, prepared: (x, y) per record batch read, in file order."""
        piece = self.parts.pieces[k]
        codes = split_codes(k, piece.rows, self.test_fraction, self.validation_fraction, self.seed)
        features = self.columns[:-1]
        at = 0
        for batch in self.parts.batches(piece, self.columns, READ_ROWS):
            n = batch.num_rows
            rows = np.arange(piece.first_row + at + 1, piece.first_row + at + 1 + n, dtype=np.int64)
            train = codes[at:at + n] == TRAIN
            at += n
            if not train.any():
                continue
            # the whole batch is prepared, then its held-out rows dropped: cheaper than taking rows from Arrow's
            x = transform(self.record, frame_of(batch.select(features), piece, rows), self.dtype)
            y = self.coder.encode(label_cells(batch.column(self.label), self.label, str(piece.file)), str(piece.file))
            if not train.all():
                x, y = x[train], y[train]
            yield x, self._targets(y)

    def preprocessing(self) -> dict[str, Any]:
        """What a model trained on this table must remember, as `model.preprocessing` (the in-memory path's form)."""
        prep: dict[str, Any] = {"normalize": "none", "table": self.record, "input_shape": [self.n_inputs],
                                "task": self.task, "label_column": self.label,
                                "label_index": self.parts.names.index(self.label),
                                "feature_names": [n for n in self.parts.names if n != self.label]}
        if self.class_names:
            prep["class_names"] = list(self.class_names)
        return prep


def _shuffled_batches(fill: np.ndarray, y_fill: np.ndarray, out: np.ndarray, y_out: np.ndarray, have: int,
                      upto: int, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The first `have` rows of the fill buffers shuffled into `out`, handed out in batches up to row `upto`."""
    order = rng.permutation(have)
    np.take(fill[:have], order, axis=0, out=out[:have], mode="clip")  # mode "raise" would copy first
    np.take(y_fill[:have], order, axis=0, out=y_out[:have], mode="clip")
    for s in range(0, upto, batch_size):
        yield out[s:min(s + batch_size, upto)], y_out[s:min(s + batch_size, upto)]


def open_stream(source: str | Path, *, label_column: int | str | None = None, task: str = "auto",
                loss: str = "auto", scaling: str = "robust", categorical: Sequence[str] = (),
                numeric: Sequence[str] = (), drop: Sequence[str] = (), validation_split: float = 0.1,
                seed: int = 0, dtype: Any = np.float32, sample_rows: int = SAMPLE_ROWS,
                held_out_rows: int = HELD_OUT_ROWS, buffer_bytes: int = BUFFER_BYTES) -> StreamedTable:
    """A Parquet file or folder ready to stream: the first pass made, the preprocessing learned from its sample.

    The test rows are a seeded TEST_FRACTION of the rows (fewer when that many would pass `held_out_rows`), the
    validation rows a seeded `validation_split` of the others (likewise bounded); `seed` draws the validation
    rows and the sample (the test rows are the same for every seed)."""
    if not 0 <= validation_split < 1:
        raise DatasetError(f"validation_split must be in [0, 1), got {validation_split!r}")
    parts = open_parts(source)
    n = parts.n_rows
    test_fraction = min(TEST_FRACTION, held_out_rows / n) if n else TEST_FRACTION
    rest = max(1.0, n * (1 - test_fraction))
    validation_fraction = min(validation_split, held_out_rows / rest)
    found = scan(parts, label_column=label_column, task=task, loss=loss, test_fraction=test_fraction,
                 validation_fraction=validation_fraction, seed=seed, sample_rows=sample_rows,
                 held_out_rows=held_out_rows)
    features = found.sample.drop([found.label])
    record, schema = learn(features, scaling=scaling, categorical=categorical, numeric=numeric, drop=drop)
    return StreamedTable(parts, found, record, schema, dtype=dtype, test_fraction=test_fraction,
                         validation_fraction=validation_fraction, seed=seed, buffer_bytes=buffer_bytes)
