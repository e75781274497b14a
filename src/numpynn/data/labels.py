"""Class labels as they arrive (text, whole numbers, floats) -> class indices 0..k-1 and the class names.

One rule for every format (CSV, npz, IDX), applied where labels enter training, so that a single stray label
cannot size the network (a label 100000 among the digits would build 100,001 outputs) and a float label 1.5
is refused rather than truncated to 1.

Also the rule that picks the task of a table when the user does not say (`choose_task`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DatasetError

MAX_CLASSES = 1000  # more outputs than this is a regression target or a mistake, not a class set
AUTO_MAX_CLASSES = 50  # task "auto": whole-number targets with more distinct values than this are a regression
TASKS = ("auto", "classification", "regression")
REGRESSION_LOSSES = ("mse", "mae", "huber", "quantile")  # a config's regression losses (numpynn.losses has them)


def _plausible_span(n_distinct: int) -> int:
    """The widest span of integer labels still taken as a class set: at most about half the classes unseen."""
    return 2 * n_distinct + 8


def _show(values: np.ndarray, n: int = 5) -> str:
    return ", ".join(str(v) for v in values[:n].tolist()) + (", ..." if len(values) > n else "")


def class_labels(y: np.ndarray, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels (n,) as class indices (n,) int64 and the class names, refusing what is not a class set.

    - text: the sorted distinct values are the classes 0..k-1, named by themselves;
    - whole numbers 0..k-1 are the class indices themselves (class i is named "i", as MNIST's digits), classes
      never seen included; another compact set of whole numbers (-1/1, 1000..1002): the sorted distinct values
      are the classes, named by their values;
    - refused: fractional values (1.5), NaN/inf, more than MAX_CLASSES classes, and integer labels spanning
      far more values than occur (the sign of a stray label).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DatasetError(f"{name}: class labels must be one-dimensional (n,), got shape {y.shape}")
    if y.size == 0:
        raise DatasetError(f"{name}: no labels")
    if y.dtype.kind in "OUS":
        return _text_labels(y.astype(str), name)
    if y.dtype.kind == "b":
        return y.astype(np.int64), ("0", "1")
    if y.dtype.kind not in "iuf":
        raise DatasetError(f"{name}: class labels must be numbers or text, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y)
        if bad.any():
            raise DatasetError(f"{name}: labels must be finite, got {y[bad][0]} at row {int(np.argmax(bad)) + 1}")
        frac = y != np.round(y)
        if frac.any():
            raise DatasetError(f"{name}: class labels must be whole numbers, got {_show(np.unique(y[frac]))} "
                               f"(first at row {int(np.argmax(frac)) + 1}); for a numeric target train a "
                               "regression (--task regression)")
        if np.abs(y).max() >= 2**62:
            raise DatasetError(f"{name}: labels span {y.min():g}..{y.max():g}: not class labels")
    values, counts = np.unique(y, return_counts=True)
    lo, hi = int(values[0]), int(values[-1])
    if len(values) > MAX_CLASSES:
        raise DatasetError(f"{name}: {len(values):,} distinct label values: more than the {MAX_CLASSES} classes "
                           "numpynn trains; for a numeric target train a regression (--task regression)")
    limit = _plausible_span(len(values))
    if lo >= 0 and hi + 1 <= limit:
        return y.astype(np.int64), tuple(str(i) for i in range(hi + 1))
    if hi - lo + 1 > limit:
        # the rarest values, the furthest from the typical label first
        far = np.abs(values.astype(np.float64) - float(np.median(y)))
        rare = values[np.lexsort((-far, counts))[:3]].astype(np.int64)
        raise DatasetError(f"{name}: labels span {lo}..{hi} but only {len(values)} distinct values occur; as class "
                           f"indices they would need {hi + 1 if lo >= 0 else hi - lo + 1:,} outputs, most never "
                           f"seen. Check for stray labels (the rarest: {_show(rare)}), or train a regression "
                           "(--task regression)")
    # a compact set away from 0 (-1/1, 1000..1002): the sorted values are the classes, named by themselves
    return np.searchsorted(values, y).astype(np.int64), tuple(str(int(v)) for v in values)


def _text_labels(y: np.ndarray, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    stripped = np.char.strip(y)
    if (stripped == "").any():
        raise DatasetError(f"{name}: empty label at row {int(np.argmax(stripped == '')) + 1}")
    values, index = np.unique(stripped, return_inverse=True)
    if len(values) > MAX_CLASSES:
        raise DatasetError(f"{name}: {len(values):,} distinct text labels: more than the {MAX_CLASSES} classes "
                           "numpynn trains")
    return index.reshape(-1).astype(np.int64), tuple(str(v) for v in values)


def encode_with(y: np.ndarray, class_names: Sequence[str], name: str) -> np.ndarray:
    """Labels (n,) as indices into a model's `class_names` (as its training set named them); (n,) int64."""
    names = {c: i for i, c in enumerate(class_names)}
    y = np.asarray(y)
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    text = np.char.strip(y.astype(str))
    unknown = sorted(set(np.unique(text).tolist()) - set(names))
    if unknown:
        raise DatasetError(f"{name}: labels {_show(np.array(unknown))} are not among the model's classes "
                           f"({_show(np.array(list(class_names)), 10)})")
    return np.array([names[t] for t in text.tolist()], dtype=np.int64)


def regression_targets(y: np.ndarray, name: str) -> np.ndarray:
    """Numeric targets (n,) as float64, finite; text is refused with the value found."""
    y = np.asarray(y)
    if y.dtype.kind in "OUS":
        try:
            y = y.astype(np.float64)
        except ValueError:
            bad = next(v for v in y.tolist() if not is_number(v))
            raise DatasetError(f"{name}: regression targets must be numbers, got {bad!r}") from None
    if y.dtype.kind not in "biuf":
        raise DatasetError(f"{name}: regression targets must be numbers, got dtype {y.dtype}")
    y = y.astype(np.float64)
    bad = ~np.isfinite(y)
    if bad.any():
        raise DatasetError(f"{name}: regression targets must be finite, got {y[bad][0]} at row "
                           f"{int(np.argmax(bad)) + 1}")
    return y


def is_number(text: str) -> bool:
    """Whether a field of text reads as a number."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def choose_task(y: np.ndarray, task: str = "auto", loss: str = "auto") -> str:
    """The task of a table's targets: "classification" or "regression".

    The stated rule for task "auto": a regression loss (mse, mae, huber, quantile) means regression; text
    targets are classes; numeric targets are classes when all are whole numbers taking at most AUTO_MAX_CLASSES
    distinct values, otherwise (a fractional value, or many distinct values) a regression.
    """
    if task not in TASKS:
        raise DatasetError(f"task must be one of {TASKS}, got {task!r}")
    if task != "auto":
        return task
    y = np.asarray(y)
    if loss in REGRESSION_LOSSES:
        if y.dtype.kind in "OUS" and not all(is_number(v) for v in np.unique(y).tolist()):
            raise DatasetError(f"loss {loss} trains a regression, but the targets are text (e.g. {str(y[0])!r}); "
                               "train the classes with loss cross_entropy (or auto)")
        return "regression"
    if y.dtype.kind in "OUSb":
        return "classification"
    if y.dtype.kind == "f" and (not np.all(np.isfinite(y)) or not np.all(y == np.round(y))):
        return "regression"
    return "classification" if len(np.unique(y)) <= AUTO_MAX_CLASSES else "regression"
