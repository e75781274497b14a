"""Class labels given by name: fit's y of strings becomes class indices 0..k-1, and the names stay with the
model (`Sequential.class_names`, kept in its preprocessing and so in its file), so that predict, evaluate, serve
and the exports name the classes as the training data did."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError


def class_count(model: Any) -> int:
    """The classes a classifier's outputs stand for: one per output, or 2 for a single sigmoid output."""
    return model.n_outputs if model.n_outputs > 1 else 2


def encode_names(model: Any, y: Any, name: str = "y") -> Any:
    """`y` (n,) as int64 class indices when it holds class names (str), else `y` unchanged.

    The order is the model's class_names when it has them (a second fit, or names set before the first),
    else the names sorted (as scikit-learn's classes_ are), which then become the model's class_names."""
    if model.loss is None or not model.loss.is_classification or isinstance(y, (int, float)):
        return y
    arr = y if isinstance(y, np.ndarray) else np.asarray(y, dtype=object) if isinstance(y, (list, tuple)) else None
    if arr is None or arr.ndim != 1 or arr.dtype.kind not in "USO" or len(arr) == 0:
        return y
    labels = arr.tolist()
    if not all(isinstance(v, (str, bytes)) for v in labels):
        return y  # numbers in an object array: the loss's own checks read them
    labels = [v.decode() if isinstance(v, bytes) else v for v in labels]
    names = model.class_names
    if names is None:
        found = sorted(set(labels))
        k = class_count(model)
        if len(found) != k:
            raise DataError(f"{name} names {len(found)} classes {found[:10]} for a model with {k} classes; set "
                            f"model.class_names to all {k} names (in the order of the outputs) before fit")
        model.class_names = found
        names = model.class_names
    index = {n: i for i, n in enumerate(names)}
    unknown = sorted(set(labels) - index.keys())
    if unknown:
        raise DataError(f"{name} has labels {unknown[:10]} that are not among the model's class_names "
                        f"{list(names)[:10]}")
    return np.fromiter((index[v] for v in labels), np.int64, len(labels))
