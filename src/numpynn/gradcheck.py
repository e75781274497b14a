"""Finite-difference gradient checking: does backprop compute the true derivative of the loss?

For each parameter element p, the central difference (L(p + h) - L(p - h)) / 2h is compared with the
analytic gradient; the relative error per tensor is max|num - ana| / max(max|num| + max|ana|, tiny).
Everything runs in float64 on a copy of the model, so the caller's model is untouched. Random layers
(dropout) reuse the same draws for every evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import in_range
from .layers import Embedding
from .validation import check_X


@dataclass
class GradcheckResult:
    """Relative error per tensor ('input' for dL/dX when checked) and whether all are under `tolerance`."""

    errors: dict[str, float]
    tolerance: float

    @property
    def ok(self) -> bool:
        return all(e <= self.tolerance for e in self.errors.values())

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def __str__(self) -> str:
        lines = [f"{k:<14} {v:.3e}  {'ok' if v <= self.tolerance else 'FAIL'}" for k, v in self.errors.items()]
        lines.append(f"{'max':<14} {self.max_error:.3e}  (tolerance {self.tolerance:.0e})")
        return "\n".join(lines)


def relative_error(numeric: np.ndarray, analytic: np.ndarray) -> float:
    scale = max(float(np.abs(numeric).max(initial=0)) + float(np.abs(analytic).max(initial=0)), 1e-12)
    return float(np.abs(numeric - analytic).max(initial=0)) / scale


def gradcheck(model: Any, X: Any, y: Any, *, loss: Any = None, eps: float = 1e-6, tolerance: float = 1e-6,
              max_per_tensor: int | None = 200, check_input: bool = True, training: bool = True,
              seed: int = 0) -> GradcheckResult:
    """Check every parameter's gradient (and dL/dX) of `model` on (X, y) against central differences; dL/dX
    of a first Embedding's code columns is not checked (a code moved by eps is no code).

    `max_per_tensor` samples that many elements per tensor (None checks all). Returns a GradcheckResult.
    """
    for name, value in (("eps", eps), ("tolerance", tolerance)):
        if not in_range(value, 0, open_lo=True):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    m = model.astype("float64")
    if loss is not None:
        m.set_loss(loss)
    Xa = check_X(X, m.input_shape, m.dtype).copy()
    ya = m.loss.check_targets(y, m.n_outputs, m.dtype)
    rng_state = m.rng.bit_generator.state
    pick = np.random.default_rng(seed)

    def loss_at() -> float:
        m.rng.bit_generator.state = rng_state  # same dropout masks every time
        return m.loss(m.forward(Xa, training=training), ya)[0] + m.penalty()

    m.rng.bit_generator.state = rng_state
    _, dlogits = m.loss(m.forward(Xa, training=training), ya)
    dx = m.backward(dlogits, input_grad=check_input)
    analytic = {key: g.copy() for key, _, g in m.parameters()}
    tensors = {key: p for key, p, _ in m.parameters()}
    inputs = None  # every input element, or (a first Embedding) those of its ordinary columns: codes are discrete
    if check_input and dx is not None:
        analytic["input"], tensors["input"] = dx.copy(), Xa
        if isinstance(m.layers[0], Embedding):
            inputs = np.arange(Xa.size).reshape(Xa.shape)[:, m.layers[0].plain].reshape(-1)
    # BatchNorm running statistics move on every training forward; restore them so only parameters change
    buffers = {f"{i}.{n}": b for i, ly in enumerate(m.layers) for n, b in ly.buffers.items()}
    saved = {k: b.copy() for k, b in buffers.items()}

    errors = {}
    for key, t in tensors.items():
        flat = t.reshape(-1)
        idx = inputs if key == "input" and inputs is not None else np.arange(flat.size)
        if max_per_tensor is not None and idx.size > max_per_tensor:
            idx = idx[pick.choice(idx.size, max_per_tensor, replace=False)]
        numeric = np.empty(len(idx))
        for j, i in enumerate(idx):
            orig = flat[i]
            flat[i] = orig + eps
            plus = loss_at()
            flat[i] = orig - eps
            minus = loss_at()
            flat[i] = orig
            numeric[j] = (plus - minus) / (2 * eps)
        for k, b in buffers.items():
            b[...] = saved[k]
        errors[key] = relative_error(numeric, analytic[key].reshape(-1)[idx])
    return GradcheckResult(errors, tolerance)
