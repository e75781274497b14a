"""Flatten: (batch, d1, d2, ...) -> (batch, d1*d2*...), e.g. MNIST images (n, 28, 28) -> (n, 784)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import in_range
from ..errors import ShapeError
from .base import Layer


class Flatten(Layer):
    """Reshapes each sample to a vector; a view, never a copy, for C-ordered input."""

    def __init__(self, input_shape: tuple[int, ...] | list[int] | None = None) -> None:
        super().__init__()
        if input_shape is not None and (not isinstance(input_shape, (tuple, list)) or not 1 <= len(input_shape) <= 8
                                        or not all(_dim(d) for d in input_shape)):
            raise ValueError(f"Flatten input_shape must be None or 1 to 8 positive integers, got {input_shape!r:.80}")
        self.expected = tuple(int(d) for d in input_shape) if input_shape is not None else None
        self._in_shape: tuple[int, ...] | None = None

    def build(self, input_shape, *, dtype, rng):
        shape = self.expected or input_shape
        super().build(shape, dtype=dtype, rng=rng)
        self.output_shape = (int(np.prod(shape)),) if shape is not None else None
        return self.output_shape

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        y = self.infer(x)
        if training:
            self._ready_for_backward = True
            self._in_shape = x.shape
        return y

    def infer(self, x: np.ndarray) -> np.ndarray:
        if self.expected is not None and tuple(x.shape[1:]) != self.expected:
            raise ShapeError(f"Flatten expected input (batch, {', '.join(map(str, self.expected))}), "
                             f"got {tuple(x.shape)}")
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._check_backward()
        return dy.reshape(self._in_shape)

    def get_config(self) -> dict[str, Any]:
        return {"input_shape": list(self.expected)} if self.expected else {}

    def flops_per_sample(self) -> int:
        return 0


def _dim(d: Any) -> bool:
    return in_range(d, 1, 2**31, integer=True)
