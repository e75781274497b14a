"""Hostile run folders: `numpynn compare`, `numpynn doctor` and their readers (numpynn.runfiles) end a crafted
history.json, metrics.json, doctor.json or config.toml in numpynn's error naming the file (and the field), never
in a raw exception, a hang on a FIFO, or reading a huge file whole."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from numpynn import runfiles
from numpynn.cli import main
from numpynn.compare import load_run, write_compare
from numpynn.config import TrainConfig
from numpynn.errors import NumpynnError, RunFileError
from numpynn.run import train_run
from numpynn.training.doctor import _finite_json, load_doctor
from tests.blocking import within

pytest.importorskip("matplotlib")


@pytest.fixture
def engine():
    """The readers use no engine: one run of each test (the conftest fixture would run them twice)."""
    return None


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A genuine run folder (2 epochs of a small network, with the doctor's records)."""
    from numpynn import data

    folder = tmp_path_factory.mktemp("runs")
    (X, y), (Xt, yt) = data.load_raw("mnist-sample")
    np.savez(folder / "tiny.npz", x_train=X[:300], y_train=y[:300], x_test=Xt[:100], y_test=yt[:100])
    cfg = TrainConfig(dataset=str(folder / "tiny.npz"), hidden=[8], epochs=2)
    train_run(cfg, folder / "good", log=lambda *a: None, verbose=0, report=False)
    return folder / "good"


@pytest.fixture
def copy(good_run, tmp_path):
    """A fresh copy of the genuine run, to be spoiled by the test; its doctor's records in the one-object
    doctor.json that runs before doctor.jsonl wrote (the format with nested fields to spoil)."""
    def make(name: str = "bad") -> Path:
        folder = Path(shutil.copytree(good_run, tmp_path / name))
        records, divergence = runfiles.read_doctor(folder / "doctor.jsonl")
        (folder / "doctor.json").write_text(json.dumps(_finite_json({"records": records, "divergence": divergence}),
                                                       indent=1))
        (folder / "doctor.jsonl").unlink()
        return folder
    return make




def _put(keys, value):
    """A spoiler: set one field of a run file's JSON to `value`."""
    def spoil(path: Path) -> None:
        d = top = json.loads(path.read_text())
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
        path.write_text(json.dumps(top, allow_nan=True))
    return spoil


def test_the_genuine_run_reads_back(good_run, tmp_path):
    record = load_run(good_run)
    assert len(record.history) == 2 and record.metrics["epochs"] == 2
    doc = load_doctor(good_run)
    assert [r["epoch"] for r in doc["records"]] == [1, 2] and doc["divergence"] is None
    assert write_compare([good_run, good_run], tmp_path / "c.html").is_file()


HISTORY_CASES = [
    ("deep", lambda p: p.write_text("[" * 100_000 + "]" * 100_000), r"history.json nests deeper than 64 levels"),
    ("text-loss", _put(["epochs", "loss", 1], "x"), r"history.json: epochs\['loss'\]\[1\] must be a number, got 'x'"),
    ("epochs-list", _put(["epochs"], [1, 2]), r"history.json: epochs must be an object, got \[1, 2\]"),
    ("batch-loss-dict", _put(["batch_loss"], {"a": 1}), r"history.json: batch_loss must be a list of numbers"),
    ("flag-text", _put(["interrupted"], "no"), r"history.json: interrupted must be true or false, got 'no'"),
    ("epoch-inf", _put(["epochs", "epoch", 0], 1e999), r"history.json: epochs\['epoch'\]\[0\] must be a finite number"),
    ("ragged", _put(["epochs", "loss"], [1.0]), r"history.json: epochs\['loss'\] has 1 values but epochs\['epoch'\] "
                                                r"has 2"),
    ("not-json", lambda p: p.write_bytes(b"\xff\xfe{"), r"history.json is not valid JSON"),
    ("list", lambda p: p.write_text("[1]"), r"history.json: the history must be an object, got \[1\]"),
]


@pytest.mark.parametrize(("case", "spoil", "match"), HISTORY_CASES, ids=[c[0] for c in HISTORY_CASES])
def test_a_crafted_history_is_refused_naming_the_file_and_field(copy, tmp_path, case, spoil, match):
    bad = copy()
    path = bad / "history.json"
    spoil(path)
    with pytest.raises(RunFileError, match=match):
        write_compare([bad, bad], tmp_path / "c.html")
    assert not (tmp_path / "c.html").exists()


METRICS_CASES = [
    ("accuracy-text", _put(["test", "accuracy"], "0.9"), r"metrics.json: test.accuracy must be a number or null, "
                                                         r"got '0.9'"),
    ("test-list", _put(["test"], [1]), r"metrics.json: test must be an object, got \[1\]"),
    ("test-null", _put(["test"], None), r"metrics.json: test is null: the run has no test results"),
    ("epochs-inf", _put(["epochs"], 1e999), r"metrics.json: epochs must be an integer in \[0, \d+\], got inf"),
    ("timing-text", _put(["timing"], "fast"), r"metrics.json: timing must be an object, got 'fast'"),
    ("seconds-list", _put(["train_seconds"], [1]), r"metrics.json: train_seconds must be a number or null"),
    ("seconds-huge", _put(["train_seconds"], 10**400), r"metrics.json: train_seconds must be a number or null"),
]


@pytest.mark.parametrize(("case", "spoil", "match"), METRICS_CASES, ids=[c[0] for c in METRICS_CASES])
def test_crafted_metrics_are_refused_naming_the_file_and_field(copy, tmp_path, case, spoil, match):
    bad = copy()
    spoil(bad / "metrics.json")
    with pytest.raises(RunFileError, match=match):
        write_compare([bad, bad], tmp_path / "c.html")


DOCTOR_CASES = [
    ("epoch-1e999", _put(["records", 0, "epoch"], 1e999), r"doctor.json: records\[0\].epoch must be an integer in "
                                                           r"\[0, \d+\], got inf"),
    ("layer-text", _put(["records", 1, "layers", 0, "layer"], "0"), r"records\[1\].layers\[0\].layer must be an "
                                                                    r"integer"),
    ("norm-text", _put(["records", 0, "layers", 0, "weight_norm"], "big"), r"doctor.json: records\[0\].layers\[0\]"
                                                                           r".weight_norm must be a number or null"),
    ("layers-dict", _put(["records", 0, "layers"], {"0": {}}), r"records\[0\].layers must be a list"),
    ("record-list", _put(["records", 0], [1]), r"records\[0\] must be an object"),
    ("records-text", _put(["records"], "all"), r"doctor.json: records must be a list of per-epoch records"),
    ("divergence-no-text", _put(["divergence"], {"layer": 0}), r"divergence.text must be a string, got None"),
    ("divergence-layer-list", _put(["divergence"], {"text": "t", "layer": [0]}), r"divergence.layer must be an "
                                                                                 r"integer"),
    ("name-number", _put(["records", 0, "layers", 0, "name"], 5), r"records\[0\].layers\[0\].name must be a string"),
]


@pytest.mark.parametrize(("case", "spoil", "match"), DOCTOR_CASES, ids=[c[0] for c in DOCTOR_CASES])
def test_a_crafted_doctor_file_is_refused_naming_the_file_and_field(copy, capsys, case, spoil, match):
    bad = copy()
    spoil(bad / "doctor.json")
    with pytest.raises(RunFileError, match=match):
        load_doctor(bad)
    assert main(["doctor", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "doctor.json" in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_deep_doctor_file_and_a_deep_config_are_refused(copy, tmp_path, capsys):
    bad = copy()
    (bad / "doctor.json").write_text('{"records": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["doctor", str(bad)]) == 2
    assert "doctor.json nests deeper than 64 levels" in capsys.readouterr().err
    (bad / "config.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(RunFileError, match=r"config.toml: nested too deeply"):
        write_compare([bad, bad], tmp_path / "c.html")


def test_a_huge_history_is_refused_before_it_is_read(copy, tmp_path, capsys):
    bad = copy()
    path = bad / "history.json"
    os.truncate(path, 1_200_000_000)  # sparse: 1.2 GB on paper, nothing on disk
    with pytest.raises(RunFileError, match=r"history.json: 1,200,000,000 bytes, more than the [\d,]+ a run file"):
        within(20, load_run, bad)
    assert main(["compare", str(bad), str(bad), "--out", str(tmp_path / "c.html")]) == 2
    assert "1,200,000,000 bytes" in capsys.readouterr().err
    os.truncate(bad / "doctor.json", 1_200_000_000)
    with pytest.raises(RunFileError, match=r"doctor.json: 1,200,000,000 bytes"):
        within(20, load_doctor, bad)


def test_the_size_limit_counts_the_bytes_of_a_file(tmp_path, monkeypatch):
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"epochs": {"epoch": [1.0], "loss": [0.5]}}))
    assert runfiles.read_history(path)["epochs"]["loss"] == [0.5]
    monkeypatch.setattr(runfiles, "MAX_RUN_FILE_BYTES", 10)
    with pytest.raises(RunFileError, match=r"history.json: \d+ bytes, more than the 10 a run file"):
        runfiles.read_history(path)


@pytest.mark.parametrize("name", ["history.json", "metrics.json", "doctor.json", "config.toml"])
def test_a_fifo_in_a_run_folder_is_refused_without_waiting(copy, tmp_path, name):
    bad = copy()
    (bad / name).unlink()
    os.mkfifo(bad / name)
    reader = load_doctor if name == "doctor.json" else load_run
    with pytest.raises(NumpynnError, match=rf"{name}: expected a regular run file, but it is a FIFO"):
        within(20, reader, bad)
