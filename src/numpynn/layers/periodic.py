"""PeriodicEmbedding: each numeric column as learned periodic features, then a small Linear + ReLU (PLR).

Gorishniy, Rubachev and Babenko 2022, "On Embeddings for Numerical Features in Tabular Deep Learning": for a
feature x_j, v_j = concat(cos(2 pi c_j x_j), sin(2 pi c_j x_j)) with k trainable frequencies c_j, then
relu(v_j @ W_j + b_j) of width d; the output concatenates the features' vectors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import in_range
from ..errors import ShapeError
from .base import Layer, Shape

MAX_VALUES = 2**31  # elements of one parameter tensor or one sample's output, as Embedding bounds its tables
TWO_PI = 2.0 * math.pi


class PeriodicEmbedding(Layer):
    """Every input column as d learned features: the PLR embedding of Gorishniy et al. 2022.

    Shapes: x (batch, n_features) -> y (batch, n_features * d); feature j's vector is y[:, j*d:(j+1)*d] =
    relu(concat(cos(2 pi c_j x_j), sin(2 pi c_j x_j)) @ W_j + b_j), with c_j its k frequencies.

    Parameters: "c" (n_features, k), frequencies drawn N(0, sigma^2) (the paper's initialisation; sigma is
    its most important hyper-parameter); "W" (n_features, 2k, d) and "b" (n_features, d), one Linear per
    feature, or with `lite` one Linear shared by all features, "W" (2k, d) and "b" (d,) (the paper's
    "PLR(lite)"). W and b start uniform in [-1/sqrt(2k), 1/sqrt(2k)], a Linear layer's usual default.
    """

    trainable_params = ("c", "W", "b")

    def __init__(self, n_features: int, k: int = 16, d: int = 16, sigma: float = 0.1, lite: bool = False) -> None:
        super().__init__()
        for name, v in (("n_features", n_features), ("k", k), ("d", d)):
            if not in_range(v, 1, MAX_VALUES, integer=True):
                raise ValueError(f"PeriodicEmbedding {name} must be a positive integer, got {v!r:.40}")
        if not in_range(sigma, 0, open_lo=True):
            raise ValueError(f"PeriodicEmbedding sigma must be a finite number > 0, got {sigma!r:.40}")
        if not isinstance(lite, (bool, np.bool_)):
            raise ValueError(f"PeriodicEmbedding lite must be True or False, got {lite!r:.40}")
        self.n_features, self.k, self.d = int(n_features), int(k), int(d)
        self.sigma, self.lite = float(sigma), bool(lite)
        for name, shape in {**self.param_shapes(), "output": (self.n_features * self.d,)}.items():
            if math.prod(shape) > MAX_VALUES:
                raise ValueError(f"PeriodicEmbedding {name} would hold {' x '.join(map(str, shape))} = "
                                 f"{math.prod(shape):,} values; at most {MAX_VALUES:,} are allowed")
        self._x = self._v = self._y = None

    def param_shapes(self) -> dict[str, Shape]:
        n, k2, d = self.n_features, 2 * self.k, self.d
        if self.lite:
            return {"c": (n, self.k), "W": (k2, d), "b": (d,)}
        return {"c": (n, self.k), "W": (n, k2, d), "b": (n, d)}

    def out_features(self, n_in: int | None = None) -> int:
        """The output width (as Embedding.out_features): d values for each of the n_features columns."""
        return self.n_features * self.d

    def build(self, input_shape, *, dtype, rng) -> Shape:
        if input_shape is not None and tuple(input_shape) != (self.n_features,):
            raise ShapeError(f"{self.describe()} embeds {self.n_features} input columns, got per-sample shape "
                             f"{tuple(input_shape)}")
        super().build((self.n_features,), dtype=dtype, rng=rng)
        shapes = self.param_shapes()
        limit = 1.0 / math.sqrt(2 * self.k)
        self._add_param("c", rng.normal(0.0, self.sigma, size=shapes["c"]))
        self._add_param("W", rng.uniform(-limit, limit, size=shapes["W"]))
        self._add_param("b", rng.uniform(-limit, limit, size=shapes["b"]))
        self.output_shape = (self.out_features(),)
        return self.output_shape

    # --- computing ------------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if not training:
            return self.infer(x)
        self._check_input(x)
        n, f, k = x.shape[0], self.n_features, self.k
        v = self._periodic(x, self._buffer("z", (n, f, k)), self._buffer("v", (n, f, 2 * k)))
        y = self._linear_relu(v, self._buffer("y", (n, f * self.d)))
        self._x, self._v, self._y, self._ready_for_backward = x, v, y, True
        return y

    def infer(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x)
        n, f, k = x.shape[0], self.n_features, self.k
        v = self._periodic(x, np.empty((n, f, k), self.dtype), np.empty((n, f, 2 * k), self.dtype))
        return self._linear_relu(v, np.empty((n, f * self.d), self.dtype))

    def _periodic(self, x: np.ndarray, z: np.ndarray, v: np.ndarray) -> np.ndarray:
        """v (batch, n_features, 2k) = [cos(z), sin(z)] with z = x_j * (2 pi c_j), written through scratch z."""
        k = self.k
        np.multiply(x[:, :, None], self.frequencies(), out=z)
        np.cos(z, out=v[..., :k])
        np.sin(z, out=v[..., k:])
        return v

    def frequencies(self) -> np.ndarray:
        """2 pi c (n_features, k) in the layer's dtype: what x_j is multiplied by (the exporters write it)."""
        return self.params["c"] * self.dtype.type(TWO_PI)

    def _linear_relu(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out (batch, n_features * d) = relu(v_j @ W_j + b_j) per feature j (one W for all when lite)."""
        h = out.reshape(v.shape[0], self.n_features, self.d)
        W, b = self.params["W"], self.params["b"]
        if self.lite:
            np.matmul(v, W, out=h)
        else:  # feature-major views: one GEMM per feature, no copies (the strided matrices are BLAS operands)
            np.matmul(v.transpose(1, 0, 2), W, out=h.transpose(1, 0, 2))
        h += b
        np.maximum(h, 0, out=h)
        return out

    def _check_input(self, x: np.ndarray) -> None:
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != self.n_features:
            shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
            raise ShapeError(f"{self.describe()} expected a dense input array (batch, {self.n_features}), got {shape}")

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._check_backward()
        x, v, y = self._x, self._v, self._y
        n, f, k, d = x.shape[0], self.n_features, self.k, self.d
        if dy.shape != y.shape:
            raise ShapeError(f"{self.describe()} backward expected dy {tuple(y.shape)}, got {tuple(dy.shape)}")
        dh = self._buffer("dh", (n, f * d)).reshape(n, f, d)
        np.multiply(dy.reshape(n, f, d), y.reshape(n, f, d) > 0, out=dh)  # relu': y > 0 exactly where h > 0
        W, gW, gb = self.params["W"], self.grads["W"], self.grads["b"]
        dv = self._buffer("dv", (n, f, 2 * k))
        if self.lite:
            dh.sum(axis=(0, 1), out=gb)
            np.matmul(v.reshape(n * f, 2 * k).T, dh.reshape(n * f, d), out=gW)
            np.matmul(dh, W.T, out=dv)
        else:
            dh.sum(axis=0, out=gb)
            np.matmul(v.transpose(1, 2, 0), dh.transpose(1, 0, 2), out=gW)
            np.matmul(dh.transpose(1, 0, 2), W.transpose(0, 2, 1), out=dv.transpose(1, 0, 2))
        # dz = d/dz [cos z, sin z] . dv = -sin(z) dv_cos + cos(z) dv_sin
        dz = self._buffer("dz", (n, f, k))
        np.multiply(dv[..., k:], v[..., :k], out=dz)
        np.multiply(dv[..., :k], v[..., k:], out=dv[..., :k])
        dz -= dv[..., :k]
        two_pi = self.dtype.type(TWO_PI)
        np.einsum("bfj,bf->fj", dz, x, out=self.grads["c"])  # z = 2 pi c_j x_j
        self.grads["c"] *= two_pi
        dx = self._buffer("dx", (n, f))
        np.einsum("bfj,fj->bf", dz, self.params["c"], out=dx)
        dx *= two_pi
        return dx

    # --- describing -----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "k": self.k, "d": self.d, "sigma": self.sigma, "lite": self.lite}

    def describe(self) -> str:
        lite = ", lite" if self.lite else ""
        return f"PeriodicEmbedding({self.n_features}\u2192{self.n_features * self.d}, k={self.k}{lite})"

    def flops_per_sample(self) -> int:
        f, k, d = self.n_features, self.k, self.d
        return f * (3 * k + 2 * 2 * k * d + 2 * d)
