"""Elementwise activation functions and their derivatives as small pure functions, and `Activation`, the
name (and shape parameter) by which layers and engines refer to one.

Each `f(x, out)` writes into `out` (which may be `x` itself); each `df(x, y, dy, out)` returns dL/dx given the
forward input x, output y and upstream gradient dy. They never overflow or warn: sigmoid is computed as
0.5 * (1 + tanh(x / 2)), ELU clips before expm1, and exp underflow to zero is intended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import lookup

_SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))


def relu(x, out):
    return np.maximum(x, 0, out=out)


def relu_grad(x, y, dy, out):
    return np.multiply(dy, y > 0, out=out)


def leaky_relu(x, out, alpha=0.01):
    # max(x, alpha*x) is leaky ReLU for 0 <= alpha < 1
    if out is x:
        tmp = x * alpha
        return np.maximum(x, tmp, out=out)
    np.multiply(x, alpha, out=out)
    return np.maximum(x, out, out=out)


def leaky_relu_grad(x, y, dy, out, alpha=0.01):
    return np.multiply(dy, np.where(y > 0, 1.0, alpha).astype(dy.dtype, copy=False), out=out)


def elu(x, out, alpha=1.0):
    negative = x <= 0
    neg = np.expm1(np.minimum(x, 0))  # clipped first: expm1 of a large positive x would overflow
    neg *= alpha
    if out is not x:
        np.copyto(out, x)
    np.copyto(out, neg, where=negative)
    return out


def elu_grad(x, y, dy, out, alpha=1.0):
    # d/dx = 1 for x > 0, alpha*exp(x) = y + alpha otherwise
    return np.multiply(dy, np.where(x > 0, 1.0, y + alpha).astype(dy.dtype, copy=False), out=out)


def gelu(x, out):
    """GELU, tanh approximation (Hendrycks & Gimpel): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    with np.errstate(over="ignore", under="ignore"):
        inner = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
    inner += 1.0
    inner *= 0.5
    return np.multiply(x, inner, out=out)


def gelu_grad(x, y, dy, out):
    with np.errstate(over="ignore", under="ignore"):
        x2 = x * x
        t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x2 * x))
    d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x2)
    return np.multiply(dy, d, out=out)


def sigmoid(x, out):
    with np.errstate(under="ignore"):
        np.multiply(x, 0.5, out=out)
        np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def sigmoid_grad(x, y, dy, out):
    np.subtract(1.0, y, out=out)
    out *= y
    out *= dy
    return out


def tanh(x, out):
    with np.errstate(under="ignore"):
        return np.tanh(x, out=out)


def tanh_grad(x, y, dy, out):
    np.multiply(y, y, out=out)
    np.subtract(1.0, out, out=out)
    out *= dy
    return out


def softmax(x, out):
    """Row-wise softmax of a (batch, k) array, shifted by the row max so exp never overflows."""
    np.subtract(x, x.max(axis=1, keepdims=True), out=out)
    with np.errstate(under="ignore"):
        np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


def softmax_grad(x, y, dy, out):
    # dx = y * (dy - sum(dy * y))
    s = np.einsum("ij,ij->i", dy, y)[:, None]
    np.subtract(dy, s, out=out)
    out *= y
    return out


def identity(x, out):
    if out is not x:
        np.copyto(out, x)
    return out


def identity_grad(x, y, dy, out):
    np.copyto(out, dy)
    return out


# name -> (forward, backward, needs the forward input in backward)
ACTIVATIONS = {
    "relu": (relu, relu_grad, False),
    "leaky_relu": (leaky_relu, leaky_relu_grad, False),
    "elu": (elu, elu_grad, True),
    "gelu": (gelu, gelu_grad, True),
    "sigmoid": (sigmoid, sigmoid_grad, False),
    "tanh": (tanh, tanh_grad, False),
    "softmax": (softmax, softmax_grad, False),
    "identity": (identity, identity_grad, False),
    "linear": (identity, identity_grad, False),
}


@dataclass(frozen=True)
class Activation:
    """An activation by name, with its shape parameter `alpha` where it has one (leaky_relu, elu)."""

    name: str
    alpha: float | None = None

    def __post_init__(self) -> None:
        lookup(ACTIVATIONS, self.name, "activation")

    @property
    def needs_input(self) -> bool:
        """Whether the backward pass reads the forward input x (then x must not be overwritten by y)."""
        return ACTIVATIONS[self.name][2]

    def forward(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        f = ACTIVATIONS[self.name][0]
        return f(x, out) if self.alpha is None else f(x, out, alpha=self.alpha)

    def backward(self, x: np.ndarray | None, y: np.ndarray, dy: np.ndarray, out: np.ndarray) -> np.ndarray:
        df = ACTIVATIONS[self.name][1]
        return df(x, y, dy, out) if self.alpha is None else df(x, y, dy, out, alpha=self.alpha)
