"""A training run's test figures: one forward pass over the test set, the same numbers as model.evaluate."""

from __future__ import annotations

import json

import numpy as np
import pytest

import numpynn as nn
from numpynn.config import TrainConfig
from numpynn.evaluation import classifier_outputs, evaluate_classifier
from numpynn.ops.batch_rows import BatchRows
from numpynn.run import load_run_data, train_run


def count_passes(monkeypatch, n_rows):
    """Count the forward passes over exactly `n_rows` rows (the test set's size)."""
    calls = []
    forward = nn.Sequential.forward

    def counting(self, x, *args, **kwargs):
        if len(x) == n_rows:
            calls.append(len(x))
        return forward(self, x, *args, **kwargs)

    monkeypatch.setattr(nn.Sequential, "forward", counting)
    rows = BatchRows.__call__  # a Dense stack predicts many rows without forward()

    def counting_rows(self, x, *args, **kwargs):
        if len(x) == n_rows:
            calls.append(len(x))
        return rows(self, x, *args, **kwargs)

    monkeypatch.setattr(BatchRows, "__call__", counting_rows)
    return calls


@pytest.mark.parametrize("extra", [{}, {"output": "sigmoid", "loss": "binary_cross_entropy"}])
def test_metrics_json_equals_model_evaluate_from_one_pass(tmp_path, tiny_npz, monkeypatch, extra):
    cfg = TrainConfig(dataset=str(tiny_npz), hidden=[16], epochs=2, batch_size=64, augment=False, **extra)
    passes = count_passes(monkeypatch, 200)
    res = train_run(cfg, tmp_path / "run", log=lambda *a: None, verbose=0, report=False)
    assert passes == [200]  # the metrics (and the report, when drawn) share one pass over the 200 test rows
    monkeypatch.undo()
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    rd = load_run_data(cfg, log=lambda *a: None)
    expected = res.model.evaluate(rd.X_test, rd.y_test, metrics=["accuracy"])
    assert test["loss"] == pytest.approx(expected["loss"], rel=1e-6)
    assert test["accuracy"] == expected["accuracy"]
    pred = res.model.predict(rd.X_test)
    cm = np.zeros((10, 10), dtype=int)
    np.add.at(cm, (rd.y_test, pred), 1)
    assert test["confusion_matrix"] == cm.tolist()
    assert test["per_class"]["support"] == np.bincount(rd.y_test, minlength=10).tolist()


def test_the_report_draws_from_the_runs_probabilities(tmp_path, tiny_npz, monkeypatch):
    pytest.importorskip("matplotlib")
    from numpynn import report

    seen = {}
    write = report.write_report

    def spy(*args, proba, **kwargs):
        seen["proba"] = proba
        return write(*args, proba=proba, **kwargs)

    monkeypatch.setattr(report, "write_report", spy)
    cfg = TrainConfig(dataset=str(tiny_npz), hidden=[16], epochs=1, batch_size=64, augment=False)
    passes = count_passes(monkeypatch, 200)
    res = train_run(cfg, tmp_path / "run", log=lambda *a: None, verbose=0, report=True)
    assert passes == [200]
    assert {"report.html", "predictions.png", "mistakes.png"} <= {p.name for p in (tmp_path / "run").iterdir()}
    rd = load_run_data(cfg, log=lambda *a: None)
    np.testing.assert_array_equal(seen["proba"], res.model.predict_proba(rd.X_test))


@pytest.mark.parametrize("kind", ["softmax", "one_sigmoid", "sigmoids"])
def test_evaluate_classifier_matches_evaluate_and_predict(kind, rng):
    X = rng.standard_normal((300, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (kind != "one_sigmoid") * (X[:, 1] > 1)
    n_out = 1 if kind == "one_sigmoid" else 3
    model = nn.Sequential([nn.Dense(5, 8, "relu", l2=0.01), nn.Dense(8, n_out, l1=0.001)], seed=1)
    model.set_loss("cross_entropy" if kind == "softmax" else "binary_cross_entropy")
    n_classes = 2 if kind == "one_sigmoid" else 3
    got = evaluate_classifier(model, X, y, n_classes)
    expected = model.evaluate(X, y, metrics=["accuracy"])
    assert model.penalty() > 0  # the weight penalty is part of the loss, as in evaluate
    assert got["loss"] == pytest.approx(expected["loss"], rel=1e-6) and got["accuracy"] == expected["accuracy"]
    out = classifier_outputs(model, X)
    np.testing.assert_array_equal(out.labels, model.predict(X))
    np.testing.assert_array_equal(out.proba, model.predict_proba(X))
    assert np.array(got["confusion_matrix"]).sum() == len(X)


def test_evaluate_classifier_refuses_a_regression_model_and_mismatched_lengths(rng):
    X = rng.standard_normal((20, 3)).astype(np.float32)
    reg = nn.Sequential([nn.Dense(3, 1)], seed=0)
    reg.set_loss("mse")
    with pytest.raises(nn.NumpynnError, match="needs a classification loss; this model uses 'mse'"):
        evaluate_classifier(reg, X, np.zeros(20, np.int64), 2)
    clf = nn.Sequential([nn.Dense(3, 2)], seed=0)
    with pytest.raises(nn.ShapeError, match="got 20 and 19"):
        evaluate_classifier(clf, X, np.zeros(19, np.int64), 2)
