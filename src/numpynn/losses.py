"""Losses computed from logits, each returning (mean loss, dL/dlogits) in one stable step.

- cross_entropy: softmax fused in; targets are integer labels (batch,) or one-hot/probabilities (batch, k);
  optional label smoothing. Gradient: (softmax(z) - t) / batch.
- binary_cross_entropy: sigmoid fused in; for a one-output network targets are 0/1 of shape (batch,) or
  (batch, 1); with k outputs each is an independent yes/no (one-vs-rest, or multi-label) and targets are
  (batch, k) of 0/1 (class labels are turned into one-hot rows by the model's target check).
  Loss: max(z, 0) - z*t + log(1 + exp(-|z|)) summed over outputs, never overflowing.
  Gradient: (sigmoid(z) - t) / batch.
- mse: mean squared error for regression, averaged over samples and outputs.
Optional per-sample weights scale each sample's term; the mean divides by their sum.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .checks import lookup
from .errors import DataError
from .ops import EngineSlot


class Loss:
    """Base: `__call__(logits, targets, weights=None) -> (loss, dlogits)`, computed by the engine `ops`
    (the model binds the loss it is given to its own)."""

    ops = EngineSlot()

    name: ClassVar[str] = ""
    is_classification: ClassVar[bool] = False
    fused_activation: ClassVar[str | None] = None  # the output activation this loss absorbs

    def __call__(self, logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None):
        raise NotImplementedError

    def output(self, logits: np.ndarray) -> np.ndarray:
        """What the network's output means to a user: probabilities for classifiers, values for regression."""
        return logits

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


def _checked_weights(weights, dtype) -> np.ndarray | None:
    if weights is None:
        return None
    w = np.asarray(weights, dtype=dtype)
    total = float(w.sum())
    if total <= 0:
        raise DataError(f"sample weights of a batch must sum to > 0, got {total}")
    return w


class CrossEntropy(Loss):
    """Softmax cross-entropy from logits (batch, k) with integer or one-hot targets."""

    name = "cross_entropy"
    is_classification = True
    fused_activation = "softmax"

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0 <= label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def __call__(self, logits, targets, weights=None):
        return self.ops.softmax_cross_entropy(logits, targets, self.label_smoothing,
                                              _checked_weights(weights, logits.dtype))

    def output(self, logits):
        return self.ops.softmax(logits, np.empty_like(logits))

    def get_config(self):
        return {"label_smoothing": self.label_smoothing} if self.label_smoothing else {}


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy from one logit per sample, targets in {0, 1}."""

    name = "binary_cross_entropy"
    is_classification = True
    fused_activation = "sigmoid"

    def __call__(self, logits, targets, weights=None):
        return self.ops.sigmoid_binary_cross_entropy(logits, targets, _checked_weights(weights, logits.dtype))

    def output(self, logits):
        return self.ops.sigmoid(logits, np.empty_like(logits))


class MeanSquaredError(Loss):
    """mean((y - t)^2) over samples and outputs; targets (batch,) or (batch, k)."""

    name = "mse"

    def __call__(self, logits, targets, weights=None):
        n = logits.shape[0]
        w = _checked_weights(weights, logits.dtype)
        norm = 1.0 / n if w is None else 1.0 / float(w.sum())
        diff = logits - targets.reshape(logits.shape).astype(logits.dtype, copy=False)
        k = diff.size // n
        per_sample = np.einsum("ij,ij->i", diff.reshape(n, k), diff.reshape(n, k))
        if w is not None:
            per_sample = per_sample * w
            diff *= w.reshape((n,) + (1,) * (diff.ndim - 1))
        diff *= 2.0 * norm / k
        return float(per_sample.sum(dtype=np.float64) * norm / k), diff


LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": CrossEntropy, "categorical_cross_entropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy, "bce": BinaryCrossEntropy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
}


def get_loss(loss: str | Loss | None, n_outputs: int) -> Loss:
    """Resolve a loss: an instance, a name, or None for the default from the output size
    (1 output -> binary cross-entropy, more -> cross-entropy)."""
    if isinstance(loss, Loss):
        return loss
    if loss is None or loss == "auto":
        return BinaryCrossEntropy() if n_outputs == 1 else CrossEntropy()
    if isinstance(loss, dict):
        return loss_from_config(loss)
    return lookup(LOSSES, loss, "loss", also="or a Loss instance")()


def loss_from_config(spec: dict) -> Loss:
    return lookup(LOSSES, spec.get("name"), "loss")(**spec.get("config", {}))


def loss_to_config(loss: Loss) -> dict:
    return {"name": loss.name, "config": loss.get_config()}
