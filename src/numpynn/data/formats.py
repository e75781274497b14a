"""Other formats MNIST arrives in: Keras-style .npz, OpenML / Kaggle CSV, and a user's own CSV or .npz.

The CSV reader itself is `data/csv.py`; its names stay importable from here.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from ..errors import DatasetError
from .csv import LABEL_NAMES, load_csv, read_csv, read_csv_matrix

__all__ = ["LABEL_NAMES", "load_csv", "load_keras_npz", "load_npz_arrays", "load_openml_mnist_csv", "read_csv",
           "read_csv_matrix", "split_mnist_784"]

KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_npz_arrays(path: str | os.PathLike, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an .npz file (never unpickling object arrays); `keys` must all be present."""
    name = str(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            present = list(z.files)
            wanted = keys or tuple(present)
            missing = [k for k in wanted if k not in present]
            if missing:
                raise DatasetError(f"{name}: missing arrays {missing}; the file has {present}")
            return {k: z[k] for k in wanted}
    except DatasetError:
        raise
    except FileNotFoundError:
        raise DatasetError(f"{name}: no such file") from None
    except ValueError as exc:  # object arrays need pickle, which is refused
        raise DatasetError(f"{name}: cannot read without unpickling ({exc}); numpynn never unpickles") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DatasetError(f"{name}: not a readable .npz file ({exc})") from None


def load_keras_npz(path: str | os.PathLike):
    """Keras's mnist.npz: x_train (n, 28, 28) uint8, y_train (n,), x_test, y_test; checked before use."""
    a = load_npz_arrays(path, KERAS_KEYS)
    name = str(path)
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
