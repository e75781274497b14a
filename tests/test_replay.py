"""The replay configs in examples/, run in a short form: each builds the network its header names, initialised as
the header says, reads the data layout its tutorial used, and its loss falls in a few steps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from numpynn import data
from numpynn.config import TrainConfig
from numpynn.data.idx import write_idx
from numpynn.run import build_model, train_run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
N_TRAIN, N_TEST = 1200, 300


@pytest.fixture(scope="module")
def digits():
    (X, y), (Xt, yt) = data.load_raw("mnist-sample")
    return X[:N_TRAIN], y[:N_TRAIN], Xt[:N_TEST], yt[:N_TEST]


def keras_npz(folder: Path, digits) -> Path:
    X, y, Xt, yt = digits
    path = folder / "mnist.npz"
    np.savez(path, x_train=X, y_train=y, x_test=Xt, y_test=yt)
    return path


def kaggle_folder(folder: Path, digits) -> Path:
    """The four IDX files under Kaggle's dotted, uncompressed names (train-images.idx3-ubyte, ...)."""
    X, y, Xt, yt = digits
    out = folder / "kaggle"
    out.mkdir()
    for name, array in (("train-images.idx3-ubyte", X), ("train-labels.idx1-ubyte", y),
                        ("t10k-images.idx3-ubyte", Xt), ("t10k-labels.idx1-ubyte", yt)):
        write_idx(out / name, array, compress=False)
    return out


def openml_csv(folder: Path, digits) -> Path:
    """OpenML's mnist_784 layout: pixel1..pixel784 then class, the training rows first (6/7 of the file)."""
    X, y, Xt, yt = digits
    n_test = N_TRAIN // 6  # the reader splits a file shorter than OpenML's 6/7 : 1/7
    rows = np.column_stack([np.concatenate([X, Xt[:n_test]]).reshape(-1, 784), np.concatenate([y, yt[:n_test]])])
    path = folder / "mnist_784.csv"
    header = ",".join([f"pixel{i}" for i in range(1, 785)] + ["class"])
    np.savetxt(path, rows.astype(np.int64), fmt="%d", delimiter=",", header=header, comments="")
    return path


# config -> (its data layout, hidden sizes, hidden activation, output activation, weight std of the first layer
# (None: He, sqrt(2 / fan_in)), bias std, full batch)
REPLAYS = {
    "mnist_functional.toml": (keras_npz, [128], "relu", "softmax", 0.01, 0.01, True),
    "mnist_class_based.toml": (kaggle_folder, [100, 200], "relu", "softmax", None, 0.0, False),
    "mnist_four_layer.toml": (keras_npz, [50, 50, 50], "relu", "softmax", None, 0.0, True),
    "mnist_one_layer_sigmoid.toml": (openml_csv, [], None, "sigmoid", 0.01, 0.0, False),
}


@pytest.mark.parametrize("name", sorted(REPLAYS))
def test_replay_config_builds_its_network_and_its_loss_falls(name, digits, tmp_path):
    layout, hidden, act, out_act, w_std, b_std, full_batch = REPLAYS[name]
    config = TrainConfig.from_toml(EXAMPLES / name)
    header = (EXAMPLES / name).read_text().splitlines()[0]
    assert header.startswith("# Replays the ") and config.dataset == "mnist"  # named as users will
    assert config.hidden == hidden and (config.batch_size == 0) == full_batch

    model = build_model(config, 784, 10)  # the network as built, before any step
    dense = model.layers
    assert [d.out_features for d in dense] == hidden + [10]
    assert [d.activation for d in dense] == [act] * len(hidden) + [out_act]
    for d in dense:
        W = d.params["W"]
        expected = w_std if w_std is not None else np.sqrt(2 / d.in_features)
        assert W.std() == pytest.approx(expected, rel=0.1) and abs(W.mean()) < expected / 5
    biases = np.concatenate([d.params["b"] for d in dense])  # all of them: an output layer has only ten
    if b_std:
        assert biases.std() == pytest.approx(b_std, rel=0.25) and abs(biases.mean()) < b_std / 2
    else:
        assert not biases.any()

    steps = 8 if full_batch else 1  # eight full-batch iterations, or one epoch of minibatches
    short = TrainConfig.from_toml(EXAMPLES / name, {"dataset": str(layout(tmp_path, digits)), "epochs": steps})
    result = train_run(short, tmp_path / "run", log=lambda *a: None, verbose=0, report=False)
    losses = result.model.history.batch_loss
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    n_train = metrics["samples"]["train"]
    assert n_train == N_TRAIN and metrics["samples"]["test"] == (N_TRAIN // 6 if layout is openml_csv else N_TEST)
    assert len(losses) == (steps if full_batch else int(np.ceil(n_train / config.batch_size)))
    assert np.isfinite(losses).all() and np.mean(losses[-3:]) < losses[0]
    if name == "mnist_functional.toml":  # plain gradient descent: every iteration sees the same 1,200 images
        assert result.model.optimizer.iterations == steps


def test_best_mlp_config_is_a_pure_mlp_with_elastic_augmentation_and_trains(digits, tmp_path):
    config = TrainConfig.from_toml(EXAMPLES / "mnist_best.toml")
    assert config.dataset == "mnist" and config.augment and config.elastic > 0 and config.validation_split == 0
    assert config.scale > 0 and config.elastic_sigma == 4.0 and config.precision == "bf16"
    model = build_model(config, 784, 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "BatchNorm", "ReLU", "Dropout"] * 2 + ["Dense"]  # dense layers only: no convolution
    assert [d.out_features for d in model.layers if type(d).__name__ == "Dense"] == [1024, 1024, 10]
    # two epochs in float32 (bf16 needs numpynn[bf16] and a CPU with bfloat16 products; tests/test_bf16.py has it)
    short = TrainConfig.from_toml(EXAMPLES / "mnist_best.toml", {"dataset": str(keras_npz(tmp_path, digits)),
                                                                  "epochs": 2, "precision": "float32"})
    result = train_run(short, tmp_path / "run", log=lambda *a: None, verbose=0, report=False)
    losses = result.model.history.batch_loss
    assert np.isfinite(losses).all() and np.mean(losses[-3:]) < np.mean(losses[:3])
    assert result.test_metrics["accuracy"] > 0.5  # two epochs on 1,200 distorted digits already read most
