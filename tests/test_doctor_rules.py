"""The doctor's run-level rules: each fires on a run broken on purpose, and none fires on healthy runs."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import numpynn as nn
from numpynn.cli import main
from numpynn.config import TrainConfig
from numpynn.run import load_run_data, train_run
from numpynn.training import doctor_rules
from numpynn.training.doctor import Doctor, load_doctor

ROOT = Path(__file__).resolve().parents[1]
RUN_RULES = ("learning_stalled", "vanishing_updates", "exploding_gradients", "unscaled_inputs",
             "unscaled_targets", "overfitting", "class_imbalance")


def rules_of(doctor_or_findings) -> set[str]:
    found = doctor_or_findings.findings() if hasattr(doctor_or_findings, "findings") else doctor_or_findings
    return {f.rule for f in found}


def fit(model, X, y, doctor, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(X, y, callbacks=[doctor], verbose=0, **kw)
    return doctor


@pytest.fixture(scope="module")
def small_digits():
    """1,000 bundled digits pooled 4x4 to 7x7 = 49 inputs in [0, 1]."""
    rd = load_run_data(TrainConfig(), log=lambda *a: None)
    X = rd.X_train[:1000].reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(-1, 49)
    return np.ascontiguousarray(X), rd.y_train[:1000]


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    y = (X @ rng.normal(size=5) + 0.1 * rng.normal(size=400)).astype(np.float32)
    return X, y


def regressor():
    return nn.Sequential([nn.Dense(5, 16, "relu"), nn.Dense(16, 1)], seed=0)


def test_a_deep_sigmoid_network_on_sgd_stalls_at_chance_with_vanishing_updates(small_digits, tmp_path, capsys):
    X, y = small_digits  # the 784-64x5-10 sigmoid SGD 0.01 failure, shrunk: 49-64x4-10
    layers = [nn.Dense(49, 64, "sigmoid"), *[nn.Dense(64, 64, "sigmoid") for _ in range(3)], nn.Dense(64, 10)]
    doctor = fit(nn.Sequential(layers, seed=0), X, y, Doctor(tmp_path / "doctor.jsonl", budget=None),
                 optimizer=nn.SGD(lr=0.01), epochs=4, batch_size=128)
    found = {f.rule: f for f in doctor.findings()}
    assert {"learning_stalled", "vanishing_updates"} <= set(found)
    assert "at chance level" in found["learning_stalled"].text and "10 classes" in found["learning_stalled"].text
    assert found["vanishing_updates"].layer == 0 and "below 1e-05" in found["vanishing_updates"].text
    assert not {"exploding_gradients", "unscaled_inputs", "class_imbalance"} & set(found)
    # the same run with Adam learns: neither rule
    layers = [nn.Dense(49, 64, "relu"), nn.Dense(64, 10)]
    healthy = fit(nn.Sequential(layers, seed=0), X, y, Doctor(budget=None), optimizer=nn.Adam(lr=2e-3), epochs=4,
                  batch_size=128)
    assert rules_of(healthy) == set()
    # the file keeps what the rules need, and `numpynn doctor` prints what to change
    assert rules_of(load_doctor(tmp_path)["findings"]) == set(found)
    assert main(["doctor", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "what to change: raise the learning rate" in out and "no findings" not in out


def test_a_target_in_millions_gives_unscaled_targets_and_exploding_gradients(regression):
    X, y = regression
    doctor = fit(regressor(), X, 1e6 * y + 1e6, Doctor(budget=None), loss="mse", optimizer=nn.Adam(lr=1e-2),
                 epochs=3, batch_size=32)
    found = {f.rule: f for f in doctor.findings()}
    assert {"unscaled_targets", "exploding_gradients"} <= set(found)
    assert "standardise the target" in str(found["unscaled_targets"])
    assert "times its weight norm" in found["exploding_gradients"].text


def test_a_target_in_millions_that_diverges_still_names_the_target(regression):
    X, y = regression
    doctor = Doctor()
    with pytest.raises(nn.TrainingDivergedError):
        fit(regressor(), X, 1e6 * y + 1e6, doctor, loss="mse", optimizer=nn.SGD(lr=0.01), epochs=3, batch_size=32)
    assert {"non_finite", "unscaled_targets"} <= rules_of(doctor)


def test_a_feature_in_thousands_gives_unscaled_inputs(regression):
    X, y = regression
    raw = X.copy()
    raw[:, 3] = 4000 + 800 * raw[:, 3]  # a body mass in grams beside standardised columns
    found = [f for f in fit(regressor(), raw, y, Doctor(), loss="mse", epochs=2).findings()
             if f.rule == "unscaled_inputs"]
    assert len(found) == 1 and "input feature 3 has a scale" in found[0].text and "standardise" in found[0].remedy


def test_a_well_scaled_regression_is_silent(regression):
    X, y = regression
    doctor = fit(regressor(), X, y, Doctor(budget=None), loss="mse", optimizer=nn.Adam(lr=1e-2), epochs=5,
                 batch_size=32, validation_split=0.2)
    assert doctor.findings() == []


def test_a_big_network_on_a_tiny_noisy_set_overfits_and_says_when():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 20)).astype(np.float32), rng.integers(0, 3, 60)
    Xv, yv = rng.normal(size=(200, 20)).astype(np.float32), rng.integers(0, 3, 200)
    model = nn.Sequential([nn.Dense(20, 128, "relu"), nn.Dense(128, 3)], seed=0)
    doctor = fit(model, X, y, Doctor(budget=None), optimizer=nn.Adam(lr=1e-2), epochs=20, batch_size=16,
                 validation_data=(Xv, yv))
    found = [f for f in doctor.findings() if f.rule == "overfitting"]
    best = int(np.argmin(model.history.history["val_loss"])) + 1
    assert len(found) == 1 and found[0].epoch == best + 1
    assert f"over-fitting began in epoch {best + 1}" in found[0].text and "early_stopping" in found[0].remedy


def test_ninety_percent_of_one_class_behind_the_accuracy_is_imbalance():
    rng = np.random.default_rng(0)
    y = (rng.random(1000) < 0.1).astype(np.int64)
    X = (rng.normal(size=(1000, 8)) + 0.05 * y[:, None]).astype(np.float32)  # almost no signal
    model = nn.Sequential([nn.Dense(8, 16, "relu"), nn.Dense(16, 2)], seed=0)
    doctor = fit(model, X, y, Doctor(), optimizer=nn.Adam(lr=1e-3), epochs=10, batch_size=64)
    found = [f for f in doctor.findings() if f.rule == "class_imbalance"]
    assert len(found) == 1 and f"majority class 0 ({100 * np.mean(y == 0):.1f} % of the rows)" in found[0].text
    assert "weigh the classes" in found[0].remedy
    # the same rows, classes made separable: a high accuracy that is not the majority's share
    X[:, 0] += 4 * y
    assert "class_imbalance" not in rules_of(fit(nn.Sequential([nn.Dense(8, 16, "relu"), nn.Dense(16, 2)], seed=0),
                                                X, y, Doctor(), optimizer=nn.Adam(lr=1e-2), epochs=10, batch_size=64))


def test_the_demo_run_shortened_is_silent(tmp_path, tiny_npz, capsys):
    cfg = TrainConfig(dataset=str(tiny_npz), epochs=4)  # the demo's recipe on 540 rows, validation included
    train_run(cfg, tmp_path / "run", log=lambda *a: None, verbose=0, report=False)
    doc = load_doctor(tmp_path / "run")
    assert doc["findings"] == []
    assert doc["data"]["classes"] == 10 and 0 < doc["data"]["x_rms_max"] < 1
    assert all("val_loss" in r and "probe_accuracy" in r for r in doc["records"])
    assert main(["doctor", str(tmp_path / "run")]) == 0 and "no findings" in capsys.readouterr().out


def test_a_table_through_the_cli_is_silent(tmp_path, capsys):
    table = shutil.copy(ROOT / "tests" / "data" / "penguins.csv", tmp_path / "penguins.csv")
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(table), "--label-column", "species", "--epochs", "5", "--no-report",
                 "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["doctor", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_a_price_regression_through_the_cli_is_silent(tmp_path, capsys):
    """Prices in thousands: `numpynn train` starts the output at their mean and spread, and the run trains well;
    the hidden layers' gradients carry the price's scale, which is no finding there."""
    table = shutil.copy(ROOT / "tests" / "data" / "diamonds-1000.csv", tmp_path / "diamonds.csv")
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(table), "--label-column", "price", "--task", "regression", "--epochs",
                 "10", "--no-report", "--quiet", "--out", str(out)]) == 0
    doc = load_doctor(out)
    assert doc["data"]["y_mean"] > 1000 and doc["findings"] == []
    assert json.loads((out / "metrics.json").read_text())["test"]["r2"] > 0.8


def test_a_hostile_data_figure_is_refused(tmp_path):
    (tmp_path / "doctor.jsonl").write_text('{"numpynn": "doctor records", "version": 1, "data": {"classes": "x"}}\n')
    with pytest.raises(nn.NumpynnError, match=r"line 1: data.classes must be a number or null, got 'x'"):
        load_doctor(tmp_path)


def test_every_run_rule_is_documented_with_its_threshold_and_source():
    doc = (ROOT / "docs" / "doctor.md").read_text()
    for name in RUN_RULES:
        assert f"`{name}`" in doc and name in doctor_rules.REMEDIES, name
    for value in (doctor_rules.VANISHING_RATIO, doctor_rules.EXPLODING_RATIO, doctor_rules.SCALE_HIGH,
                  doctor_rules.IMBALANCE_SHARE):
        assert f"{value:g}" in doc
    for source in ("Prechelt", "LeCun", "Pascanu", "He & Garcia", "Karpathy"):
        assert source in doc


def test_a_schedules_small_tail_is_not_vanishing_and_a_thousandfold_growth_is_exploding():
    from numpynn.training.doctor import diagnose

    def records(lrs, ratios, grads):
        return [{"epoch": e, "loss": 0.1, "lr": lr, "layers": [{"layer": 0, "update_ratio": u, "grad_norm": g,
                                                                 "weight_norm": 10.0}]}
                for e, (lr, u, g) in enumerate(zip(lrs, ratios, grads, strict=True), 1)]

    decayed = records([1e-3, 1e-3, 5e-4, 5e-5, 1e-5, 1e-6], [1e-3, 8e-4, 4e-4, 9e-6, 2e-6, 2e-7], [1.0] * 6)
    assert diagnose(decayed) == []
    flat = records([1e-3] * 6, [1e-3, 8e-4, 4e-4, 9e-6, 2e-6, 2e-7], [1.0] * 6)
    assert [(f.rule, f.layer, f.epoch) for f in diagnose(flat)] == [("vanishing_updates", 0, 4)]
    growing = records([1e-3] * 3, [1e-3] * 3, [1e-3, 0.5, 2.0])
    found = diagnose(growing)
    assert [f.rule for f in found] == ["exploding_gradients"] and "more than 1000-fold" in found[0].text
