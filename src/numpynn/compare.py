"""compare.html: several training runs on one self-contained page (curves overlaid, settings, results)."""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes
from .config import ConfigError, TrainConfig
from .errors import NumpynnError, RunFileError
from .report import CSS, _img, recipe
from .runfiles import MAX_SMALL_FILE_BYTES, read_bytes, read_history, read_metrics
from .shown import sendable_config
from .training.history import History


@dataclass
class RunRecord:
    name: str
    config: TrainConfig
    history: History
    metrics: dict[str, Any]


def load_run(run_dir: str | os.PathLike) -> RunRecord:
    """A run folder's config, history and metrics, each read by `runfiles` (regular files, bounded sizes and
    nesting, every field checked); NumpynnError naming the file (and field) that is missing or broken."""
    d = Path(run_dir)
    if not d.is_dir():
        raise NumpynnError(f"{d}: not a folder; expected a run folder written by `numpynn train`")
    for name in ("config.toml", "history.json", "metrics.json"):
        if not os.path.lexists(d / name):
            raise NumpynnError(f"{d}: not a complete run folder (no {name})")
    read_bytes(d / "config.toml", MAX_SMALL_FILE_BYTES)  # a regular file of a config's size, before TOML reads it
    try:
        config = TrainConfig.from_toml(d / "config.toml")
    except ConfigError as exc:
        raise NumpynnError(f"{d}: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nesting
        raise RunFileError(f"{d / 'config.toml'}: nested too deeply; no numpynn config nests") from None
    history = History.from_dict(read_history(d / "history.json"))
    return RunRecord(d.name, config, history, read_metrics(d / "metrics.json"))


def write_compare(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Write one HTML page comparing the runs in `run_dirs` (at least two) and return its path."""
    if len(run_dirs) < 2:
        raise NumpynnError(f"compare needs at least two run folders, got {len(run_dirs)}")
    runs = [load_run(d) for d in run_dirs]
    if len({r.name for r in runs}) < len(runs):  # two folders of the same name: tell them apart by their parent
        for r, d in zip(runs, run_dirs, strict=True):
            r.name = f"{Path(os.path.abspath(d)).parent.name}/{r.name}"
    for r, d in zip(runs, run_dirs, strict=True):  # the page is sent: no absolute path of this machine on it
        r.config = sendable_config(r.config, d)
    from .plots import plot_compare

    with tempfile.TemporaryDirectory() as tmp:
        picture = Path(tmp) / "curves.png"
        plot_compare([(r.name, r.history) for r in runs], picture)
        curves = _img(picture)
    names = [html.escape(r.name) for r in runs]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>numpynn: comparing "
        f"{len(runs)} runs</title><style>{CSS}</style></head><body>",
        f"<h1>Comparing {len(runs)} runs</h1>",
        "<ul>" + "".join(f"<li><b>{n}</b>: <span class='recipe'>{html.escape(recipe(r.config))}</span></li>"
                         for n, r in zip(names, runs, strict=True)) + "</ul>",
        "<h2>Results (test set)</h2>", _results(runs, names),
        "<h2>Learning curves</h2>", curves,
        "<h2>Settings</h2><p>Highlighted: the settings in which the runs differ.</p>", _settings(runs, names),
        "</body></html>",
    ]
    path = Path(out)
    atomic_write_bytes(path, "\n".join(parts).encode())
    return path


def _results(runs: list[RunRecord], names: list[str]) -> str:
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, values: list[Any], fmt) -> None:
        rows.append((label, ["" if v is None else fmt(v) for v in values]))

    tests = [r.metrics["test"] for r in runs]
    row("accuracy (%)", [t.get("accuracy") for t in tests], lambda v: f"{100 * v:.2f}")
    for k in sorted({k for t in tests for k in t if k.startswith("top") and k.endswith("_accuracy")}):
        row(f"top-{k[3:-9]} accuracy (%)", [t.get(k) for t in tests], lambda v: f"{100 * v:.2f}")
    row("loss", [t.get("loss") for t in tests], lambda v: f"{v:.4f}")
    row("calibration error (ECE, points)", [t.get("ece") for t in tests], lambda v: f"{100 * v:.2f}")
    row("best validation accuracy (%)", [max(r.history.epochs["val_accuracy"]) if r.history.epochs.get(
        "val_accuracy") else None for r in runs], lambda v: f"{100 * v:.2f}")
    row("epochs", [r.metrics.get("epochs") for r in runs], str)
    row("training time (s)", [r.metrics.get("train_seconds") for r in runs], lambda v: f"{v:.1f}")
    row("samples / s", [r.metrics.get("timing", {}).get("samples_per_second") for r in runs], lambda v: f"{v:,.0f}")
    return _grid(names, rows, highlight=False)


def _settings(runs: list[RunRecord], names: list[str]) -> str:
    rows = [(f.name, [_value(getattr(r.config, f.name)) for r in runs]) for f in fields(TrainConfig)]
    return _grid(names, rows, highlight=True)


def _value(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "(none)"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _grid(names: list[str], rows: list[tuple[str, list[str]]], highlight: bool) -> str:
    head = "<tr><th></th>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"
    body = []
    for label, values in rows:
        cls = " class='diff'" if highlight and len(set(values)) > 1 else ""
        body.append(f"<tr{cls}><td>{html.escape(label)}</td>" + "".join(f"<td>{html.escape(v)}</td>" for v in values)
                    + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"
