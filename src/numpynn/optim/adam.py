"""Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019): the step itself is `ops.adam`."""

from __future__ import annotations

import math

import numpy as np

from .base import Optimizer, check_range


class Adam(Optimizer):
    """Adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0 (L2, coupled), clip_norm=None).

    State per parameter: the moving averages m (of the gradient) and v (of its square)."""

    name, hyper, state_names = "adam", ("beta1", "beta2", "eps"), ("m", "v")
    nonnegative_state = ("v",)
    decoupled = False

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **kw) -> None:
        super().__init__(lr, **kw)
        self.beta1 = check_range("beta1", beta1, 0.0, 1.0)
        self.beta2 = check_range("beta2", beta2, 0.0, 1.0)
        if not (isinstance(eps, (int, float)) and 0 < eps < math.inf):
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps = float(eps)

    def _update(self, p, g, state, lr, t):
        self.ops.adam(p, g, state["m"], state["v"], lr=lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps, t=t,
                      weight_decay=self.weight_decay, decoupled=self.decoupled)

    def _upgrade_state(self, state_name, a):
        # numpynn 0.1 kept the moving sums m_sum = b1*m_sum + g and v_sum = b2*v_sum + g^2: m = (1-b1) * m_sum
        if state_name == "m_sum":
            return "m", np.asarray(a * (1.0 - self.beta1), dtype=a.dtype)
        if state_name == "v_sum":
            return "v", np.asarray(a * (1.0 - self.beta2), dtype=a.dtype)
        return state_name, a


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01)."""

    name = "adamw"
    decoupled = True

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.01, **kw) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay=weight_decay, **kw)
