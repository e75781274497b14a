"""Copies of a dataset as people hold them, and whether each is the published data.

MNIST comes as the published .gz files, uncompressed (torchvision's `MNIST/raw/`), under Kaggle's dotted names
(`train-images.idx3-ubyte`, sometimes inside a folder of the undotted name), as Keras's `mnist.npz`, or as
OpenML's `mnist_784` CSV. A copy is genuine when its file matches the published SHA-256 or when its content
does: the decompressed IDX bytes of a file, or, for an .npz or CSV, the IDX bytes its arrays stand for (so
every layout is checked against the same four content pins). Hashing streams in bounded blocks and never
inflates more than the pinned size; a corrupt file is reported as a problem, never raised as zlib's error.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .files import open_regular
from .registry import DataFile, DatasetSpec

SINGLE_FILE_SUFFIXES = (".npz", ".csv")
SUBFOLDERS = ("raw", "MNIST/raw", "FashionMNIST/raw")  # torchvision's layout under a root, or its raw folder
MAX_CONTENT = 1 << 32
MAX_CSV = 1 << 30  # OpenML's mnist_784.csv is about 120 MB: a larger "copy" is not parsed to find out
_SPLIT_OF = {"train-images": "train_images", "train-labels": "train_labels", "t10k-images": "test_images",
             "t10k-labels": "test_labels"}
_KERAS_KEY = {"train_images": "x_train", "train_labels": "y_train", "test_images": "x_test", "test_labels": "y_test"}
_digest_memo: dict[tuple, dict[str, str | None]] = {}
_arrays_memo: dict[tuple, dict[str, np.ndarray]] = {}  # the file just verified, handed to the next read of it


def idx_names(filename: str) -> list[str]:
    """The names a file goes by: as published, uncompressed, Kaggle's dotted name, and Kaggle's nested folders."""
    base = filename[:-3] if filename.endswith(".gz") else filename
    kaggle = base.replace("-idx", ".idx")
    return list(dict.fromkeys([filename, base, kaggle, kaggle + ".gz", f"{base}/{base}", f"{kaggle}/{kaggle}"]))


def idx_candidates(folder: Path, filename: str) -> list[Path]:
    """Where a file of `folder` may be: in it, or in a torchvision raw folder below it."""
    return [folder / sub / name for sub in ("", *SUBFOLDERS) for name in idx_names(filename)]


def copy_candidates(spec: DatasetSpec, split: str, path: str | os.PathLike | None, cache: Path) -> list[Path]:
    """Every place a copy of `split` may be, in the order they are tried (existing or not)."""
    filename = spec.files[split].filename
    if path is not None:
        p = Path(path)
        if p.suffix in SINGLE_FILE_SUFFIXES:
            return [p]
        return idx_candidates(p, filename) + [p / Path(c).name for c in spec.other_copies]
    places = [c for folder in (cache, *map(Path, spec.system_dirs)) for c in idx_candidates(folder, filename)]
    return places + [Path(os.path.expandvars(c)).expanduser() for c in spec.other_copies]


def describe(path: Path) -> str:
    """The layout a found file belongs to, in words for `numpynn datasets locate`."""
    name = path.name
    if path.suffix == ".npz":
        return "Keras-style .npz"
    if path.suffix == ".csv":
        return "OpenML mnist_784 CSV"
    where = " in a torchvision raw folder" if path.parent.name == "raw" else ""
    if ".idx" in name:
        return f"IDX, Kaggle's name{' (gzip)' if name.endswith('.gz') else ''}{where}"
    return f"IDX, {'gzip' if name.endswith('.gz') else 'uncompressed'}{where}"


def split_of(pin: DataFile) -> str | None:
    return next((split for prefix, split in _SPLIT_OF.items() if pin.filename.startswith(prefix)), None)


def problem(path: Path, pin: DataFile) -> str | None:
    """None when `path` is the pinned file (or the pin is empty), else what is wrong, in words.

    A path that is not a regular file raises DatasetError (it is never opened for reading).
    """
    return check(path, pin)[0]


def check(path: Path, pin: DataFile) -> tuple[str | None, str]:
    """(problem or None, which pin was checked: "as published", "by content" or "unpinned")."""
    if pin.sha256 is None and pin.content_sha256 is None:
        return None, "unpinned"
    if path.suffix in SINGLE_FILE_SUFFIXES:
        open_regular(path, "dataset file").close()  # a FIFO is refused here: a CSV reader would wait on it
        split = split_of(pin)
        digest = array_digests(path).get(split) if split else None
        if digest is not None and digest == pin.content_sha256:
            return None, "by content"
        return f"its {split or pin.filename} are not the published ones (content checksum mismatch)", "by content"
    with open_regular(path, "dataset file") as f:
        if pin.sha256 is not None and (pin.size is None or os.fstat(f.fileno()).st_size == pin.size):
            if _sha256_stream(f, None)[0] == pin.sha256:
                return None, "as published"
            f.seek(0)
        if pin.content_sha256 is None:
            return f"checksum mismatch: this is not the published {pin.filename}", "as published"
        return _content_problem(f, pin), "by content"


def _content_problem(f, pin: DataFile) -> str | None:
    """What is wrong with the decompressed content of an open IDX file (gzip or raw), or None."""
    gz = f.read(2) == b"\x1f\x8b"
    f.seek(0)
    limit = pin.content_size or MAX_CONTENT
    try:
        digest, n = _sha256_stream(gzip.GzipFile(fileobj=f) if gz else f, limit)
    except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as exc:
        return f"corrupt gzip data ({exc})"
    if n > limit:
        return f"holds more than the {limit:,} bytes of the published {pin.filename}"
    if digest != pin.content_sha256:
        return f"checksum mismatch: this is not the published {pin.filename} (nor its decompressed content)"
    return None


def verify_file(path: str | os.PathLike, pin: DataFile) -> bool:
    """True when the file matches a pin (as published, or its content in any layout), or when it has none.

    A corrupt or different file is False; a path that is not a regular file raises DatasetError.
    """
    return problem(Path(path), pin) is None


def _sha256_stream(stream, limit: int | None, chunk: int = 1 << 20) -> tuple[str, int]:
    """(hex digest, bytes read); stops one block past `limit` so a bomb is never inflated to its end."""
    h, n = hashlib.sha256(), 0
    while block := stream.read(chunk):
        n += len(block)
        if limit is not None and n > limit:
            break
        h.update(block)
    return h.hexdigest(), n


def idx_digest(array: np.ndarray) -> str | None:
    """SHA-256 of the IDX bytes (ubyte) an array of whole numbers 0..255 stands for; None if it is not one."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        if a.dtype.kind not in "biuf" or a.size and (a.min() < 0 or a.max() > 255 or not np.all(a == np.round(a))):
            return None
        a = a.astype(np.uint8)
    h = hashlib.sha256(bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape))
    h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def array_digests(path: Path) -> dict[str, str | None]:
    """Content digests of the four splits held by one .npz (Keras's keys) or CSV (OpenML's mnist_784) file."""
    key = _file_key(path)
    if key not in _digest_memo:
        try:
            if path.suffix == ".csv" and key[1] > MAX_CSV:
                raise DatasetError(f"{path}: {key[1]:,} bytes, too large for an MNIST CSV")
            splits = read_single_file(path)
        except DatasetError:
            splits = {}
        _digest_memo.clear()  # one entry each: a file is verified and then read, not kept around
        _digest_memo[key] = {split: idx_digest(a) for split, a in splits.items()}
        _arrays_memo.clear()
        _arrays_memo[key] = splits
    return _digest_memo[key]


def _file_key(path: Path) -> tuple:
    st = os.stat(path)
    return str(Path(path).resolve()), st.st_size, st.st_mtime_ns


def read_single_file(path: Path) -> dict[str, np.ndarray]:
    """The four splits of an MNIST-shaped .npz (Keras's keys) or CSV (784 pixel columns, 60,000 train rows).

    A CSV's whole numbers 0..255 come back as uint8, like the other layouts' pixels and labels.
    """
    key = _file_key(path)
    if key in _arrays_memo:  # just verified: read once, not twice (OpenML's CSV takes seconds to parse)
        return _arrays_memo.pop(key)
    if path.suffix == ".npz":
        from .npz import load_npz_arrays

        arrays = load_npz_arrays(path, tuple(_KERAS_KEY.values()))
        return {split: arrays[key] for split, key in _KERAS_KEY.items()}
    from .formats import load_csv, split_mnist_784

    X, y = load_csv(path)
    if X.shape[1] != 784:
        raise DatasetError(f"{path}: expected 784 pixel columns (OpenML's mnist_784), got {X.shape[1]}")
    (a, b), (c, d) = split_mnist_784(_as_ubyte(X.reshape(-1, 28, 28)), _as_ubyte(y))
    return {"train_images": a, "train_labels": b, "test_images": c, "test_labels": d}


def _as_ubyte(a: np.ndarray) -> np.ndarray:
    if a.size and a.min() >= 0 and a.max() <= 255 and np.array_equal(a, np.round(a)):
        return a.astype(np.uint8)
    return a
