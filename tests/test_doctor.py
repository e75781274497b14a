"""The training doctor: each rule fires on a network built to trigger it and stays silent on a healthy demo run."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import numpynn as nn
from numpynn.cli import main
from numpynn.config import TrainConfig
from numpynn.run import build_model, load_run_data, optimizer_for, train_run
from numpynn.training.doctor import RULES, Doctor, load_doctor

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    """1,000 training rows of the bundled sample, scaled as the demo scales them."""
    rd = load_run_data(TrainConfig(), log=lambda *a: None)
    return rd.X_train[:1000], rd.y_train[:1000]


def train_with_doctor(X, y, epochs=2, callbacks=(), doctor=None, **settings):
    """The demo's network and recipe (Adam, cosine schedule, batch 128), with `settings` changed."""
    cfg = TrainConfig(epochs=epochs, **settings)
    model = build_model(cfg, X.shape[1], 10)
    doctor = doctor or Doctor()
    model.fit(X, y, optimizer=optimizer_for(cfg, int(np.ceil(len(X) / 128))), epochs=epochs, batch_size=128,
              callbacks=[doctor, *callbacks], verbose=0)
    return model, doctor


def fired(doctor, rule):
    return [f for f in doctor.findings() if f.rule == rule]


def test_a_healthy_demo_run_is_silent_and_its_records_are_saved(tmp_path, tiny_npz, capsys):
    cfg = TrainConfig(dataset=str(tiny_npz), epochs=2)  # the demo's recipe, shortened: 540 rows, 2 epochs
    train_run(cfg, tmp_path / "run", log=lambda *a: None, verbose=0, report=False)
    doc = load_doctor(tmp_path / "run")
    assert doc["findings"] == [] and doc["divergence"] is None
    assert [r["epoch"] for r in doc["records"]] == [1, 2]
    layers = doc["records"][-1]["layers"]
    assert [r["layer"] for r in layers] == [0, 2, 4]  # the Dense layers; Dropout has nothing of its own
    for r in layers:
        assert r["weight_norm"] > 0 and r["grad_norm"] > 0 and 0 < r["update_ratio"] < 0.25
    assert 0 <= layers[0]["dead_fraction"] < 0.5 and layers[0]["act_std"] > 0
    assert main(["doctor", str(tmp_path / "run")]) == 0
    assert "no findings" in capsys.readouterr().out


def test_the_doctor_can_be_turned_off(tmp_path, tiny_npz):
    cfg = TrainConfig(dataset=str(tiny_npz), hidden=[16], epochs=1, doctor=False)
    train_run(cfg, tmp_path / "run", log=lambda *a: None, verbose=0, report=False)
    assert not (tmp_path / "run" / "doctor.json").exists()
    assert "doctor = false" in (tmp_path / "run" / "config.toml").read_text()
    assert main(["doctor", str(tmp_path / "run")]) == 2


def test_a_learning_rate_100_times_too_high_gives_large_updates(digits):
    X, y = digits
    _, healthy = train_with_doctor(X, y, epochs=1)
    assert not fired(healthy, "large_updates")
    _, doctor = train_with_doctor(X, y, epochs=1, lr=100 * TrainConfig().lr)
    found = fired(doctor, "large_updates")
    assert {f.layer for f in found} == {0, 2, 4}
    assert "lower the learning rate" in str(found[0]) and re.search(r"by \d+ % of their size", str(found[0]))


def test_negative_biases_kill_relus(digits):
    X, y = digits

    class NegativeBiases(nn.Callback):
        def on_train_begin(self, logs):
            for layer in self.model.layers[:-1]:
                if isinstance(layer, nn.Dense):
                    layer.params["b"][...] = -10.0

    _, doctor = train_with_doctor(X, y, callbacks=[NegativeBiases()])
    found = fired(doctor, "dead_relu")
    assert {f.layer for f in found} == {0, 2}
    assert "100 % of its ReLU units are dead" in str(found[0]) and "since epoch 1" in str(found[0])
    assert "LeakyReLU/He initialisation" in str(found[0])


def test_sigmoid_inputs_scaled_100_times_saturate(digits):
    X, y = digits
    _, plain = train_with_doctor(X, y, epochs=1, activation="sigmoid")
    assert not fired(plain, "saturated_units")
    _, doctor = train_with_doctor(100 * X, y, epochs=1, activation="sigmoid")
    found = fired(doctor, "saturated_units")
    assert [f.layer for f in found] == [0]
    assert "sigmoid/tanh units are saturated" in str(found[0]) and "standardise" in str(found[0])


def test_a_nan_injected_at_a_known_step_and_layer_is_found(digits, tmp_path, capsys):
    X, y = digits

    class InjectNaN(nn.Callback):
        def on_batch_end(self, step, logs):
            if step == 6:  # after step 6: step 7's forward pass meets it
                self.model.layers[2].params["W"][3, 5] = np.nan

    doctor = Doctor(tmp_path / "doctor.jsonl")
    with pytest.raises(nn.TrainingDivergedError, match="step 7"):
        train_with_doctor(X, y, callbacks=[InjectNaN()], doctor=doctor)
    d = doctor.divergence
    assert (d["step"], d["epoch"], d["batch"], d["layer"], d["tensor"], d["kind"]) == (7, 1, 7, 2, "W", "parameter")
    saved = load_doctor(tmp_path)  # written before the error went up
    assert saved["divergence"]["step"] == 7 and saved["findings"][0].rule == "non_finite"
    assert main(["doctor", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "training diverged at step 7 (epoch 1, batch 7)" in out and "layer 2 (Dense(512→256, relu))" in out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_overflowing_layer_output_is_traced_to_that_layer(digits):
    X, y = digits

    class Overflow(nn.Callback):  # weights so large that layer 0's output overflows float32 at step 3
        def on_batch_end(self, step, logs):
            if step == 2:
                self.model.layers[0].params["W"][...] = 1e38

    doctor = Doctor()
    with pytest.raises(nn.TrainingDivergedError):
        train_with_doctor(X, y, callbacks=[Overflow()], doctor=doctor)
    d = doctor.divergence
    assert (d["step"], d["layer"], d["tensor"], d["kind"]) == (3, 0, "output", "output")


def test_every_rule_is_documented_with_its_threshold_and_source():
    doc = (ROOT / "docs" / "doctor.md").read_text()
    for rule in (*RULES, "non_finite"):
        name = getattr(rule, "name", rule)
        assert f"`{name}`" in doc, name
        if not isinstance(rule, str):
            assert f"{rule.threshold:g}" in doc and rule.source.split(",")[0].split(";")[0] in doc


def test_a_broken_doctor_file_gets_a_clear_error(tmp_path):
    (tmp_path / "doctor.json").write_text('{"records": [{"epoch": "x"}]}')
    with pytest.raises(nn.NumpynnError, match=r"doctor.json: records\[0\].epoch must be an integer .*, got 'x'"):
        load_doctor(tmp_path)
    (tmp_path / "doctor.json").write_text("{half")
    with pytest.raises(nn.NumpynnError, match="doctor.json is not valid JSON"):
        load_doctor(tmp_path)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverged_run_keeps_the_doctors_account_in_its_folder(tmp_path, tiny_npz, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", str(tiny_npz), "--hidden", "16", "--epochs", "2", "--optimizer", "sgd",
                 "--lr", "1e30", "--no-augment", "--no-report", "--quiet", "--out", str(out)])
    assert code == 2 and "training diverged" in capsys.readouterr().err
    doc = load_doctor(out)
    assert doc["divergence"]["step"] >= 1 and doc["findings"][0].rule == "non_finite"
    assert main(["doctor", str(out)]) == 0
    assert "the first non-finite value is" in capsys.readouterr().out
