"""The doctor's file on long, diverged and killed runs: appended records (the bytes written per epoch do not grow
with the epochs), on disk before a divergence error, readable after kill -9 (a torn last line dropped), and a
doctor.json of runs before doctor.jsonl still reads."""

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
from numpynn.cli import main
from numpynn.errors import RunFileError
from numpynn.training.doctor import Doctor, _finite_json, load_doctor

ROOT = Path(__file__).resolve().parents[1]
X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y_XOR = np.array([[0], [1], [1], [0]], dtype=np.float32)


def xor_model() -> nn.Sequential:
    """examples/xor.toml's network: 2-3-1, sigmoid, full-batch SGD at rate 2."""
    model = nn.Sequential([nn.Dense(2, 3, activation="sigmoid", init="glorot_uniform"), nn.Dense(3, 1)], seed=0)
    model.set_loss("binary_cross_entropy")
    return model


def bytes_written() -> int:
    """Bytes this process has handed to write() so far (Linux's /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


class WritesPerEpoch(nn.Callback):
    """The bytes written during each epoch (the doctor's callback runs before it)."""

    def __init__(self):
        self.per_epoch: list[int] = []

    def on_epoch_begin(self, epoch):
        self._at = bytes_written()

    def on_epoch_end(self, epoch, logs):
        self.per_epoch.append(bytes_written() - self._at)


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts bytes with Linux's /proc/self/io")
def test_a_long_runs_writes_per_epoch_do_not_grow(tmp_path):
    path = tmp_path / "doctor.jsonl"
    doctor, writes = Doctor(path, flush_seconds=0.0, budget=None), WritesPerEpoch()  # every epoch, flushed
    before = bytes_written()
    xor_model().fit(X_XOR, Y_XOR, optimizer=nn.SGD(2.0), epochs=2000, batch_size=None, verbose=0,
                    callbacks=[doctor, writes])
    total = bytes_written() - before
    size = path.stat().st_size
    assert total <= size + 4096  # each byte written once: nothing is rewritten
    early, late = max(writes.per_epoch[:10]), max(writes.per_epoch[-10:])
    assert 0 < late <= early + 16  # one record a line: a few more digits in an epoch number at most
    assert size < 2000 * 1000
    assert [r["epoch"] for r in load_doctor(tmp_path)["records"]] == list(range(1, 2001))


def test_a_small_budget_measures_the_first_and_last_epoch(tmp_path):
    doctor = Doctor(tmp_path / "doctor.jsonl", budget=1e-12)
    xor_model().fit(X_XOR, Y_XOR, optimizer=nn.SGD(2.0), epochs=300, batch_size=None, verbose=0, callbacks=[doctor])
    assert [r["epoch"] for r in doctor.records] == [1, 300]
    assert [r["epoch"] for r in load_doctor(tmp_path)["records"]] == [1, 300]
    with pytest.raises(ValueError, match=r"budget must be in \(0, 1\] or None"):
        Doctor(budget=0.0)


def test_a_divergence_in_an_unmeasured_epoch_leaves_the_records_and_the_trace_on_disk(tmp_path, capsys):
    class InjectNaN(nn.Callback):
        def on_batch_end(self, step, logs):
            if step == 40:  # after step 40: step 41 (epoch 41, which a tiny budget does not measure) meets it
                self.model.layers[1].params["W"][0, 0] = np.nan

    doctor = Doctor(tmp_path / "doctor.jsonl", budget=1e-12, flush_seconds=3600.0)  # only the error flushes
    with pytest.raises(nn.TrainingDivergedError):
        xor_model().fit(X_XOR, Y_XOR, optimizer=nn.SGD(2.0), epochs=100, batch_size=None, verbose=0,
                        callbacks=[doctor, InjectNaN()])
    doc = load_doctor(tmp_path)
    assert [r["epoch"] for r in doc["records"]] == [1]
    assert (doc["divergence"]["epoch"], doc["divergence"]["layer"], doc["divergence"]["tensor"]) == (40, 1, "W")
    assert doc["findings"][0].rule == "non_finite"
    assert main(["doctor", str(tmp_path)]) == 0
    assert "training diverged at step" in capsys.readouterr().out


def test_a_killed_runs_files_read_back(tmp_path, engine):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NUMPYNN_KERNELS": engine}
    proc = subprocess.Popen([sys.executable, "-m", "numpynn", "train", "--config", str(ROOT / "examples" / "xor.toml"),
                             "--epochs", "10000000", "--no-report", "--quiet", "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        path = out / "doctor.jsonl"
        while not (path.exists() and path.read_bytes().count(b"\n") >= 3 and (out / "model.safetensors").exists()):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the run wrote no records in 60 s"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    doc = load_doctor(out)
    epochs = [r["epoch"] for r in doc["records"]]
    assert epochs[0] == 1 and epochs == sorted(epochs) and doc["divergence"] is None
    assert main(["doctor", str(out)]) == 0
    assert nn.Sequential.load(out / "model.safetensors").epoch >= 1


def test_a_torn_last_line_is_dropped_and_a_torn_line_before_it_refused(tmp_path):
    xor_model().fit(X_XOR, Y_XOR, optimizer=nn.SGD(2.0), epochs=3, batch_size=None, verbose=0,
                    callbacks=[Doctor(tmp_path / "doctor.jsonl", budget=None)])
    path = tmp_path / "doctor.jsonl"
    whole = path.read_bytes()
    with path.open("ab") as f:
        f.write(b'{"epoch":4,"loss":0.6,"lay')  # a kill in the middle of a write
    assert [r["epoch"] for r in load_doctor(tmp_path)["records"]] == [1, 2, 3]
    lines = whole.split(b"\n")
    path.write_bytes(b"\n".join([*lines[:2], lines[2][:20], *lines[3:]]))
    with pytest.raises(RunFileError, match=r"doctor.jsonl: line 3 is not valid JSON"):
        load_doctor(tmp_path)
    path.write_bytes(whole.replace(b'"epoch":2', b'"epoch":"two"'))
    with pytest.raises(RunFileError, match=r"doctor.jsonl: line 3.epoch must be an integer"):
        load_doctor(tmp_path)
    path.write_bytes(whole.replace(b'"version":1', b'"version":7'))
    with pytest.raises(RunFileError, match=r"doctor.jsonl: line 1 must be the header"):
        load_doctor(tmp_path)


def test_an_old_runs_doctor_json_still_reads(tmp_path, capsys):
    doctor = Doctor(budget=None)
    xor_model().fit(X_XOR, Y_XOR, optimizer=nn.SGD(2.0), epochs=3, batch_size=None, verbose=0, callbacks=[doctor])
    # the one JSON object that runs before doctor.jsonl rewrote every epoch
    old = {"records": doctor.records, "divergence": None, "findings": [vars(f) for f in doctor.findings()]}
    (tmp_path / "doctor.json").write_text(json.dumps(_finite_json(old), indent=1))
    doc = load_doctor(tmp_path)
    assert [r["epoch"] for r in doc["records"]] == [1, 2, 3] and doc["divergence"] is None
    assert doc["records"][-1]["layers"][0]["weight_norm"] == doctor.records[-1]["layers"][0]["weight_norm"]
    assert main(["doctor", str(tmp_path)]) == 0
    assert "epoch 3, per layer:" in capsys.readouterr().out
