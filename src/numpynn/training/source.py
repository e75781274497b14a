"""Training rows that arrive in minibatches (a table streamed from disk, numpynn.tables.open_stream) instead of
as arrays: what fit asks of such a source, and the check of each batch it hands over.

A source has `n_rows` (training rows per epoch) and `batches(rng, batch_size)`: one epoch's minibatches
(x (batch, *input_shape), y), every training row once, drawn from `rng` (fit's Generator, so a seeded run repeats
and a resumed one goes on as it would have). Optionally `probe`: a few rows of x for the Doctor to watch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import DataError
from ..validation import check_lengths, check_X


@runtime_checkable
class BatchSource(Protocol):
    n_rows: int

    def batches(self, rng: np.random.Generator, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...


def is_batch_source(x: Any) -> bool:
    return not isinstance(x, np.ndarray) and isinstance(x, BatchSource)


def checked_batches(model: Any, source: BatchSource, rng: np.random.Generator,
                    batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The source's batches of an epoch, each checked as fit checks arrays (shape, finite values, targets the loss
    takes, at most `batch_size` rows)."""
    for x, y in source.batches(rng, batch_size):
        x = check_X(x, model.input_shape, model.dtype, "a streamed batch's x")
        y = model.loss.check_targets(y, model.n_outputs, model.dtype, "a streamed batch's y")
        check_lengths(x, y, "a streamed batch's x", "y")
        if len(x) > batch_size:
            raise DataError(f"the batch source handed over {len(x)} rows for a batch of {batch_size}")
        yield x, y
