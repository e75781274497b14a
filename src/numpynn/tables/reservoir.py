"""A uniform sample of a bounded number of rows from a table that passes by in chunks (reservoir sampling,
Vitter's algorithm R): after n rows each of them is in the sample with probability min(1, capacity / n), so the
statistics learned from the sample (medians, quartiles, categories) estimate those of every row seen.

The caller asks which rows of the next chunk enter (`admit`) and converts only those, so a pass over a large
table pays for the sample's rows, not for every row's conversion.
"""

from __future__ import annotations

import numpy as np

from ..data.table import Frame


class Reservoir:
    """At most `capacity` rows, each seen row equally likely to be among them; draws from `rng`."""

    def __init__(self, capacity: int, rng: np.random.Generator) -> None:
        if capacity < 1:
            raise ValueError(f"a reservoir holds at least one row, got capacity {capacity}")
        self.capacity, self.rng = capacity, rng
        self.seen = 0
        self._names: list[str] | None = None
        self._columns: list[np.ndarray] = []

    def admit(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, slots) for the next `n` rows: rows (indices into the chunk, increasing) replace the sample's rows
        at `slots`. Of several rows drawn for one slot only the last counts, as it would row by row."""
        t = np.arange(self.seen, self.seen + n, dtype=np.int64)
        self.seen += n
        slots = t.copy()
        late = t >= self.capacity
        if late.any():
            slots[late] = self.rng.integers(0, t[late] + 1)  # row t takes slot j < capacity with chance k/(t+1)
        kept = np.flatnonzero(slots < self.capacity)
        # the last row of the chunk drawn for each slot: unique over the reversed order
        _, last = np.unique(slots[kept][::-1], return_index=True)
        rows = np.sort(kept[::-1][last])
        return rows, slots[rows]

    def put(self, chunk: Frame, slots: np.ndarray) -> None:
        """Store the admitted rows `chunk` (in `admit`'s order) at their `slots`."""
        if self._names is None:
            self._names = list(chunk.names)
            self._columns = [_empty_like(c, self.capacity) for c in chunk.columns]
        for store, col in zip(self._columns, chunk.columns, strict=True):
            store[slots] = col

    def frame(self, source: str) -> Frame:
        """The sample: min(seen, capacity) rows, named `source` in messages."""
        n = min(self.seen, self.capacity)
        if self._names is None:
            return Frame([], [], source)
        return Frame(list(self._names), [c[:n] for c in self._columns], source)


def _empty_like(col: np.ndarray, n: int) -> np.ndarray:
    if col.dtype == object:
        return np.full(n, None, dtype=object)
    if col.dtype.kind == "M":
        return np.full(n, np.datetime64("NaT"), dtype=col.dtype)
    return np.full(n, np.nan, dtype=col.dtype)
