"""ParameterVector: every trainable tensor of a model as a view into one contiguous vector (gradients likewise).

Layers keep addressing their own `params["W"]` and `grads["W"]`; those are views into the vectors, so an
optimizer can update the whole model with a handful of NumPy calls over two long arrays instead of a dozen
calls per tensor. Iterating yields the per-tensor (key, value, gradient) views.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


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
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        values = np.empty(offsets[-1], dtype=dtype)
        grads = np.zeros(offsets[-1], dtype=dtype)
        shapes = []
        for (_, params, grad_dict, name), start, size in zip(tensors, offsets, sizes, strict=False):
            shape = params[name].shape
            view = values[start:start + size].reshape(shape)
            view[...] = params[name]
            params[name] = view
            grad_dict[name] = grads[start:start + size].reshape(shape)
            shapes.append(shape)
        return cls([k for k, _, _, _ in tensors], shapes, offsets[:-1], values, grads)

    def view(self, flat: np.ndarray, i: int) -> np.ndarray:
        """Tensor i's slice of any array laid out like `values`."""
        size = int(np.prod(self.shapes[i], dtype=np.int64))
        return flat[self.offsets[i]:self.offsets[i] + size].reshape(self.shapes[i])

    def __iter__(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        for i, key in enumerate(self.keys):
            yield key, self.view(self.values, i), self.view(self.grads, i)

    def __len__(self) -> int:
        return len(self.keys)
