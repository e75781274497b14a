"""PeriodicEmbedding (PLR): its output against the paper's formula, its gradients, its refusals, its model
files, and that it learns a periodic target a plain MLP on the raw column does not."""

from __future__ import annotations

import numpy as np
import pytest

import numpynn as nn
from numpynn.errors import ShapeError

N_IN, K, D = 3, 4, 5


def by_hand(layer: nn.PeriodicEmbedding, X: np.ndarray) -> np.ndarray:
    """The paper's formula in float64, feature by feature: relu([cos(2 pi c x), sin(2 pi c x)] @ W_j + b_j)."""
    c, W, b = (layer.params[n].astype(np.float64) for n in ("c", "W", "b"))
    parts = []
    for j in range(layer.n_features):
        z = 2 * np.pi * X[:, j, None].astype(np.float64) * c[j]
        v = np.concatenate([np.cos(z), np.sin(z)], axis=1)
        Wj, bj = (W, b) if layer.lite else (W[j], b[j])
        parts.append(np.maximum(v @ Wj + bj, 0))
    return np.concatenate(parts, axis=1)


def model(lite=False, dtype="float32", seed=0, sigma=1.0) -> nn.Sequential:
    return nn.Sequential([nn.PeriodicEmbedding(N_IN, k=K, d=D, sigma=sigma, lite=lite), nn.Dense(N_IN * D, 2)],
                         input_shape=(N_IN,), seed=seed, dtype=dtype)


def rows(n: int, seed: int = 0, dtype="float32") -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, N_IN)).astype(dtype)


@pytest.mark.parametrize("lite", [False, True], ids=["per-feature", "lite"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_output_is_the_papers_formula_in_the_models_dtype(lite, dtype):
    m = model(lite, dtype)
    layer, X = m.layers[0], rows(20, dtype=dtype)
    assert layer.output_shape == (N_IN * D,) and m.layers[1].in_features == N_IN * D
    shapes = {"c": (N_IN, K), "W": (2 * K, D) if lite else (N_IN, 2 * K, D), "b": (D,) if lite else (N_IN, D)}
    assert {n: p.shape for n, p in layer.params.items()} == shapes == layer.param_shapes()
    tol = 1e-6 if dtype == "float32" else 1e-13
    for y in (layer.infer(X), layer.forward(X, training=True)):
        assert y.dtype == np.dtype(dtype) and y.shape == (20, N_IN * D)
        np.testing.assert_allclose(y, by_hand(layer, X), rtol=tol, atol=tol)
    assert (layer.infer(X) == 0).any() and (layer.infer(X) > 0).any()  # the ReLU is there and not everything
    # the parameters are views into the model's one vector, as Dense's are
    assert np.shares_memory(layer.params["c"], m.flat.values) and np.shares_memory(layer.grads["W"], m.flat.grads)


@pytest.mark.parametrize("lite", [False, True], ids=["per-feature", "lite"])
def test_gradients_of_frequencies_weights_and_inputs_pass_the_float64_check(lite, rng):
    m = nn.Sequential([nn.PeriodicEmbedding(N_IN, k=K, d=D, sigma=0.5, lite=lite), nn.Dense(N_IN * D, 4, "tanh"),
                       nn.Dense(4, 3)], input_shape=(N_IN,), seed=4)
    X, y = rng.standard_normal((9, N_IN)), rng.integers(0, 3, 9)
    result = nn.gradcheck(m, X, y, max_per_tensor=None)
    assert result.ok, str(result)
    assert set(result.errors) == {"0.c", "0.W", "0.b", "1.W", "1.b", "2.W", "2.b", "input"}


def test_a_smaller_batch_after_a_larger_one_gets_its_own_gradients():
    m = model(dtype="float64")
    layer, X = m.layers[0], rows(30, dtype="float64")
    dy = np.random.default_rng(2).standard_normal((30, N_IN * D))
    layer.forward(X, training=True)
    layer.backward(dy)
    layer.forward(X[:4], training=True)
    dx_small = layer.backward(dy[:4]).copy()
    small = {n: g.copy() for n, g in layer.grads.items()}
    fresh = model(dtype="float64").layers[0]
    fresh.forward(X[:4], training=True)
    np.testing.assert_array_equal(fresh.backward(dy[:4]), dx_small)
    for n, g in fresh.grads.items():
        np.testing.assert_array_equal(g, small[n], err_msg=n)


def test_the_frequencies_start_normal_with_standard_deviation_sigma():
    layer = nn.Sequential([nn.PeriodicEmbedding(200, k=64, d=2, sigma=0.3)], input_shape=(200,), seed=1).layers[0]
    c = layer.params["c"]
    assert abs(float(c.std()) - 0.3) < 0.01 and abs(float(c.mean())) < 0.01
    limit = 1 / np.sqrt(2 * 64)
    assert np.abs(layer.params["W"]).max() <= limit and np.abs(layer.params["W"]).max() > 0.99 * limit


@pytest.mark.parametrize("kwargs, match", [
    ({"n_features": 0}, "n_features must be a positive integer"),
    ({"n_features": 2.0}, "n_features must be a positive integer"),
    ({"n_features": 3, "k": 0}, "k must be a positive integer"),
    ({"n_features": 3, "k": True}, "k must be a positive integer"),
    ({"n_features": 3, "d": -2}, "d must be a positive integer"),
    ({"n_features": 3, "sigma": 0.0}, "sigma must be a finite number > 0"),
    ({"n_features": 3, "sigma": float("nan")}, "sigma must be a finite number > 0"),
    ({"n_features": 3, "lite": "yes"}, "lite must be True or False"),
    ({"n_features": 2**16, "k": 2**10, "d": 2**10}, r"W would hold 65536 x 2048 x 1024 = .* at most 2,147,483,648"),
])
def test_the_constructor_refuses_what_builds_no_embedding(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.PeriodicEmbedding(**kwargs)


def test_building_and_calling_refuse_inputs_of_another_width():
    with pytest.raises(ShapeError, match=r"embeds 3 input columns, got per-sample shape \(4,\)"):
        nn.Sequential([nn.PeriodicEmbedding(3), nn.Dense(48, 1)], input_shape=(4,))
    with pytest.raises(ShapeError, match=r"Dense\(47\u21921\) cannot follow"):
        nn.Sequential([nn.PeriodicEmbedding(3), nn.Dense(47, 1)], input_shape=(3,))
    layer = model().layers[0]
    for bad in (np.zeros((4, 2), np.float32), np.zeros(3, np.float32)):
        with pytest.raises(ShapeError, match=r"expected a dense input array \(batch, 3\), got"):
            layer.infer(bad)
    layer.forward(rows(5), training=True)
    with pytest.raises(ShapeError, match=r"backward expected dy \(5, 15\), got \(5, 14\)"):
        layer.backward(np.zeros((5, 14), np.float32))


@pytest.mark.parametrize("lite", [False, True], ids=["per-feature", "lite"])
def test_a_model_file_round_trip_keeps_parameters_optimizer_state_and_predictions(lite, tmp_path):
    m = model(lite)
    X, y = rows(96), np.arange(96) % 2
    m.fit(X, y, epochs=2, batch_size=32, optimizer="adam", verbose=0)
    m.save(tmp_path / "m.safetensors")
    back = nn.load(tmp_path / "m.safetensors")
    assert isinstance(back.layers[0], nn.PeriodicEmbedding)
    assert back.layers[0].get_config() == m.layers[0].get_config() == {"n_features": N_IN, "k": K, "d": D,
                                                                       "sigma": 1.0, "lite": lite}
    for key, a in m.get_weights().items():
        np.testing.assert_array_equal(back.get_weights()[key], a, err_msg=key)
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    m.fit(X, y, epochs=1, batch_size=32, verbose=0)
    back.fit(X, y, epochs=1, batch_size=32, verbose=0)  # resumed: the same Adam moments and step
    np.testing.assert_array_equal(back.flat.values, m.flat.values)
    assert "PeriodicEmbedding(3\u219215, k=4" in m.summary(print_fn=None)


def test_it_learns_a_periodic_target_that_a_plain_mlp_of_the_raw_column_misses():
    """The class flips eight times over [-1, 1]: the frequencies find it, a small ReLU MLP of x does not."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (2000, 1)).astype(np.float32)
    y = (np.sin(2 * np.pi * 4 * x[:, 0]) > 0).astype(np.int64)
    accuracy = {}
    for name, first in (("plr", [nn.PeriodicEmbedding(1, k=16, d=16, sigma=2.0)]), ("plain", [])):
        m = nn.Sequential([*first, nn.Dense(16, "relu"), nn.Dense(2)], input_shape=(1,), seed=0)
        m.fit(x, y, epochs=20, batch_size=64, optimizer=nn.Adam(1e-2), verbose=0)
        accuracy[name] = m.evaluate(x, y)["accuracy"]
    assert accuracy["plr"] > 0.95 and accuracy["plain"] < 0.8, accuracy


def _exported_module(path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"plr_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("lite", [False, True], ids=["per-feature", "lite"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_onnxruntime_and_the_numpy_file_predict_what_numpynn_predicts(lite, dtype, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from numpynn.export import export_onnx, export_python

    m = nn.Sequential([nn.PeriodicEmbedding(N_IN, k=K, d=D, sigma=1.0, lite=lite), nn.Dense(8, "relu"),
                       nn.Dense(3)], input_shape=(N_IN,), seed=5, dtype=dtype)
    m.fit(rows(200, dtype=dtype), np.arange(200) % 3, epochs=2, optimizer="adam", verbose=0)
    path = export_onnx(m, tmp_path / "m.onnx")
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    py, _ = export_python(m, tmp_path / "m.py")
    module = _exported_module(py)
    for n in (1, 500):
        X = rows(n, seed=n, dtype=dtype) * 3  # frequencies times inputs well past one period
        want = m.predict_proba(X)
        proba, label = session.run(None, {"x": X})
        assert proba.dtype == np.dtype(dtype)
        np.testing.assert_allclose(proba, want, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(label, m.predict(X))
        np.testing.assert_allclose(module.predict_proba(X), want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(module.forward(X), m.predict_logits(X), rtol=1e-5, atol=1e-5)
    assert "x = periodic(x, " in py.read_text()


def test_a_regression_with_a_periodic_embedding_exports_its_values(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from numpynn.export import export_onnx

    m = nn.Sequential([nn.PeriodicEmbedding(N_IN, k=2, d=3), nn.Dense(1)], input_shape=(N_IN,), seed=1)
    m.set_loss("mse")
    X = rows(50)
    m.fit(X, X[:, :1] ** 2, epochs=1, verbose=0)
    session = ort.InferenceSession(str(export_onnx(m, tmp_path / "r.onnx")), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": X})[0], m.predict(X), rtol=1e-5, atol=1e-5)


def test_build_mlp_puts_the_periodic_embedding_first_and_sizes_the_first_dense():
    m = nn.build_mlp(N_IN, [8], 2, input_dropout=0.1, numeric_embedding={"k": 16, "d": 6, "sigma": 0.1})
    assert [type(ly).__name__ for ly in m.layers] == ["PeriodicEmbedding", "Dropout", "Dense", "Dense"]
    assert m.layers[0].get_config() == {"n_features": N_IN, "k": 16, "d": 6, "sigma": 0.1, "lite": False}
    assert m.layers[2].in_features == N_IN * 6 and m.input_shape == (N_IN,)
    m.fit(rows(64), np.arange(64) % 2, epochs=1, verbose=0)
    assert nn.build_mlp(N_IN, [8], 2, numeric_embedding={"lite": True}).layers[0].params["W"].shape == (32, 16)
    for bad in ({"k": 4, "freqs": 2}, [16], "plr"):
        with pytest.raises(ValueError, match="numeric_embedding must be None or a dict of some of the keys"):
            nn.build_mlp(N_IN, [8], 2, numeric_embedding=bad)
    with pytest.raises(ValueError, match="give embedding or numeric_embedding, not both"):
        nn.build_mlp(N_IN, [8], 2, numeric_embedding={}, embedding={"columns": [0], "cardinalities": [3],
                                                                     "dims": [2]})
