"""`numpynn train --resume RUN_DIR`: an interrupted run continued is bit-identical to one never interrupted; a
reused --out is refused; after Ctrl-C every figure in the run folder describes the model file it holds."""

from __future__ import annotations

import json
import signal

import pytest

import numpynn as nn
from numpynn import run as run_module
from numpynn.cli import main
from numpynn.config import TrainConfig
from numpynn.training.callbacks import Callback

TINY = ["--hidden", "16", "--epochs", "4", "--batch-size", "64", "--no-report", "--quiet"]


class _CtrlC(Callback):
    """Presses Ctrl-C at the end of epoch `epoch`, or in the first batch with epoch 0 (fit then stops after the
    next batch)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, step, logs):
        if self.epoch == 0 and step == 1:
            signal.raise_signal(signal.SIGINT)

    def on_epoch_end(self, epoch, logs):
        if epoch == self.epoch:
            signal.raise_signal(signal.SIGINT)


@pytest.fixture
def interrupt_after(monkeypatch):
    """interrupt_after(k): the train runs in this process get Ctrl-C at the end of epoch k (0: in epoch 1) until
    interrupt_after(None)."""
    armed: dict[str, int | None] = {"epoch": None}
    build = run_module.build_callbacks

    def with_ctrl_c(*args, **kwargs):
        cbs = build(*args, **kwargs)
        return cbs if armed["epoch"] is None else [*cbs, _CtrlC(armed["epoch"])]

    monkeypatch.setattr(run_module, "build_callbacks", with_ctrl_c)
    return lambda epoch: armed.update(epoch=epoch)


def _figures(model: nn.Sequential) -> dict:
    h = model.history
    return {k: h.epochs[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy")} | {"batch": h.batch_loss}


def test_resume_continues_exactly_as_an_uninterrupted_run(tmp_path, tiny_npz, interrupt_after, capsys):
    whole, parted = tmp_path / "whole", tmp_path / "parted"
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(whole), *TINY]) == 0
    interrupt_after(2)
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(parted), *TINY]) == 130
    interrupt_after(None)
    stopped = nn.load(parted / "model.safetensors")
    assert stopped.epoch == 2
    assert json.loads((parted / "metrics.json").read_text())["epochs"] == 2
    assert main(["train", "--resume", str(parted), "--quiet", "--no-report"]) == 0

    a, b = nn.load(whole / "model.safetensors"), nn.load(parted / "model.safetensors")
    assert a.epoch == b.epoch == 4 and a.optimizer.iterations == b.optimizer.iterations
    for key, w in a.get_weights().items():
        assert w.tobytes() == b.get_weights()[key].tobytes(), key
    for key, st in a.optimizer.state.items():
        for name, value in st.items():
            assert value.tobytes() == b.optimizer.state[key][name].tobytes(), (key, name)
    assert _figures(a) == _figures(b)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (whole, parted))
    assert ma["test"] == mb["test"] and mb["epochs"] == 4


def test_resume_refuses_what_it_cannot_continue(tmp_path, tiny_npz, capsys):
    done = tmp_path / "done"
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(done), *TINY[:2], "--epochs", "1",
                 "--no-report", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(done)]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["train", "--resume", str(done), "--lr", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "--resume continues a run with its own config.toml; it takes no --lr" in err
    assert main(["train", "--resume", str(tmp_path / "nowhere")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_a_non_empty_out_is_refused_unless_forced(tmp_path, tiny_npz, capsys):
    out = tmp_path / "run"
    args = ["train", "--dataset", str(tiny_npz), "--out", str(out), "--hidden", "8", "--epochs", "1",
            "--no-report", "--quiet"]
    assert main(args) == 0
    before = (out / "model.safetensors").read_bytes()
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is not empty" in err and "--resume" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1
    assert (out / "model.safetensors").read_bytes() == before  # refused before anything was touched
    (out / "notes.txt").write_text("mine")
    assert main([*args, "--force", "--seed", "3"]) == 0
    assert (out / "notes.txt").read_text() == "mine"  # --force removes only what a run writes
    assert nn.load(out / "model.safetensors").seed == 3


def test_ctrl_c_in_a_later_epoch_leaves_figures_of_the_saved_model(tmp_path, tiny_npz, interrupt_after, capsys):
    out = tmp_path / "run"
    interrupt_after(2)
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(out), *TINY[:-1]]) == 130
    err = capsys.readouterr().err
    model = nn.load(out / "model.safetensors")
    assert model.epoch == 2 and "holds the model of epoch 2" in err and "--resume" in err
    history = json.loads((out / "history.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(history["epochs"]["loss"]) == 2 and history["interrupted"] is True
    assert len(history["batch_loss"]) == model.optimizer.iterations  # not the batch of epoch 3 after Ctrl-C
    assert metrics["epochs"] == 2 and metrics["interrupted"] is True
    (_, _), (Xt, yt) = nn.datasets.load(tiny_npz)
    assert metrics["test"]["loss"] == pytest.approx(model.evaluate(Xt, yt)["loss"], rel=1e-6)


def test_ctrl_c_in_epoch_one_says_no_model_was_saved(tmp_path, tiny_npz, interrupt_after, capsys):
    out = tmp_path / "run"
    interrupt_after(0)
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(out), *TINY[:-1]]) == 130
    err = capsys.readouterr().err
    assert "no model was saved" in err and "holds the model" not in err
    assert not (out / "model.safetensors").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 0 and metrics["test"] is None and metrics["model_saved"] is False
    assert json.loads((out / "history.json").read_text())["epochs"] == {}
    assert main(["train", "--resume", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_finished_run_continues_to_a_new_total_of_epochs(tmp_path, tiny_npz, capsys):
    """--resume RUN --epochs N continues a finished run as if it had been started for N epochs (a constant rate:
    bit for bit); N at or below the epochs done is refused, and config.toml records the new total."""
    whole, grown = tmp_path / "whole", tmp_path / "grown"
    flat = [*TINY[:2], "--schedule", "none", "--batch-size", "64", "--no-report", "--quiet"]
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(whole), *flat, "--epochs", "4"]) == 0
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(grown), *flat, "--epochs", "2"]) == 0
    assert main(["train", "--resume", str(grown), "--epochs", "4", "--quiet", "--no-report"]) == 0
    a, b = nn.load(whole / "model.safetensors"), nn.load(grown / "model.safetensors")
    assert b.epoch == 4 and a.optimizer.iterations == b.optimizer.iterations
    for key, w in a.get_weights().items():
        assert w.tobytes() == b.get_weights()[key].tobytes(), key
    assert _figures(a) == _figures(b)
    assert TrainConfig.from_toml(grown / "config.toml").epochs == 4
    assert json.loads((grown / "metrics.json").read_text())["epochs"] == 4
    capsys.readouterr()
    for too_few in ("4", "3"):
        assert main(["train", "--resume", str(grown), "--epochs", too_few]) == 2
        err = capsys.readouterr().err
        assert f"has finished 4 epochs and the run asks for {too_few} in all" in err and "above 4" in err
    assert nn.load(grown / "model.safetensors").epoch == 4  # refused before anything was touched
    assert TrainConfig.from_toml(grown / "config.toml").epochs == 4


def test_a_cosine_schedule_is_stretched_to_the_new_total(tmp_path, tiny_npz, capsys):
    """A finished cosine run ends at rate 0; continued, it follows the rates a run planned that long has."""
    whole, grown = tmp_path / "whole", tmp_path / "grown"
    cosine = [*TINY[:2], "--schedule", "cosine", "--no-report", "--quiet"]
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(whole), *cosine, "--epochs", "4"]) == 0
    assert main(["train", "--dataset", str(tiny_npz), "--out", str(grown), *cosine, "--epochs", "2"]) == 0
    assert main(["train", "--resume", str(grown), "--epochs", "4", "--quiet", "--no-report"]) == 0
    lr_whole, lr_grown = (nn.load(d / "model.safetensors").history["lr"] for d in (whole, grown))
    assert len(lr_grown) == 4 and min(lr_grown[2:]) > 0
    assert lr_grown[2:] == pytest.approx(lr_whole[2:], rel=1e-12)
    assert nn.load(grown / "model.safetensors").optimizer.lr.total_steps == \
        nn.load(whole / "model.safetensors").optimizer.lr.total_steps
