"""A Dense layer followed by an activation layer runs as one step: the model written the ordinary way
(`Dense(784, 256), ReLU()`) trains and predicts as `Dense(784, 256, "relu")` does."""

from __future__ import annotations

import numpy as np
import pytest

import numpynn as nn


def _pair(acts, sizes=(6, 9, 7, 4), dtype="float32", seed=3):
    """The same network written with separate activation layers and with Dense(..., activation); the same
    initializer is named, so both draw the same weights."""
    separate, fused = [], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        act = acts[i] if i < len(acts) else None
        separate.append(nn.Dense(a, b, init="he_normal"))
        if act is not None:
            separate.append(nn.layers.ACTIVATION_LAYERS[act]())
        fused.append(nn.Dense(a, b, act, init="he_normal"))
    return (nn.Sequential(separate, seed=seed, dtype=dtype), nn.Sequential(fused, seed=seed, dtype=dtype))


def test_the_readme_model_runs_as_three_fused_steps():
    model = nn.Sequential([nn.Dense(784, 256), nn.ReLU(), nn.Dense(256, 128), nn.ReLU(), nn.Dense(128, 10)])
    assert model.steps == (model.layers[0], model.layers[2], model.layers[4])
    assert [ly.applied.name if ly.applied else None for ly in model.steps] == ["relu", "relu", None]
    assert [k for k, _, _ in model.parameters()] == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]  # keys as written


@pytest.mark.parametrize("acts", [["relu", "relu"], ["tanh", "sigmoid"], ["leaky_relu", "elu"], ["gelu", "relu"]])
def test_separate_activation_layers_train_bit_identically_to_fused_ones(acts, rng):
    separate, fused = _pair(acts)
    X, y = rng.standard_normal((60, 6)).astype(np.float32), rng.integers(0, 4, 60)
    for model in (separate, fused):
        model.fit(X, y, optimizer=nn.Adam(1e-2), epochs=3, batch_size=16, verbose=0)
    keys = {"0.W": "0.W", "2.W": "1.W", "4.W": "2.W", "4.b": "2.b"}
    for s_key, f_key in keys.items():
        np.testing.assert_array_equal(separate.get_weights()[s_key], fused.get_weights()[f_key], err_msg=s_key)
    assert separate.history.batch_loss == fused.history.batch_loss
    np.testing.assert_array_equal(separate.predict_proba(X[:1]), fused.predict_proba(X[:1]))
    np.testing.assert_array_equal(separate.predict_proba(X), fused.predict_proba(X))


def test_the_readme_model_takes_the_same_one_row_prediction_path(engine, rng):
    separate, fused = _pair(["relu", "relu"])
    X = rng.standard_normal((5, 6)).astype(np.float32)
    handled = [hasattr(m._predictor, "buffers") for m in (separate, fused)]
    assert handled == [engine == "c"] * 2  # the NumPy engine has no few-row loop: both take the layers' path
    np.testing.assert_array_equal(separate.predict_proba(X[:1]), fused.predict_proba(X[:1]))


def test_activation_layers_that_cannot_be_fused_still_run(rng):
    X = rng.standard_normal((20, 5)).astype(np.float32)
    cases = [
        [nn.Dense(5, 4, "tanh"), nn.ReLU(), nn.Dense(4, 3)],  # the Dense has its own activation: both apply
        [nn.Dense(5, 4), nn.BatchNorm(), nn.ReLU(), nn.Dense(4, 3)],  # after BatchNorm: a step of its own
        [nn.ReLU(), nn.Dense(5, 4), nn.Identity(), nn.Dense(4, 3)],  # first: nothing to fuse into
    ]
    for layers in cases:
        model = nn.Sequential(layers, seed=0)
        h = X
        for layer in layers:  # the layers one after another, as written
            h = layer.forward(h)
        np.testing.assert_allclose(model.predict_logits(X), h, rtol=1e-6, atol=1e-6)
    assert len(nn.Sequential(cases[0]).steps) == 3 and len(nn.Sequential(cases[2]).steps) == 3


def test_the_loss_still_takes_a_last_softmax_or_sigmoid_layer():
    model = nn.Sequential([nn.Dense(4, 8), nn.ReLU(), nn.Dense(8, 3), nn.Softmax()])
    model.set_loss("cross_entropy")
    assert model.steps == (model.layers[0], model.layers[2]) and model.layers[2].applied is None
    model.set_loss("mse")  # no loss takes the softmax in: it runs inside the last Dense
    assert model.steps == (model.layers[0], model.layers[2]) and model.layers[2].applied.name == "softmax"
    binary = nn.Sequential([nn.Dense(4, 8), nn.Tanh(), nn.Dense(8, 1), nn.Sigmoid()])
    assert binary.loss.name == "binary_cross_entropy" and binary.layers[2].applied is None


@pytest.mark.parametrize("acts", [["relu", "tanh"], ["sigmoid", "elu"]])
def test_gradients_of_the_fused_model_are_right(acts, rng):
    separate, _ = _pair(acts, dtype="float64")
    X = rng.standard_normal((7, 6))
    result = nn.gradcheck(separate, X, rng.integers(0, 4, 7), max_per_tensor=None)
    assert result.ok, result


def test_a_saved_readme_model_loads_with_its_layers_as_written(tmp_path, rng):
    model = nn.Sequential([nn.Dense(6, 5), nn.LeakyReLU(0.2), nn.Dense(5, 3)], seed=1)
    X = rng.standard_normal((4, 6)).astype(np.float32)
    model.save(tmp_path / "m.safetensors")
    loaded = nn.load(tmp_path / "m.safetensors")
    assert [type(ly).__name__ for ly in loaded.layers] == ["Dense", "LeakyReLU", "Dense"]
    assert loaded.layers[0].applied == nn.ops.Activation("leaky_relu", 0.2)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_build_mlp_is_part_of_the_api():
    model = nn.build_mlp(784, [256, 128], 10)
    assert [ly.describe() for ly in model.steps] == ["Dense(784\u2192256, relu)", "Dense(256\u2192128, relu)",
                                                     "Dense(128\u219210)"]
