"""report.html: one self-contained page (pictures embedded as data URIs) describing a training run."""

from __future__ import annotations

import base64
import html
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

from . import ops
from .atomic import atomic_write_bytes
from .plots import (
    plot_confident_mistakes,
    plot_confusion,
    plot_curves,
    plot_doctor,
    plot_first_layer,
    plot_lr_and_speed,
    plot_predictions,
    plot_reliability,
    plot_saliency,
)
from .shown import sendable_config
from .version import __version__

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}img{max-width:100%}
.big{font-size:2em;font-weight:bold}pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}
.recipe{background:#f0f6fb;border-left:4px solid #2c7fb8;padding:.4em .8em;font-family:monospace}
.finding{color:#a33}.diff td{background:#fff3cd}dt{font-weight:bold}dd{margin:0 0 .5em 1.5em}"""

GLOSSARY = (
    ("accuracy", "the share of test samples whose most probable class is the true one."),
    ("top-k accuracy", "the share whose true class is among the model's k most probable classes."),
    ("precision", "of the samples the model calls class c, the share that really are c."),
    ("recall", "of the samples that really are class c, the share the model calls c."),
    ("F1", "the harmonic mean of precision and recall: high only when both are."),
    ("loss", "the mean cross-entropy: how surprised the model is by the true answers (lower is better)."),
    ("validation loss below training loss",
     "normal with dropout or augmentation: training is measured on perturbed inputs with units dropped, "
     "validation on clean inputs with the whole network, and the training figure averages an epoch that "
     "started with worse weights."),
    ("calibration (ECE)", "how far the model's confidence is from its accuracy: of the answers given with 90 % "
     "confidence, about 90 % should be right. ECE is the mean gap, weighted by samples, over 15 confidence bins."),
    ("saliency", "the gradient of a class's score with respect to each pixel: the pixels whose change would "
     "move the answer most."),
    ("update / weight ratio", "how much one optimizer step changes a layer's weights relative to their size; "
     "about 1e-3 is typical."),
    ("dead ReLU", "a unit whose input is negative for every sample: it outputs 0, gets no gradient and stops "
     "learning."),
)


def environment() -> dict[str, Any]:
    """Versions, BLAS and thread counts: what a reader needs to compare timings."""
    env: dict[str, Any] = {"numpynn": __version__, "numpy": np.__version__, "python": sys.version.split()[0],
                           "platform": platform.platform(), "cpus": os.cpu_count(),
                           "elementwise loops": ops.describe(), "bfloat16 products": ops.bf16_status()}
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


def recipe(config, model=None) -> str:
    """The run's recipe in one line: network, optimizer and schedule, batch, epochs, data handling, seed."""
    sizes = [str(model.input_shape[0]) if model is not None and model.input_shape else "in"]
    sizes += [str(h) for h in config.hidden] + [str(model.n_outputs) if model is not None else "out"]
    acts = ",".join(dict.fromkeys(config.activations())) or "linear"
    net = f"MLP {'→'.join(sizes)} ({acts}" + (f", dropout {config.dropout:g}" if config.dropout else "")
    net += (", batchnorm" if config.batchnorm else "") + ")"
    opt = f"{config.optimizer} lr {config.lr:g}"
    if config.schedule != "none":
        opt += f", {config.schedule} schedule"
    if config.weight_decay:
        opt += f", weight decay {config.weight_decay:g}"
    parts = [net, opt, f"batch {config.batch_size or 'full'}", f"{config.epochs} epochs"]
    table = model is not None and "table" in model.preprocessing
    if config.augment and not table and model is not None and len(model.preprocessing.get("input_shape", [])) == 2:
        parts.append(f"augment (shift {config.shift:g} px, rotate {config.rotate:g}°)")
    how = model.preprocessing["table"]["scaling"] if table else {"auto": "scale"}.get(config.normalize,
                                                                                      config.normalize)
    parts += [f"{how} inputs", f"{config.dataset}", f"seed {config.seed}"]
    return " · ".join(parts)


def describe_optimizer(optimizer) -> list[list[str]]:
    """The optimizer's settings as (setting, value) rows a reader can follow."""
    if optimizer is None:
        return [["optimizer", "none"]]
    cfg = optimizer.get_config()
    rows = [["optimizer", type(optimizer).__name__]]
    lr = cfg.pop("lr", None)
    if isinstance(lr, dict):
        sc = dict(lr.get("config", {}))
        text = f"{lr.get('schedule')} schedule from {sc.pop('lr', '?'):g}"
        text += "".join(f", {k.replace('_', ' ')} {v:g}" for k, v in sc.items() if isinstance(v, (int, float)))
        rows.append(["learning rate", text])
    elif lr is not None:
        rows.append(["learning rate", f"{lr:g} (constant)"])
    for k, v in cfg.items():
        value = "off" if v is None else ("yes" if v is True else "no" if v is False else
                                         f"{v:g}" if isinstance(v, (int, float)) else str(v))
        rows.append([k.replace("_", " ").replace("beta", "β").replace("eps", "ε"), value])
    return rows


def describe_preprocessing(prep: dict[str, Any]) -> str:
    """The model's input preprocessing in a sentence."""
    how = prep.get("normalize", "none")
    if "table" in prep:
        return describe_table(prep["table"])
    if how == "scale":
        text = f"each value divided by {prep.get('max_value', 255):g} (scaled to [0, 1])"
    elif how == "standardize":
        text = "each feature standardised: the training set's mean subtracted, divided by its standard deviation"
    else:
        text = "inputs used as they are (no normalisation)"
    shape = prep.get("input_shape")
    if isinstance(shape, list) and len(shape) > 1:
        text += f"; {'×'.join(map(str, shape))} images flattened to {int(np.prod(shape))} features"
    extra = {k: v for k, v in prep.items() if k not in ("normalize", "max_value", "input_shape", "mean", "std",
                                                        "feature_names")}
    return text + "".join(f"; {k.replace('_', ' ')}: {v}" for k, v in extra.items())


def describe_table(record: dict[str, Any]) -> str:
    """A table's preprocessing in a sentence: how many columns of each kind, and what was done to them."""
    cols = record["columns"]
    numeric = len({e["name"] for e in cols if e["kind"] == "numeric"})
    dates = len({e["name"] for e in cols if e["kind"] == "datetime"})
    onehot = sum(e["kind"] == "categorical" and e["encoding"] == "onehot" for e in cols)
    embedded = sum(e["kind"] == "categorical" and e["encoding"] == "embedding" for e in cols)
    flagged = sum(bool(e.get("indicator")) for e in cols)
    scaling = {"robust": "robust scaling (median, quartiles, smooth clipping to ±3)", "standardize":
               "standardised", "scale": "divided by their largest |value|", "none": "used as they are"}
    text = [f"{numeric} numeric columns {scaling[record['scaling']]}"]
    if flagged:
        text.append(f"missing numbers imputed with the training median and flagged ({flagged} columns)")
    if dates:
        text.append(f"{dates} date columns as days, month, weekday (and hour)")
    if onehot or embedded:
        text.append(f"{onehot} categorical columns one-hot, {embedded} embedded")
    if record.get("dropped"):
        text.append("dropped: " + ", ".join(f"{d['name']} ({d['kind']})" for d in record["dropped"][:10]) +
                    (", ..." if len(record["dropped"]) > 10 else ""))
    return "; ".join(text) + "; learned from the training split"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(out: Path, config, model, rd, summary: dict[str, Any], *, proba: np.ndarray) -> Path:
    """Draw the run's figures into `out` and write report.html embedding them.

    `proba` (n_test, classes): the model's class probabilities of rd.X_test, computed once by the run
    (None for a regression). The doctor's section reads out/doctor.jsonl (or doctor.json) when the run has one.
    The page names files relative to `out` or by name (`shown.sendable_config`), never by this machine's absolute
    paths.
    """
    config = sendable_config(config, out)
    if getattr(rd, "task", "classification") == "regression":
        figures = {"curves": out / "curves.png", "speed": out / "speed.png"}
        plot_curves(model.history, figures["curves"])
        plot_lr_and_speed(model.history, figures["speed"], summary["samples"]["train"])
        return _write(out, _regression_parts(out, config, model, rd, summary, figures))
    figures = _draw(out, model, rd, summary, proba)
    test = summary["test"]
    per = test["per_class"]
    class_rows = [[name, f"{100 * per['precision'][i]:.1f}", f"{100 * per['recall'][i]:.1f}",
                   f"{100 * per['f1'][i]:.1f}", per["support"][i]] for i, name in enumerate(rd.class_names)]
    h = model.history
    status = ("interrupted" if summary["interrupted"] else "stopped early" if summary["stopped_early"]
              else "completed")
    timing = summary.get("timing", {})
    parts = [
        *_head(config, model, "run"),
        f"<p class='big'>{100 * test['accuracy']:.2f}% test accuracy</p>",
        f"<p>{summary['epochs']} epochs ({status}), {summary['train_seconds']:.1f} s of training, "
        f"test loss {test['loss']:.4f}; best validation accuracy "
        f"{100 * max(h.epochs.get('val_accuracy', [float('nan')])):.2f}%.</p>",
        "<h2>Learning curves</h2>", _img(figures["curves"]),
        "<h2>Learning rate and speed</h2>", _img(figures["speed"]),
        _table(["figure", "value"], [["median time per epoch", f"{timing.get('epoch_seconds', float('nan')):.2f} s"],
                                     ["training samples per second", f"{timing.get('samples_per_second', 0):,.0f}"],
                                     ["total training time", f"{summary['train_seconds']:.1f} s"]]),
        "<h2>Accuracy</h2>",
        _table(["measure", "test (%)"], [["top-1 accuracy", f"{100 * test['accuracy']:.2f}"]] +
               [[f"top-{k[3:-9]} accuracy", f"{100 * v:.2f}"] for k, v in test.items()
                if k.startswith("top") and k.endswith("_accuracy")]),
        "<h2>Per-class precision, recall and F1 (test, %)</h2>",
        _table(["class", "precision", "recall", "F1", "support"], class_rows),
        "<h2>Confusion matrix</h2>", _img(figures["confusion"]),
    ]
    if "ece" in test:
        parts += ["<h2>Calibration</h2>",
                  f"<p>Expected calibration error: {100 * test['ece']:.2f} points (0 = the confidence matches the "
                  "accuracy). Bars below the diagonal: over-confident.</p>", _img(figures["reliability"])]
    if "predictions" in figures:
        parts += ["<h2>Answers on test images</h2><p>Green: right. Red: wrong, with the true class.</p>",
                  _img(figures["predictions"])]
    if "saliency" in figures:
        parts += ["<h2>What made it say so</h2><p>Saliency: the gradient of the predicted class's score "
                  "with respect to each pixel (Simonyan et al. 2014).</p>", _img(figures["saliency"])]
    if "mistakes" in figures:
        parts += ["<h2>Most confidently wrong</h2>", _img(figures["mistakes"])]
    if "first_layer" in figures:
        parts += ["<h2>What the first layer looks for</h2>", _img(figures["first_layer"])]
    parts += _doctor_section(out, figures)
    samples = summary["samples"]
    parts += [
        "<h2>Data</h2>",
        _table(["split", "samples"], [[k, f"{v:,}"] for k, v in samples.items()]),
        f"<p>Classes: {html.escape(', '.join(rd.class_names))}. Inputs: {rd.X_train.shape[1]} features; "
        f"preprocessing: {html.escape(describe_preprocessing(rd.preprocessing))}.</p>",
        *_closing(config, model, glossary=True),
    ]
    return _write(out, parts)


SALIENCY_IMAGES = 10


def _draw(out: Path, model, rd, summary: dict[str, Any], proba: np.ndarray) -> dict[str, Path]:
    """Every figure of the report, drawn into `out`; name -> file."""
    figures: dict[str, Path] = {name: out / f"{name}.png" for name in ("curves", "speed", "confusion")}
    test = summary["test"]
    plot_curves(model.history, figures["curves"])
    plot_lr_and_speed(model.history, figures["speed"], summary["samples"]["train"])
    plot_confusion(np.array(test["confusion_matrix"]), rd.class_names, figures["confusion"])
    if "reliability" in test:
        figures["reliability"] = out / "reliability.png"
        plot_reliability(test["reliability"], figures["reliability"], test["ece"])
    images = rd.X_test
    shape = rd.image_shape if rd.image_shape and len(rd.image_shape) == 2 else None
    if shape:
        plot_predictions(images, rd.y_test, proba, out / "predictions.png", class_names=rd.class_names,
                         image_shape=shape)
        figures["predictions"] = out / "predictions.png"
        n = min(SALIENCY_IMAGES, len(images))
        if n and model.n_outputs == proba.shape[1]:  # one logit per class: saliency of the predicted one
            pred = proba[:n].argmax(1)
            plot_saliency(images[:n], model.input_gradients(images[:n], pred), rd.y_test[:n], pred,
                          out / "saliency.png", class_names=rd.class_names, image_shape=shape)
            figures["saliency"] = out / "saliency.png"
        n_wrong = plot_confident_mistakes(images, rd.y_test, proba, out / "mistakes.png",
                                          class_names=rd.class_names, image_shape=shape)
        if n_wrong:
            figures["mistakes"] = out / "mistakes.png"
        first = next((ly for ly in model.layers if "W" in ly.params), None)
        if first is not None and first.params["W"].shape[0] == int(np.prod(shape)):
            plot_first_layer(first.params["W"], out / "first_layer.png", shape)
            figures["first_layer"] = out / "first_layer.png"
    return figures


def _doctor_section(out: Path, figures: dict[str, Path]) -> list[str]:
    from .training.doctor import doctor_path, load_doctor

    path = doctor_path(out)
    if path is None or not path.is_file():
        return []
    doc = load_doctor(out)
    parts = ["<h2>Training doctor</h2>"]
    findings = doc["findings"]
    if findings:
        parts.append("<ul>" + "".join(f"<li class='finding'>{html.escape(str(f))}</li>" for f in findings) + "</ul>")
    else:
        parts.append("<p>No findings: none of the doctor's rules fired (docs/doctor.md lists them).</p>")
    if doc["records"]:
        figures["doctor"] = out / "doctor.png"
        plot_doctor(doc["records"], figures["doctor"])
        last = doc["records"][-1]
        rows = [[r["layer"], r.get("name", ""), _fmt(r.get("weight_norm")), _fmt(r.get("grad_norm")),
                 _fmt(r.get("update_ratio")), _fmt(r.get("act_mean")), _fmt(r.get("act_std")),
                 _pct(r.get("dead_fraction", r.get("saturated_fraction")))] for r in last["layers"]]
        parts += [f"<p>Per layer, epoch {last['epoch']} (norms are L2; the update ratio is the larger of the "
                  "epoch's first and middle step; activations on a fixed probe batch of training rows):</p>",
                  _table(["layer", "", "weight norm", "gradient norm", "update / weight", "activation mean",
                          "activation std", "dead or saturated"], rows), _img(figures["doctor"]),
                  "<p>The rules, their thresholds and sources: docs/doctor.md; "
                  "<code>numpynn doctor RUN_DIR</code> prints the findings.</p>"]
    return parts


def _fmt(v) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:.3g}"


def _pct(v) -> str:
    return "" if v is None or not np.isfinite(v) else f"{100 * v:.0f} %"


def _regression_parts(out: Path, config, model, rd, summary: dict[str, Any],
                      figures: dict[str, Path]) -> list[str]:
    """The page of a regression: R\u00b2, MSE and MAE on the test set, the curves, the data and the model."""
    test, h = summary["test"], model.history
    status = ("interrupted" if summary["interrupted"] else "stopped early" if summary["stopped_early"]
              else "completed")
    y = np.asarray(rd.y_test, np.float64)
    return [
        *_head(config, model, "regression"),
        f"<p class='big'>R\u00b2 {test['r2']:.4f} on the test set</p>",
        f"<p>{summary['epochs']} epochs ({status}), {summary['train_seconds']:.1f} s of training; best validation "
        f"MAE {min(h.epochs.get('val_mae', [float('nan')])):.4g}.</p>",
        "<h2>Test figures</h2>",
        _table(["metric", "value"], [["MSE", f"{test['mse']:.6g}"], ["RMSE", f"{test['mse'] ** 0.5:.6g}"],
                                     ["MAE", f"{test['mae']:.6g}"], ["R\u00b2", f"{test['r2']:.4f}"],
                                     [f"loss ({html.escape(model.loss.name)}, with penalty)", f"{test['loss']:.6g}"],
                                     *([f"coverage of the {q} quantile", f"{100 * c:.1f} %"]
                                       for q, c in test.get("coverage", {}).items()),
                                     ["targets: mean \u00b1 std", f"{y.mean():.4g} \u00b1 {y.std():.4g}"]]),
        "<h2>Learning curves</h2>", _img(figures["curves"]),
        "<h2>Learning rate and speed</h2>", _img(figures["speed"]),
        *_doctor_section(out, figures),
        "<h2>Data</h2>",
        _table(["split", "samples"], [[k, f"{v:,}"] for k, v in summary["samples"].items()]),
        f"<p>Target: {html.escape(str(rd.preprocessing.get('label_column', 'y')))}. Inputs: "
        f"{rd.X_train.shape[1]} features; preprocessing: {html.escape(describe_preprocessing(rd.preprocessing))}.</p>",
        *_closing(config, model),
    ]


def _head(config, model, kind: str) -> list[str]:
    """The page's head, title and recipe line (kind: "run" or "regression")."""
    dataset = html.escape(config.dataset)
    return [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>numpynn run: {dataset}</title>"
            f"<style>{CSS}</style></head><body>",
            f"<h1>numpynn {kind} on <code>{dataset}</code></h1>",
            f"<p class='recipe'>{html.escape(recipe(config, model))}</p>"]


def _closing(config, model, glossary: bool = False) -> list[str]:
    """The model, optimizer, configuration and environment, the glossary (classification), the files."""
    terms = "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(d)}</dd>" for t, d in GLOSSARY)
    return [
        "<h2>Model</h2>", f"<pre>{html.escape(model.summary(print_fn=None))}</pre>",
        "<h3>Optimizer</h3>", _table(["setting", "value"], describe_optimizer(model.optimizer)),
        "<h2>Configuration</h2>", f"<pre>{html.escape(config.to_toml())}</pre>",
        "<h2>Environment</h2>",
        _table(["item", "value"], [[k, v] for k, v in environment().items()] + [["seed", config.seed]]),
        *([f"<h2>Glossary</h2><dl>{terms}</dl>"] if glossary else []),
        "<p>Files in this folder: model.safetensors (weights and training state), config.toml, history.json, "
        "history.csv, metrics.json, doctor.jsonl and the pictures above.</p></body></html>",
    ]


def _write(out: Path, parts: list[str]) -> Path:
    path = out / "report.html"
    atomic_write_bytes(path, "\n".join(parts).encode())
    return path
