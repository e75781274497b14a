"""Prediction of many rows by a stack of Dense layers: each layer's output in place, straight into the result.

Written against the engine's own operations (bias + activation, softmax), so each engine runs its fastest
form of them. Compared with the layers' forward passes it makes no copy: the bias and activation are applied
in place on each product, the last layer writes into the array handed back, and the softmax runs in place on
it. The rows go in equal chunks of at most `CHUNK_BYTES` of hidden output (this bounds memory on large inputs),
as few as possible: every product is a point where BLAS's threads wait for one another, and on a loaded
machine that wait, not the memory traffic, is what smaller chunks cost (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from .activations import Activation

# y = act(z + b) in place, as NumpyOps.bias_activation with out=z
BiasActivation = Callable[[np.ndarray, np.ndarray, Activation | None, np.ndarray], np.ndarray]


class Engine(Protocol):
    """What this needs of an engine (NumpyOps and FusedOps have it)."""

    def bias_activation(self, z: np.ndarray, b: np.ndarray, act: Activation | None, out: np.ndarray
                        ) -> np.ndarray: ...

    def softmax(self, z: np.ndarray, out: np.ndarray) -> np.ndarray: ...


CHUNK_BYTES = 16 << 20  # the widest hidden output of one chunk: 16,384 rows of 256 float32 units


class BatchRows:
    """A stack of Dense layers (W (in, out), b, activation or None) run on many rows. `bias_activation` is the
    engine's own (default: `ops.bias_activation`)."""

    def __init__(self, ops: Engine, layers: Sequence[tuple[np.ndarray, np.ndarray, Activation | None]],
                 bias_activation: BiasActivation | None = None) -> None:
        self._ops, self._layers = ops, tuple(layers)
        self._bias_activation = bias_activation or ops.bias_activation
        self._dtype = layers[0][0].dtype
        widest = max([W.shape[1] for W, _, _ in self._layers[:-1]], default=1)
        self._max_rows = max(1, CHUNK_BYTES // (widest * self._dtype.itemsize))

    def __call__(self, x: np.ndarray, softmax: bool = False, max_rows: int | None = None) -> np.ndarray:
        """The last layer's output for x (n, in) (with softmax: its row-wise softmax), a new array (n, out);
        at most `max_rows` rows (default: as CHUNK_BYTES allows) go through the layers at once."""
        n = len(x)
        chunks = -(-n // (max_rows or self._max_rows))
        rows = -(-n // chunks)  # equal chunks: no short last one
        out = np.empty((n, self._layers[-1][0].shape[1]), self._dtype)
        buffers = [np.empty((rows, W.shape[1]), self._dtype) for W, _, _ in self._layers[:-1]]
        last = len(buffers)
        for s in range(0, n, rows):
            h = x[s:s + rows]
            m = len(h)
            for i, (W, b, act) in enumerate(self._layers):
                z = np.matmul(h, W, out=out[s:s + m] if i == last else buffers[i][:m])
                h = self._bias_activation(z, b, act, z)
        if softmax:
            self._ops.softmax(out, out)
        return out
