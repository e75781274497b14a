"""Shared fixtures: every test runs once per engine (numpynn.ops), a seeded Generator and tiny datasets that train
in milliseconds."""

from __future__ import annotations

import os

# scikit-learn's array-API estimator check needs SciPy's array-API mode, set before SciPy is first imported;
# without it that check is skipped rather than run
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from numpynn import ops  # noqa: E402

ENGINES = ("numpy", "c")


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request, monkeypatch) -> str:
    """The engine this run of the test uses: chosen for this process and, through NUMPYNN_KERNELS, for any
    numpynn process the test starts."""
    name = request.param
    if name == "c":
        try:
            import numpynn.ops._fused  # noqa: F401
        except ImportError:
            pytest.skip("numpynn's C extension is not built here")
    monkeypatch.setenv("NUMPYNN_KERNELS", name)
    ops.use(name)
    yield name
    monkeypatch.undo()
    ops.use(None)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def blobs(rng):
    """Three well-separated Gaussian classes in 4 dimensions: (X, y) float32/int64, 150 samples."""
    centers = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype=np.float32)
    y = np.repeat(np.arange(3), 50)
    X = (centers[y] + 0.5 * rng.standard_normal((150, 4))).astype(np.float32)
    perm = rng.permutation(150)
    return X[perm], y[perm]


@pytest.fixture
def xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    return X, y


@pytest.fixture
def tiny_npz(tmp_path):
    """A Keras-style .npz with 600 training and 200 test digits from the bundled sample."""
    from numpynn import data

    (X, y), (Xt, yt) = data.load_raw("mnist-sample")
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=X[:600], y_train=y[:600], x_test=Xt[:200], y_test=yt[:200])
    return path
