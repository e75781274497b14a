"""The numpynn command through a real subprocess: train -> evaluate -> predict, repeatable configs, clean errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import numpynn as nn
from numpynn import data

TINY = ["--hidden", "16", "--epochs", "2", "--batch-size", "64", "--no-augment", "--no-report", "--quiet"]


def numpynn(*args, cwd=None, timeout=300, **kw):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "numpynn.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env, **kw)


def _command_paths(parser, path=()):
    """Every command line that names a (sub)command, as read from the parser: (), ("train",), ("datasets", "list")."""
    import argparse

    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _command_paths(sub, (*path, name))


def test_help_of_numpynn_and_of_every_subcommand_prints_its_usage():
    from numpynn.cli import build_parser

    paths = list(_command_paths(build_parser()))
    assert ("train",) in paths and ("lr-find",) in paths and len(paths) > 10
    runs = {path: subprocess.Popen([sys.executable, "-m", "numpynn.cli", *path, "--help"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for path in paths}
    for path, proc in runs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (path, err)
        assert out.startswith(f"usage: numpynn {' '.join(path)}".rstrip()) and "Traceback" not in err, path
    # a literal % in a setting's help text reaches the user as written
    assert "85-115 %" in " ".join(subprocess.run([sys.executable, "-m", "numpynn.cli", "train", "--help"],
                                                 capture_output=True, text=True).stdout.split())


def test_python_dash_m_numpynn_is_the_numpynn_command(tmp_path):
    from numpynn.version import __version__

    r = subprocess.run([sys.executable, "-m", "numpynn", "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == f"numpynn {__version__}", r.stderr
    r = subprocess.run([sys.executable, "-m", "numpynn", "info", "missing.safetensors"], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("numpynn: error: ") and "cannot read model file" in r.stderr


def test_train_evaluate_predict_round_trip(tmp_path, tiny_npz):
    run = tmp_path / "run"
    r = numpynn("train", "--dataset", tiny_npz, "--out", run, *TINY)
    assert r.returncode == 0, r.stderr
    assert {"model.safetensors", "config.toml", "history.json", "history.csv", "metrics.json"} <= {
        p.name for p in run.iterdir()}
    model = nn.load(run / "model.safetensors")
    assert model.epoch == 2 and model.preprocessing["normalize"] == "scale"

    r = numpynn("evaluate", run / "model.safetensors", "--data", tiny_npz, "--json")
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    assert figures["accuracy"] == pytest.approx(json.loads((run / "metrics.json").read_text())["test"]["accuracy"])

    (X, y), (Xt, yt) = data.load_raw(tiny_npz)
    np.save(tmp_path / "five.npy", Xt[:5])
    r = numpynn("predict", run / "model.safetensors", tmp_path / "five.npy", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    expected = model.predict(data.apply_preprocessing(Xt[:5], model.preprocessing))
    assert out["predictions"] == expected.tolist()
    assert np.allclose(np.sum(out["probabilities"], axis=1), 1, atol=1e-4)

    r = numpynn("info", run / "model.safetensors")
    assert r.returncode == 0 and "Dense(784\u219216, relu)" in r.stdout and "epochs trained: 2" in r.stdout


def test_predict_a_png_of_a_digit(tmp_path, tiny_npz):
    from PIL import Image

    run = tmp_path / "run"
    assert numpynn("train", "--dataset", "mnist-sample", "--out", run, "--hidden", "64", "--epochs", "3",
                   "--no-augment", "--no-report", "--quiet").returncode == 0
    (_, _), (Xt, yt) = data.load_raw("mnist-sample")
    # a photo-like version: dark ink on white paper, larger and off-centre
    img = np.full((120, 100), 255, np.uint8)
    big = np.asarray(Image.fromarray(255 - Xt[0]).resize((70, 70)))
    img[30:100, 10:80] = big
    Image.fromarray(img).save(tmp_path / "digit.png")
    r = numpynn("predict", run / "model.safetensors", tmp_path / "digit.png")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"class: {yt[0]}"), r.stdout
    Image.fromarray(img).convert("RGB").save(tmp_path / "digit.jpg", quality=90)
    assert numpynn("predict", run / "model.safetensors", tmp_path / "digit.jpg").returncode == 0


def test_config_file_repeats_a_run_bit_identically(tmp_path, tiny_npz):
    a, b = tmp_path / "a", tmp_path / "b"
    r = numpynn("train", "--dataset", tiny_npz, "--out", a, "--hidden", "32,16", "--dropout", "0.2",
                "--epochs", "2", "--augment", "--no-report", "--quiet", "--seed", "7")
    assert r.returncode == 0, r.stderr
    r = numpynn("train", "--config", a / "config.toml", "--out", b, "--no-report", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (a / "config.toml").read_text() == (b / "config.toml").read_text()
    wa, wb = nn.load(a / "model.safetensors").get_weights(), nn.load(b / "model.safetensors").get_weights()
    assert wa.keys() == wb.keys()
    for key in wa:
        assert wa[key].tobytes() == wb[key].tobytes(), key


@pytest.mark.parametrize("args, message", [
    (["train", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["train", "--dataset", "mnistt", "--epochs", "1"], "unknown dataset 'mnistt'"),
    (["train", "--lr", "-1"], "lr must be > 0, got -1.0"),
    (["train", "--hidden", "a,b"], "expected comma-separated integers"),
    (["info", "missing.safetensors"], "cannot read model file"),
    (["evaluate", "missing.safetensors", "--data", "mnist-sample"], "cannot read model file"),
    (["datasets", "verify", "nope"], "unknown dataset 'nope'"),
])
def test_bad_use_gets_a_short_message_and_nonzero_exit(tmp_path, args, message):
    r = numpynn(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 3


def test_malformed_config_corrupt_model_wrong_image_and_feature_mismatch(tmp_path, tiny_npz):
    (tmp_path / "bad.toml").write_text("[model]\nhidden = [64\n")
    r = numpynn("train", "--config", tmp_path / "bad.toml")
    assert r.returncode == 2 and "not valid TOML" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "unknown.toml").write_text("[model]\nlayers = 3\n")
    r = numpynn("train", "--config", tmp_path / "unknown.toml")
    assert r.returncode == 2 and "unknown setting(s) ['layers'] in [model]" in r.stderr

    run = tmp_path / "run"
    assert numpynn("train", "--dataset", tiny_npz, "--out", run, *TINY).returncode == 0
    model_bytes = (run / "model.safetensors").read_bytes()
    (tmp_path / "corrupt.safetensors").write_bytes(model_bytes[: len(model_bytes) // 2])
    r = numpynn("predict", tmp_path / "corrupt.safetensors", tiny_npz)
    assert r.returncode == 2 and "corrupt.safetensors" in r.stderr and "Traceback" not in r.stderr

    (tmp_path / "fake.png").write_bytes(b"this is not an image")
    r = numpynn("predict", run / "model.safetensors", tmp_path / "fake.png")
    assert r.returncode == 2 and "not a readable PNG or JPEG image" in r.stderr

    np.save(tmp_path / "wide.npy", np.zeros((3, 100), np.uint8))
    r = numpynn("predict", run / "model.safetensors", tmp_path / "wide.npy")
    assert r.returncode == 2 and "model expects X of shape (n, 784), got (3, 100)" in r.stderr


def test_gradcheck_and_datasets_commands(tmp_path):
    r = numpynn("gradcheck")
    assert r.returncode == 0 and "0.W" in r.stdout and "max" in r.stdout
    r = numpynn("datasets", "list")
    assert r.returncode == 0 and "mnist-sample" in r.stdout and "fashion-mnist" in r.stdout


def test_sigint_leaves_a_loadable_model_of_the_last_finished_epoch(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "numpynn.cli", "train", "--dataset", "mnist-sample",
                             "--out", str(run), "--epochs", "200", "--plain", "--no-report", "--hidden", "128"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    lines = []
    while time.time() < deadline:  # wait for two finished epochs
        line = proc.stderr.readline()
        lines.append(line)
        if line.startswith("epoch 2/200"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(lines) + err
    assert "interrupted" in err and "Traceback" not in err
    model = nn.load(run / "model.safetensors")
    history = json.loads((run / "history.json").read_text())
    assert model.epoch >= 2 and len(history["epochs"]["loss"]) == model.epoch
    assert history["interrupted"] is True
    assert Path(run / "history.csv").read_text().count("\n") == model.epoch + 1


def test_label_smoothing_reaches_the_loss_and_is_refused_where_it_cannot_apply(tmp_path, tiny_npz):
    run = tmp_path / "run"
    r = numpynn("train", "--dataset", tiny_npz, "--out", run, *TINY, "--label-smoothing", "0.1")
    assert r.returncode == 0, r.stderr
    loss = nn.load(run / "model.safetensors").loss
    assert loss.name == "cross_entropy" and loss.label_smoothing == 0.1
    r = numpynn("train", "--dataset", tiny_npz, "--out", tmp_path / "run2", *TINY, "--label-smoothing", "0.1",
                "--loss", "mse")
    assert r.returncode == 2 and "label_smoothing applies to cross_entropy" in r.stderr


def test_train_on_your_own_csv_and_npz(tmp_path, rng):
    centers = np.array([[0, 0, 4], [4, 0, 0], [0, 4, 0]])
    labels = rng.integers(0, 3, 300)
    X = centers[labels] + rng.standard_normal((300, 3))
    path = tmp_path / "own.csv"
    np.savetxt(path, np.column_stack([X, labels]), delimiter=",", header="a,b,c,label", comments="", fmt="%.4f")
    run = tmp_path / "run"
    r = numpynn("train", "--dataset", path, "--out", run, "--hidden", "16", "--epochs", "30", "--batch-size", "16",
                "--normalize",
                "standardize", "--plain")
    assert r.returncode == 0, r.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["samples"]["test"] == 60 and metrics["test"]["accuracy"] > 0.9
    assert "<img" in (run / "report.html").read_text()  # curves and confusion matrix, no image grids
    np.savez(tmp_path / "own.npz", X=X, y=labels)
    r = numpynn("train", "--dataset", tmp_path / "own.npz", "--out", tmp_path / "run2", *TINY)
    assert r.returncode == 0, r.stderr
    np.savez(tmp_path / "odd.npz", features=X)
    r = numpynn("train", "--dataset", tmp_path / "odd.npz", "--out", tmp_path / "run3", *TINY)
    assert r.returncode == 2 and "expected arrays x_train" in r.stderr
