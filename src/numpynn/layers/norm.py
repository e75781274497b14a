"""Batch normalisation over the batch axis for (batch, features) data."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import in_range
from ..errors import ShapeError
from .base import Layer


class BatchNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta.

    Training uses the batch's statistics and updates the running ones
    (running = (1 - momentum) * running + momentum * batch, unbiased variance);
    evaluation uses the running statistics. Shapes: (batch, features) -> same.
    """

    trainable_params = ("gamma", "beta")

    def __init__(self, num_features: int | None = None, *, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        if num_features is not None and not in_range(num_features, 1, integer=True):
            raise ValueError(f"BatchNorm num_features must be a positive integer or None, got {num_features!r}")
        if not in_range(momentum, 0, 1, open_lo=True):
            raise ValueError(f"BatchNorm momentum must be in (0, 1], got {momentum!r}")
        if not in_range(eps, 0, open_lo=True):
            raise ValueError(f"BatchNorm eps must be a finite number > 0, got {eps!r}")
        self.num_features = None if num_features is None else int(num_features)
        self.momentum, self.eps = float(momentum), float(eps)
        self._xhat = self._inv_std = None

    def param_shapes(self):
        if self.num_features is None:
            return {}
        f = (self.num_features,)
        return {"gamma": f, "beta": f, "running_mean": f, "running_var": f}

    def check_state(self) -> None:
        var = self.buffers["running_var"]
        if (var < 0).any():
            raise ValueError(f"running_var must be >= 0, got {int((var < 0).sum())} negative value(s), the first "
                             f"{float(var[var < 0][0])!r}")

    def build(self, input_shape, *, dtype, rng):
        if input_shape is None or len(input_shape) != 1:
            if self.num_features is None:
                raise ShapeError(f"BatchNorm needs (batch, features) input; got per-sample shape {input_shape}")
            input_shape = (self.num_features,)
        if self.num_features is not None and input_shape != (self.num_features,):
            raise ShapeError(f"BatchNorm({self.num_features}) cannot follow an output of {input_shape} per sample")
        self.num_features = input_shape[0]
        super().build(input_shape, dtype=dtype, rng=rng)
        self._add_param("gamma", np.ones(self.num_features))
        self._add_param("beta", np.zeros(self.num_features))
        self.buffers["running_mean"] = np.zeros(self.num_features, dtype=self.dtype)
        self.buffers["running_var"] = np.ones(self.num_features, dtype=self.dtype)
        return self.output_shape

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if not training:
            return self.infer(x)
        self._check_input(x)
        n = x.shape[0]
        if n < 2:
            raise ShapeError(f"{self.describe()} needs at least 2 samples per training batch, got {n}")
        y = self._buffer("y", x.shape)
        mean = x.mean(axis=0)
        xhat = self._buffer("xhat", x.shape)
        np.subtract(x, mean, out=xhat)
        var = np.einsum("ij,ij->j", xhat, xhat) / n
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat *= inv_std
        m = self.momentum
        rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
        rm *= 1 - m
        rm += m * mean
        rv *= 1 - m
        rv += (m * n / (n - 1)) * var
        self._ready_for_backward = True
        self._xhat, self._inv_std = xhat, inv_std.astype(x.dtype, copy=False)
        np.multiply(xhat, self.params["gamma"], out=y)
        y += self.params["beta"]
        return y

    def infer(self, x: np.ndarray, inplace: bool = False) -> np.ndarray:
        """(x - running_mean) * gamma / sqrt(running_var + eps) + beta, as a new array or (inplace, for an x the
        caller owns) in x itself."""
        self._check_input(x)
        y = np.subtract(x, self.buffers["running_mean"], out=x if inplace else None)
        y *= self.scale()
        y += self.params["beta"]
        return y

    def scale(self) -> np.ndarray:
        """gamma / sqrt(running_var + eps): what prediction multiplies the centred input by."""
        return self.params["gamma"] / np.sqrt(self.buffers["running_var"] + self.eps)

    def _check_input(self, x: np.ndarray) -> None:
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ShapeError(f"{self.describe()} expected input (batch, {self.num_features}), got {tuple(x.shape)}")

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._check_backward()
        xhat, n = self._xhat, dy.shape[0]
        g_beta = np.sum(dy, axis=0, out=self.grads["beta"])
        g_gamma = np.einsum("ij,ij->j", dy, xhat, out=self.grads["gamma"])
        # dx = gamma * inv_std / n * (n * dy - sum(dy) - xhat * sum(dy * xhat))
        dx = self._buffer("dx", dy.shape)
        np.multiply(xhat, g_gamma, out=dx)
        dx += g_beta
        np.subtract(dy * n, dx, out=dx)
        dx *= self.params["gamma"] * self._inv_std / n
        return dx

    def get_config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}

    def describe(self) -> str:
        return f"BatchNorm({self.num_features})"

    def flops_per_sample(self) -> int:
        return 4 * (self.num_features or 0)

