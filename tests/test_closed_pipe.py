"""A closed pipe (`numpynn ... | head`) ends a command quietly with 141, as it ends other Unix tools, and a
training run it stops is marked interrupted, never left looking finished."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

import numpynn as nn
from numpynn import data


def start(*args, stderr=subprocess.PIPE) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "numpynn.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=stderr, env=env)


def test_predict_into_a_pipe_closed_at_once_stops_quietly(tmp_path):
    model = nn.build_mlp(784, [8], 10, seed=0)
    model.preprocessing = {"normalize": "scale", "max_value": 255.0, "input_shape": [28, 28]}
    model.save(tmp_path / "m.safetensors")
    np.save(tmp_path / "x.npy", np.tile(data.load_raw("mnist-sample")[1][0][:100], (20, 1, 1)))
    p = start("predict", tmp_path / "m.safetensors", tmp_path / "x.npy")
    p.stdout.close()  # the reader goes away before the first line is written
    err = p.stderr.read().decode()
    assert p.wait(timeout=300) == 141 and err == ""


def test_train_into_a_pipe_closed_after_three_lines_marks_the_run_interrupted(tmp_path, tiny_npz):
    out = tmp_path / "run"
    p = start("train", "--dataset", tiny_npz, "--hidden", "8", "--epochs", "500", "--no-augment", "--plain",
              "--no-report", "--out", out, stderr=subprocess.STDOUT)
    lines = [p.stdout.readline().decode() for _ in range(3)]  # as `2>&1 | head -3` reads them
    p.stdout.close()
    assert p.wait(timeout=300) == 141
    assert lines[0].startswith("training on") and lines[2].startswith("epoch 2/500")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interrupted"] is True and 2 <= metrics["epochs"] < 500
    assert nn.Sequential.load(out / "model.safetensors").epoch == metrics["epochs"]  # the file it describes
