"""Adam and AdamW (Kingma & Ba; Loshchilov & Hutter)."""

from __future__ import annotations

import math

import numpy as np

from .base import Optimizer, add_l2, check_range


def adam_update(p, g, m, v, tmp, *, lr, beta1, beta2, eps, t, weight_decay, decoupled):
    """In place, no allocation (`g` is the model's gradient buffer and may be changed).

    m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
    p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
    Weight decay is added to g (Adam: L2) or applied as p *= 1 - lr*wd before the step (AdamW: decoupled).
    """
    if weight_decay and decoupled:
        p *= 1.0 - lr * weight_decay
    else:
        add_l2(p, g, tmp, weight_decay)
    m *= beta1
    np.multiply(g, 1.0 - beta1, out=tmp)
    m += tmp
    v *= beta2
    np.multiply(g, g, out=tmp)
    tmp *= 1.0 - beta2
    v += tmp
    bc1 = 1.0 - beta1**t
    bc2 = 1.0 - beta2**t
    np.sqrt(v, out=tmp)
    tmp *= 1.0 / math.sqrt(bc2)
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= lr / bc1
    p -= tmp


class Adam(Optimizer):
    """Adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0 (L2, coupled), clip_norm=None)."""

    name, hyper, state_names = "adam", ("beta1", "beta2", "eps"), ("m", "v")
    decoupled = False

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **kw) -> None:
        super().__init__(lr, **kw)
        self.beta1 = check_range("beta1", beta1, 0.0, 1.0)
        self.beta2 = check_range("beta2", beta2, 0.0, 1.0)
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps = float(eps)

    def _update(self, p, g, state, lr, t, tmp):
        adam_update(p, g, state["m"], state["v"], tmp, lr=lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                    t=t, weight_decay=self.weight_decay, decoupled=self.decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01)."""

    name = "adamw"
    decoupled = True

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.01, **kw) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay=weight_decay, **kw)
