"""Hostile arguments to training and prediction, and the command-line cases of issue #14: each a clear
ValueError/TypeError naming the argument (exit status 2 and one line from the CLI), never garbage, NaN models
or tracebacks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import numpynn as nn
from numpynn.cli import main

BAD_BATCH_SIZES = [-1, -8192, 0, 1.5, True, "8"]


@pytest.fixture
def model(blobs):
    X, y = blobs
    m = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    m.fit(X, y, epochs=1, verbose=0)
    return m


@pytest.mark.parametrize("bs", BAD_BATCH_SIZES, ids=repr)
def test_bad_batch_sizes_are_refused_everywhere(model, blobs, bs):
    X, y = blobs
    for call in (lambda: model.predict(X, batch_size=bs), lambda: model.predict_proba(X, batch_size=bs),
                 lambda: model.predict_logits(X, batch_size=bs), lambda: model.evaluate(X, y, batch_size=bs),
                 lambda: model.predict_proba(X[:1], batch_size=bs),  # the few-row path too
                 lambda: model.fit(X, y, batch_size=bs, epochs=1, verbose=0)):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            call()


def test_batch_sizes_do_not_change_answers(model, blobs):
    X, y = blobs
    whole = model.predict_proba(X)
    for bs in (1, 7, 150, 10**6):
        np.testing.assert_allclose(model.predict_proba(X, batch_size=bs), whole, rtol=1e-5, atol=1e-7)
        assert model.evaluate(X, y, batch_size=bs)["loss"] == pytest.approx(model.evaluate(X, y)["loss"], rel=1e-5)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_non_finite_validation_loss_is_divergence_and_nothing_is_saved(blobs, tmp_path):
    X, y = blobs
    m = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    X_val = np.full((5, 4), 3e38, np.float32)  # finite inputs whose outputs overflow to inf
    ckpt = tmp_path / "ckpt.safetensors"
    with pytest.raises(nn.TrainingDivergedError, match="in epoch 1 .*the validation loss is (nan|inf)"):
        m.fit(X, y, validation_data=(X_val, y[:5]), epochs=3, verbose=0,
              callbacks=[nn.ModelCheckpoint(ckpt)])
    assert not ckpt.exists() and m.epoch == 0 and len(m.history) == 0


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_the_diverging_cli_run_of_the_issue_leaves_no_nan_model(tmp_path, tiny_npz, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", str(tiny_npz), "--optimizer", "sgd", "--lr", "1e30", "--schedule", "none",
                 "--batch-size", "0", "--epochs", "3", "--hidden", "16", "--out", str(out), "--no-report", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "training diverged" in err and len(err.strip().splitlines()) == 1, err
    path = out / "model.safetensors"
    if path.exists():  # an epoch before the divergence: it must be a good one, and the message says which
        saved = nn.load(path)
        assert f"holds the model of epoch {saved.epoch}" in err
        (_, _), (Xt, yt) = nn.datasets.load(tiny_npz)
        assert math.isfinite(saved.evaluate(Xt, yt)["loss"])
    else:
        assert "No model was saved" in err


def test_fit_arguments_of_the_wrong_kind(blobs):
    X, y = blobs
    m = nn.Sequential([nn.Dense(4, 3)], seed=0)
    with pytest.raises(TypeError, match=r"validation_split must be a number in \[0, 1\), got '0.1' \(str\)"):
        m.fit(X, y, validation_split="0.1", verbose=0)
    with pytest.raises(ValueError, match="validation_split must be in"):
        m.fit(X, y, validation_split=float("nan"), verbose=0)
    with pytest.raises(TypeError, match="validation_data must be a pair .*got a tuple of 1"):
        m.fit(X, y, validation_data=(X,), verbose=0)
    with pytest.raises(TypeError, match="validation_data must be a pair .*got a ndarray"):
        m.fit(X, y, validation_data=X, verbose=0)
    labels = y.astype(np.uint64)
    labels[0] = 2**63
    with pytest.raises(nn.DataError, match="got values from 0 to 9223372036854775808"):
        m.fit(X, labels, verbose=0)
    with pytest.raises(nn.DataError, match="got values from 0 to 9223372036854775808"):
        m.evaluate(X, labels)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -1e-6])
def test_gradcheck_refuses_meaningless_tolerances(blobs, value):
    X, y = blobs
    m = nn.Sequential([nn.Dense(4, 3)], seed=0)
    with pytest.raises(ValueError, match="tolerance must be a finite number > 0"):
        nn.gradcheck(m, X[:3], y[:3], tolerance=value)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        nn.gradcheck(m, X[:3], y[:3], eps=value)


def test_dense_rows_given_a_list_is_a_type_error():
    fused = pytest.importorskip("numpynn.ops._fused")
    x, W = np.zeros((1, 2), np.float32), np.zeros((2, 3), np.float32)
    b, out = np.zeros(3, np.float32), np.zeros((1, 3), np.float32)
    with pytest.raises(TypeError, match=r"layers\[0\] must be a tuple \(W, b, out, relu\), got list"):
        fused.dense_rows(x, [[W, b, out, False]])
    fused.dense_rows(x, [(W, b, out, False)])  # the tuple it asks for works


def test_gradcheck_command_with_relu_stays_off_the_kinks(capsys):
    for seed in range(4):
        for act in ("relu", "leaky_relu"):
            assert main(["gradcheck", "--activation", act, "--seed", str(seed)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert main(["gradcheck", "--tolerance", "nan"]) == 2
    assert "tolerance must be a finite number > 0, got nan" in capsys.readouterr().err


CLI_CASES = {
    "xor, validation split 0.99": (["--dataset", "xor", "--validation-split", "0.99"], "leaves none to train on"),
    "rotate 1e308": (["--rotate", "1e308"], r"rotate must be in [0, 180], got 1e+308"),
    "shift -1": (["--shift", "-1"], "shift must be in [0, 1000]"),
    "a 10^8 hidden layer": (["--hidden", "100000000"], "network needs about"),
}


@pytest.mark.parametrize("case", CLI_CASES)
def test_command_line_cases_end_in_one_line_and_exit_2(case, tmp_path, capsys):
    args, message = CLI_CASES[case]
    out = tmp_path / "run"
    assert main(["train", *args, "--epochs", "1", "--out", str(out), "--no-report", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() or not any(out.iterdir())  # a refused run leaves no half a run folder


def test_the_memory_refusal_gives_both_figures(tmp_path, capsys):
    assert main(["train", "--hidden", "100000000", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    need, have = (float(x.split()[0]) for x in err.split("about ")[1].split(" of memory to train")[0:1]
                  + err.split(" but ")[1].split(" is available")[0:1])
    assert need > 1000 > have > 0  # GiB: 784 x 10^8 float32 weights with Adam take terabytes


def test_evaluate_and_predict_with_the_models_preprocessing(tmp_path, tiny_npz, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(out), "--hidden", "8", "--epochs", "1",
                 "--normalize", "standardize", "--no-report", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.safetensors"), "--data", str(tiny_npz), "--json"]) == 0
    assert 0 <= json.loads(capsys.readouterr().out)["accuracy"] <= 1


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_diverged_fit_leaves_the_last_good_weights_and_says_which(rng, tmp_path):
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = 1e3 * X.sum(axis=1)
    m = nn.build_mlp(3, [8], 1, seed=0)
    with pytest.raises(nn.TrainingDivergedError, match="training diverged") as caught:
        m.fit(X, y, loss="mse", optimizer=nn.SGD(1e3), epochs=20, verbose=0)
    assert f"The model holds the weights of epoch {m.epoch}" in str(caught.value)
    assert m.epoch < 20 and len(m.history) == m.epoch
    assert np.isfinite(m.predict(X)).all() and math.isfinite(m.evaluate(X, y)["loss"])
    m.save(tmp_path / "m.safetensors")  # a usable model, so it can be kept
    assert np.isfinite(nn.load(tmp_path / "m.safetensors").predict(X)).all()


def test_features_too_large_for_the_models_dtype_are_refused_not_made_inf(blobs):
    X, y = blobs
    m = nn.Sequential([nn.Dense(4, 3)], seed=0)  # float32
    big = X.astype(np.float64)
    big[7, 2] = 1e300
    for call in (lambda: m.fit(big, y, epochs=1, verbose=0), lambda: m.predict(big), lambda: m.evaluate(big, y)):
        with pytest.raises(nn.DataError, match=r"X contains 1 value\(s\) too large for float32 .*the first 1e\+300 "
                                               r"at index \(7, 2\)"):
            call()
    assert m.epoch == 0
