"""RMSprop and Adagrad: per-coordinate rates from a running (RMSprop) or total (Adagrad) sum of squared gradients."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, add_l2, check_range


def _scaled_step(p, g, squares, tmp, lr, eps):
    """p -= lr * g / (sqrt(squares) + eps), in place."""
    np.sqrt(squares, out=tmp)
    tmp += eps
    np.divide(g, tmp, out=tmp)
    tmp *= lr
    p -= tmp


def rmsprop_update(p, g, sq, tmp, *, lr, rho, eps, weight_decay):
    """In place. sq = rho*sq + (1-rho)*g^2;  p -= lr * g / (sqrt(sq) + eps)."""
    add_l2(p, g, tmp, weight_decay)
    sq *= rho
    np.multiply(g, g, out=tmp)
    tmp *= 1.0 - rho
    sq += tmp
    _scaled_step(p, g, sq, tmp, lr, eps)


def adagrad_update(p, g, total, tmp, *, lr, eps, weight_decay):
    """In place. total += g^2;  p -= lr * g / (sqrt(total) + eps)."""
    add_l2(p, g, tmp, weight_decay)
    np.multiply(g, g, out=tmp)
    total += tmp
    _scaled_step(p, g, total, tmp, lr, eps)


class RMSprop(Optimizer):
    """RMSprop(lr=1e-3, rho=0.9, eps=1e-8, weight_decay=0.0, clip_norm=None)."""

    name, hyper, state_names = "rmsprop", ("rho", "eps"), ("sq",)

    def __init__(self, lr=1e-3, rho: float = 0.9, eps: float = 1e-8, **kw) -> None:
        super().__init__(lr, **kw)
        self.rho = check_range("rho", rho, 0.0, 1.0)
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps = float(eps)

    def _update(self, p, g, state, lr, t, tmp):
        rmsprop_update(p, g, state["sq"], tmp, lr=lr, rho=self.rho, eps=self.eps, weight_decay=self.weight_decay)


class Adagrad(Optimizer):
    """Adagrad(lr=1e-2, eps=1e-10, weight_decay=0.0, clip_norm=None)."""

    name, hyper, state_names = "adagrad", ("eps",), ("total",)

    def __init__(self, lr=1e-2, eps: float = 1e-10, **kw) -> None:
        super().__init__(lr, **kw)
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps = float(eps)

    def _update(self, p, g, state, lr, t, tmp):
        adagrad_update(p, g, state["total"], tmp, lr=lr, eps=self.eps, weight_decay=self.weight_decay)
