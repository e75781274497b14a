"""Losses: values against direct formulas, and numerics at extreme logits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import numpynn as nn
from numpynn.ops.activations import sigmoid


def test_cross_entropy_matches_the_formula(rng):
    z = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    loss, grad = nn.CrossEntropy()(z, y)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(5), y])), rel=1e-12)
    np.testing.assert_allclose(grad, (p - np.eye(4)[y]) / 5, rtol=1e-12)


def test_one_hot_targets_equal_integer_labels(rng):
    z, y = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    for eps in (0.0, 0.2):
        a = nn.CrossEntropy(eps)(z, y)
        b = nn.CrossEntropy(eps)(z, np.eye(3)[y])
        assert a[0] == pytest.approx(b[0], rel=1e-12)
        np.testing.assert_allclose(a[1], b[1], atol=1e-15)


def test_label_smoothing_target_distribution(rng):
    z, y = rng.standard_normal((4, 5)), rng.integers(0, 5, 4)
    t = np.full((4, 5), 0.1 / 5)
    t[np.arange(4), y] += 0.9
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    loss, _ = nn.CrossEntropy(0.1)(z, y)
    assert loss == pytest.approx(-np.mean((t * np.log(p)).sum(1)), rel=1e-12)


def test_binary_cross_entropy_and_mse_match_formulas(rng):
    z, t = rng.standard_normal((7, 1)), rng.integers(0, 2, 7)
    p = 1 / (1 + np.exp(-z[:, 0]))
    loss, grad = nn.BinaryCrossEntropy()(z, t)
    assert loss == pytest.approx(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)), rel=1e-12)
    np.testing.assert_allclose(grad[:, 0], (p - t) / 7, rtol=1e-12)
    pred, target = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    loss, grad = nn.MeanSquaredError()(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2))
    np.testing.assert_allclose(grad, 2 * (pred - target) / 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_give_finite_loss_and_gradients(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]], dtype=dtype)
    y = np.array([1, 1])
    with np.errstate(all="raise"):
        loss, grad = nn.CrossEntropy()(z, y)
        assert np.isfinite(loss) and np.isfinite(grad).all()
        assert loss == pytest.approx(1e4, rel=1e-6)  # first row is 2e4 nats wrong, second is right
        zb = np.array([[1e4], [-1e4]], dtype=dtype)
        loss, grad = nn.BinaryCrossEntropy()(zb, np.array([0, 0]))
        assert np.isfinite(loss) and np.isfinite(grad).all()
        assert loss == pytest.approx(5e3, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_at_plus_minus_1000_warns_of_nothing(dtype):
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out = sigmoid(x, np.empty_like(x))
            layer_out = nn.Sequential([nn.Dense(1, 1), nn.Sigmoid()], dtype=dtype).layers[1].forward(x[:, None])
    assert out.dtype == dtype and out[0] == 0.0 and out[-1] == 1.0 and out[2] == 0.5
    np.testing.assert_array_equal(layer_out[:, 0], out)


def test_loss_choice_defaults_from_output_size():
    assert nn.Sequential([nn.Dense(3, 1)]).loss.name == "binary_cross_entropy"
    assert nn.Sequential([nn.Dense(3, 4)]).loss.name == "cross_entropy"
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        nn.Sequential([nn.Dense(3, 4)]).set_loss("hinge")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropy(1.5)


def test_binary_cross_entropy_over_several_outputs_is_one_vs_rest(rng):
    z, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    t = np.eye(4)[labels]
    p = 1 / (1 + np.exp(-z))
    loss, grad = nn.BinaryCrossEntropy()(z, t)
    assert loss == pytest.approx(-np.mean((t * np.log(p) + (1 - t) * np.log(1 - p)).sum(1)), rel=1e-12)
    np.testing.assert_allclose(grad, (p - t) / 6, rtol=1e-12)
    model = nn.Sequential([nn.Dense(3, 4, "sigmoid")], seed=0)
    model.set_loss("binary_cross_entropy")
    X = rng.standard_normal((6, 3))
    assert nn.gradcheck(model, X, labels, max_per_tensor=None).ok
    assert model.predict(X).shape == (6,) and model.predict_proba(X).shape == (6, 4)
    with pytest.raises(nn.DataError, match=r"labels y must be in \[0, 3\]"):
        model.evaluate(X, labels + 4)
