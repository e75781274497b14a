"""Saliency (Simonyan et al. 2014): how much each input feature moves a class's logit, d logit[class] / d x,
by one backward pass from that logit. Computed as at prediction: Dropout off, BatchNorm with its running
statistics; the model's weights and parameter gradients are left as they were."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .layers import BatchNorm, Dense
from .validation import check_X


def input_gradients(model: Any, X: Any, class_index: int | Sequence[int] | np.ndarray, rows: int) -> np.ndarray:
    """d logit[class] / d x for each row of X, shaped like X, `rows` rows at a time (model: a Sequential).

    `class_index`: one class for every row, or one per row (n,). The logit is the class's score before
    the softmax or sigmoid the loss applies. Computed as at prediction: dropout off, BatchNorm with its
    running statistics. The model's weights and gradient buffers are left as they were.
    """
    Xa = check_X(X, model.input_shape, model.dtype)
    n = len(Xa)
    c = np.asarray(class_index)
    if c.ndim == 0:
        c = np.full(n, c)
    if c.dtype.kind not in "iu" or c.shape != (n,):
        raise ValueError(f"class_index must be an integer or {n} integers (one per row), got {class_index!r:.80}")
    if n and (c.min() < 0 or c.max() >= model.n_outputs):
        raise ValueError(f"class_index must be in [0, {model.n_outputs}), got values from {c.min()} to {c.max()}")
    out = np.empty(Xa.shape, dtype=model.dtype)
    dense = [ly for ly in model.steps if isinstance(ly, Dense)]
    with model._gradient_lock:  # one at a time: the passes below use the layers' training caches
        saved = model.flat.grads.copy()  # the layers' backward writes parameter gradients: keep the model's own
        needs = [ly.needs_input_grad for ly in dense]
        try:
            for s in range(0, n, rows):
                out[s:s + rows] = _batch(model, Xa[s:s + rows], c[s:s + rows])
        finally:
            np.copyto(model.flat.grads, saved)
            for ly, need in zip(dense, needs, strict=True):  # the first layer skips dL/dx again
                ly.needs_input_grad = need
    return out


def _batch(model: Any, x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """One batch: forward with the caches backward needs, then back from a one-hot of each row's class."""
    layers = [step.layer for step in model.plan.steps]  # what prediction runs: no Dropout
    for layer in layers:  # training=True keeps what backward needs; BatchNorm stays in evaluation mode
        x = layer.forward(x, training=not isinstance(layer, BatchNorm))
    d = np.zeros((len(x), model.n_outputs), dtype=model.dtype)
    d[np.arange(len(x)), c] = 1
    for layer in layers:
        if isinstance(layer, Dense):
            layer.needs_input_grad = True
    for layer in reversed(layers):
        if isinstance(layer, BatchNorm):  # evaluation-mode BatchNorm is x * gamma / sqrt(var + eps) + ...
            d = d * layer.scale()
        else:
            d = layer.backward(d)
    return d
