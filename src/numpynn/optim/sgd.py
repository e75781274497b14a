"""Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, add_l2, check_range


def sgd_update(p, g, velocity, tmp, *, lr, momentum, nesterov, weight_decay):
    """In place, no allocation. g = g + wd*p; v = mu*v + g; p -= lr*v, or lr*(g + mu*v) with Nesterov."""
    add_l2(p, g, tmp, weight_decay)
    if not momentum:
        np.multiply(g, lr, out=tmp)
        p -= tmp
        return
    velocity *= momentum
    velocity += g
    if nesterov:
        np.multiply(g, lr, out=tmp)
        p -= tmp
        np.multiply(velocity, lr * momentum, out=tmp)
    else:
        np.multiply(velocity, lr, out=tmp)
    p -= tmp


class SGD(Optimizer):
    """SGD(lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, clip_norm=None)."""

    name, hyper = "sgd", ("momentum", "nesterov")

    def __init__(self, lr=0.01, momentum: float = 0.0, nesterov: bool = False, **kw) -> None:
        super().__init__(lr, **kw)
        self.momentum = check_range("momentum", momentum, 0.0, 1.0)
        if nesterov and not self.momentum:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.state_names = ("velocity",) if self.momentum else ()

    def _update(self, p, g, state, lr, t, tmp):
        sgd_update(p, g, state.get("velocity"), tmp, lr=lr, momentum=self.momentum,
                   nesterov=self.nesterov, weight_decay=self.weight_decay)
