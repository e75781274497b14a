"""ParameterVector: every trainable tensor of a model as a view into one contiguous vector (gradients likewise).

Layers keep addressing their own `params["W"]` and `grads["W"]`; those are views into the vectors, so an
optimizer can update the whole model with a handful of NumPy calls over two long arrays instead of a dozen
calls per tensor. Iterating yields the per-tensor (key, value, gradient) views.

Each tensor starts on a 64-byte boundary (a cache line, one AVX-512 vector): a compiled loop that reads the
rows of W is about a third slower where every vector load straddles two cache lines. The few elements of
padding between tensors stay zero in values, gradients and optimizer state, so no update moves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

ALIGN = 64  # bytes


def aligned_zeros(n: int, dtype: np.dtype) -> np.ndarray:
    """A zeroed 1-D array of n elements whose first element sits on an ALIGN-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(n + ALIGN // itemsize, dtype=dtype)
    skip = (-raw.ctypes.data % ALIGN) // itemsize
    return raw[skip:skip + n]


@dataclass
class ParameterVector:
    keys: list[str]
    shapes: list[tuple[int, ...]]
    offsets: list[int]
    values: np.ndarray  # 1-D, all parameters
    grads: np.ndarray   # 1-D, all gradients, same layout

    @classmethod
    def gather(cls, tensors: list[tuple[str, dict, dict, str]], dtype: np.dtype) -> ParameterVector:
        """Move each (key, params dict, grads dict, name) tensor into the shared vectors and rebind the dicts
        to views, so the layers keep working on the same numbers."""
        sizes = [params[name].size for _, params, _, name in tensors]
        step = max(1, ALIGN // np.dtype(dtype).itemsize)
        offsets, end = [], 0
        for size in sizes:
            offsets.append(end)
            end += -(-size // step) * step  # the next tensor starts on the next boundary
        values, grads = aligned_zeros(end, dtype), aligned_zeros(end, dtype)
        shapes = []
        for (_, params, grad_dict, name), start, size in zip(tensors, offsets, sizes, strict=False):
            shape = params[name].shape
            view = values[start:start + size].reshape(shape)
            view[...] = params[name]
            params[name] = view
            grad_dict[name] = grads[start:start + size].reshape(shape)
            shapes.append(shape)
        return cls([k for k, _, _, _ in tensors], shapes, offsets, values, grads)

    def view(self, flat: np.ndarray, i: int) -> np.ndarray:
        """Tensor i's slice of any array laid out like `values`."""
        size = int(np.prod(self.shapes[i], dtype=np.int64))
        return flat[self.offsets[i]:self.offsets[i] + size].reshape(self.shapes[i])

    def __iter__(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        for i, key in enumerate(self.keys):
            yield key, self.view(self.values, i), self.view(self.grads, i)

    def __len__(self) -> int:
        return len(self.keys)

    def n_params(self) -> int:
        """Elements in the tensors themselves (the vectors also hold the padding between them)."""
        return sum(int(np.prod(shape, dtype=np.int64)) for shape in self.shapes)
