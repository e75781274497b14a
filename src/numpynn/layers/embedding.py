"""Embedding: categorical columns of a table, each code replaced by a learned vector (one table per column)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..checks import in_range
from ..errors import ArgumentError, DataError, ShapeError
from .base import Layer, Shape

MAX_POSITION = 2**31  # a column position, as an input shape's axis is bounded (filechecks.MAX_DIM)
MAX_TABLE = 2**31  # elements of one table: 8 GiB in float32, beyond any table a model file or memory holds
EXACT_CODES = {"float32": 2**24, "float64": 2**53}  # whole numbers a float holds exactly: every code must be one


class Embedding(Layer):
    """The ordinary columns of a table as they are, then a learned vector per categorical column.

    Shapes: x (batch, n_in) -> y (batch, n_in - len(columns) + sum(dims)). The input columns at `columns`
    (0-based positions, sorted, unique) hold category codes 0..cardinalities[i]-1 stored as floats of the
    model's dtype; every other column is an ordinary feature. The output holds the ordinary columns first, in
    their order, then row `code` of table i (dims[i] values) for each embedded column, in the order of
    `columns`. A code that is not a whole number in its range (NaN, 2.5, -1, too large) is a DataError.

    Parameters "E0", "E1", ...: table i of shape (cardinalities[i], dims[i]), initialised uniform in
    [-1/sqrt(dim), 1/sqrt(dim)], the categorical embeddings' default of Gorishniy et al. 2021 ("Revisiting Deep
    Learning Models for Tabular Data"), so each vector starts at about the scale of one standardised feature.
    Codes are not differentiable: dL/dx is zero in the code columns.
    """

    def __init__(self, columns: Sequence[int], cardinalities: Sequence[int], dims: Sequence[int]) -> None:
        super().__init__()
        self.columns = _integers(columns, "columns", 0, MAX_POSITION - 1)
        self.cardinalities = _integers(cardinalities, "cardinalities", 1, MAX_TABLE)
        self.dims = _integers(dims, "dims", 1, MAX_TABLE)
        lengths = (len(self.columns), len(self.cardinalities), len(self.dims))
        if len(set(lengths)) != 1:
            raise ValueError(f"Embedding needs one cardinality and one dim per column: got {lengths[0]} columns, "
                             f"{lengths[1]} cardinalities and {lengths[2]} dims")
        if any(b <= a for a, b in zip(self.columns, self.columns[1:], strict=False)):
            raise ValueError(f"Embedding columns must be sorted and unique, got {list(self.columns)!r:.200}")
        for i, (card, dim) in enumerate(zip(self.cardinalities, self.dims, strict=True)):
            if card * dim > MAX_TABLE:
                raise ValueError(f"Embedding table {i} (column {self.columns[i]}) would hold {card} x {dim} = "
                                 f"{card * dim:,} values; at most {MAX_TABLE:,} are allowed")
        self.n_in: int | None = None
        self.plain: np.ndarray = np.empty(0, np.intp)  # positions of the ordinary columns, set at build
        self._codes: np.ndarray | None = None

    def param_shapes(self) -> dict[str, Shape]:
        return {f"E{i}": (card, dim) for i, (card, dim) in enumerate(zip(self.cardinalities, self.dims, strict=True))}

    def out_features(self, n_in: int) -> int:
        """The output width for `n_in` input columns."""
        return n_in - len(self.columns) + sum(self.dims)

    def build(self, input_shape, *, dtype, rng) -> Shape:
        if input_shape is None or len(input_shape) != 1:
            raise ShapeError(f"Embedding needs (batch, features) inputs of a known width: give the model its input "
                             f"shape, e.g. Sequential([...], input_shape=(n_features,)); got per-sample shape "
                             f"{input_shape}")
        n_in = int(input_shape[0])
        if self.columns[-1] >= n_in:
            raise ShapeError(f"Embedding columns must be positions 0..{n_in - 1} of the {n_in} input columns, got "
                             f"{self.columns[-1]}")
        exact = EXACT_CODES[np.dtype(dtype).name]
        if max(self.cardinalities) > exact:
            raise ArgumentError(f"a {np.dtype(dtype).name} model holds category codes exactly only up to {exact:,}; "
                                f"a cardinality of {max(self.cardinalities):,} needs float64")
        super().build((n_in,), dtype=dtype, rng=rng)
        self.n_in = n_in
        self.plain = np.setdiff1d(np.arange(n_in), self.columns).astype(np.intp)
        for name, (card, dim) in self.param_shapes().items():
            limit = 1.0 / np.sqrt(dim)
            self._add_param(name, rng.uniform(-limit, limit, size=(card, dim)))
        self.output_shape = (self.out_features(n_in),)
        return self.output_shape

    # --- computing ------------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if not training:
            return self.infer(x)
        codes = self.codes(x)
        y = self._embed(x, codes, self._buffer("y", (x.shape[0], self.output_shape[0])))
        self._codes, self._ready_for_backward = codes, True
        return y

    def infer(self, x: np.ndarray) -> np.ndarray:
        codes = self.codes(x)
        return self._embed(x, codes, np.empty((x.shape[0], self.output_shape[0]), self.dtype))

    def _embed(self, x: np.ndarray, codes: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Fill `out` (batch, n_out): the ordinary columns, then each table's row of each code."""
        n_plain = len(self.plain)
        np.take(x, self.plain, axis=1, out=out[:, :n_plain], mode="clip")  # "clip": unbuffered, codes are checked
        start = n_plain
        for i, dim in enumerate(self.dims):
            np.take(self.params[f"E{i}"], codes[:, i], axis=0, out=out[:, start:start + dim], mode="clip")
            start += dim
        return out

    def codes(self, x: np.ndarray) -> np.ndarray:
        """The category codes of a batch, (batch, len(columns)) integers, each checked in one vectorised pass."""
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != self.n_in:
            shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
            raise ShapeError(f"{self.describe()} expected a dense input array (batch, {self.n_in}), got {shape}")
        c = x[:, self.columns]
        ok = (c >= 0) & (c < self.cardinalities) & (c == np.floor(c))  # NaN fails every test
        if not ok.all():
            row, i = (int(v) for v in np.argwhere(~ok)[0])
            raise DataError(f"input column {self.columns[i]} holds category codes of an Embedding: whole numbers "
                            f"0..{self.cardinalities[i] - 1}; row {row} has {float(c[row, i])!r} "
                            f"({int((~ok).sum())} such value(s) in the code columns)")
        return c.astype(np.intp)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._check_backward()
        codes, n = self._codes, dy.shape[0]
        if dy.shape != (codes.shape[0], self.output_shape[0]):
            raise ShapeError(f"{self.describe()} backward expected dy ({codes.shape[0]}, {self.output_shape[0]}), "
                             f"got {tuple(dy.shape)}")
        start = len(self.plain)
        for i, dim in enumerate(self.dims):
            grad = self.grads[f"E{i}"]
            grad.fill(0)
            # one scatter-add over the flat table: rows sharing a code add up (measured in docs/performance.md)
            flat = (codes[:, i, None] * dim + np.arange(dim)).reshape(-1)
            np.add.at(grad.reshape(-1), flat, dy[:, start:start + dim].reshape(-1))
            start += dim
        dx = self._buffer("dx", (n, self.n_in))
        dx[:, self.columns] = 0
        dx[:, self.plain] = dy[:, :len(self.plain)]
        return dx

    # --- describing -----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "cardinalities": list(self.cardinalities), "dims": list(self.dims)}

    def describe(self) -> str:
        tables = f"{len(self.columns)} table{'s' if len(self.columns) > 1 else ''}"
        if self.n_in is None:
            return f"Embedding({tables})"
        return f"Embedding({self.n_in}\u2192{self.output_shape[0]}, {tables})"


def _integers(values: Any, name: str, lo: int, hi: int) -> tuple[int, ...]:
    """A non-empty list of integers in [lo, hi] (NumPy integers too, never bools or floats) as a tuple."""
    if isinstance(values, np.ndarray):
        values = values.tolist() if values.dtype.kind in "iu" else list(values)
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"Embedding {name} must be a non-empty list of integers, got {values!r:.80}")
    for v in values:
        if not in_range(v, lo, hi, integer=True):
            raise ValueError(f"Embedding {name} must be integers in [{lo}, {hi}], got {v!r:.40}")
    return tuple(int(v) for v in values)
