"""Genuine MNIST in every layout people hold it, found and verified by its content pins.

Built once per module from the shared full MNIST (skipped where it is absent): the .gz files re-compressed,
torchvision's `MNIST/raw`, Kaggle's dotted names and nested folders, Keras's `mnist.npz`, OpenML's
`mnist_784` CSV. Each loads by path, each verifies against the same four pins, one changed byte fails them.
"""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from numpynn import data
from numpynn.cli import main
from numpynn.data.registry import MNIST_FILES
from numpynn.errors import DatasetError

SHARED = Path("/work/shared/data/mnist")
pytestmark = pytest.mark.skipif(not (SHARED / "train-images-idx3-ubyte.gz").is_file(),
                                reason="the shared full MNIST is not on this machine")
RAW = {split: pin.filename[:-3] for split, pin in MNIST_FILES.items()}  # train-images-idx3-ubyte, ...


@pytest.fixture
def engine():
    """The readers use no engine: one run of each test (the conftest fixture would run them twice)."""
    return None


@pytest.fixture(scope="module")
def reference():
    return {split: data.read_idx(SHARED / pin.filename) for split, pin in MNIST_FILES.items()}


def _openml_csv(path: Path, ref: dict) -> None:
    """OpenML's mnist_784 CSV: a quoted header, 784 pixel columns then "class", 70,000 rows, train first."""
    pixels = np.concatenate([ref["train_images"], ref["test_images"]]).reshape(70000, 784)
    rows = np.column_stack([pixels, np.concatenate([ref["train_labels"], ref["test_labels"]])])
    digits = np.array([list(f"{v:>3}".encode()) for v in range(256)], dtype=np.uint8)  # right-aligned "  7"
    cells = np.full((70000, 785, 4), ord(","), np.uint8)
    cells[:, :, :3] = digits[rows]
    cells[:, -1, 3] = ord("\n")
    text = cells.ravel()
    header = ",".join(f'"pixel{i}"' for i in range(1, 785)) + ',"class"\n'
    path.write_bytes(header.encode() + text[text != ord(" ")].tobytes())  # "0,0,12,...": no padding left


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, reference):
    root = tmp_path_factory.mktemp("layouts")
    out = {"gz": root / "gz", "torchvision-root": root / "tv", "torchvision-raw": root / "tv" / "MNIST" / "raw",
           "kaggle": root / "kaggle", "kaggle-nested": root / "kaggle-nested", "keras": root / "mnist.npz",
           "openml-csv": root / "mnist_784.csv"}
    shutil.copytree(SHARED, out["gz"], ignore=shutil.ignore_patterns("README*"))
    out["torchvision-raw"].mkdir(parents=True)
    out["kaggle"].mkdir()
    for split, name in RAW.items():
        raw = out["torchvision-raw"] / name
        with gzip.open(SHARED / MNIST_FILES[split].filename) as src, open(raw, "wb") as dst:
            shutil.copyfileobj(src, dst)
        dotted = name.replace("-idx", ".idx")
        (out["kaggle"] / dotted).symlink_to(raw)
        (out["kaggle-nested"] / name).mkdir(parents=True)
        (out["kaggle-nested"] / name / name).symlink_to(raw)
    np.savez_compressed(out["keras"], x_train=reference["train_images"], y_train=reference["train_labels"],
                        x_test=reference["test_images"], y_test=reference["test_labels"])
    _openml_csv(out["openml-csv"], reference)
    return out


def test_content_pins_are_the_shared_readme_digests_and_the_files_own():
    readme = (SHARED / "README.md").read_text()
    for pin in MNIST_FILES.values():
        row = next(line for line in readme.splitlines() if pin.filename in line)
        assert re.search(r"`([0-9a-f]{64})`", row).group(1) == pin.content_sha256
        assert data.verify_file(SHARED / pin.filename, pin)  # re-gzipped: only the content pin can pass
        assert data.sha256_file(SHARED / pin.filename) != pin.sha256


@pytest.mark.parametrize("layout", ["gz", "torchvision-root", "torchvision-raw", "kaggle", "kaggle-nested", "keras",
                                    "openml-csv"])
def test_each_layout_loads_and_verifies_by_path(layouts, reference, layout, tmp_path, monkeypatch):
    monkeypatch.setenv("NUMPYNN_DATA", str(tmp_path / "empty-cache"))
    files = data.locate("mnist", path=layouts[layout], download_missing=False)
    assert set(files) == set(MNIST_FILES)
    for split, path in files.items():
        assert data.verify_file(path, MNIST_FILES[split]), (split, path)
    (X, y), (Xt, yt) = data.load_raw("mnist", path=layouts[layout])
    assert X.dtype == np.uint8 and X.shape == (60000, 28, 28) and Xt.shape == (10000, 28, 28)
    for got, split in ((X, "train_images"), (y, "train_labels"), (Xt, "test_images"), (yt, "test_labels")):
        np.testing.assert_array_equal(got, reference[split])


def test_one_changed_byte_fails_the_pins_in_every_layout(layouts, reference, tmp_path):
    pin = MNIST_FILES["test_labels"]
    good = (layouts["torchvision-raw"] / RAW["test_labels"]).read_bytes()
    changed = bytearray(good)
    changed[5000] = (changed[5000] + 1) % 10  # one label, still a valid IDX file
    raw, gz = tmp_path / RAW["test_labels"], tmp_path / pin.filename
    raw.write_bytes(bytes(changed))
    gz.write_bytes(gzip.compress(bytes(changed)))
    assert data.verify_file(layouts["torchvision-raw"] / RAW["test_labels"], pin)
    assert not data.verify_file(raw, pin) and not data.verify_file(gz, pin)
    # a folder with three good files and the changed one: located nowhere else, refused with the reason
    folder = tmp_path / "one-bad"
    folder.mkdir()
    for split, name in RAW.items():
        (folder / name).symlink_to(raw if split == "test_labels" else layouts["torchvision-raw"] / name)
    with pytest.raises(DatasetError, match="(?s)no genuine copy of t10k-labels-idx1-ubyte.gz .*checksum mismatch"):
        data.locate("mnist", path=folder, download_missing=False)
    labels = reference["test_labels"].copy()
    labels[5000] = (labels[5000] + 1) % 10
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=reference["train_images"], y_train=reference["train_labels"],
             x_test=reference["test_images"], y_test=labels)
    assert data.verify_file(npz, MNIST_FILES["test_images"]) and not data.verify_file(npz, pin)


def test_keras_cache_is_found_and_locate_says_where(layouts, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    (home / ".keras" / "datasets").mkdir(parents=True)
    (home / ".keras" / "datasets" / "mnist.npz").symlink_to(layouts["keras"])
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("NUMPYNN_DATA", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(data.sources, "download", lambda *a, **k: pytest.fail("downloaded despite Keras's copy"))
    assert main(["datasets", "locate", "mnist"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and all("mnist.npz" in line and "Keras-style .npz" in line and "verified" in line
                                 for line in out)
    (X, _), (Xt, _) = data.load("mnist")
    assert X.shape == (60000, 784) and Xt.shape == (10000, 784) and X.max() == 1.0


def test_datasets_verify_reports_the_torchvision_layout(layouts, capsys):
    assert main(["datasets", "verify", "mnist", "--path", str(layouts["torchvision-root"])]) == 0
    out = capsys.readouterr().out
    assert out.count("IDX, uncompressed in a torchvision raw folder") == 4 and out.count("  verified") == 4
    assert main(["datasets", "verify", "mnist", "--path", str(layouts["kaggle"])]) == 0
    assert capsys.readouterr().out.count("Kaggle's name") == 4
