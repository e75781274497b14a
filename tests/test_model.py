"""Sequential: dtypes, input safety, determinism, bad-input messages, summary, prediction."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import numpynn as nn


def small_model(dtype="float32", seed=0):
    return nn.Sequential([nn.Dense(4, 16, "relu"), nn.BatchNorm(), nn.Dropout(0.2), nn.Dense(16, 3)],
                         seed=seed, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_end_to_end(dtype, blobs):
    X, y = blobs
    model = small_model(dtype)
    model.fit(X, y, optimizer=nn.Adam(1e-2), epochs=2, batch_size=32, verbose=0)
    want = np.dtype(dtype)
    for key, p, g in model.parameters():
        assert p.dtype == want and g.dtype == want, key
    assert all(a.dtype == want for st in model.optimizer.state.values() for a in st.values())
    assert model.predict_proba(X).dtype == want
    assert model.predict_logits(X.astype(np.float64)).dtype == want  # inputs are cast to the model's dtype
    assert all(b.dtype == want for ly in model.layers for b in ly.buffers.values())


def test_callers_arrays_are_never_modified_and_odd_layouts_work(blobs):
    X, y = blobs
    X_before, y_before = X.copy(), y.copy()
    X.flags.writeable = False
    y.flags.writeable = False
    model = small_model()
    model.fit(X, y, epochs=1, batch_size=16, verbose=0, validation_split=0.2)
    model.predict(X)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    wide = np.zeros((150, 8), dtype=np.float32)
    wide[:, ::2] = X
    strided = wide[:, ::2]  # non-contiguous view
    fortran = np.asfortranarray(X)
    np.testing.assert_array_equal(model.predict_proba(strided), model.predict_proba(X))
    np.testing.assert_array_equal(model.predict_proba(fortran), model.predict_proba(X))
    model.fit(strided, y, epochs=1, verbose=0)


def test_same_seed_gives_bit_identical_training(blobs):
    X, y = blobs
    a, b = small_model(seed=3), small_model(seed=3)
    a.fit(X, y, epochs=3, batch_size=20, verbose=0)
    b.fit(X, y, epochs=3, batch_size=20, verbose=0)
    for (ka, pa, _), (_kb, pb, _) in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa, pb, err_msg=ka)
    c = small_model(seed=4)
    assert not np.array_equal(c.layers[0].params["W"], a.layers[0].params["W"])


TRAIN_IN_CHILD = """
import numpy as np, numpynn as nn, hashlib
rng = np.random.default_rng(0)
X = rng.standard_normal((200, 4)).astype(np.float32); y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
m = nn.Sequential([nn.Dense(4, 32, "relu"), nn.Dropout(0.1), nn.Dense(32, 3)], seed=11)
m.fit(X, y, epochs=3, batch_size=16, verbose=0)
print(hashlib.sha256(b"".join(p.tobytes() for _, p, _ in m.parameters())).hexdigest())
"""


def test_same_seed_is_bit_identical_across_processes():
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PATH": ""}
    runs = [subprocess.run([sys.executable, "-c", TRAIN_IN_CHILD], capture_output=True, text=True, env=env,
                           check=True).stdout.strip() for _ in range(2)]
    assert len(runs[0]) == 64 and runs[0] == runs[1]


@pytest.mark.parametrize("X, y, match", [
    (np.zeros((5, 3)), np.zeros(5, int), r"model expects X of shape \(n, 4\), got \(5, 3\)"),
    (np.zeros((5, 4)), np.array([0, 1, 2, 3, 0]), r"labels y must be in \[0, 2\].*got values from 0 to 3"),
    (np.zeros((5, 4)), np.array([0, -1, 2, 1, 0]), r"got values from -1 to 2"),
    (np.full((5, 4), np.nan), np.zeros(5, int), r"X contains 20 NaN value\(s\), the first at index \(0, 0\)"),
    (np.zeros((5, 4)), np.array([0, 1, np.inf, 1, 0]), r"y contains 1 inf"),
    (np.zeros((0, 4)), np.zeros(0, int), r"X is empty"),
    (np.zeros((5, 4)), np.zeros(4, int), r"same number of samples, got 5 and 4"),
    (np.zeros((5, 4)), np.array([0.5, 1, 2, 1, 0]), r"whole numbers"),
    (np.array([["a"] * 4] * 5), np.zeros(5, int), r"numeric"),
])
def test_bad_input_messages_say_what_was_expected(X, y, match):
    with pytest.raises(nn.NumpynnError, match=match):
        small_model().fit(X, y, epochs=1, verbose=0)


def test_layer_shape_error_names_the_layer():
    with pytest.raises(nn.ShapeError, match=r"Dense\(784\u2192128\) expected input \(batch, 784\), got \(32, 28, 28\)"):
        nn.Dense(784, 128).forward(np.zeros((32, 28, 28), np.float32))
    with pytest.raises(nn.NumpynnError, match="backward\\(\\) called without a forward"):
        nn.Sequential([nn.Dense(2, 2)]).layers[0].backward(np.zeros((1, 2), np.float32))
    with pytest.raises(nn.ShapeError, match="single sample"):
        nn.Sequential([nn.Dense(4, 2)]).predict(np.zeros(4))


def test_huge_learning_rate_stops_with_an_error_naming_the_step(blobs, tmp_path):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 64, "relu"), nn.Dense(64, 64, "relu"), nn.Dense(64, 3)], seed=0)
    path = tmp_path / "model.safetensors"
    with np.errstate(all="ignore"), pytest.raises(nn.TrainingDivergedError, match=r"diverged at step \d+ \(epoch 1"):
        model.fit(X * 100, y, optimizer=nn.SGD(1e6), epochs=5, batch_size=16, verbose=0,
                  callbacks=[nn.ModelCheckpoint(path)])
    assert not path.exists()
    with np.errstate(all="ignore"), pytest.raises(nn.NumpynnError, match="refusing to save"):
        model.layers[0].params["W"][0, 0] = np.nan
        model.save(path)
    assert not path.exists()


def test_summary_lists_layers_shapes_params_and_flops():
    model = nn.Sequential([nn.Flatten((28, 28)), nn.Dense(784, 128, "relu"), nn.Dense(128, 10)])
    text = model.summary(print_fn=None)
    assert "Dense(784\u2192128, relu)" in text and "(batch, 784)" in text and "(batch, 10)" in text
    assert f"{784 * 128 + 128:,}" in text and "parameters: 101,770" in text
    assert f"{2 * 784 * 128 + 2 * 128:,}" in text


def test_predict_and_predict_proba_shapes(blobs):
    X, y = blobs
    model = small_model()
    model.fit(X, y, epochs=5, batch_size=16, verbose=0, optimizer=nn.Adam(1e-2))
    proba = model.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(1))
    assert model.evaluate(X, y)["accuracy"] > 0.9
    binary = nn.Sequential([nn.Dense(4, 8, "tanh"), nn.Dense(8, 1)], seed=0)
    binary.fit(X, (y == 0).astype(int), epochs=20, verbose=0, optimizer=nn.Adam(1e-2))
    p2 = binary.predict_proba(X)
    assert p2.shape == (150, 2) and np.allclose(p2.sum(1), 1)
    assert binary.evaluate(X, (y == 0).astype(int))["accuracy"] > 0.9


def test_parameters_live_in_one_vector_and_the_optimizer_steps_it_whole(blobs):
    X, y = blobs
    model = small_model()
    flat = model.flat
    for key, p, g in model.parameters():
        assert np.shares_memory(p, flat.values) and np.shares_memory(g, flat.grads), key
        assert p.ctypes.data % 64 == 0 and g.ctypes.data % 64 == 0, key  # each tensor starts a cache line
    n = model.n_params()
    assert n == sum(p.size for _, p, _ in model.parameters()) and n <= flat.values.size < n + 16 * len(flat)
    model.fit(X, y, epochs=1, verbose=0)
    used = np.zeros(flat.values.size, bool)
    for i in range(len(flat)):
        flat.view(used, i)[...] = True
    assert not flat.values[~used].any() and not flat.grads[~used].any()  # the padding between tensors stays 0
    opt = model.optimizer
    assert set(opt.state) == {k for k, _, _ in model.parameters()}
    for key, st in opt.state.items():  # per-tensor state are views into whole vectors, as checkpoints name them
        assert all(np.shares_memory(a, opt._flat[n]) for n, a in st.items()), key
    # stepping tensor by tensor gives the same numbers as stepping the vector
    a, b = small_model(seed=5), small_model(seed=5)
    for m in (a, b):
        m.set_loss("cross_entropy")
        m.forward(X[:32], training=True)
    oa, ob = nn.Adam(1e-2), nn.Adam(1e-2)
    for _ in range(3):
        for m, opt, use_vector in ((a, oa, True), (b, ob, False)):
            _, d = m.loss(m.forward(X[:32], training=True), y[:32])
            m.backward(d)
            opt.step(m.flat if use_vector else list(m.parameters()))
    np.testing.assert_array_equal(a.flat.values, b.flat.values)


def test_pickled_models_keep_training_identically(blobs):
    import pickle

    X, y = blobs
    a = small_model(seed=8)
    a.fit(X, y, epochs=2, batch_size=16, verbose=0)
    b = pickle.loads(pickle.dumps(a))  # scikit-learn and joblib pickle fitted estimators
    for key, p, _ in b.parameters():
        assert np.shares_memory(p, b.flat.values), key
    a.fit(X, y, epochs=2, batch_size=16, verbose=0)
    b.fit(X, y, epochs=2, batch_size=16, verbose=0)
    np.testing.assert_array_equal(a.flat.values, b.flat.values)


def test_all_finite_without_large_temporaries():
    from numpynn.validation import all_finite

    big = np.zeros((300, 100), np.float32)
    assert all_finite(big)
    big[123, 45] = np.nan
    assert not all_finite(big)
    big[123, 45] = -np.inf
    assert not all_finite(big)
    huge = np.full((100, 100), 1e308)  # finite float64 values whose sum overflows
    assert all_finite(huge)
    huge[7, 7] = np.inf
    assert not all_finite(huge)
    assert all_finite(np.arange(10))


CORE_ONLY = """
import sys, tempfile, os
import numpy as np, numpynn as nn
X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
m = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 2)], seed=0)
m.fit(X, y, epochs=2, verbose=1)
path = os.path.join(tempfile.mkdtemp(), "m.safetensors"); m.save(path); nn.load(path).predict(X)
nn.datasets.load("mnist-sample")
heavy = sorted(k for k in ("matplotlib", "tqdm", "sklearn", "scipy", "pandas", "torch", "dask", "PIL", "threadpoolctl")
               if k in sys.modules)
print("optional modules loaded:", heavy)
"""


def test_the_core_needs_only_numpy_and_safetensors():
    r = subprocess.run([sys.executable, "-c", CORE_ONLY], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "optional modules loaded: []" in r.stdout


def test_build_mlp_input_dropout_drops_pixels_in_training_only(tmp_path):
    from numpynn.mlp import build_mlp

    model = build_mlp(6, [5], 3, input_dropout=0.5, dropout=0.2, seed=0)
    assert [type(ly).__name__ for ly in model.layers] == ["Dropout", "Dense", "Dropout", "Dense"]
    assert model.input_shape == (6,)
    x = np.ones((200, 6), np.float32)
    dropped = model.layers[0].forward(x, training=True)
    assert 0.35 < float(np.mean(dropped == 0)) < 0.65 and set(np.unique(dropped)) == {0.0, 2.0}
    np.testing.assert_array_equal(model.layers[0].forward(x), x)
    with pytest.raises(nn.ShapeError, match=r"\(n, 6\)"):
        model.predict(np.ones((2, 5), np.float32))
    model.fit(np.random.default_rng(0).random((30, 6), dtype=np.float32), np.arange(30) % 3, epochs=2, verbose=0)
    model.save(tmp_path / "m.safetensors")
    assert [type(ly).__name__ for ly in nn.load(tmp_path / "m.safetensors").layers][0] == "Dropout"
