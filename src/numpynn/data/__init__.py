"""Datasets: named MNIST-family loaders, IDX/npz/CSV readers, verified downloads, transforms, augmentation.

    (X_train, y_train), (X_test, y_test) = numpynn.datasets.load("mnist-sample")
"""

from .augment import Augmenter
from .csv import read_csv
from .download import download, sha256_file
from .formats import load_csv, load_keras_npz, load_npz_arrays, load_openml_mnist_csv
from .idx import read_idx, read_idx_bytes, write_idx
from .labels import choose_task, class_labels
from .registry import DATASETS, DataFile, DatasetSpec, cache_dir, get_spec, register
from .sources import (
    Dataset,
    apply_preprocessing,
    load,
    load_dataset,
    load_idx,
    load_raw,
    locate,
    normalize_pair,
    verify_file,
)
from .transforms import flatten, one_hot, scale_to_unit, standardize, train_val_split

__all__ = [
    "DATASETS", "Augmenter", "apply_preprocessing", "normalize_pair",
    "DataFile", "DatasetSpec", "cache_dir", "download", "flatten", "get_spec", "load",
    "load_csv", "load_idx", "load_keras_npz", "load_npz_arrays", "load_openml_mnist_csv", "load_raw", "locate",
    "one_hot", "read_idx", "read_idx_bytes", "register", "scale_to_unit", "sha256_file", "standardize",
    "train_val_split", "verify_file", "write_idx",
    "Dataset", "choose_task", "class_labels", "load_dataset", "read_csv",
]
