"""One step of gradient descent on a batch, as fit, lr-find and the estimators' stochastic solvers take it:
forward (with what backward needs), the loss, backward, the optimizer's update.

`Sequential.gradient` and `Sequential.train_step` are these functions (the model is their first argument)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

LossFunction = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], tuple[float, np.ndarray]]


def gradient(model: Any, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, *,
             loss: LossFunction | None = None, penalty: Callable[[], float] | None = None,
             finite_only: bool = False) -> tuple[float, np.ndarray]:
    """The loss of a batch x (batch, ...), targets y, optional per-sample weights, and its gradient, left in
    `model.flat.grads`. The loss is the model's with its weight penalty, or `loss(logits, y, weights) ->
    (value, dlogits)`; `penalty()`, run after the backward pass, adds a penalty's gradient and returns its term.
    With finite_only a non-finite loss stops before the backward pass (the gradients stay as they were, so what
    diverged can be told from them). Returns (loss, logits)."""
    logits = model.forward(x, training=True)
    if loss is None:
        value, dlogits = model.loss(logits, y, weights)
        value += model.penalty()
    else:
        value, dlogits = loss(logits, y, weights)
    if finite_only and not math.isfinite(value):
        return value, logits
    model.backward(dlogits)
    if penalty is not None:
        value += penalty()
    return value, logits


def train_step(model: Any, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, *,
               loss: LossFunction | None = None, penalty: Callable[[], float] | None = None,
               update: Callable[[Any], None] | None = None, skip_non_finite: bool = True
               ) -> tuple[float, np.ndarray]:
    """`gradient`, then the update of every parameter: `model.optimizer.step`, or `update(model.flat)`. With
    skip_non_finite a non-finite loss takes neither the backward pass nor the update (the caller says what
    diverged; scikit-learn's solvers go on all the same). Returns (loss, logits)."""
    value, logits = gradient(model, x, y, weights, loss=loss, penalty=penalty, finite_only=skip_non_finite)
    if math.isfinite(value) or not skip_non_finite:
        (update or model.optimizer.step)(model.flat)
    return value, logits
