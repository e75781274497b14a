"""RMSprop and Adagrad: per-coordinate rates from a running (RMSprop) or total (Adagrad) sum of squared gradients.
The steps themselves are `ops.rmsprop` and `ops.adagrad`."""

from __future__ import annotations

import math

from .base import Optimizer, check_range


class RMSprop(Optimizer):
    """RMSprop(lr=1e-3, rho=0.9, eps=1e-8, weight_decay=0.0, clip_norm=None)."""

    name, hyper, state_names = "rmsprop", ("rho", "eps"), ("sq",)
    nonnegative_state = ("sq",)

    def __init__(self, lr=1e-3, rho: float = 0.9, eps: float = 1e-8, **kw) -> None:
        super().__init__(lr, **kw)
        self.rho = check_range("rho", rho, 0.0, 1.0)
        if not (isinstance(eps, (int, float)) and 0 < eps < math.inf):
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps = float(eps)

    def _update(self, p, g, state, lr, t):
        self.ops.rmsprop(p, g, state["sq"], lr=lr, rho=self.rho, eps=self.eps, weight_decay=self.weight_decay)


class Adagrad(Optimizer):
    """Adagrad(lr=1e-2, eps=1e-10, weight_decay=0.0, clip_norm=None)."""

    name, hyper, state_names = "adagrad", ("eps",), ("total",)
    nonnegative_state = ("total",)

    def __init__(self, lr=1e-2, eps: float = 1e-10, **kw) -> None:
        super().__init__(lr, **kw)
        if not (isinstance(eps, (int, float)) and 0 < eps < math.inf):
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps = float(eps)

    def _update(self, p, g, state, lr, t):
        self.ops.adagrad(p, g, state["total"], lr=lr, eps=self.eps, weight_decay=self.weight_decay)
