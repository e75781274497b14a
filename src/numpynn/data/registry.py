"""Named datasets and where to find them: an explicit path, the user's cache, system folders, then a download.

Each dataset lists its four IDX files with two pins: the SHA-256 of the file as published (checked on
download and for cached .gz files) and of its decompressed IDX bytes (which survives re-compression, as in
Debian's dataset-fashion-mnist package, and covers uncompressed copies, Keras's .npz and OpenML's CSV, whose
arrays are hashed as the IDX bytes they stand for). The known sizes bound downloads and decompression.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DatasetError

SPLITS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class DataFile:
    filename: str
    sha256: str | None = None          # of the file as downloaded (.gz)
    content_sha256: str | None = None  # of the decompressed IDX bytes
    size: int | None = None            # bytes as downloaded: a download is cut off beyond it
    content_size: int | None = None    # bytes decompressed: verification inflates no more than this


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset of IDX files: where they come from and what they hold."""

    name: str
    files: dict[str, DataFile]
    mirrors: tuple[str, ...] = ()
    system_dirs: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    description: str = ""
    source: str = ""
    debian_package: str | None = None  # a Debian package that installs the files into a system folder
    loader: Callable | None = field(default=None, compare=False)  # for datasets not made of four IDX files
    other_copies: tuple[str, ...] = ()  # single files other tools cache (Keras's mnist.npz), looked at after the cache


# as published (the mirrors' .gz files); content pins computed from the genuine uncompressed files and
# cross-checked with the digests published for torchvision's and Kaggle's uncompressed copies
MNIST_FILES = {
    "train_images": DataFile("train-images-idx3-ubyte.gz",
                             "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                             "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 9912422, 47040016),
    "train_labels": DataFile("train-labels-idx1-ubyte.gz",
                             "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                             "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 28881, 60008),
    "test_images": DataFile("t10k-images-idx3-ubyte.gz",
                            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 1648877, 7840016),
    "test_labels": DataFile("t10k-labels-idx1-ubyte.gz",
                            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 4542, 10008),
}
# content pins computed from Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1 (upstream's data, re-gzipped)
FASHION_FILES = {
    "train_images": DataFile("train-images-idx3-ubyte.gz",
                             "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                             "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 26421880, 47040016),
    "train_labels": DataFile("train-labels-idx1-ubyte.gz",
                             "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                             "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 29515, 60008),
    "test_images": DataFile("t10k-images-idx3-ubyte.gz",
                            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 4422102, 7840016),
    "test_labels": DataFile("t10k-labels-idx1-ubyte.gz",
                            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 5148, 10008),
}

DATASETS: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec, *, replace: bool = False) -> DatasetSpec:
    """Add a named dataset (four IDX files, or a custom `loader`) so `load(name)` finds it."""
    if spec.name in DATASETS and not replace:
        raise ValueError(f"a dataset named {spec.name!r} is already registered (pass replace=True)")
    if spec.loader is None and set(spec.files) != set(SPLITS):
        raise ValueError(f"dataset {spec.name!r} must list the files {SPLITS}, got {sorted(spec.files)}")
    DATASETS[spec.name] = spec
    return spec


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))} "
                           f"(or pass a path to IDX, .npz or .csv files)") from None


def cache_dir() -> Path:
    """$NUMPYNN_DATA if set, else $XDG_CACHE_HOME/numpynn, else ~/.cache/numpynn."""
    env = os.environ.get("NUMPYNN_DATA")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "numpynn"


def _xor():
    import numpy as np

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.uint8)
    y = np.array([0, 1, 1, 0], dtype=np.uint8)
    return (X, y), (X.copy(), y.copy())


register(DatasetSpec("xor", {}, class_names=("0", "1"), loader=_xor,
                     description="the four points of exclusive-or (train = test), the classic first network"))
register(DatasetSpec(
    "mnist", MNIST_FILES,
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
             "http://yann.lecun.com/exdb/mnist/"),
    class_names=tuple(str(d) for d in range(10)),
    other_copies=("$KERAS_HOME/datasets/mnist.npz", "~/.keras/datasets/mnist.npz"),
    description="70,000 handwritten digits, 28x28 grey (60,000 train + 10,000 test)",
    source="Yann LeCun, Corinna Cortes, Christopher J.C. Burges; CC BY-SA 3.0"))
register(DatasetSpec(
    "fashion-mnist", FASHION_FILES,
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
             "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"),
    description="70,000 Zalando article images, 28x28 grey, 10 classes (60,000 train + 10,000 test)",
    source="Han Xiao, Kashif Rasul, Roland Vollgraf (Zalando Research); MIT licence",
    debian_package="dataset-fashion-mnist"))
