"""Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay: the step is `ops.sgd`."""

from __future__ import annotations

from .base import Optimizer, check_range


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

    def _update(self, p, g, state, lr, t):
        self.ops.sgd(p, g, state.get("velocity"), lr=lr, momentum=self.momentum, nesterov=self.nesterov,
                     weight_decay=self.weight_decay)
