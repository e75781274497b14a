"""Other formats MNIST arrives in: Keras-style .npz, OpenML / Kaggle CSV, and a user's own CSV or .npz.

CSV is parsed by NumPy's C reader into float32: OpenML's 70,000 x 785 mnist_784 in under two seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .npz import load_npz_arrays

KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")
LABEL_NAMES = ("label", "class", "target", "y")


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


def _is_header(line: str) -> bool:
    try:
        [float(field.strip().strip('"')) for field in line.split(",")]
    except ValueError:
        return True
    return False


def read_csv_matrix(path: str | os.PathLike) -> tuple[list[str] | None, np.ndarray]:
    """(header names or None, a (rows, cols) float32 array) from a comma-separated file.

    NumPy's C reader does the parsing (double-quoted fields allowed); a ragged or non-numeric file is
    reported with the first offending row.
    """
    name = str(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = f.readline().strip()
            has_rows = bool(f.readline().strip()) if first else False
    except OSError as exc:
        raise DatasetError(f"cannot read {name}: {exc.strerror or exc}") from None
    if not first:
        raise DatasetError(f"{name}: the file is empty")
    header = [h.strip().strip('"') for h in first.split(",")] if _is_header(first) else None
    if header is not None and not has_rows:
        raise DatasetError(f"{name}: no data rows after the header")
    try:
        values = np.loadtxt(path, delimiter=",", skiprows=1 if header else 0, dtype=np.float32, quotechar='"',
                            ndmin=2)
    except ValueError as exc:
        raise DatasetError(f"{name}: {_first_bad_row(Path(path), header is not None) or exc}") from None
    if values.size == 0:
        raise DatasetError(f"{name}: no data rows")
    return header, values


def _first_bad_row(path: Path, skip_header: bool) -> str | None:
    """Describe the first row whose field count differs from the first data row's."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line for line in f if line.strip()]
    body = lines[1:] if skip_header else lines
    if not body:
        return None
    want = body[0].count(",") + 1
    for i, line in enumerate(body):
        if line.count(",") + 1 != want:
            return f"row {i + 1 + skip_header} has {line.count(',') + 1} fields, expected {want} like the first row"
    return None


def load_csv(path: str | os.PathLike, label_column: int | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels from a CSV with one sample per row.

    `label_column`: an index or a header name; by default a column named label/class/target/y, else the last.
    """
    header, m = read_csv_matrix(path)
    if isinstance(label_column, str):
        if header is None or label_column not in header:
            raise DatasetError(f"{path}: no column named {label_column!r}; the header is {header and header[:5]}...")
        col = header.index(label_column)
    elif label_column is None:
        named = [i for i, h in enumerate(header or []) if h.strip().lower() in LABEL_NAMES]
        col = named[0] if named else m.shape[1] - 1
    else:
        col = label_column % m.shape[1]
    y = m[:, col].copy()
    if col in (0, m.shape[1] - 1):  # the usual layouts: the features are a view, no copy of the matrix
        return (m[:, 1:] if col == 0 else m[:, :-1]), y
    return np.delete(m, col, axis=1), y


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
