"""Calibration: expected calibration error and the reliability diagram's bins on known cases; top-k; and both in
model.evaluate, a run's metrics.json and `numpynn evaluate`."""

from __future__ import annotations

import json

import numpy as np
import pytest

import numpynn as nn
from numpynn.cli import main
from numpynn.config import TrainConfig
from numpynn.evaluation import evaluate_classifier
from numpynn.run import train_run
from numpynn.training.metrics import expected_calibration_error, reliability_bins, top_k_accuracy


def test_ece_on_a_known_case():
    # four answers at 90 % confidence, three right: a gap of 0.15 in one bin; two at 60 %, one right: 0.1
    proba = np.array([[0.9, 0.1]] * 4 + [[0.4, 0.6]] * 2)
    y = np.array([0, 0, 0, 1, 1, 0])
    assert expected_calibration_error(y, proba) == pytest.approx((4 * 0.15 + 2 * 0.1) / 6)
    bins = reliability_bins(y, proba, n_bins=10)
    assert bins["count"] == [0] * 5 + [2, 0, 0, 4, 0]
    assert bins["accuracy"][8] == pytest.approx(0.75) and bins["confidence"][8] == pytest.approx(0.9)
    assert bins["accuracy"][0] is None and len(bins["edges"]) == 11


def test_ece_is_zero_when_calibrated_and_one_when_sure_and_always_wrong():
    assert expected_calibration_error([0, 1], [[1.0, 0.0], [0.0, 1.0]]) == 0.0
    assert expected_calibration_error([1, 0], [[1.0, 0.0], [0.0, 1.0]]) == 1.0
    # a one-column P(class 1), as a one-output sigmoid model gives it
    assert expected_calibration_error([1, 1], np.array([[0.8], [0.8]])) == pytest.approx(0.2)


@pytest.mark.parametrize("proba, match", [(np.array([[2.0, -1.0]]), r"in \[0, 1\]"), (np.zeros((0, 2)), "n > 0"),
                                          (np.array([[0.5, 0.5], [0.5, 0.5]]), "same number of samples")])
def test_bad_probabilities_get_clear_errors(proba, match):
    with pytest.raises(ValueError, match=match):
        expected_calibration_error([0], proba)
    with pytest.raises(ValueError, match="n_bins"):
        reliability_bins([0], [[1.0, 0.0]], n_bins=0)


def test_top_k_on_a_known_case():
    scores = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    assert top_k_accuracy([1, 1, 1], scores, 1) == pytest.approx(1 / 3)
    assert top_k_accuracy([1, 1, 1], scores, 2) == pytest.approx(1.0)


def test_evaluate_offers_ece_and_top_k(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    model.fit(X, y, epochs=3, verbose=0)
    got = model.evaluate(X, y, metrics=["accuracy", "ece", "top2_accuracy"])
    proba = model.predict_proba(X)
    assert got["ece"] == pytest.approx(expected_calibration_error(y, proba), rel=1e-6)
    assert got["top2_accuracy"] == pytest.approx(top_k_accuracy(y, proba, 2))
    res = evaluate_classifier(model, X, y, 3)
    assert res["ece"] == pytest.approx(got["ece"], rel=1e-6) and res["top2_accuracy"] == got["top2_accuracy"]
    assert "top3_accuracy" not in res  # with 3 classes it is always 1
    assert sum(res["reliability"]["count"]) == len(X)


def test_a_runs_metrics_and_the_evaluate_command_report_calibration(tmp_path, tiny_npz, capsys):
    cfg = TrainConfig(dataset=str(tiny_npz), hidden=[32], epochs=2, augment=False)
    res = train_run(cfg, tmp_path / "run", log=lambda *a: None, verbose=0, report=False)
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert 0 <= test["ece"] <= 1 and test["top3_accuracy"] >= test["top2_accuracy"] >= test["accuracy"]
    assert test["top5_accuracy"] == pytest.approx(res.test_metrics["top5_accuracy"])
    assert main(["evaluate", str(tmp_path / "run" / "model.safetensors"), "--data", str(tiny_npz)]) == 0
    out = capsys.readouterr().out
    assert f"ECE, 15 bins): {100 * test['ece']:.2f} points" in out and "top-5:" in out
