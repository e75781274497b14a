"""Losses computed from logits, each returning (mean loss, dL/dlogits) in one stable step.

- cross_entropy: softmax fused in; targets are integer labels (batch,) or one-hot/probabilities (batch, k);
  optional label smoothing. Gradient: (softmax(z) - t) / batch.
- binary_cross_entropy: sigmoid fused in; for a one-output network targets are 0/1 of shape (batch,) or
  (batch, 1); with k outputs each is an independent yes/no (one-vs-rest, or multi-label) and targets are
  (batch, k) of 0/1 (class labels are turned into one-hot rows by the model's target check).
  Loss: max(z, 0) - z*t + log(1 + exp(-|z|)) summed over outputs, never overflowing.
  Gradient: (sigmoid(z) - t) / batch.
- regression, averaged over samples and outputs (the maths in numpynn.regression_losses): mse (squared error),
  mae (absolute error: the median), huber (squared near 0, absolute beyond `delta`) and quantile (pinball: one
  output per quantile and target). Each takes `log_target`: it trains on log1p(y) of targets y >= 0 and
  predicts expm1 of the output.
Optional per-sample weights scale each sample's term; the mean divides by their sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from . import regression_losses as R
from .aliases import loss_name
from .checks import in_range, lookup
from .errors import ArgumentError, DataError, ShapeError
from .ops import EngineSlot
from .validation import check_targets


class Loss:
    """Base: `__call__(logits, targets, weights=None) -> (loss, dlogits)`, computed by the engine `ops`
    (the model binds the loss it is given to its own)."""

    ops = EngineSlot()

    name: ClassVar[str] = ""
    is_classification: ClassVar[bool] = False
    fused_activation: ClassVar[str | None] = None  # the output activation this loss absorbs
    target_transform: str | None = None  # what prediction applies to a regression's outputs ("expm1"), if anything

    def __call__(self, logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None):
        raise NotImplementedError

    def output(self, logits: np.ndarray) -> np.ndarray:
        """What the network's output means to a user: probabilities for classifiers, values for regression."""
        return logits

    def point(self, values: np.ndarray) -> np.ndarray:
        """The one prediction per target (n, targets) that regression metrics score, from `output`'s values."""
        return values

    def n_targets(self, n_outputs: int) -> int:
        """Target columns a network of `n_outputs` outputs is trained on."""
        return n_outputs

    def check_outputs(self, n_outputs: int) -> None:
        """Refuse a network whose output size this loss cannot use."""

    def check_targets(self, y, n_outputs: int, dtype: np.dtype, name: str = "y") -> np.ndarray:
        """y in the form this loss takes for a network of `n_outputs` outputs (numpynn.validation.check_targets)."""
        return check_targets(y, self.n_targets(n_outputs), self.name, dtype, name)

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


class RegressionLoss(Loss):
    """Base of the regression losses: the (weighted) mean over samples and outputs of `_terms`, a function of
    numpynn.regression_losses. With log_target the targets y (>= 0) are taken as log1p(y), and `output` (what
    predict returns) is expm1 of the network's output."""

    def __init__(self, log_target: bool = False) -> None:
        super().__init__()
        if not isinstance(log_target, (bool, np.bool_)):
            raise ArgumentError(f"log_target must be True or False, got {log_target!r:.40} "
                                f"({type(log_target).__name__})")
        self.log_target = bool(log_target)

    @property
    def target_transform(self) -> str | None:
        return "expm1" if self.log_target else None

    def _terms(self, z: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _constant(self, t: np.ndarray) -> np.ndarray:
        """The best constant output for (transformed) targets t (n, targets): one value per output."""
        return t.mean(axis=0)

    def __call__(self, logits, targets, weights=None):
        n = logits.shape[0]
        z = logits.reshape(n, -1)
        t = targets.reshape(n, self.n_targets(z.shape[1])).astype(z.dtype, copy=False)
        if self.log_target:
            t = np.log1p(t)
        w = _checked_weights(weights, z.dtype)
        per_sample, grad = self._terms(z, t)
        norm = 1.0 / n if w is None else 1.0 / float(w.sum())
        k = z.shape[1]
        if w is not None:
            per_sample = per_sample * w
            grad *= w.reshape(n, 1)
        grad *= norm / k
        return float(per_sample.sum(dtype=np.float64) * norm / k), grad.reshape(logits.shape)

    def output(self, logits):
        return np.expm1(logits) if self.log_target else logits

    def check_targets(self, y, n_outputs, dtype, name="y"):
        t = super().check_targets(y, n_outputs, dtype, name)
        if self.log_target and (t < 0).any():
            raise DataError(f"log_target trains on log1p({name}) and needs {name} >= 0; {name} has "
                            f"{int((t < 0).sum())} negative values (the smallest {float(t.min()):.6g})")
        return t

    def initial_output(self, y: np.ndarray) -> tuple[np.ndarray, float]:
        """(the best constant output per output, the spread of the targets) for training targets y (n, targets)
        as they are given: where a network's last layer starts, so that it need not walk to the targets' scale."""
        t = np.asarray(y, np.float64).reshape(len(y), -1)
        if self.log_target:
            t = np.log1p(t)
        return self._constant(t), float(t.std(axis=0).mean())

    def get_config(self):
        return {"log_target": True} if self.log_target else {}


class MeanSquaredError(RegressionLoss):
    """mean((y - t)^2) over samples and outputs; targets (batch,) or (batch, k)."""

    name = "mse"

    def _terms(self, z, t):
        return R.squared(z, t)


class MeanAbsoluteError(RegressionLoss):
    """mean(|y - t|) over samples and outputs: a prediction of the median, robust to outliers."""

    name = "mae"

    def _terms(self, z, t):
        return R.absolute(z, t)

    def _constant(self, t):
        return np.median(t, axis=0)


class Huber(RegressionLoss):
    """Squared error for residuals up to `delta` (halved), absolute error beyond: the mean's efficiency on the
    bulk of the data, the median's indifference to its outliers. `delta` is in the targets' units (log1p units
    with log_target)."""

    name = "huber"

    def __init__(self, delta: float = 1.0, log_target: bool = False) -> None:
        super().__init__(log_target)
        if not in_range(delta, 0, open_lo=True) or isinstance(delta, (bool, np.bool_)):
            raise ArgumentError(f"huber delta must be a finite number > 0, got {delta!r:.40}")
        self.delta = float(delta)

    def _terms(self, z, t):
        return R.huber(z, t, self.delta)

    def _constant(self, t):
        return np.median(t, axis=0)

    def get_config(self):
        return {"delta": self.delta, **super().get_config()}


class Quantile(RegressionLoss):
    """The pinball loss of each of `quantiles` (each in (0, 1)): a network with m * len(quantiles) outputs
    predicts, for each of m targets, one value per quantile (target-major: output j * len(quantiles) + i is
    target j's quantiles[i]). Metrics score the quantile nearest 0.5."""

    name = "quantile"
    MAX_QUANTILES = 99

    def __init__(self, quantiles: float | Sequence[float] = (0.5,), log_target: bool = False) -> None:
        super().__init__(log_target)
        qs = [quantiles] if in_range(quantiles) or isinstance(quantiles, (bool, np.bool_)) else quantiles
        try:
            if isinstance(qs, (str, bytes, dict)):
                raise TypeError
            qs = list(qs)
        except TypeError:
            raise ArgumentError(f"quantiles must be a number in (0, 1) or a list of them, got {quantiles!r:.60}") \
                from None
        bad = next((q for q in qs if isinstance(q, (bool, np.bool_)) or not in_range(q, 0, 1, open_lo=True,
                                                                                        open_hi=True)), None)
        if not qs or len(qs) > self.MAX_QUANTILES or bad is not None:
            got = f"{bad!r:.40}" if bad is not None else f"{len(qs)} of them"
            raise ArgumentError(f"quantiles must be 1 to {self.MAX_QUANTILES} numbers strictly between 0 and 1, "
                                f"got {got}")
        if len(set(qs)) != len(qs):
            raise ArgumentError(f"quantiles must differ from each other, got {qs}")
        self.quantiles = tuple(float(q) for q in qs)

    def n_targets(self, n_outputs):
        return n_outputs // len(self.quantiles)

    def check_outputs(self, n_outputs):
        q = len(self.quantiles)
        if n_outputs % q:
            raise ShapeError(f"a quantile loss with {q} quantiles needs {q} outputs per target (a multiple of {q}), "
                             f"the network has {n_outputs}")

    def _terms(self, z, t):
        return R.pinball(z, t, np.asarray(self.quantiles, dtype=z.dtype))

    def _constant(self, t):
        return np.quantile(t, self.quantiles, axis=0).T.reshape(-1)  # target-major, as the outputs

    def point(self, values):
        middle = int(np.argmin(np.abs(np.asarray(self.quantiles) - 0.5)))
        return values.reshape(len(values), -1, len(self.quantiles))[:, :, middle]

    def get_config(self):
        return {"quantiles": list(self.quantiles), **super().get_config()}


LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": CrossEntropy, "categorical_cross_entropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy, "bce": BinaryCrossEntropy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber, "quantile": Quantile, "pinball": Quantile,
}


REGRESSION_LOSSES = ("mse", "mae", "huber", "quantile")  # the names a run's config chooses from


def get_loss(loss: str | Loss | None, n_outputs: int) -> Loss:
    """Resolve a loss: an instance, a name, or None for the default from the output size
    (1 output -> binary cross-entropy, more -> cross-entropy). Names as Keras, PyTorch and scikit-learn write
    them are taken in numpynn's meaning (numpynn.aliases)."""
    resolved = make_loss(loss)
    if resolved is None:
        resolved = BinaryCrossEntropy() if n_outputs == 1 else CrossEntropy()
    resolved.check_outputs(n_outputs)
    return resolved


def make_loss(loss: str | Loss | dict | None) -> Loss | None:
    """The Loss a name, config or instance stands for, not yet fitted to an output size; None for "auto" (chosen
    from the output size when there is one)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, dict):
        return loss_from_config(loss)
    if isinstance(loss, str):
        loss = loss_name(loss, LOSSES)
    if loss is None or loss == "auto":
        return None
    return lookup(LOSSES, loss, "loss", error=ArgumentError, also="or a Loss instance")()


def loss_from_config(spec: dict) -> Loss:
    return lookup(LOSSES, spec.get("name"), "loss")(**spec.get("config", {}))


def loss_to_config(loss: Loss) -> dict:
    return {"name": loss.name, "config": loss.get_config()}
