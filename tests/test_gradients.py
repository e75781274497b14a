"""Every layer and loss passes a float64 central-difference gradient check, for parameters and inputs."""

from __future__ import annotations

import numpy as np
import pytest

import numpynn as nn
from numpynn.gradcheck import relative_error

ACTIVATION_LAYERS = [nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.Identity]
DENSE_ACTIVATIONS = ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", None]


def _away_from_kinks(rng, shape):
    """Inputs whose pre-activations stay clear of ReLU's kink at 0 (|x| >= 0.1)."""
    x = rng.uniform(0.1, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x


@pytest.mark.parametrize("act", ACTIVATION_LAYERS, ids=lambda c: c.__name__)
def test_activation_layer_gradients(act, rng):
    # Dense with identity init keeps the activation's input equal to X, which is away from kinks
    model = nn.Sequential([nn.Dense(5, 5), act(), nn.Dense(5, 3)], seed=1)
    W = model.layers[0].params["W"]
    W[...] = np.eye(5)
    model.layers[0].params["b"][...] = 0
    X, y = _away_from_kinks(rng, (6, 5)), rng.integers(0, 3, 6)
    result = nn.gradcheck(model, X, y, max_per_tensor=None)
    assert result.ok, str(result)
    assert set(result.errors) == {"0.W", "0.b", "2.W", "2.b", "input"}


@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS)
def test_dense_fused_activation_gradients(activation, rng):
    model = nn.Sequential([nn.Dense(4, 6, activation, init="glorot_normal"), nn.Dense(6, 3)], seed=2)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    z = X @ model.layers[0].params["W"].astype(np.float64)
    assume_clear = np.abs(z + model.layers[0].params["b"]).min() > 1e-3
    assert assume_clear  # seed chosen so no pre-activation sits on a kink
    result = nn.gradcheck(model, X, y, max_per_tensor=None)
    assert result.ok, str(result)


def test_batchnorm_and_dropout_gradients(rng):
    model = nn.Sequential([nn.Dense(4, 8, "tanh"), nn.BatchNorm(), nn.Dropout(0.3), nn.Dense(8, 3)], seed=3)
    X, y = rng.standard_normal((10, 4)), rng.integers(0, 3, 10)
    result = nn.gradcheck(model, X, y, max_per_tensor=None)
    assert result.ok, str(result)
    assert {"1.gamma", "1.beta"} <= set(result.errors)


def test_flatten_images_gradients(rng):
    model = nn.Sequential([nn.Flatten((3, 3)), nn.Dense(9, 4, "tanh"), nn.Dense(4, 2)], seed=0)
    X, y = rng.standard_normal((5, 3, 3)), rng.integers(0, 2, 5)
    assert nn.gradcheck(model, X, y).ok


@pytest.mark.parametrize("loss, n_out, make_y", [
    ("cross_entropy", 4, lambda r, n: r.integers(0, 4, n)),
    (nn.CrossEntropy(label_smoothing=0.1), 4, lambda r, n: r.integers(0, 4, n)),
    ("cross_entropy", 4, lambda r, n: np.eye(4)[r.integers(0, 4, n)]),
    ("binary_cross_entropy", 1, lambda r, n: r.integers(0, 2, n)),
    ("mse", 2, lambda r, n: r.standard_normal((n, 2))),
    ("mae", 2, lambda r, n: r.standard_normal((n, 2))),
    (nn.Huber(0.4), 2, lambda r, n: r.standard_normal((n, 2))),  # residuals on both sides of delta
    (nn.Quantile((0.1, 0.5, 0.9)), 6, lambda r, n: r.standard_normal((n, 2))),  # 2 targets, 3 quantiles each
    (nn.MeanSquaredError(log_target=True), 1, lambda r, n: r.exponential(5.0, n)),
    (nn.Huber(0.2, log_target=True), 2, lambda r, n: r.exponential(5.0, (n, 2))),
    (nn.Quantile(0.8, log_target=True), 1, lambda r, n: r.exponential(5.0, n)),
], ids=["ce-labels", "ce-smoothing", "ce-onehot", "bce", "mse", "mae", "huber", "quantile", "mse-log", "huber-log",
        "quantile-log"])
def test_loss_gradients(loss, n_out, make_y, rng):
    model = nn.Sequential([nn.Dense(3, 5, "tanh"), nn.Dense(5, n_out)], seed=4)
    X, y = rng.standard_normal((8, 3)), make_y(rng, 8)
    result = nn.gradcheck(model, X, y, loss=loss, max_per_tensor=None)
    assert result.ok, str(result)


def test_robust_loss_gradients_with_sample_weights_in_one_step(rng):
    """The weighted losses' dL/dz, from outputs in one call, against central differences of the loss value."""
    z, w = rng.standard_normal((6, 6)), rng.uniform(0.2, 2.0, 6)
    t = rng.standard_normal((6, 2))
    for loss in (nn.MeanAbsoluteError(), nn.Huber(0.5), nn.Quantile((0.2, 0.5, 0.7))):
        targets = np.repeat(t, 3, axis=1) if not isinstance(loss, nn.Quantile) else t
        _, grad = loss(z, targets, w)
        numeric = np.empty_like(z)
        for idx in np.ndindex(z.shape):
            step = np.zeros_like(z)
            step[idx] = 1e-6
            numeric[idx] = (loss(z + step, targets, w)[0] - loss(z - step, targets, w)[0]) / 2e-6
        assert relative_error(numeric, grad) < 1e-7, type(loss).__name__


def test_fused_softmax_and_sigmoid_outputs_gradients(rng):
    X = rng.standard_normal((6, 3))
    softmax_net = nn.Sequential([nn.Dense(3, 4, "tanh"), nn.Dense(4, 3, "softmax")], seed=5)
    assert nn.gradcheck(softmax_net, X, rng.integers(0, 3, 6)).ok
    sigmoid_net = nn.Sequential([nn.Dense(3, 4, "tanh"), nn.Dense(4, 1), nn.Sigmoid()], seed=5)
    assert nn.gradcheck(sigmoid_net, X, rng.integers(0, 2, 6)).ok


def test_l1_l2_penalty_gradients(rng):
    model = nn.Sequential([nn.Dense(3, 5, "tanh", l2=0.1), nn.Dense(5, 2, l1=0.05)], seed=6)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    result = nn.gradcheck(model, X, y, max_per_tensor=None)
    assert result.ok, str(result)


def test_gradcheck_catches_a_wrong_gradient(rng, monkeypatch):
    model = nn.Sequential([nn.Dense(3, 4, "tanh"), nn.Dense(4, 2)], seed=7)
    real_astype = nn.Sequential.astype

    def astype_with_broken_backward(self, dtype):  # the float64 copy gradcheck makes doubles dL/dW of layer 1
        clone = real_astype(self, dtype)
        layer, backward = clone.layers[1], clone.layers[1].backward

        def doubled(dy):
            dx = backward(dy)
            layer.grads["W"] *= 2
            return dx

        layer.backward = doubled
        return clone

    monkeypatch.setattr(nn.Sequential, "astype", astype_with_broken_backward)
    result = nn.gradcheck(model, rng.standard_normal((5, 3)), rng.integers(0, 2, 5))
    assert not result.ok
    assert result.errors["1.W"] > 0.1 and result.errors["0.W"] < 1e-6
