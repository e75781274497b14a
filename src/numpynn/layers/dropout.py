"""Inverted dropout: during training zero each unit with probability `rate` and scale the rest by 1/(1-rate)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer


class Dropout(Layer):
    """Shapes unchanged. Masks come from the model's seeded Generator; evaluation is the identity."""

    def __init__(self, rate: float = 0.5) -> None:
        super().__init__()
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if not training:
            return self.infer(x)
        self._ready_for_backward = True
        if self.rate == 0:
            self._mask = None
            return x
        mask = self._buffer("mask", x.shape)
        self.rng.random(dtype=mask.dtype, out=mask)
        # mask <- (u >= rate) / (1 - rate), in place
        np.greater_equal(mask, self.rate, out=mask)
        mask *= 1.0 / (1.0 - self.rate)
        self._mask = mask
        return np.multiply(x, mask, out=self._buffer("y", x.shape))

    def infer(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._check_backward()
        if self._mask is None:
            return dy
        return np.multiply(dy, self._mask, out=self._buffer("dx", dy.shape))

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}
