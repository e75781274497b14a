"""The learning-rate range test: its curve, its suggestion, and a model left exactly as it was."""

from __future__ import annotations

import json

import numpy as np
import pytest

import numpynn as nn
from numpynn.cli import main
from numpynn.config import TrainConfig
from numpynn.run import build_model, load_run_data, optimizer_for
from numpynn.training.lr_find import lr_find, suggest


def test_the_model_is_left_as_it_was(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 16, "relu"), nn.Dropout(0.2), nn.BatchNorm(), nn.Dense(16, 3)], seed=3)
    weights, rng = model.get_weights(), model.rng.bit_generator.state
    result = lr_find(model, X, y, steps=30, batch_size=32)
    for k, w in model.get_weights().items():
        np.testing.assert_array_equal(w, weights[k], err_msg=k)  # BatchNorm's running statistics too
    assert model.rng.bit_generator.state == rng and model.optimizer is None
    assert np.all(np.diff(result.lrs) > 0) and result.lrs[0] == pytest.approx(1e-6)
    assert result.lrs[0] <= result.suggestion <= result.lrs[-1]
    i = int(np.nanargmin(result.smoothed))
    assert result.suggestion == pytest.approx(max(result.lrs[i] / 10, result.lrs[0]))


def test_it_stops_once_the_loss_blows_up(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 16, "relu"), nn.Dense(16, 3)], seed=0)
    result = lr_find(model, X, y, optimizer="sgd", start_lr=1e-3, end_lr=1e4, steps=60, batch_size=150)
    assert len(result.lrs) < 60 and result.lrs[-1] < 1e4
    assert result.suggestion < 10


def test_the_rule_on_a_known_curve():
    lrs = np.logspace(-5, 0, 6)
    assert suggest(lrs, np.array([2.0, 1.5, 1.0, 0.5, 3.0, np.nan])) == pytest.approx(1e-3)
    assert suggest(lrs, np.full(6, np.nan)) == pytest.approx(1e-5)


@pytest.mark.parametrize("bad, match", [({"start_lr": 0}, "0 < start_lr < end_lr"), ({"steps": 2}, "steps"),
                                        ({"batch_size": 0}, "batch_size"), ({"smoothing": 1.0}, "smoothing"),
                                        ({"seed": "x"}, "seed"), ({"steps": 10**400}, "steps")])
def test_bad_arguments_get_clear_errors(blobs, bad, match):
    model = nn.Sequential([nn.Dense(4, 3)], seed=0)
    with pytest.raises(ValueError, match=match):
        lr_find(model, *blobs, **bad)
    assert model.optimizer is None  # the test's optimizer never stays on the model


def test_the_suggested_rate_trains_the_demo_network_as_well_as_the_demos(engine):
    """lr-find on the bundled sample; then the demo network trained with the demo's rate and with the suggested
    one, side by side. To stay near 30 s: 60 range-test steps, and both trained for 2 epochs on 3,000 rows
    (instead of 30 epochs on 9,000), on one engine (the engines agree step by step: test_ops)."""
    if engine == "c":
        pytest.skip("one engine suffices: this checks the suggestion, not the engine")
    cfg = TrainConfig()
    rd = load_run_data(cfg, log=lambda *a: None)
    result = lr_find(build_model(cfg, 784, 10), rd.X_train, rd.y_train, steps=60, start_lr=1e-5)
    X, y = rd.X_train[:3000], rd.y_train[:3000]
    acc = {}
    for name, lr in (("demo", cfg.lr), ("suggested", result.suggestion)):
        c = TrainConfig(lr=lr, epochs=2)
        model = build_model(c, 784, 10)
        model.fit(X, y, optimizer=optimizer_for(c, int(np.ceil(len(X) / 128))), epochs=2, batch_size=128, verbose=0)
        acc[name] = 100 * model.evaluate(rd.X_test, rd.y_test)["accuracy"]
    assert acc["suggested"] >= acc["demo"] - 0.5, (result.suggestion, acc)


def test_the_command_writes_the_curve_and_prints_the_rate(tmp_path, tiny_npz, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "lr"
    assert main(["lr-find", "--dataset", str(tiny_npz), "--hidden", "32", "--steps", "20", "--out", str(out)]) == 0
    rate = float(capsys.readouterr().out.strip())
    saved = json.loads((out / "lr_find.json").read_text())
    assert saved["suggestion"] == pytest.approx(rate, rel=1e-2) and len(saved["lrs"]) <= 20
    assert (out / "lr_find.png").stat().st_size > 1000


def test_lr_find_on_a_regression_table_builds_one_output(tmp_path, capsys):
    from pathlib import Path

    from numpynn.cli import main

    diamonds = Path(__file__).parent / "data" / "diamonds-1000.csv"
    assert main(["lr-find", "--dataset", str(diamonds), "--label-column", "price", "--out", str(tmp_path),
                 "--steps", "20"]) == 0
    assert float(capsys.readouterr().out.strip().splitlines()[-1]) > 0
