"""Saliency: model.input_gradients is the gradient of a class's logit with respect to the input."""

from __future__ import annotations

import numpy as np
import pytest

import numpynn as nn


def finite_difference(model, X, classes, eps=1e-6):
    g = np.zeros_like(X)
    rows = np.arange(len(X))
    for j in range(X.shape[1]):
        up, down = X.copy(), X.copy()
        up[:, j] += eps
        down[:, j] -= eps
        g[:, j] = (model.predict_logits(up)[rows, classes] - model.predict_logits(down)[rows, classes]) / (2 * eps)
    return g


@pytest.mark.parametrize("layers", [
    lambda: [nn.Dense(6, 8, "tanh"), nn.Dense(8, 5, "relu"), nn.Dense(5, 3)],
    lambda: [nn.Dense(6, 8), nn.ReLU(), nn.Dropout(0.3), nn.Dense(8, 8), nn.BatchNorm(), nn.Sigmoid(), nn.Dense(8, 3)],
    lambda: [nn.Dense(6, 8, "gelu"), nn.Dense(8, 3), nn.Softmax()],
], ids=["fused", "dropout-batchnorm", "softmax-layer"])
def test_input_gradients_match_finite_differences(layers, rng):
    model = nn.Sequential(layers(), seed=2).astype("float64")
    X = rng.standard_normal((7, 6))
    model.fit(X, rng.integers(0, 3, 7), epochs=2, batch_size=4, verbose=0)  # BatchNorm gets running statistics
    classes = rng.integers(0, 3, 7)
    got = model.input_gradients(X, classes)
    np.testing.assert_allclose(got, finite_difference(model, X, classes), rtol=1e-5, atol=1e-7)
    one = model.input_gradients(X, 1)  # one class for every row
    np.testing.assert_allclose(one, finite_difference(model, X, np.ones(7, int)), rtol=1e-5, atol=1e-7)


def test_the_model_is_unchanged_and_its_gradients_kept(rng):
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dropout(0.5), nn.Dense(8, 3)], seed=0)
    X = rng.standard_normal((16, 4)).astype(np.float32)
    model.fit(X, rng.integers(0, 3, 16), epochs=1, batch_size=16, verbose=0)
    grads, weights, state = model.flat.grads.copy(), model.get_weights(), model.rng.bit_generator.state
    before = model.predict_proba(X)
    g = model.input_gradients(X, 0)
    assert g.shape == X.shape and g.dtype == np.float32 and np.abs(g).sum() > 0
    np.testing.assert_array_equal(model.flat.grads, grads)
    assert model.rng.bit_generator.state == state and all(
        np.array_equal(w, weights[k]) for k, w in model.get_weights().items())
    np.testing.assert_array_equal(model.predict_proba(X), before)
    np.testing.assert_array_equal(model.input_gradients(X, 0), g)  # dropout is off: the same every time
    # training still skips the first layer's dL/dx afterwards and still learns
    model.fit(X, rng.integers(0, 3, 16), epochs=1, batch_size=16, verbose=0)
    assert model.layers[0].needs_input_grad is False


def test_bad_class_indices_get_clear_errors(rng):
    model = nn.Sequential([nn.Dense(4, 3)], seed=0)
    X = rng.standard_normal((5, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"class_index must be in \[0, 3\)"):
        model.input_gradients(X, 3)
    with pytest.raises(ValueError, match="5 integers"):
        model.input_gradients(X, [0, 1])
    with pytest.raises(ValueError, match="integer"):
        model.input_gradients(X, 0.5)
    with pytest.raises(nn.ShapeError):
        model.input_gradients(rng.standard_normal((5, 3)), 0)
