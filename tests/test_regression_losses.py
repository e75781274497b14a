"""The regression losses beyond squared error in use: what training with each buys, the model file, the exports, a
run from the command line and its config, and the scikit-learn regressor's `loss`."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import warnings

import numpy as np
import pytest

import numpynn as nn
from numpynn.cli import main
from numpynn.config import ConfigError, TrainConfig
from numpynn.evaluation import evaluate_regression
from numpynn.run import outputs_per_target, resolve_loss, start_at_target_mean
from numpynn.training import metrics as M
from tests.test_hostile_model_files import craft

QUICK = ["--hidden", "16", "--batch-size", "32", "--no-augment", "--quiet", "--no-report", "--dropout", "0"]


def _line_with_outliers(rng, n=300):
    X = rng.uniform(-1, 1, (n, 1))
    y = 2 * X[:, 0] + 0.1 * rng.standard_normal(n)
    y[rng.permutation(n)[: n // 10]] += 50.0  # one row in ten is a gross error
    return X, y


def test_absolute_error_and_huber_ignore_the_outliers_that_pull_squared_error_away(rng):
    X, y = _line_with_outliers(rng)
    X_test = np.linspace(-1, 1, 50)[:, None]
    errors = {}
    for loss in ("mse", "mae", nn.Huber(1.0)):
        model = nn.Sequential([nn.Dense(1, 1)], seed=0, dtype="float64")
        model.fit(X, y, loss=loss, optimizer=nn.Adam(0.05), epochs=400, batch_size=None, verbose=0)
        errors[model.loss.name] = float(np.abs(model.predict(X_test)[:, 0] - 2 * X_test[:, 0]).mean())
    assert errors["mse"] > 3  # the mean moves by about 5 with the outliers
    assert errors["mae"] < 0.3 and errors["huber"] < 0.3, errors


def test_quantile_outputs_cover_their_quantiles_and_metrics_score_the_median(rng):
    X = rng.uniform(0, 1, (2000, 1))
    y = X[:, 0] + (0.1 + X[:, 0]) * rng.standard_normal(2000)  # the spread grows with x
    model = nn.Sequential([nn.Dense(1, 16, "tanh"), nn.Dense(16, 3)], seed=0, dtype="float64")
    model.fit(X, y, loss=nn.Quantile((0.1, 0.5, 0.9)), optimizer=nn.Adam(0.01), epochs=60, batch_size=256,
              verbose=0, metrics=["mae"])
    result = evaluate_regression(model, X, y)
    for q, covered in result["coverage"].items():
        assert abs(covered - float(q)) < 0.04, result["coverage"]
    pred = model.predict(X)
    assert pred.shape == (2000, 3) and np.mean((pred[:, 0] < pred[:, 1]) & (pred[:, 1] < pred[:, 2])) > 0.98
    assert result["mae"] == pytest.approx(M.mae(y, pred[:, 1]), rel=1e-12)  # the median column
    assert result["rmse"] == pytest.approx(np.sqrt(M.mse(y, pred[:, 1])), rel=1e-12)
    assert model.evaluate(X, y, ["mse"])["mse"] == pytest.approx(result["mse"], rel=1e-12)
    wide = np.hstack([(pred[:, 2] - pred[:, 0])[X[:, 0] < 0.2].mean(), (pred[:, 2] - pred[:, 0])[X[:, 0] > 0.8].mean()])
    assert wide[1] > 3 * wide[0]  # the interval follows the spread


def test_log_target_predicts_expm1_and_is_scored_on_the_targets_own_scale(rng):
    X = rng.standard_normal((500, 3))
    y = np.exp(3 + X @ [1.0, 0.5, -0.3] + 0.1 * rng.standard_normal(500))  # prices: skewed, > 0
    model = nn.Sequential([nn.Dense(3, 16, "relu"), nn.Dense(16, 1)], seed=0, dtype="float64")
    model.set_loss(nn.MeanSquaredError(log_target=True))
    start_at_target_mean(model, y[:, None])  # as a run starts: at the mean of log1p(y)
    assert model.layers[-1].params["b"][0] == pytest.approx(np.log1p(y).mean())
    history = model.fit(X, y, optimizer=nn.Adam(0.01), epochs=40, batch_size=64, verbose=0, metrics=["mae", "r2"])
    pred = model.predict(X)
    np.testing.assert_array_equal(pred, np.expm1(model.predict_logits(X)))
    scores = model.evaluate(X, y, ["mae", "r2"])
    assert scores["mae"] == pytest.approx(M.mae(y, pred), rel=1e-12) and scores["r2"] > 0.95
    assert history.epochs["mae"][-1] > 1  # the metric is of prices, not of their logarithms
    assert evaluate_regression(model, X, y)["mae"] == pytest.approx(scores["mae"], rel=1e-12)


def test_a_run_starts_each_output_at_its_quantile_of_the_transformed_targets(rng):
    y = rng.exponential(100.0, (300, 2))
    model = nn.Sequential([nn.Dense(3, 4, "relu"), nn.Dense(4, 6)], seed=0, dtype="float64")
    model.set_loss(nn.Quantile((0.1, 0.5, 0.9), log_target=True))
    start_at_target_mean(model, y)
    want = np.quantile(np.log1p(y), [0.1, 0.5, 0.9], axis=0).T.reshape(-1)  # target-major, as the outputs
    np.testing.assert_allclose(model.layers[-1].params["b"], want)


def test_model_files_keep_the_loss_and_its_parameters(tmp_path, rng):
    X = rng.standard_normal((20, 3))
    for loss, k in ((nn.Huber(2.5, log_target=True), 1), (nn.Quantile((0.1, 0.9)), 4), (nn.MeanAbsoluteError(), 2)):
        model = nn.Sequential([nn.Dense(3, 5, "tanh"), nn.Dense(5, k)], seed=1)
        model.set_loss(loss)
        model.save(tmp_path / "m.safetensors")
        again = nn.load(tmp_path / "m.safetensors")
        assert type(again.loss) is type(loss) and again.loss.get_config() == loss.get_config()
        np.testing.assert_array_equal(again.predict(X), model.predict(X))


@pytest.mark.parametrize("loss, match", [
    ({"name": "quantile", "config": {"quantiles": [1.5]}}, r"loss: quantiles must be 1 to 99 numbers"),
    ({"name": "quantile", "config": {"quantiles": "abc"}}, r"loss: quantiles must be a number"),
    ({"name": "quantile", "config": {"quantiles": [0.1, 0.5]}}, r"loss: a quantile loss with 2 quantiles needs 2 "),
    ({"name": "huber", "config": {"delta": -1}}, r"loss: huber delta must be a finite number > 0"),
    ({"name": "huber", "config": {"delta": 1.0, "evil": 1}}, r"loss: .*unexpected keyword"),
    ({"name": "mse", "config": {"log_target": "yes"}}, r"loss: log_target must be True or False"),
], ids=["quantile-1.5", "quantile-text", "quantile-outputs", "huber-delta", "huber-extra", "log-target-text"])
def test_a_crafted_loss_in_a_model_file_names_the_field(tmp_path, loss, match):
    model = nn.Sequential([nn.Dense(3, 3)], seed=0)
    model.set_loss("mae")
    model.save(tmp_path / "m.safetensors")
    with pytest.raises(nn.ModelFileError, match=match):
        nn.load(craft(tmp_path / "m.safetensors", meta=lambda m: m.update(loss=loss)))


def _exported_python(model, path):
    from numpynn.export import export_python

    export_python(model, path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss, k", [(nn.MeanSquaredError(log_target=True), 1), (nn.Huber(1.0), 2),
                                     (nn.Quantile((0.1, 0.5, 0.9), log_target=True), 6)],
                         ids=["mse-log", "huber", "quantile-log"])
def test_onnx_and_numpy_exports_predict_what_predict_does(tmp_path, dtype, loss, k):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    X = np.random.default_rng(1).standard_normal((200, 6)).astype(dtype)
    tol = 1e-6 if dtype == "float32" else 1e-12
    for tiny in (False, True):  # outputs of a few units; outputs near 0, where exp(z) - 1 would lose their digits
        model = nn.Sequential([nn.Dense(6, 8, "tanh"), nn.Dense(8, k)], seed=2, dtype=dtype)
        model.set_loss(loss)
        last = model.layers[-1].params
        if tiny:  # the outputs are the bias itself, exactly, on every path
            last["W"][...] = 0.0
            last["b"][...] = np.linspace(-3e-5, 4e-5, k) + 1e-7
        else:
            last["b"][...] = 0.5
        want = model.predict(X)
        session = ort.InferenceSession(str(model.export_onnx(tmp_path / "m.onnx")), providers=["CPUExecutionProvider"])
        got = session.run(["values"], {"x": X})[0]
        assert got.shape == want.shape == (200, k) and got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, rtol=tol, atol=0 if tiny else tol)
        exported = _exported_python(model, tmp_path / f"m{dtype}{int(tiny)}.py")
        np.testing.assert_allclose(exported.predict(X), want, rtol=tol, atol=0 if tiny else tol)
    assert ("expm1" in (tmp_path / f"m{dtype}1.py").read_text()) == loss.log_target


def _price_table(path, rng, n=400):
    X = rng.standard_normal((n, 3))
    price = np.round(np.expm1(5 + X @ [0.8, 0.4, 0.0] + (0.2 + 0.3 * np.abs(X[:, 2])) * rng.standard_normal(n)), 2)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "c", "price"])
        writer.writerows(np.column_stack([X.round(4), price]).tolist())
    return price


def test_a_quantile_run_on_log_prices_from_the_command_line_trains_evaluates_predicts_and_resumes(tmp_path, rng,
                                                                                                  capsys):
    table = tmp_path / "prices.csv"
    price = _price_table(table, rng)
    run = tmp_path / "run"
    pytest.importorskip("matplotlib")
    assert main(["train", "--dataset", str(table), "--loss", "quantile", "--quantiles", "0.1,0.5,0.9",
                 "--log-target", "--normalize", "standardize", "--epochs", "3", "--out", str(run),
                 *[a for a in QUICK if a != "--no-report"]]) == 0
    assert "coverage of the 0.9 quantile" in (run / "report.html").read_text()
    model = nn.load(run / "model.safetensors")
    assert model.n_outputs == 3 and model.loss.quantiles == (0.1, 0.5, 0.9) and model.loss.log_target
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert {"loss", "mse", "rmse", "mae", "r2", "coverage"} <= set(test) and list(test["coverage"]) == ["0.1", "0.5",
                                                                                                         "0.9"]
    capsys.readouterr()
    assert main(["evaluate", str(run / "model.safetensors"), "--data", str(table)]) == 0
    out = capsys.readouterr().out
    assert "loss (quantile)" in out and "RMSE" in out and "coverage: q0.1:" in out
    assert main(["predict", str(run / "model.safetensors"), str(table)]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["row", "price_q0.1", "price_q0.5", "price_q0.9"] and len(rows) == len(price) + 1
    median = np.array([float(r[2]) for r in rows[1:]])
    assert 0.3 < np.median(median) / np.median(price) < 3  # started at the targets' quantiles, in prices
    config = (run / "config.toml").read_text()
    assert "quantiles = [0.1, 0.5, 0.9]" in config and "log_target = true" in config
    (run / "config.toml").write_text(config.replace("epochs = 3", "epochs = 5"))
    assert main(["train", "--resume", str(run), "--quiet", "--no-report"]) == 0
    resumed = nn.load(run / "model.safetensors")
    assert resumed.epoch == 5 and resumed.loss.get_config() == model.loss.get_config()


def test_the_command_line_refuses_a_regression_loss_for_classes(tmp_path, rng, capsys):
    table = tmp_path / "classes.csv"
    X = rng.standard_normal((100, 2))
    np.savetxt(table, np.column_stack([X, (X[:, 0] > 0).astype(int)]), delimiter=",", fmt="%g")
    assert main(["train", "--dataset", str(table), "--loss", "quantile", "--task", "classification",
                 "--out", str(tmp_path / "run"), *QUICK]) == 2
    assert "loss quantile is for a regression, and this run's task is classification" in capsys.readouterr().err


@pytest.mark.parametrize("settings, task, message", [
    ({"loss": "quantile"}, "classification", "loss quantile is for a regression, and this run's task is classif"),
    ({"loss": "huber"}, "classification", "loss huber is for a regression"),
    ({"log_target": True}, "classification", "log_target applies to a regression's targets; this run's loss is "
                                             "cross_entropy"),
    ({"loss": "mae", "huber_delta": 2.0}, "regression", "huber_delta applies to loss huber; this run's loss is mae"),
    ({"loss": "huber", "quantiles": [0.1, 0.9]}, "regression", "quantiles applies to loss quantile; this run's loss "
                                                               "is huber"),
    ({"loss": "cross_entropy"}, "regression", "a regression trains with loss mse, mae, huber, quantile (auto: mse); "
                                              "this run asks for cross_entropy"),
    ({"loss": "huber", "label_smoothing": 0.1}, "regression", "label_smoothing applies to cross_entropy; this run's "
                                                              "loss is huber"),
])
def test_a_config_refuses_a_loss_setting_that_does_not_fit(settings, task, message):
    config = TrainConfig(**settings)
    with pytest.raises(ConfigError) as info:
        resolve_loss(config, 3, task)
    assert str(info.value).startswith(message)


def test_a_config_builds_each_regression_loss_with_its_settings():
    loss = resolve_loss(TrainConfig(loss="huber", huber_delta=0.5, log_target=True), 1, "regression")
    assert isinstance(loss, nn.Huber) and loss.delta == 0.5 and loss.log_target
    config = TrainConfig(loss="quantile", quantiles=[0.05, 0.95])
    assert resolve_loss(config, 4, "regression").quantiles == (0.05, 0.95) and outputs_per_target(config) == 2
    assert resolve_loss(TrainConfig(log_target=True), 1, "regression").get_config() == {"log_target": True}
    assert type(resolve_loss(TrainConfig(loss="mae"), 1, "regression")) is nn.MeanAbsoluteError
    assert outputs_per_target(TrainConfig(loss="mae", quantiles=[0.1, 0.9])) == 1


# --- the scikit-learn regressor -----------------------------------------------------------------------------------
sklearn = pytest.importorskip("sklearn")
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from numpynn.sklearn import NumpynnRegressor  # noqa: E402


def test_the_regressor_minimises_numpynns_loss_for_its_new_loss_values(rng):
    X, y = _line_with_outliers(rng, 200)
    for loss, params, numpynn_loss in (("absolute_error", {}, nn.MeanAbsoluteError()),
                                       ("huber", {"delta": 0.5}, nn.Huber(0.5)),
                                       ("quantile", {"quantile": 0.8}, nn.Quantile(0.8))):
        reg = NumpynnRegressor(loss=loss, solver="lbfgs", alpha=0.0, hidden_layer_sizes=(4,), max_iter=50,
                               random_state=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs stops at max_iter
            reg.fit(X, y)
        assert reg.predict(X).shape == (200,)
        assert reg.loss_ == pytest.approx(numpynn_loss(reg.predict(X)[:, None], y)[0], rel=1e-9)
        assert reg.model_.loss.get_config() == numpynn_loss.get_config()


def test_the_regressor_predicts_several_quantiles_per_target(rng):
    X = rng.uniform(0, 1, (600, 2))
    y = X[:, 0] + 0.3 * rng.standard_normal(600)
    reg = NumpynnRegressor(loss="quantile", quantile=(0.1, 0.5, 0.9), hidden_layer_sizes=(16,),
                           learning_rate_init=0.01, max_iter=150, random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (600, 3) and reg.n_outputs_ == 1 and reg.coefs_[-1].shape == (16, 3)
    coverage = (y[:, None] <= pred).mean(axis=0)
    np.testing.assert_allclose(coverage, [0.1, 0.5, 0.9], atol=0.06)
    two = NumpynnRegressor(loss="quantile", quantile=[0.25, 0.75], hidden_layer_sizes=(8,), max_iter=5,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two.fit(X, np.c_[y, -y])
    assert two.predict(X).shape == (600, 4)  # target-major: target 0's two quantiles, then target 1's


def test_the_regressors_quantile_models_export_their_outputs(tmp_path, rng):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from numpynn.export import export_onnx

    X = rng.standard_normal((100, 4)).astype(np.float32)
    y = X[:, 0] + rng.standard_normal(100)
    for quantile in (0.5, (0.1, 0.5, 0.9)):
        reg = NumpynnRegressor(loss="quantile", quantile=quantile, hidden_layer_sizes=(8,), max_iter=5,
                               random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reg.fit(X, y)
        session = ort.InferenceSession(str(export_onnx(reg, tmp_path / "q.onnx")), providers=["CPUExecutionProvider"])
        got = session.run(["values"], {"x": X})[0]
        assert got.shape == reg.predict(X).shape
        np.testing.assert_allclose(got, reg.predict(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("params, error, match", [
    ({"loss": "quantile"}, ValueError, r"loss='quantile' needs the quantile to predict"),
    ({"loss": "quantile", "quantile": 1.5}, InvalidParameterError, r"'quantile' parameter"),
    ({"loss": "quantile", "quantile": [0.1, 1.5]}, nn.ArgumentError, r"strictly between 0 and 1, got 1\.5"),
    ({"loss": "huber", "delta": 0.0}, InvalidParameterError, r"'delta' parameter"),
    ({"loss": "huber", "delta": -2.0}, InvalidParameterError, r"'delta' parameter"),
    ({"loss": "hinge"}, InvalidParameterError, r"'loss' parameter"),
])
def test_the_regressor_refuses_bad_loss_parameters(params, error, match, rng):
    X, y = rng.standard_normal((30, 2)), rng.standard_normal(30)
    with pytest.raises(error, match=match):
        NumpynnRegressor(max_iter=2, **params).fit(X, y)


@pytest.mark.parametrize("params", [{"loss": "absolute_error"}, {"loss": "huber", "delta": 0.5},
                                    {"loss": "quantile", "quantile": 0.3}], ids=["absolute_error", "huber", "quantile"])
def test_check_estimator_passes_with_each_new_loss(params, engine):
    if engine == "c":
        pytest.skip("the loss is the same NumPy code on either engine; the default loss runs on both in "
                    "test_sklearn.py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(NumpynnRegressor(**params), on_fail=None)
    not_passed = [(r["check_name"], r["status"], str(r["exception"])[:200]) for r in results
                  if r["status"] != "passed"]
    assert len(results) >= 60 and not_passed == []
