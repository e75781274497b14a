"""A trained model scored on a test set: the loss and metrics a run's report and `numpynn evaluate` show
(regression: MSE, RMSE, MAE, R², a quantile model's coverage; classification: accuracy, top-k, calibration,
confusion matrix, per-class precision/recall/F1), all from one forward pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import NumpynnError, ShapeError
from .losses import Quantile
from .model import Sequential
from .training import metrics as M


def evaluate_regression(model: Sequential, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Loss (the model's own, with the weight penalty), MSE, RMSE, MAE and R\u00b2 of a regression on
    X (n, features), y (n, targets), scored on predict's values (a quantile loss's quantile nearest 0.5); a
    quantile loss adds "coverage": per quantile, the fraction of targets at or below its prediction."""
    loss = model.loss
    targets = loss.check_targets(y, model.n_outputs, model.dtype)
    logits = model.predict_logits(X)
    if len(targets) != len(logits):
        raise ShapeError(f"X and y must have the same number of samples, got {len(logits)} and {len(targets)}")
    value, _ = loss(logits, targets)
    values = model.plan.values(logits)  # what predict returns
    pred = loss.point(values)
    out = {"loss": value + model.penalty(), "mse": M.mse(targets, pred), "rmse": M.rmse(targets, pred),
           "mae": M.mae(targets, pred), "r2": M.r2(targets, pred)}
    if isinstance(loss, Quantile):
        out["coverage"] = M.quantile_coverage(targets, values, loss.quantiles)
    return out


@dataclass
class ClassifierOutputs:
    """A classifier's answers on a set of samples, from one forward pass.

    logits (n, outputs); scores = the loss's output activation of the logits (what the metrics read);
    proba (n, classes) = model.predict_proba's layout: a one-output binary model's [P(0), P(1)];
    labels (n,) = model.predict's.
    """

    logits: np.ndarray
    scores: np.ndarray
    proba: np.ndarray
    labels: np.ndarray


def classifier_outputs(model: Sequential, X: np.ndarray) -> ClassifierOutputs:
    """Logits, probabilities and predicted labels of X (n, features) from one forward pass."""
    loss = model.loss
    if not loss.is_classification:
        raise NumpynnError(f"evaluating a classifier needs a classification loss; this model uses {loss.name!r}")
    logits = model.predict_logits(X)
    scores = loss.output(logits)
    # predict_proba's and predict's answers, from these logits rather than from more forward passes
    return ClassifierOutputs(logits, scores, model.plan.probability_columns(scores), model.plan.labels(logits))


def evaluate_classifier(model: Sequential, X: np.ndarray, y: np.ndarray, n_classes: int, *,
                        outputs: ClassifierOutputs | None = None) -> dict[str, Any]:
    """Loss, accuracy, confusion matrix and per-class precision/recall/F1 on a test set X (n, features), y (n,).

    `outputs`: classifier_outputs(model, X) when the caller has them already; else they are computed here.
    The loss and accuracy are model.evaluate's (the loss with the weight penalty), from the same logits.
    """
    out = classifier_outputs(model, X) if outputs is None else outputs
    targets = model.loss.check_targets(y, model.n_outputs, model.dtype)
    if len(targets) != len(out.logits):
        raise ShapeError(f"X and y must have the same number of samples, got {len(out.logits)} and {len(targets)}")
    loss, _ = model.loss(out.logits, targets)
    prf = M.precision_recall_f1(y, out.labels, n_classes)
    # calibration and top-k read predict_proba's columns, so a one-output binary model is scored as two classes
    top_k = {f"top{k}_accuracy": M.top_k_accuracy(y, out.proba, k) for k in (2, 3, 5) if k < out.proba.shape[1]}
    return {"loss": loss + model.penalty(), "accuracy": M.accuracy(targets, out.scores),
            **top_k, "ece": M.expected_calibration_error(y, out.proba),
            "reliability": M.reliability_bins(y, out.proba),
            "confusion_matrix": M.confusion_matrix(y, out.labels, n_classes).tolist(),
            "per_class": {k: v.tolist() for k, v in prf.items()}}
