"""The files of a run folder, read as a stranger's: history.json, metrics.json, doctor.jsonl (or an older run's
doctor.json) and config.toml.

A run folder may come from anyone (a colleague's results, an archive from the web), and `numpynn compare`,
`numpynn doctor` and the report read it. Each file is opened only if it is a regular file (a FIFO is refused,
never waited on), its size is checked before a byte is read, its JSON is parsed with the model reader's
nesting limit (`io.parse_json`), and every field is checked by type before it is used (`filechecks`). Every
failure is a RunFileError that names the file and the field, e.g.
"runs/a/history.json: epochs['loss'][3] must be a number, got 'x'".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from . import filechecks as checks
from .data.files import open_regular
from .errors import ModelFileError, RunFileError
from .io import MAX_METADATA_BYTES, parse_json

MAX_RUN_FILE_BYTES = 4 * MAX_METADATA_BYTES  # history.json: the history a model file's metadata holds, indented
MAX_SMALL_FILE_BYTES = 1 << 20  # metrics.json, config.toml: a few kilobytes in any run
PLOTTED = ("loss", "val_loss", "accuracy", "val_accuracy")  # drawn against epochs['epoch'] by compare
DOCTOR_FIGURES = ("weight_norm", "grad_norm", "update_ratio", "act_mean", "act_std", "dead_fraction",
                  "saturated_fraction")
RECORD_FIGURES = ("val_loss", "lr", "probe_accuracy")  # a record's optional run-level figures


@contextlib.contextmanager
def fields_of(path: str | os.PathLike) -> Iterator[None]:
    """Turn a field check's failure (filechecks' ModelFileError) into a RunFileError naming the file."""
    try:
        yield
    except ModelFileError as exc:
        raise RunFileError(f"{path}: {exc}") from None
    except (OverflowError, ValueError, TypeError) as exc:  # a last net: every field has its own check
        raise RunFileError(f"{path}: {str(exc):.200}") from None


def read_bytes(path: str | os.PathLike, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (MAX_RUN_FILE_BYTES by default); RunFileError
    otherwise, before anything is read."""
    limit = MAX_RUN_FILE_BYTES if limit is None else limit
    with open_regular(path, "run file", RunFileError) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise RunFileError(f"{path}: {size:,} bytes, more than the {limit:,} a run file of numpynn may have; "
                               f"refusing to read it")
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise RunFileError(f"{path}: read error: {exc.strerror or exc}") from None
    if len(data) > limit:  # it grew while being read
        raise RunFileError(f"{path}: more than the {limit:,} bytes a run file of numpynn may have")
    return data


def read_json(path: str | os.PathLike, limit: int | None = None) -> Any:
    """A run file's JSON, size- and depth-bounded (NaN and Infinity allowed: histories record them)."""
    raw = read_bytes(path, limit)
    try:
        return parse_json(raw, str(path))
    except ModelFileError as exc:  # its message names the file already
        raise RunFileError(str(exc)) from None


def read_history(path: str | os.PathLike) -> dict[str, Any]:
    """A history.json (History.to_dict), every figure a number and the curves one value per epoch."""
    d = read_json(path)
    with fields_of(path):
        checks.history(d, "")
        epochs = d.get("epochs", {})
        checks.numbers(epochs.get("epoch", []), "epochs['epoch']")  # the x axis of every curve: finite
        n = len(epochs.get("epoch", []))
        for name in PLOTTED:
            if epochs.get(name) and "epoch" not in epochs:
                raise ModelFileError(f"epochs[{name!r}] has values but there is no epochs['epoch']")
            if name in epochs and len(epochs[name]) != n:
                raise ModelFileError(f"epochs[{name!r}] has {len(epochs[name])} values but epochs['epoch'] has {n}; "
                                     f"a history has one value per epoch")
    return d


def read_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """A metrics.json: the test results and the figures compare shows, each a number where one is shown."""
    d = read_json(path, MAX_SMALL_FILE_BYTES)
    with fields_of(path):
        checks.obj(d, "the file")
        if d.get("test") is None:
            raise ModelFileError("test is null: the run has no test results (was it stopped before its first "
                                 "epoch ended?)")
        test = checks.obj(d["test"], "test")
        for key in ("accuracy", "loss", "ece", *(k for k in test if k.startswith("top") and k.endswith("_accuracy"))):
            checks.optional_number(test.get(key), f"test.{key}")
        if d.get("epochs") is not None:
            checks.integer(d["epochs"], "epochs")
        checks.optional_number(d.get("train_seconds"), "train_seconds")
        timing = checks.obj(d.get("timing", {}), "timing")
        checks.optional_number(timing.get("samples_per_second"), "timing.samples_per_second")
    return d


def read_doctor(path: str | os.PathLike, *, with_data: bool = False) -> tuple:
    """(records, divergence) of the doctor's file, checked field by field; a null figure comes back as NaN.
    With `with_data`, (records, divergence, data): the data's scale figures ({} where the file has none).

    Either format: JSON lines (training/doctor_file.py: a header line, one record a line, a divergence line;
    a torn last line, as a killed run leaves it, is dropped), or the one JSON object of runs before it,
    {"records": [...], "divergence": ...}.
    A record: {"epoch": int, "loss": number, "layers": [{"layer": int, "name": str, <figure>: number, ...}]};
    the divergence: null or {"text": str, "layer": int or null, "epoch": int, "step": int, "batch": int, ...}."""
    raw = read_bytes(path)
    first = raw.split(b"\n", 1)[0]
    if first.startswith(b"{") and first.rstrip().endswith(b"}") and b'"numpynn"' in first:
        records, divergence, data = _read_doctor_lines(path, raw)
    else:
        d = read_json(path)
        with fields_of(path):
            checks.obj(d, "the file")
            records = [_record(r, f"records[{i}]") for i, r in
                       enumerate(checks.array(d.get("records"), "records", "per-epoch records"))]
            divergence, data = _divergence(d.get("divergence")), {}
    return (records, divergence, data) if with_data else (records, divergence)


def _read_doctor_lines(path: str | os.PathLike, raw: bytes) -> tuple[list[dict[str, Any]], dict[str, Any] | None,
                                                                     dict[str, Any]]:
    from .training.doctor_file import HEADER

    lines = raw.split(b"\n")
    if lines[-1] and len(lines) > 1:  # no newline after it: cut short by a killed run, dropped
        lines.pop()
    records: list[dict[str, Any]] = []
    divergence, data = None, {}
    with fields_of(path):
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            item = checks.obj(parse_json(line, f"line {n}"), f"line {n}")
            if n == 1:
                if item.get("numpynn") != HEADER["numpynn"] or item.get("version") != HEADER["version"]:
                    raise ModelFileError(f"line 1 must be the header {HEADER}, got {str(item):.200}")
                if "data" in item:
                    data = _data(item["data"], "line 1: data")
            elif "divergence" in item:
                divergence = _divergence(item["divergence"], f"line {n}: divergence")
            else:
                records.append(_record(item, f"line {n}"))
    return records, divergence, data


def _data(value: Any, field: str) -> dict[str, Any]:
    """The data's scale figures: every value a number (null read as NaN); names are checked by the rules' use."""
    d = checks.obj(value, field)
    out = {}
    for key, v in d.items():
        checks.text(key, f"{field} key")
        n = checks.optional_number(v, f"{field}.{key}")
        out[key] = float("nan") if n is None else n
    return out


def _record(value: Any, field: str) -> dict[str, Any]:
    r = checks.obj(value, field)
    epoch = checks.integer(r.get("epoch"), f"{field}.epoch")
    loss = checks.optional_number(r.get("loss"), f"{field}.loss")
    layers = checks.array(r.get("layers"), f"{field}.layers", "per-layer figures")
    out = {"epoch": epoch, "loss": float("nan") if loss is None else loss,
           "layers": [_layer(ly, f"{field}.layers[{j}]") for j, ly in enumerate(layers)]}
    for key in RECORD_FIGURES:
        if key in r:
            v = checks.optional_number(r[key], f"{field}.{key}")
            out[key] = float("nan") if v is None else v
    return out


def _layer(value: Any, field: str) -> dict[str, Any]:
    ly = dict(checks.obj(value, field))
    checks.integer(ly.get("layer"), f"{field}.layer")
    for key in ("name", "activation"):
        checks.text(ly.get(key), f"{field}.{key}", optional=True)
    for key in DOCTOR_FIGURES:
        if key in ly:
            v = checks.optional_number(ly[key], f"{field}.{key}")
            ly[key] = float("nan") if v is None else v
    return ly


def _divergence(value: Any, field: str = "divergence") -> dict[str, Any] | None:
    if value is None:
        return None
    div = checks.obj(value, field)
    checks.text(div.get("text"), f"{field}.text")
    for key in ("layer", "epoch", "step", "batch"):
        if div.get(key) is not None:
            checks.integer(div[key], f"{field}.{key}")
    for key in ("layer_name", "tensor", "kind"):
        checks.text(div.get(key), f"{field}.{key}", optional=True)
    return div
