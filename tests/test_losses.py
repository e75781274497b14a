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


def _weighted_mean(per_element, w):
    """The losses' mean: over outputs, then over samples weighted by w."""
    return float((per_element.mean(axis=1) * w).sum() / w.sum())


def test_absolute_error_and_huber_match_their_formulas_with_weights(rng):
    z, t, w = rng.standard_normal((9, 2)) * 3, rng.standard_normal((9, 2)), rng.uniform(0.1, 2.0, 9)
    r = z - t
    loss, grad = nn.MeanAbsoluteError()(z, t, w)
    assert loss == pytest.approx(_weighted_mean(np.abs(r), w), rel=1e-12)
    np.testing.assert_allclose(grad, np.sign(r) * w[:, None] / (w.sum() * 2), rtol=1e-12)
    for delta in (0.3, 1.0, 2.5):
        elem = np.where(np.abs(r) <= delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
        loss, grad = nn.Huber(delta)(z, t, w)
        assert loss == pytest.approx(_weighted_mean(elem, w), rel=1e-12)
        np.testing.assert_allclose(grad, np.clip(r, -delta, delta) * w[:, None] / (w.sum() * 2), rtol=1e-12)


def test_huber_is_half_the_squared_error_inside_delta_and_absolute_outside(rng):
    z, t = rng.uniform(-0.5, 0.5, (20, 1)), np.zeros(20)
    assert nn.Huber(1.0)(z, t)[0] == pytest.approx(0.5 * nn.MeanSquaredError()(z, t)[0], rel=1e-12)
    far = z + 100 * np.sign(z)
    assert nn.Huber(1.0)(far, t)[0] == pytest.approx(nn.MeanAbsoluteError()(far, t)[0] - 0.5, rel=1e-12)


def test_pinball_matches_its_formula_target_major_for_several_targets(rng):
    qs = (0.1, 0.5, 0.9)
    z, t, w = rng.standard_normal((7, 6)), rng.standard_normal((7, 2)), rng.uniform(0.5, 1.5, 7)
    loss, grad = nn.Quantile(qs)(z, t, w)
    q = np.tile(qs, 2)  # output j * 3 + i is target j's quantile i
    r = np.repeat(t, 3, axis=1) - z
    elem = np.maximum(q * r, (q - 1) * r)
    assert loss == pytest.approx(_weighted_mean(elem, w), rel=1e-12)
    np.testing.assert_allclose(grad, ((r < 0) - q) * w[:, None] / (w.sum() * 6), rtol=1e-12)
    one, _ = nn.Quantile(0.5)(z[:, :1], t[:, 0])
    assert one == pytest.approx(0.5 * nn.MeanAbsoluteError()(z[:, :1], t[:, 0])[0], rel=1e-12)


def test_the_pinball_loss_is_least_at_the_quantile_and_starts_there(rng):
    t = rng.exponential(2.0, (400, 1))
    loss = nn.Quantile((0.1, 0.9))
    bias, _ = loss.initial_output(t)
    np.testing.assert_allclose(bias, np.quantile(t, [0.1, 0.9]))
    at = loss(np.tile(bias, (400, 1)), t)[0]
    for shift in (-0.05, 0.05):
        assert loss(np.tile(bias + shift, (400, 1)), t)[0] > at


def test_log_target_trains_on_log1p_and_outputs_expm1(rng):
    z, y = rng.standard_normal((6, 1)), rng.exponential(100.0, (6, 1))
    for plain, logged in ((nn.MeanSquaredError(), nn.MeanSquaredError(log_target=True)),
                          (nn.MeanAbsoluteError(), nn.MeanAbsoluteError(log_target=True)),
                          (nn.Huber(0.5), nn.Huber(0.5, log_target=True)),
                          (nn.Quantile(0.3), nn.Quantile(0.3, log_target=True))):
        a, b = logged(z, y), plain(z, np.log1p(y))
        assert a[0] == pytest.approx(b[0], rel=1e-12)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
        np.testing.assert_array_equal(logged.output(z), np.expm1(z))
        np.testing.assert_array_equal(plain.output(z), z)
    bias, spread = nn.MeanSquaredError(log_target=True).initial_output(y)
    assert bias == pytest.approx(np.log1p(y).mean()) and spread == pytest.approx(np.log1p(y).std())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_robust_losses_stay_finite_on_huge_residuals(dtype):
    z, t = np.array([[3e37], [-3e37]], dtype=dtype), np.array([-3e37, 3e37], dtype=dtype)
    with np.errstate(all="raise"):
        for loss in (nn.MeanAbsoluteError(), nn.Huber(1.0), nn.Quantile((0.1, 0.9))):
            value, grad = loss(np.repeat(z, len(getattr(loss, "quantiles", [0])), axis=1), t)
            assert np.isfinite(value) and np.isfinite(grad).all() and grad.dtype == dtype


def test_regression_losses_round_trip_through_their_config():
    for loss in (nn.MeanAbsoluteError(log_target=True), nn.Huber(2.5), nn.Quantile((0.1, 0.5, 0.9), True)):
        again = nn.losses.loss_from_config(nn.losses.loss_to_config(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
    assert nn.losses.loss_to_config(nn.MeanSquaredError()) == {"name": "mse", "config": {}}  # files as before
    assert nn.losses.get_loss("huber", 1).delta == 1.0 and nn.losses.get_loss("quantile", 1).quantiles == (0.5,)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Quantile(1.5), r"quantiles must be 1 to 99 numbers strictly between 0 and 1, got 1\.5"),
    (lambda: nn.Quantile((0.1, 0.0)), r"strictly between 0 and 1, got 0\.0"),
    (lambda: nn.Quantile(-0.2), r"got -0\.2"),
    (lambda: nn.Quantile(float("nan")), r"got nan"),
    (lambda: nn.Quantile(()), r"got 0 of them"),
    (lambda: nn.Quantile("0.5"), r"quantiles must be a number in \(0, 1\) or a list of them, got '0\.5'"),
    (lambda: nn.Quantile(True), r"got True"),
    (lambda: nn.Quantile((0.5, 0.5)), r"quantiles must differ from each other, got \[0\.5, 0\.5\]"),
    (lambda: nn.Huber(0.0), r"huber delta must be a finite number > 0, got 0\.0"),
    (lambda: nn.Huber(-1), r"huber delta must be a finite number > 0, got -1"),
    (lambda: nn.Huber(float("inf")), r"got inf"),
    (lambda: nn.Huber("1"), r"got '1'"),
    (lambda: nn.MeanAbsoluteError(log_target="yes"), r"log_target must be True or False, got 'yes' \(str\)"),
])
def test_bad_loss_parameters_say_what_was_expected(make, message):
    with pytest.raises(nn.ArgumentError, match=message):
        make()


def test_log_target_refuses_negative_targets_at_every_boundary(rng):
    X, y = rng.standard_normal((20, 2)), rng.exponential(1.0, 20)
    y[[3, 7]] = [-0.5, -2.0]
    model = nn.Sequential([nn.Dense(2, 1)], seed=0)
    model.set_loss(nn.MeanSquaredError(log_target=True))
    message = r"log_target trains on log1p\(y\) and needs y >= 0; y has 2 negative values \(the smallest -2\)"
    with pytest.raises(nn.DataError, match=message):
        model.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(nn.DataError, match=message):
        model.evaluate(X, y)
    with pytest.raises(nn.DataError, match=r"log1p\(y_val\) and needs y_val >= 0"):
        model.fit(X, np.abs(y), epochs=1, verbose=0, validation_data=(X, y))
    model.fit(X, np.abs(y), epochs=1, verbose=0)  # zeros and positive values are what it is for


def test_a_quantile_loss_needs_its_outputs_per_target(rng):
    model = nn.Sequential([nn.Dense(2, 4)], seed=0)
    with pytest.raises(nn.ShapeError, match="a quantile loss with 3 quantiles needs 3 outputs per target .* has 4"):
        model.set_loss(nn.Quantile((0.1, 0.5, 0.9)))
    model.set_loss(nn.Quantile((0.25, 0.75)))  # 2 targets, 2 quantiles each
    assert model.loss.n_targets(model.n_outputs) == 2
    X = rng.standard_normal((5, 2))
    with pytest.raises(nn.ShapeError, match=r"regression targets y must have shape \(n, 2\), got \(5, 4\)"):
        model.evaluate(X, rng.standard_normal((5, 4)))  # targets, not one column per output


def test_the_loss_names_a_config_uses_for_a_regression_are_the_data_loaders():
    from numpynn.data.labels import REGRESSION_LOSSES

    assert REGRESSION_LOSSES == nn.losses.REGRESSION_LOSSES
    assert all(not nn.losses.get_loss(name, 1).is_classification for name in REGRESSION_LOSSES)
