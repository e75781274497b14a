"""Array transforms for training data: scaling, standardisation, one-hot, flattening, train/validation split."""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def scale_to_unit(X: np.ndarray, max_value: float | None = None, dtype=np.float32) -> np.ndarray:
    """Pixels to [0, 1]: divide by 255 for uint8 (or by `max_value`)."""
    X = np.asarray(X)
    top = max_value if max_value is not None else (255.0 if X.dtype == np.uint8 else float(X.max(initial=0)) or 1.0)
    out = X.astype(dtype)
    out *= dtype(1.0 / top)
    return out


def standardize(X: np.ndarray, mean: float | np.ndarray | None = None, std: float | np.ndarray | None = None,
                *, per_feature: bool = False, dtype=np.float32):
    """(X - mean) / std, with the statistics taken from X when not given; returns (X', mean, std).
    Compute them on the training set and pass them for validation and test data."""
    X = np.asarray(X, dtype=dtype)
    axis = 0 if per_feature else None
    mean = X.mean(axis=axis, dtype=np.float64) if mean is None else mean
    std = X.std(axis=axis, dtype=np.float64) if std is None else std
    std = np.where(np.asarray(std) > 0, std, 1.0)
    out = (X - np.asarray(mean, dtype)) / np.asarray(std, dtype)
    return out.astype(dtype, copy=False), mean, std


def one_hot(y: np.ndarray, n_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Integer labels (n,) -> (n, n_classes) rows of zeros with a single one."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError(f"one_hot needs integer labels of shape (n,), got {y.dtype} {y.shape}")
    k = int(y.max(initial=-1)) + 1 if n_classes is None else n_classes
    if y.size and (y.min() < 0 or y.max() >= k):
        raise DataError(f"labels must be in [0, {k - 1}], got values from {y.min()} to {y.max()}")
    out = np.zeros((len(y), k), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def flatten(X: np.ndarray) -> np.ndarray:
    """(n, h, w, ...) -> (n, h*w*...), a view when possible."""
    X = np.asarray(X)
    return X.reshape(len(X), -1)


def train_val_split(X: np.ndarray, y: np.ndarray, val_fraction: float = 0.1, *, seed: int = 0,
                    stratify: bool = True):
    """((X_train, y_train), (X_val, y_val)) by a seeded permutation; `stratify` keeps class proportions."""
    if not 0 < val_fraction < 1:
        raise DataError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    if len(X) != len(y):
        raise DataError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    rng = np.random.default_rng(seed)
    if stratify and np.asarray(y).ndim == 1 and np.asarray(y).dtype.kind in "iu":
        val = []
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            val.append(idx[: int(round(len(idx) * val_fraction))])
        val_idx = np.sort(np.concatenate(val))
    else:
        val_idx = np.sort(rng.permutation(len(X))[: int(round(len(X) * val_fraction))])
    mask = np.ones(len(X), bool)
    mask[val_idx] = False
    return (X[mask], y[mask]), (X[val_idx], y[val_idx])
