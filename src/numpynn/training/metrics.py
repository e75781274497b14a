"""Metrics as pure functions of NumPy arrays, plus the names `fit` accepts.

Classification metrics take integer labels `y_true` (n,) and either predicted labels or scores:
scores of shape (n, k) are reduced by argmax, a (n,) or (n, 1) score by `> 0.5`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..aliases import metric_name
from ..checks import is_int, lookup
from ..errors import ArgumentError


def to_labels(y: np.ndarray) -> np.ndarray:
    """Class labels from labels, one-hot rows, probability rows, or one-column probabilities."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y.reshape(-1)
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):  # one-column probabilities
        return (y > 0.5).astype(np.int64)
    return y.astype(np.int64, copy=False)


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted class equals the true class."""
    return float(np.mean(to_labels(y_true) == to_labels(y_pred)))


def top_k_accuracy(y_true, scores, k: int = 5) -> float:
    """Fraction of samples whose true class is among the k highest scores; scores (n, classes)."""
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"top_k_accuracy needs scores of shape (n, classes), got {scores.shape}")
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == to_labels(y_true)[:, None], axis=1)))


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as j."""
    t, p = to_labels(y_true).astype(np.int64), to_labels(y_pred).astype(np.int64)
    k = n_classes or int(max(t.max(initial=0), p.max(initial=0)) + 1)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def precision_recall_f1(y_true, y_pred, n_classes: int | None = None) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support (0 where a class was never predicted or present)."""
    cm = confusion_matrix(y_true, y_pred, n_classes).astype(np.float64)
    tp = np.diag(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual.astype(np.int64)}


def mse(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    return float(np.mean((y_true.reshape(y_pred.shape) - y_pred) ** 2))


def mae(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    return float(np.mean(np.abs(y_true.reshape(y_pred.shape) - y_pred)))


def rmse(y_true, y_pred) -> float:
    return mse(y_true, y_pred) ** 0.5


def quantile_coverage(y_true, y_pred, quantiles: Sequence[float]) -> dict[str, float]:
    """For each quantile q (name "q" as %g), the fraction of targets at or below their predicted q-quantile (q for
    a calibrated model); y_pred (n, targets * len(quantiles)), target-major as the quantile loss's outputs."""
    y_pred = np.asarray(y_pred, np.float64)
    t = np.asarray(y_true, np.float64).reshape(len(y_pred), -1, 1)
    below = (t <= y_pred.reshape(len(y_pred), -1, len(quantiles))).mean(axis=(0, 1))
    return {f"{q:g}": float(b) for q, b in zip(quantiles, below, strict=True)}


def r2(y_true, y_pred) -> float:
    """Coefficient of determination, averaged uniformly over outputs."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    y_true = y_true.reshape(y_pred.shape)
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.where(ss_res > 0, 0.0, 1.0))
    return float(np.mean(scores))


def _confidence_and_correct(y_true, proba) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's top probability and whether its top class is the true one; proba (n, k), or (n,)/(n, 1)
    for P(class 1) of a binary model."""
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 1 or (p.ndim == 2 and p.shape[1] == 1):
        p = p.reshape(-1, 1)
        p = np.hstack([1 - p, p])
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"calibration needs probabilities of shape (n, classes) with n > 0, got {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError("calibration needs probabilities in [0, 1]; got values outside it (logits?)")
    t = to_labels(y_true)
    if len(t) != len(p):
        raise ValueError(f"y_true and proba must have the same number of samples, got {len(t)} and {len(p)}")
    return p.max(axis=1), p.argmax(axis=1) == t


def _bins(y_true, proba, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, mean confidence, accuracy) per equal-width confidence bin (0, 1/n], ..., ((n-1)/n, 1]."""
    if not is_int(n_bins) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    conf, correct = _confidence_and_correct(y_true, proba)
    idx = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    safe = np.maximum(count, 1)
    return count, np.bincount(idx, conf, n_bins) / safe, np.bincount(idx, correct.astype(np.float64), n_bins) / safe


def reliability_bins(y_true, proba, n_bins: int = 15) -> dict[str, list]:
    """The reliability diagram's data, JSON-ready: bin edges, and per bin the sample count, mean confidence and
    accuracy (None for an empty bin)."""
    count, conf, acc = _bins(y_true, proba, n_bins)
    empty = count == 0
    return {"edges": np.linspace(0, 1, n_bins + 1).tolist(), "count": count.astype(np.int64).tolist(),
            "confidence": [None if e else float(c) for e, c in zip(empty, conf, strict=True)],
            "accuracy": [None if e else float(a) for e, a in zip(empty, acc, strict=True)]}


def expected_calibration_error(y_true, proba, n_bins: int = 15) -> float:
    """ECE (Guo et al. 2017): the count-weighted mean gap |accuracy - confidence| over equal-width confidence
    bins; 0 for a perfectly calibrated model. 15 bins, as in the paper."""
    count, conf, acc = _bins(y_true, proba, n_bins)
    return float(np.sum(count * np.abs(acc - conf)) / count.sum())


# metric name -> (function of (y_true, model output), whether it wants scores rather than labels)
MetricFn = Callable[[np.ndarray, np.ndarray], float]
METRICS: dict[str, MetricFn] = {
    "accuracy": accuracy,
    "top5_accuracy": lambda t, s: top_k_accuracy(t, s, 5),
    "top3_accuracy": lambda t, s: top_k_accuracy(t, s, 3),
    "mse": mse,
    "mae": mae,
    "r2": r2,
    "ece": expected_calibration_error,
}


REGRESSION_METRICS = frozenset({"mse", "mae", "r2"})  # of values; the others are of classes


def _is_top_k(name: str) -> bool:
    digits = name[3:-9]
    return name.startswith("top") and name.endswith("_accuracy") and digits.isascii() and digits.isdigit()


def get_metric(name: str) -> MetricFn:
    if not isinstance(name, str):
        raise ArgumentError(f"a metric is named by a string such as 'accuracy', got {name!r:.40} "
                            f"({type(name).__name__})")
    if _is_top_k(name):
        k = int(name[3:-9])
        return lambda t, s: top_k_accuracy(t, s, k)
    return lookup(METRICS, name, "metric", error=ArgumentError, also="or 'topK_accuracy'")


def metric_names(names: Iterable[str]) -> list[str]:
    """The metrics in numpynn's names (History keys): Keras' "acc" or "sparse_categorical_accuracy" is
    "accuracy", "mean_absolute_error" is "mae" (numpynn.aliases)."""
    if isinstance(names, str):
        raise ArgumentError(f"metrics is a list of names, such as [{names!r}]; got the string {names!r}")
    return [metric_name(n) for n in names]


def check_metrics_fit(names: Iterable[str], loss: Any) -> None:
    """Refuse a metric that does not fit the task of a model trained with `loss` (a Loss): mse, mae and r2 are
    for regression, accuracy, topK_accuracy and ece for classification."""
    task = "classification" if loss.is_classification else "regression"
    for name in names:
        get_metric(name)
        if (name in REGRESSION_METRICS) == loss.is_classification:
            wants = "regression" if name in REGRESSION_METRICS else "classification"
            choices = sorted(REGRESSION_METRICS) if task == "regression" else ["accuracy", "ece", "topK_accuracy"]
            raise ArgumentError(f"metric {name!r} is for {wants}, but this model does {task} (loss "
                                f"{loss.name!r}); its metrics are {', '.join(map(repr, choices))}")


def compute_metrics(names: Sequence[str], y: np.ndarray, logits: np.ndarray, loss: Any) -> dict[str, float]:
    """Each named metric of a model's logits against y: on probabilities (the loss's output) for classifiers,
    on the values predict returns for regression (the loss's point prediction of each target: a quantile loss's
    quantile nearest 0.5)."""
    if not names:
        return {}
    check_metrics_fit(names, loss)
    scores = loss.output(logits) if loss.is_classification else loss.point(loss.output(logits))
    return {name: get_metric(name)(y, scores) for name in names}
