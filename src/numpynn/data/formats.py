"""Other formats MNIST arrives in: Keras-style .npz, OpenML / Kaggle CSV, and a user's own CSV or .npz.

The CSV reader itself is `data/csv.py`; its names stay importable from here.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import DatasetError
from .csv import LABEL_NAMES, load_csv, read_csv, read_csv_matrix
from .npz import load_npz_arrays

__all__ = ["LABEL_NAMES", "load_csv", "load_keras_npz", "load_npz_arrays", "load_openml_mnist_csv", "read_csv",
           "read_csv_matrix", "split_mnist_784"]

KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_keras_npz(path: str | os.PathLike):
    """Keras's mnist.npz: x_train (n, 28, 28) uint8, y_train (n,), x_test, y_test; checked before use."""
    return check_keras_arrays(load_npz_arrays(path, KERAS_KEYS), str(path))


def check_keras_arrays(a: dict[str, np.ndarray], name: str):
    """((x_train, y_train), (x_test, y_test)) from the arrays of a Keras-style .npz, after checking them."""
    for split in ("train", "test"):
        x, y = a[f"x_{split}"], a[f"y_{split}"]
        if x.ndim != 3 or x.dtype != np.uint8:
            raise DatasetError(f"{name}: x_{split} must be uint8 images (n, h, w), got {x.dtype} {x.shape}")
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise DatasetError(f"{name}: y_{split} must be integer labels (n,), got {y.dtype} {y.shape}")
        if len(x) != len(y):
            raise DatasetError(f"{name}: x_{split} has {len(x)} images but y_{split} has {len(y)} labels")
    return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])


def split_mnist_784(X: np.ndarray, y: np.ndarray, n_train: int = 60000):
    """OpenML's mnist_784 order: the first 60,000 rows are the training set (6/7 of a shorter file)."""
    if len(X) <= n_train:
        n_train = int(len(X) * 6 / 7)
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


def load_openml_mnist_csv(path: str | os.PathLike, n_train: int = 60000):
    """OpenML's mnist_784 CSV (784 pixel columns then 'class'), split into train and test."""
    X, y = load_csv(path)
    if X.shape[1] != 784:
        raise DatasetError(f"{path}: expected 784 pixel columns (mnist_784), got {X.shape[1]}")
    return split_mnist_784(X, y, n_train)
