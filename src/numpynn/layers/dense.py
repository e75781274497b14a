"""Dense (fully connected) layer: y = act(x @ W + b), W of shape (in, out) so the hot path is one GEMM."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import in_range
from ..errors import ShapeError
from ..initializers import BIAS_INITIALIZERS, auto_initializer, get_initializer
from ..ops import Activation
from .base import Layer, Shape


class Dense(Layer):
    """Affine map with an optional fused activation and optional L1/L2 weight penalties.

    Shapes: x (batch, in_features) -> y (batch, out_features).
    `Dense(64)` or `Dense(64, "relu")` (Keras' way, PyTorch's LazyLinear) gives the output width only: the input
    width is taken from the layer before it, or from the data when the model is built at its first fit/call.
    `activation` fuses an elementwise activation in place (no extra layer, no extra copy);
    `init` is an initializer name ("auto" picks He for ReLU-like activations, Glorot otherwise);
    `l1`/`l2` add l1*sum|W| + l2*sum(W^2) to the loss.
    """

    trainable_params = ("W", "b")

    def __init__(self, in_features: int | None, out_features: int | str | None = None, activation: str | None = None,
                 *, init: str = "auto", bias_init: str = "zeros", l1: float = 0.0, l2: float = 0.0) -> None:
        super().__init__()
        if isinstance(out_features, str) and activation is None:  # Dense(64, "relu")
            out_features, activation = None, out_features
        if out_features is None:  # Dense(64): the one width given is the output's
            in_features, out_features = None, in_features
        self.infers_width = in_features is None
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not in_range(v, 1, integer=True) and not (name == "in_features" and v is None):
                raise ValueError(f"Dense {name} must be a positive integer, got {v!r}")
        if not all(in_range(v, 0) for v in (l1, l2)):
            raise ValueError(f"Dense penalties l1 and l2 must be finite numbers >= 0, got l1={l1!r}, l2={l2!r}")
        if bias_init not in BIAS_INITIALIZERS:
            raise ValueError(f"Dense bias_init must be one of {BIAS_INITIALIZERS}, got {bias_init!r}")
        self.in_features = None if in_features is None else int(in_features)  # known at build when inferred
        self.out_features = int(out_features)
        self.activation = None if activation in (None, "identity", "linear") else activation
        self.init = init if init != "auto" else auto_initializer(self.activation)
        get_initializer(self.init)  # fail now, not at build
        self.bias_init, self.l1, self.l2 = bias_init, float(l1), float(l2)
        self.own_activation = Activation(self.activation) if self.activation else None
        # what forward applies after the bias: the model sets it (a loss may take the output activation in, an
        # activation layer after this one may be fused into it)
        self.applied: Activation | None = self.own_activation
        self.needs_input_grad = True  # the first layer skips the dx GEMM
        self._x = self._z = self._y = self._W = None

    def param_shapes(self) -> dict[str, Shape]:
        return {"W": (self.in_features, self.out_features), "b": (self.out_features,)}

    def build(self, input_shape, *, dtype, rng) -> Shape:
        if self.infers_width:
            if input_shape is None or len(input_shape) != 1:
                raise ShapeError(f"Dense(?\u2192{self.out_features}) takes its input width from the layer before it "
                                 f"or from the data, and got per-sample shape {input_shape}: give it as "
                                 f"Dense(in, {self.out_features}) or the model input_shape=(n,)")
            self.in_features = int(input_shape[0])
        elif input_shape is not None and tuple(input_shape) != (self.in_features,):
            raise ShapeError(f"{self.describe()} cannot follow a layer whose output is {tuple(input_shape)} per sample")
        super().build((self.in_features,), dtype=dtype, rng=rng)
        shapes = self.param_shapes()
        self._add_param("W", get_initializer(self.init)(shapes["W"], rng, self.dtype))
        self._add_param("b", get_initializer(self.bias_init)(shapes["b"], rng, self.dtype))
        self.output_shape = (self.out_features,)
        return self.output_shape

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self._check_input(x)
        if not training:
            return self.infer(x)
        act = self.applied
        sparse = not isinstance(x, np.ndarray)  # a SciPy sparse batch (a first layer only): multiplied as it is
        W = self.params["W"]
        if not sparse:
            x, W = self.ops.operand(x, self, "x"), self.ops.operand(W, self, "W")
        z = self.ops.matmul(x, W, out=self._buffer("z", (x.shape[0], self.out_features)))
        y = self.ops.bias_activation(z, self.params["b"], act,
                                     self._buffer("y", z.shape) if act is not None and act.needs_input else z)
        self._ready_for_backward = True
        self._x, self._z, self._y, self._W = x, z, y, W
        return y

    def infer(self, x: np.ndarray) -> np.ndarray:
        self._check_input(x)
        W = self.params["W"]
        if isinstance(x, np.ndarray):  # a sparse batch multiplies W as it is
            x, W = self.ops.operand(x), self.ops.operand(W)
        z = self.ops.matmul(x, W, out=np.empty((x.shape[0], self.out_features), self.dtype))
        return self.ops.bias_activation(z, self.params["b"], self.applied, z)

    def _check_input(self, x: np.ndarray) -> None:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(f"{self.describe()} expected input (batch, {self.in_features}), got {tuple(x.shape)}")

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        self._check_backward()
        dz = self.ops.bias_activation_backward(dy, self._z, self._y, self.applied, self._buffer("dz", dy.shape),
                                               self.grads["b"])
        if isinstance(self._x, np.ndarray):
            dz = self.ops.operand(dz, self, "dz")
        self.ops.matmul_tn(self._x, dz, out=self.grads["W"])
        if not self.needs_input_grad:
            return None
        return self.ops.matmul_nt(dz, self._W, out=self._buffer("dx", self._x.shape))

    def penalty(self) -> float:
        """The L1/L2 term this layer adds to the loss."""
        W, total = self.params["W"], 0.0
        if self.l1:
            total += self.l1 * float(np.abs(W).sum(dtype=np.float64))
        if self.l2:
            total += self.l2 * float(np.einsum("ij,ij->", W, W, dtype=np.float64))
        return total

    def add_penalty_grad(self) -> None:
        W, gW = self.params["W"], self.grads["W"]
        if self.l1:
            gW += self.l1 * np.sign(W)
        if self.l2:
            gW += (2.0 * self.l2) * W

    def get_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"in_features": self.in_features, "out_features": self.out_features,
                               "activation": self.activation, "init": self.init, "bias_init": self.bias_init}
        if self.l1:
            cfg["l1"] = self.l1
        if self.l2:
            cfg["l2"] = self.l2
        return cfg

    def describe(self) -> str:
        act = f", {self.activation}" if self.activation else ""
        return f"Dense({'?' if self.in_features is None else self.in_features}\u2192{self.out_features}{act})"

    def flops_per_sample(self) -> int:
        return 2 * self.in_features * self.out_features + 2 * self.out_features
