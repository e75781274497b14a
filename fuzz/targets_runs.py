"""Fuzz targets for the run-folder readers: `numpynn compare` and `numpynn doctor` on a crafted file.

Each target puts its input into a run folder whose other files are genuine (history.json, metrics.json or
doctor.json) and does what the command does with it: compare writes its page (curves drawn), doctor prints its
findings and the last per-layer figures. Every input must end in a result or numpynn's own error.
MUTATORS set one JSON field to a hostile value or nest the file deeply, as someone who edits a run file would.
`python fuzz/targets_runs.py` rewrites the seed corpus in `fuzz/corpus/run_*/` from a small genuine run.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path

FILES = ("history.json", "metrics.json", "doctor.json")
METRICS = {"test": {"accuracy": 0.5, "loss": 1.2, "ece": 0.1, "top3_accuracy": 0.8}, "train_seconds": 1.5,
           "epochs": 2, "interrupted": False, "stopped_early": False, "dataset": "mnist-sample",
           "task": "classification", "samples": {"train": 90, "validation": 10, "test": 20},
           "timing": {"samples_per_second": 1000.0}}
HISTORY = {"epochs": {"epoch": [1.0, 2.0], "loss": [1.5, 1.1], "accuracy": [0.4, 0.6], "val_loss": [1.4, 1.2],
                      "val_accuracy": [0.45, 0.5], "lr": [0.002, 0.001], "time": [0.1, 0.1]},
           "batch_loss": [1.7, 1.4, 1.2, 1.0], "stopped_early": False, "interrupted": False}


def _run_folder(root: Path, name: str, body: bytes) -> Path:
    """A run folder whose file `name` is `body` and whose other files are genuine."""
    from numpynn.config import TrainConfig

    folder = root / "run"
    folder.mkdir()
    (folder / "config.toml").write_text(TrainConfig(hidden=[8], epochs=2).to_toml())
    (folder / "history.json").write_text(json.dumps(HISTORY))
    (folder / "metrics.json").write_text(json.dumps(METRICS))
    (folder / name).write_bytes(body)
    return folder


def _compare(name: str) -> Callable[[Path], None]:
    def target(path: Path) -> None:
        from numpynn.compare import write_compare

        with tempfile.TemporaryDirectory() as tmp:
            folder = _run_folder(Path(tmp), name, path.read_bytes())
            write_compare([folder, folder], Path(tmp) / "compare.html")
    return target


def _doctor(path: Path) -> None:
    """`numpynn doctor RUN_DIR` and `--json`, their output kept from the harness's own stdout."""
    from numpynn.cli import doctor

    with tempfile.TemporaryDirectory() as tmp:
        folder = _run_folder(Path(tmp), "doctor.json", path.read_bytes())
        with contextlib.redirect_stdout(io.StringIO()):
            for as_json in (False, True):
                doctor.run(Namespace(run_dir=folder, json=as_json))


TARGETS: dict[str, Callable[[Path], object]] = {"run_history": _compare("history.json"),
                                                "run_metrics": _compare("metrics.json"), "run_doctor": _doctor}


# --- structure-aware mutations ----------------------------------------------------------------------------
HOSTILE_VALUES = [None, True, -1, 2**63, 2**200, 1.5, 1e308, float("inf"), float("nan"), "", "x", "1", [], [1],
                  [[[]]], {}, {"text": 1}, {"layer": "0"}]


def _paths(value, prefix=()):
    """Every (path, value) inside a JSON value (the first 8 items of a list)."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:8]):
            yield from _paths(v, (*prefix, i))


def set_a_field(data: bytes, draw) -> bytes:
    """Replace one value anywhere in the JSON by a hostile one."""
    from hypothesis import strategies as st

    try:
        top = json.loads(data)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser: left as it is
        return data
    where = [p for p, _ in _paths(top) if p]
    if not where:
        return data
    path = draw(st.sampled_from(where))
    node = top
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = draw(st.sampled_from(HOSTILE_VALUES))
    return json.dumps(top, allow_nan=True).encode()


def nest_deeply(data: bytes, draw) -> bytes:
    from hypothesis import strategies as st

    depth = draw(st.sampled_from([63, 65, 1000, 100_000]))
    text = data.decode("utf-8", "replace").rstrip()
    if not text.endswith("}"):
        return data
    return (text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}").encode()


MUTATORS = {name: [set_a_field, set_a_field, nest_deeply] for name in TARGETS}


# --- the seed corpus --------------------------------------------------------------------------------------
def _genuine() -> dict[str, bytes]:
    """history.json and doctor.json of a small run trained here (a real Doctor's records), and metrics.json."""
    import numpy as np

    import numpynn as nn
    from numpynn.training.doctor import Doctor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    with tempfile.TemporaryDirectory() as tmp:
        doctor = Doctor(Path(tmp) / "doctor.json")
        model = nn.Sequential([nn.Dense(6, 8, "relu"), nn.Dense(8, 3)], seed=0)
        history = model.fit(X, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25, callbacks=[doctor],
                            metrics=["accuracy"])
        return {"history.json": history.to_json().encode(), "doctor.json": (Path(tmp) / "doctor.json").read_bytes(),
                "metrics.json": json.dumps(METRICS, indent=1).encode()}


def _overflowing(raw: bytes, keys) -> bytes:
    """`raw` with the number at `keys` written as 1e999, which JSON readers parse as infinity."""
    return _set(raw, keys, 123456.5).replace(b"123456.5", b"1e999", 1)


def _set(raw: bytes, keys, value) -> bytes:
    top = json.loads(raw)
    node = top
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return json.dumps(top, indent=1, allow_nan=True).encode()


def corpus() -> dict[str, dict[str, bytes]]:
    good = _genuine()
    h, m, d = good["history.json"], good["metrics.json"], good["doctor.json"]
    deep = b"[" * 20_000 + b"]" * 20_000
    divergence = {"step": 7, "epoch": 1, "batch": 3, "layer": 0, "layer_name": "Dense(6, 8, relu)", "tensor": "W",
                  "kind": "parameter", "text": "training diverged at step 7 (epoch 1, batch 3): the first non-finite "
                                               "value is in layer 0 (Dense(6, 8, relu)), parameter 'W'"}
    return {
        "run_history": {
            "good.json": h,
            "deep.json": deep,
            "epoch-1e999.json": _overflowing(h, ["epochs", "epoch", 0]),
            "loss-text.json": _set(h, ["epochs", "loss", 0], "x"),
            "epochs-list.json": _set(h, ["epochs"], [1, 2]),
            "ragged.json": _set(h, ["epochs", "val_loss"], [1.0]),
            "no-epoch.json": _set(h, ["epochs"], {"loss": [1.0, 0.5]}),
            "nan-loss.json": _set(h, ["epochs", "loss", 1], float("nan")),
            "digits-5000.json": b'{"epochs": {"epoch": [' + b"9" * 5000 + b"]}}",
            "not-utf8.json": b'\xff\xfe{"epochs": {}}',
            "empty.json": b"",
        },
        "run_metrics": {
            "good.json": m,
            "deep.json": deep,
            "test-null.json": _set(m, ["test"], None),
            "test-list.json": _set(m, ["test"], [0.5]),
            "accuracy-text.json": _set(m, ["test", "accuracy"], "0.5"),
            "epochs-1e999.json": _overflowing(m, ["epochs"]),
            "timing-text.json": _set(m, ["timing"], "fast"),
            "top3-dict.json": _set(m, ["test", "top3_accuracy"], {}),
        },
        "run_doctor": {
            "good.json": d,
            "diverged.json": _set(d, ["divergence"], divergence),
            "deep.json": b'{"records": ' + deep + b"}",
            "epoch-1e999.json": _overflowing(d, ["records", 0, "epoch"]),
            "epoch-text.json": _set(d, ["records", 0, "epoch"], "x"),
            "layer-text.json": _set(d, ["records", 0, "layers", 0, "layer"], "0"),
            "norm-text.json": _set(d, ["records", 1, "layers", 0, "weight_norm"], "big"),
            "layers-dict.json": _set(d, ["records", 0, "layers"], {"0": {}}),
            "records-null.json": _set(d, ["records"], None),
            "divergence-no-text.json": _set(d, ["divergence"], {"layer": 0}),
            "divergence-layer-list.json": _set(d, ["divergence"], {**divergence, "layer": [0]}),
            "empty.json": b"",
        },
    }


def write_corpus(root: Path) -> None:
    for target, files in corpus().items():
        folder = root / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (folder / name).write_bytes(body)


if __name__ == "__main__":
    write_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "corpus")
