"""report.html: one self-contained page (pictures embedded as data URIs) describing a training run."""

from __future__ import annotations

import base64
import html
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

from . import ops
from .atomic import atomic_write_bytes
from .plots import plot_confident_mistakes, plot_confusion, plot_curves, plot_first_layer, plot_predictions
from .version import __version__

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}img{max-width:100%}
.big{font-size:2em;font-weight:bold}pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}"""


def environment() -> dict[str, Any]:
    """Versions, BLAS and thread counts: what a reader needs to compare timings."""
    env: dict[str, Any] = {"numpynn": __version__, "numpy": np.__version__, "python": sys.version.split()[0],
                           "platform": platform.platform(), "cpus": os.cpu_count(),
                           "elementwise loops": ops.describe()}
    try:
        from threadpoolctl import threadpool_info

        env["thread pools"] = "; ".join(f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)"
                                        for p in threadpool_info())
    except ImportError:
        env["thread pools"] = "threadpoolctl not installed"
    return env


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(out: Path, config, model, rd, summary: dict[str, Any], *, proba: np.ndarray) -> Path:
    """Draw the run's figures into `out` and write report.html embedding them.

    `proba` (n_test, classes): the model's class probabilities of rd.X_test, computed once by the run
    (None for a regression).
    """
    figures: dict[str, Path] = {}
    plot_curves(model.history, out / "curves.png")
    figures["curves"] = out / "curves.png"
    test = summary["test"]
    if getattr(rd, "task", "classification") == "regression":
        return _write(out, _regression_parts(config, model, rd, summary, figures))
    plot_confusion(np.array(test["confusion_matrix"]), rd.class_names, out / "confusion.png")
    figures["confusion"] = out / "confusion.png"
    images = rd.X_test
    shape = rd.image_shape if rd.image_shape and len(rd.image_shape) == 2 else None
    if shape:
        plot_predictions(images, rd.y_test, proba, out / "predictions.png", class_names=rd.class_names,
                         image_shape=shape)
        figures["predictions"] = out / "predictions.png"
        n_wrong = plot_confident_mistakes(images, rd.y_test, proba, out / "mistakes.png",
                                          class_names=rd.class_names, image_shape=shape)
        if n_wrong:
            figures["mistakes"] = out / "mistakes.png"
        first = next((ly for ly in model.layers if "W" in ly.params), None)
        if first is not None and first.params["W"].shape[0] == int(np.prod(shape)):
            plot_first_layer(first.params["W"], out / "first_layer.png", shape)
            figures["first_layer"] = out / "first_layer.png"
    per = test["per_class"]
    class_rows = [[name, f"{100 * per['precision'][i]:.1f}", f"{100 * per['recall'][i]:.1f}",
                   f"{100 * per['f1'][i]:.1f}", per["support"][i]] for i, name in enumerate(rd.class_names)]
    h = model.history
    status = ("interrupted" if summary["interrupted"] else "stopped early" if summary["stopped_early"]
              else "completed")
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>numpynn run: "
        f"{html.escape(config.dataset)}</title><style>{CSS}</style></head><body>",
        f"<h1>numpynn run on <code>{html.escape(config.dataset)}</code></h1>",
        f"<p class='big'>{100 * test['accuracy']:.2f}% test accuracy</p>",
        f"<p>{summary['epochs']} epochs ({status}), {summary['train_seconds']:.1f} s of training, "
        f"test loss {test['loss']:.4f}; best validation accuracy "
        f"{100 * max(h.epochs.get('val_accuracy', [float('nan')])):.2f}%.</p>",
        "<h2>Learning curves</h2>", _img(figures["curves"]),
        "<h2>Per-class precision, recall and F1 (test, %)</h2>",
        _table(["class", "precision", "recall", "F1", "support"], class_rows),
        "<h2>Confusion matrix</h2>", _img(figures["confusion"]),
    ]
    if "predictions" in figures:
        parts += ["<h2>Answers on test images</h2><p>Green: right. Red: wrong, with the true class.</p>",
                  _img(figures["predictions"])]
    if "mistakes" in figures:
        parts += ["<h2>Most confidently wrong</h2>", _img(figures["mistakes"])]
    if "first_layer" in figures:
        parts += ["<h2>What the first layer looks for</h2>", _img(figures["first_layer"])]
    samples = summary["samples"]
    parts += [
        "<h2>Data</h2>",
        _table(["split", "samples"], [[k, f"{v:,}"] for k, v in samples.items()]),
        f"<p>Classes: {html.escape(', '.join(rd.class_names))}. Inputs: {rd.X_train.shape[1]} features, "
        f"preprocessing {html.escape(json.dumps(rd.preprocessing))}.</p>",
        *_closing(config, model),
    ]
    return _write(out, parts)


def _regression_parts(config, model, rd, summary: dict[str, Any], figures: dict[str, Path]) -> list[str]:
    """The page of a regression: R\u00b2, MSE and MAE on the test set, the curves, the data and the model."""
    test, h = summary["test"], model.history
    status = ("interrupted" if summary["interrupted"] else "stopped early" if summary["stopped_early"]
              else "completed")
    y = np.asarray(rd.y_test, np.float64)
    return [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>numpynn run: "
        f"{html.escape(config.dataset)}</title><style>{CSS}</style></head><body>",
        f"<h1>numpynn regression on <code>{html.escape(config.dataset)}</code></h1>",
        f"<p class='big'>R\u00b2 {test['r2']:.4f} on the test set</p>",
        f"<p>{summary['epochs']} epochs ({status}), {summary['train_seconds']:.1f} s of training; best validation "
        f"MAE {min(h.epochs.get('val_mae', [float('nan')])):.4g}.</p>",
        "<h2>Test figures</h2>",
        _table(["metric", "value"], [["MSE", f"{test['mse']:.6g}"], ["RMSE", f"{test['mse'] ** 0.5:.6g}"],
                                     ["MAE", f"{test['mae']:.6g}"], ["R\u00b2", f"{test['r2']:.4f}"],
                                     ["loss (with penalty)", f"{test['loss']:.6g}"],
                                     ["targets: mean \u00b1 std", f"{y.mean():.4g} \u00b1 {y.std():.4g}"]]),
        "<h2>Learning curves</h2>", _img(figures["curves"]),
        "<h2>Data</h2>",
        _table(["split", "samples"], [[k, f"{v:,}"] for k, v in summary["samples"].items()]),
        f"<p>Target: {html.escape(str(rd.preprocessing.get('label_column', 'y')))}. Inputs: "
        f"{rd.X_train.shape[1]} features, preprocessing {html.escape(json.dumps(rd.preprocessing))}.</p>",
        *_closing(config, model),
    ]


def _closing(config, model) -> list[str]:
    return [
        "<h2>Model</h2>", f"<pre>{html.escape(model.summary(print_fn=None))}</pre>",
        f"<p>Optimizer: <code>{html.escape(repr(model.optimizer))}</code></p>",
        "<h2>Configuration</h2>", f"<pre>{html.escape(config.to_toml())}</pre>",
        "<h2>Environment</h2>", _table(["", ""], [[k, v] for k, v in environment().items()] + [["seed", config.seed]]),
        "<p>Files in this folder: model.safetensors (weights and training state), config.toml, history.json, "
        "history.csv, metrics.json and the pictures above.</p></body></html>",
    ]


def _write(out: Path, parts: list[str]) -> Path:
    path = out / "report.html"
    atomic_write_bytes(path, "\n".join(parts).encode())
    return path
