"""Named datasets, verified downloads from a real local HTTP server, npz/CSV formats, transforms."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

import numpynn as nn
from numpynn import data
from numpynn.errors import DatasetError
from tests.http_server import FileServer

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets an empty cache folder of its own."""
    monkeypatch.setenv("NUMPYNN_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_bundled_sample_shapes_counts_and_checksums():
    (X, y), (Xt, yt) = data.load("mnist-sample")
    assert X.shape == (8000, 784) and Xt.shape == (2000, 784) and X.dtype == np.float32
    assert y.dtype == np.int64 and 0.0 == X.min() and X.max() == 1.0
    counts = np.bincount(np.concatenate([y, yt]), minlength=10)
    assert counts.tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    (Xr, _), _ = data.load_raw("mnist-sample")
    assert Xr.shape == (8000, 28, 28) and Xr.dtype == np.uint8
    (Xi, _), _ = data.load("mnist-sample", flatten=False)
    assert Xi.shape == (8000, 28, 28)
    bundled = Path(data.__file__).parent / "bundled"
    assert hashlib.sha256((bundled / "images-idx3-ubyte.gz").read_bytes()).hexdigest().startswith("9ce84875")
    assert "CC BY-SA 3.0" in (bundled / "README.md").read_text()  # attribution ships with the data
    (Xs, _), _ = data.load("mnist-sample", normalize="standardize")
    assert abs(float(Xs.mean())) < 1e-3 and abs(float(Xs.std()) - 1) < 1e-3


def _fake_dataset(tmp_path, name="tiny", n_train=30, n_test=10, seed=0):
    """Write a small MNIST-shaped IDX set and register it with pins computed from the written files."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / f"src-{name}"
    folder.mkdir()
    arrays = {"train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
              "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, n_test).astype(np.uint8)}
    files = {}
    for split, pin in data.registry.MNIST_FILES.items():
        filename = pin.filename
        data.write_idx(folder / filename, arrays[split])
        files[split] = data.DataFile(filename, data.sha256_file(folder / filename))
    spec = data.register(data.DatasetSpec(name, files, class_names=tuple("0123456789")), replace=True)
    return spec, folder, arrays


def serve(server, spec, folder, prefix):
    """Put a dataset's files on the local server under `prefix`."""
    for f in spec.files.values():
        server.files[f"{prefix}{f.filename}"] = (folder / f.filename).read_bytes()


def test_download_success_then_cached(tmp_path, isolated_cache):
    spec, folder, arrays = _fake_dataset(tmp_path)
    logs = []
    with FileServer() as server:
        serve(server, spec, folder, "/m/")
        (X, y), (Xt, yt) = data.load("tiny", mirrors=[server.url("/m/")], log=logs.append, normalize=None,
                                     flatten=False)
        assert len(server.requests) == 4 and sum("downloading" in line for line in logs) == 4
        assert sum("sha256 verified" in line for line in logs) == 4
        np.testing.assert_array_equal(X, arrays["train_images"])
        np.testing.assert_array_equal(yt, arrays["test_labels"])
        data.load("tiny", mirrors=[server.url("/m/")])
        assert len(server.requests) == 4  # the second load came from the verified cache
    assert sorted(p.name for p in (isolated_cache / "tiny").iterdir()) == sorted(
        f.filename for f in spec.files.values())


def test_404_on_first_mirror_falls_back_to_second(tmp_path):
    spec, folder, _ = _fake_dataset(tmp_path)
    with FileServer() as server:
        serve(server, spec, folder, "/second/")
        data.load("tiny", mirrors=[server.url("/first/"), server.url("/second/")])
        assert [r.split("/")[1] for r in server.requests] == ["first", "second"] * 4


def test_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path, isolated_cache):
    spec, folder, _ = _fake_dataset(tmp_path)
    with FileServer() as server:
        for f in spec.files.values():
            server.files[f"/m/{f.filename}"] = b"\x1f\x8b tampered" + (folder / f.filename).read_bytes()
        with pytest.raises(DatasetError, match="checksum mismatch: got sha256"):
            data.load("tiny", mirrors=[server.url("/m/")])
    assert list((isolated_cache / "tiny").iterdir()) == []  # no partial or bad file kept


def test_server_closing_midway_retries_then_fails_cleanly(tmp_path, isolated_cache):
    spec, folder, _ = _fake_dataset(tmp_path)
    first = spec.files["train_images"].filename
    with FileServer() as server:
        serve(server, spec, folder, "/m/")
        server.modes[f"/m/{first}"] = "close-midway"
        with pytest.raises(DatasetError, match=f"could not download {first}"):
            data.locate("tiny", mirrors=[server.url("/m/")])
        assert server.requests.count(f"/m/{first}") == 3  # first try + 2 retries
    assert list((isolated_cache / "tiny").iterdir()) == []


def test_good_cache_is_never_overwritten_by_a_bad_download(tmp_path, isolated_cache):
    spec, folder, _ = _fake_dataset(tmp_path)
    name = spec.files["train_labels"].filename
    with FileServer() as server:
        serve(server, spec, folder, "/m/")
        data.locate("tiny", mirrors=[server.url("/m/")])
        good = (isolated_cache / "tiny" / name).read_bytes()
        # the cached copy is damaged; the mirror now serves a bad file too: the refetch fails, nothing is replaced
        (isolated_cache / "tiny" / name).write_bytes(good[:-3] + b"xyz")
        server.files[f"/m/{name}"] = b"bad"
        with pytest.raises(DatasetError, match="checksum mismatch"):
            data.locate("tiny", mirrors=[server.url("/m/")])
        assert (isolated_cache / "tiny" / name).read_bytes() == good[:-3] + b"xyz"
        # once the mirror is good again, the damaged cache file is fetched again and replaced
        server.files[f"/m/{name}"] = good
        data.locate("tiny", mirrors=[server.url("/m/")])
        assert (isolated_cache / "tiny" / name).read_bytes() == good


def test_offline_error_names_missing_files_place_and_source(tmp_path):
    _fake_dataset(tmp_path)
    with pytest.raises(DatasetError) as info:
        data.load("tiny", download_missing=False)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and str(tmp_path / "cache" / "tiny") in message
    assert "NUMPYNN_DATA" in message
    fashion = dataclasses.replace(data.get_spec("fashion-mnist"), name="fashion-elsewhere",
                                  system_dirs=(str(tmp_path / "not-installed"),))
    data.register(fashion, replace=True)
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist.*fashion-mnist.s3-website"):
        data.locate("fashion-elsewhere", download_missing=False)


def test_images_and_labels_of_different_lengths_or_out_of_range(tmp_path):
    spec, folder, arrays = _fake_dataset(tmp_path)
    labels = folder / spec.files["train_labels"].filename
    data.write_idx(labels, arrays["train_labels"][:-1])
    with pytest.raises(DatasetError, match="has 30 images but train-labels-idx1-ubyte.gz has 29 labels"):
        data.load_raw(folder)
    data.write_idx(labels, np.full(30, 12, np.uint8))
    spec2 = data.register(data.DatasetSpec("tiny2", {k: data.DataFile(v.filename) for k, v in spec.files.items()},
                                           class_names=tuple("0123456789")), replace=True)
    with pytest.raises(DatasetError, match="labels must be in 0..9, got values from 12 to 12"):
        data.load(spec2.name, path=folder)


def test_unknown_dataset_name():
    with pytest.raises(DatasetError, match="unknown dataset 'mnistt'.*mnist-sample"):
        data.load("mnistt")


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_without_download(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("tried to download although Debian's copy is installed")

    monkeypatch.setattr(data.sources, "download", no_network)
    (X, y), (Xt, yt) = data.load("fashion-mnist")
    assert X.shape == (60000, 784) and Xt.shape == (10000, 784)
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(yt).tolist() == [1000] * 10


def test_keras_npz_and_its_checks(tmp_path):
    (X, y), (Xt, yt) = data.load_raw("mnist-sample")
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=X, y_train=y, x_test=Xt, y_test=yt)
    (a, b), (c, d) = data.load(path)
    assert a.shape == (8000, 784) and d.shape == (2000,)
    np.savez(tmp_path / "bad.npz", x_train=X, y_train=y)
    with pytest.raises(DatasetError, match=r"expected arrays x_train, y_train, x_test, y_test .*the file has "
                                           r"\['x_train', 'y_train'\]"):
        data.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "obj.npz", x_train=np.array([{"a": 1}], dtype=object), y_train=y, x_test=Xt, y_test=yt)
    with pytest.raises(DatasetError, match="never unpickles"):
        data.load(tmp_path / "obj.npz")
    np.savez(tmp_path / "float.npz", x_train=X.astype(np.float32), y_train=y, x_test=Xt, y_test=yt)
    with pytest.raises(DatasetError, match="x_train must be uint8 images"):
        data.load(tmp_path / "float.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DatasetError, match="not a readable .npz"):
        data.load(tmp_path / "junk.npz")


def test_openml_csv_and_kaggle_csv(tmp_path):
    (X, y), (Xt, yt) = data.load_raw("mnist-sample")
    flat = np.concatenate([X, Xt]).reshape(10000, 784)
    labels = np.concatenate([y, yt])
    header = ",".join(f'"pixel{i}"' for i in range(1, 785)) + ',"class"'
    rows = np.column_stack([flat, labels])
    path = tmp_path / "mnist_784.csv"
    np.savetxt(path, rows, fmt="%d", delimiter=",", header=header, comments="")
    (a, b), (c, d) = data.load(path, normalize=None)
    assert a.shape == (8571, 784) and c.shape == (1429, 784)  # fewer than 70,000 rows: split 6:1
    np.testing.assert_array_equal(np.concatenate([a, c]), flat)
    np.testing.assert_array_equal(np.concatenate([b, d]), labels)
    kaggle = tmp_path / "train.csv"
    np.savetxt(kaggle, np.column_stack([labels[:50], flat[:50]]), fmt="%d", delimiter=",",
               header="label," + ",".join(f"pixel{i}" for i in range(784)), comments="")
    Xk, yk = data.load_csv(kaggle)
    np.testing.assert_array_equal(yk, labels[:50])
    np.testing.assert_array_equal(Xk, flat[:50])


def test_generic_csv_with_floats_and_ragged_rows(tmp_path):
    path = tmp_path / "own.csv"
    path.write_text("a,b,target\n0.5,-1e-3,1\n2.25,3,0\n")
    X, y = data.load_csv(path)
    np.testing.assert_allclose(X, [[0.5, -1e-3], [2.25, 3]])
    np.testing.assert_array_equal(y, [1, 0])
    path.write_text("1,2,3\n4,5\n6,7,8\n")
    with pytest.raises(DatasetError, match="row 2 has 2 fields, expected 3"):
        data.load_csv(path)
    path.write_text("1,2,x\n")
    with pytest.raises(DatasetError, match="no data rows"):
        data.load_csv(path)


def test_transforms(rng):
    y = np.array([0, 2, 1, 2])
    np.testing.assert_array_equal(data.one_hot(y), np.eye(3)[y])
    with pytest.raises(nn.DataError, match=r"labels must be in \[0, 1\]"):
        data.one_hot(y, 2)
    X = rng.standard_normal((100, 3)) * 5 + 2
    Z, mean, std = data.standardize(X, per_feature=True)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(0), 1, atol=1e-5)
    labels = np.repeat([0, 1], [80, 20])
    (Xa, ya), (Xb, yb) = data.train_val_split(np.arange(100), labels, 0.25, seed=1)
    assert len(Xb) == 25 and np.bincount(yb).tolist() == [20, 5]
    assert sorted(np.concatenate([Xa, Xb]).tolist()) == list(range(100))
    assert data.scale_to_unit(np.array([[0, 255]], np.uint8)).tolist() == [[0.0, 1.0]]


def test_augmenter_is_seeded_keeps_shape_and_moves_ink():
    (X, _), _ = data.load("mnist-sample")
    batch = X[:64].copy()
    aug = data.Augmenter(shift=3, rotate=15, elastic_alpha=6, noise=0.02)
    a = aug(batch, np.random.default_rng(5))
    b = aug(batch, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.shape == batch.shape and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(batch, X[:64])  # the input is not modified
    assert np.abs(a - batch).mean() > 0.02
    identity = data.Augmenter(shift=0, rotate=0)  # no transform: bilinear sampling on the grid is exact
    np.testing.assert_allclose(identity(batch, np.random.default_rng(0)), batch, atol=1e-6)
    with pytest.raises(ValueError, match="expects images of 28x28"):
        aug(np.zeros((2, 100), np.float32), np.random.default_rng(0))


def test_784_128_10_network_beats_96_percent_on_the_bundled_sample():
    (X, y), (Xt, yt) = data.load("mnist-sample")
    model = nn.Sequential([nn.Dense(784, 128, "relu"), nn.Dense(128, 10)], seed=0)
    steps = 40 * int(np.ceil(len(X) / 64))
    model.fit(X, y, optimizer=nn.Adam(nn.CosineDecay(2e-3, steps)), epochs=40, batch_size=64, verbose=0,
              augment=data.Augmenter(shift=2, rotate=10))
    accuracy = model.evaluate(Xt, yt)["accuracy"]
    assert accuracy > 0.96, accuracy


def test_sample_views_write_real_pngs(tmp_path):
    import matplotlib.image

    from numpynn import plots as views

    (X, y), _ = data.load_raw("mnist-sample")
    views.save_grid(tmp_path / "grid.png", X[:20], y[:20], predictions=np.where(np.arange(20) == 3, 0, y[:20]))
    views.save_pixels(tmp_path / "one.png", X[0], label=str(y[0]))
    for name, min_side in (("grid.png", 200), ("one.png", 300)):
        img = matplotlib.image.imread(tmp_path / name)
        assert min(img.shape[:2]) >= min_side and img.std() > 0.05, name
    table = views.pixel_table(X[0])
    np.testing.assert_array_equal([[int(v) for v in line.split()] for line in table.splitlines()], X[0])
    assert os.path.getsize(tmp_path / "grid.png") > 5000


def test_whole_pixel_shifts_and_flips():
    from numpynn.data.augment import shift_whole_pixels

    img = np.zeros((3, 5, 5), np.float32)
    img[:, 2, 2] = 1.0
    out = shift_whole_pixels(img, np.array([1, 0, -2]), np.array([0, -1, 2]))
    assert out[0, 3, 2] == out[1, 2, 1] == out[2, 0, 4] == 1.0 and out.sum() == 3
    (X, _), _ = data.load("mnist-sample")
    aug = data.Augmenter(shift=1, rotate=0, flip=1.0)
    flipped = aug(X[:8], np.random.default_rng(0)).reshape(8, 28, 28)
    unshifted = data.Augmenter(shift=0, rotate=0, flip=1.0)(X[:8], np.random.default_rng(0)).reshape(8, 28, 28)
    np.testing.assert_array_equal(unshifted, X[:8].reshape(8, 28, 28)[:, :, ::-1])
    assert np.isclose(flipped.sum(), X[:8].sum(), rtol=0.05)  # shifts move ink, they barely remove any
