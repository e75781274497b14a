"""Other formats MNIST arrives in: Keras-style .npz, OpenML / Kaggle CSV, and a user's own CSV or .npz.

CSV is parsed by a vectorised reader for the common case (non-negative integers, like pixel values):
70,000 x 785 in about two seconds; anything else falls back to NumPy's C parser.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DatasetError

KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")
LABEL_NAMES = ("label", "class", "target", "y")


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


def _parse_uint_csv(body: bytes) -> np.ndarray | None:
    """Parse comma/newline separated non-negative integers; None if the text holds anything else."""
    buf = np.frombuffer(body, np.uint8)
    if buf.size == 0:
        return np.empty(0, np.int64)
    is_sep = (buf == 44) | (buf == 10)
    if not (is_sep | ((buf >= 48) & (buf <= 57))).all():
        return None
    sep = np.flatnonzero(is_sep)
    if buf[-1] != 10:
        sep = np.append(sep, buf.size)
    prev = np.empty_like(sep)
    prev[0], prev[1:] = -1, sep[:-1]
    length = sep - prev - 1
    if length.min() < 1 or length.max() > 18:
        return None  # empty fields or numbers too long for int64
    values = (buf[sep - 1].astype(np.int64) - 48)
    for k in range(2, int(length.max()) + 1):  # add the k-th digit from the right where a number has one
        m = length >= k
        values[m] += (10 ** (k - 1)) * (buf[sep[m] - k].astype(np.int64) - 48)
    return values


def _is_header(line: str) -> bool:
    try:
        [float(field) for field in line.split(",")]
    except ValueError:
        return True
    return False


def read_csv_matrix(path: str | os.PathLike) -> tuple[list[str] | None, np.ndarray]:
    """(header names or None, a (rows, cols) numeric array) from a CSV file; quotes are ignored."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {name}: {exc.strerror or exc}") from None
    data = data.translate(None, b"'\"\r").strip(b"\n")
    if not data:
        raise DatasetError(f"{name}: the file is empty")
    first_end = data.find(b"\n")
    first = data[: first_end if first_end >= 0 else len(data)]
    header = None
    if _is_header(first.decode("utf-8", "replace")):
        header = first.decode("utf-8", "replace").split(",")
        data = data[first_end + 1:] if first_end >= 0 else b""
    if not data:
        raise DatasetError(f"{name}: no data rows after the header")
    n_cols = data[: data.find(b"\n") if b"\n" in data else len(data)].count(b",") + 1
    n_rows = data.count(b"\n") + 1
    values = _parse_uint_csv(data)
    if values is None:
        try:
            values = np.loadtxt(data.decode("utf-8").splitlines(), delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise DatasetError(f"{name}: not a numeric CSV: {exc}") from None
    if values.size != n_rows * n_cols:
        counts = np.array([line.count(b",") + 1 for line in data.split(b"\n")])
        bad = int(np.flatnonzero(counts != n_cols)[0])
        raise DatasetError(f"{name}: row {bad + 1 + (header is not None)} has {counts[bad]} fields, "
                           f"expected {n_cols} like the first row")
    return header, values.reshape(n_rows, n_cols)


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
    y = m[:, col]
    X = np.delete(m, col, axis=1)
    return X, y


def load_openml_mnist_csv(path: str | os.PathLike, n_train: int = 60000):
    """OpenML's mnist_784 CSV (784 pixel columns then 'class'): the first 60,000 rows train, the rest test."""
    X, y = load_csv(path)
    if X.shape[1] != 784:
        raise DatasetError(f"{path}: expected 784 pixel columns (mnist_784), got {X.shape[1]}")
    if len(X) <= n_train:
        n_train = int(len(X) * 6 / 7)
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])
