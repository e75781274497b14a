"""Adam and AdamW (Kingma & Ba; Loshchilov & Hutter)."""

from __future__ import annotations

import math

import numpy as np

from .. import kernels
from .base import Optimizer, add_l2, check_range


def adam_coefficients(lr, beta1, beta2, eps, t):
    """(a, eps') of the step p -= a * m_sum / (sqrt(v_sum) + eps'), from Adam's lr, betas, eps and step t."""
    c = math.sqrt((1.0 - beta2) / (1.0 - beta2**t))
    return lr * (1.0 - beta1) / ((1.0 - beta1**t) * c), eps / c


def adam_update(p, g, m_sum, v_sum, tmp, *, lr, beta1, beta2, eps, t, weight_decay, decoupled):
    """In place, no allocation (`g` is the model's gradient buffer and may be changed).

    Adam's moments are m = (1-b1) * m_sum and v = (1-b2) * v_sum, where the state keeps the moving sums
    m_sum = b1*m_sum + g and v_sum = b2*v_sum + g^2. The step
        p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
    is then  p -= a * m_sum / (sqrt(v_sum) + eps / c)  with c = sqrt((1-b2) / (1-b2^t)) and
    a = lr * (1-b1) / ((1-b1^t) * c): the same numbers with 10 passes over memory instead of 13.
    Weight decay is added to g (Adam: L2) or applied as p *= 1 - lr*wd before the step (AdamW: decoupled).
    """
    a, eps_c = adam_coefficients(lr, beta1, beta2, eps, t)
    fast = kernels.for_arrays(p, g, m_sum, v_sum)
    if fast is not None:  # the same arithmetic in one pass
        decay, l2 = (1.0 - lr * weight_decay, 0.0) if decoupled else (1.0, weight_decay)
        fast.adam(p, g, m_sum, v_sum, a, beta1, beta2, eps_c, decay, l2)
        return
    if weight_decay and decoupled:
        p *= 1.0 - lr * weight_decay
    else:
        add_l2(p, g, tmp, weight_decay)
    m_sum *= beta1
    m_sum += g
    np.multiply(g, g, out=tmp)
    v_sum *= beta2
    v_sum += tmp
    np.sqrt(v_sum, out=tmp)
    tmp += eps_c
    np.divide(m_sum, tmp, out=tmp)
    tmp *= a
    p -= tmp


class Adam(Optimizer):
    """Adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0 (L2, coupled), clip_norm=None)."""

    name, hyper, state_names = "adam", ("beta1", "beta2", "eps"), ("m_sum", "v_sum")
    decoupled = False

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **kw) -> None:
        super().__init__(lr, **kw)
        self.beta1 = check_range("beta1", beta1, 0.0, 1.0)
        self.beta2 = check_range("beta2", beta2, 0.0, 1.0)
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps = float(eps)

    def _update(self, p, g, state, lr, t, tmp):
        adam_update(p, g, state["m_sum"], state["v_sum"], tmp, lr=lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                    t=t, weight_decay=self.weight_decay, decoupled=self.decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01)."""

    name = "adamw"
    decoupled = True

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.01, **kw) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay=weight_decay, **kw)
