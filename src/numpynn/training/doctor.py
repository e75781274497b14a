"""The training doctor: a callback that measures each layer once per epoch and turns the figures into findings.

Per layer and epoch it records weight and gradient norms, the update-to-weight ratio of the epoch's last step,
the activation mean and std on a fixed probe batch, the fraction of dead ReLU units (never active on the probe)
and of saturated sigmoid/tanh units; when training diverges, the first non-finite value's step, layer and
tensor. `RULES` (data: threshold, source, remedy; see docs/doctor.md) turn the records into plain findings;
the run-level rules of doctor_rules.py read the losses, the probe accuracy and the data's scale, measured once
before the first step (the `data` field of the file's header line).
Cost per epoch: one copy of the parameter vector, one forward pass over the probe batch and a few norms.
With a path, each epoch's record is appended to a JSON-lines file (`RecordsFile`): the work per epoch stays the
same however long the run (a file rewritten every epoch made a long run quadratic). Where epochs are so short
that measuring each would cost more than `budget` of the training time (a tiny network, full-batch), the doctor
measures the first and the last epoch and as many between as the budget allows; a divergence is always traced.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NumpynnError
from .callbacks import Callback
from .doctor_file import RecordsFile
from .doctor_rules import Finding, data_figures, run_findings

__all__ = ["RULES", "Doctor", "Finding", "Rule", "diagnose", "load_doctor"]

PROBE_ROWS = 512
BUDGET = 0.01  # the share of the training time the doctor may spend measuring
DOCTOR_FILE = "doctor.jsonl"  # a run folder's records; runs before it wrote doctor.json, which still reads
RELU_LIKE = ("relu",)
SATURATING = ("sigmoid", "tanh")


@dataclass(frozen=True)
class Rule:
    """A finding: fires for a layer when `measure` is above `threshold` in some epoch (below, if not `above`).

    `message` is formatted with layer, value (as a percentage where `percent`), since and until."""

    name: str
    measure: str
    threshold: float
    message: str
    remedy: str
    source: str
    above: bool = True
    percent: bool = False

    def holds(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        return value > self.threshold if self.above else value < self.threshold


RULES: tuple[Rule, ...] = (
    Rule("dead_relu", "dead_fraction", 0.5,
         "{value} of its ReLU units are dead (never active on the probe batch) {when}",
         "a lower learning rate or LeakyReLU/He initialisation usually helps",
         "Lu et al. 2019, 'Dying ReLU and Initialization'; CS231n notes (Karpathy)", percent=True),
    Rule("saturated_units", "saturated_fraction", 0.5,
         "{value} of its sigmoid/tanh units are saturated (their gradient below a tenth of its peak on 90 % of "
         "the probe batch) {when}",
         "standardise or rescale the inputs (normalize=standardize), use Glorot initialisation, or use ReLU",
         "Glorot & Bengio 2010, 'Understanding the difficulty of training deep feedforward neural networks'",
         percent=True),
    Rule("large_updates", "update_ratio", 0.25,
         "one step changes its weights by {value} of their size {when}",
         "lower the learning rate: about 1e-3 of the weights per step is typical, far above 1e-1 training is unstable",
         "CS231n notes (Karpathy), 'ratio of weights:updates'", percent=True),
)
NON_FINITE_REMEDY = "lower the learning rate, clip gradients (clip_norm), or check the inputs for NaN/inf"


class Doctor(Callback):
    """Watch training and explain what goes wrong. `path`: append the records there (JSON lines, one per epoch,
    on disk at least every `flush_seconds` and before training ends or a divergence error goes up);
    `probe`: rows of X for the activation statistics (default the first 512 training rows); `budget`: the share
    of the training time it may spend measuring: an epoch is measured if the time so far allows it (always the
    first and the last epoch of the run); None measures every epoch."""

    def __init__(self, path: str | os.PathLike | None = None, probe: np.ndarray | None = None,
                 rules: tuple[Rule, ...] = RULES, flush_seconds: float = 1.0, budget: float | None = BUDGET) -> None:
        if budget is not None and not 0 < budget <= 1:
            raise ValueError(f"budget must be in (0, 1] or None (measure every epoch), got {budget!r}")
        self.budget = budget
        self.path = Path(path) if path is not None else None
        self._file = RecordsFile(self.path, flush_seconds) if self.path is not None else None
        self.rules = rules
        self._probe_given = probe
        self.records: list[dict[str, Any]] = []
        self.divergence: dict[str, Any] | None = None
        self.data: dict[str, Any] = {}  # the training data's scale figures (doctor_rules.data_figures)
        self._probe_y: np.ndarray | None = None
        self._logits: np.ndarray | None = None
        self._before: np.ndarray | None = None
        self._steps = self._batch = self._mid = 0
        self._ratios: dict[int, float] = {}
        self._watch = True  # whether this epoch is measured
        self._own = self._start = 0.0  # seconds spent measuring; when training began
        self._first = self._last = 0

    # --- the callback ----------------------------------------------------------------------
    def on_train_begin(self, logs):
        self._steps = int(logs.get("steps_per_epoch", 1))
        self._mid = max(2, (self._steps + 1) // 2)
        probe = self._probe_given if self._probe_given is not None else logs.get("X")
        self.probe = None if probe is None else np.ascontiguousarray(probe[:PROBE_ROWS], dtype=self.model.dtype)
        y = logs.get("y") if self._probe_given is None else None  # a probe of the caller's has no labels here
        self.data = data_figures(self.model, logs.get("X"), y)
        self._probe_y = _labels(y[:PROBE_ROWS]) if y is not None and "classes" in self.data else None
        self._before = np.empty_like(self.model.flat.values)
        model = self.model
        self._slices = {i: _slices(model, i) for i in (model.layers.index(ly) for ly in model.steps if ly.params)}
        self._first, self._last = model.epoch + 1, int(logs.get("epochs", 0))
        if self._file is not None:
            self._file.header_extra = {"data": _finite_json(self.data)}
            self._file.open()
        self._start, self._own = time.perf_counter(), 0.0

    def on_epoch_begin(self, epoch):
        self._batch = 0
        now = time.perf_counter()
        self._watch = (self.budget is None or epoch == self._first or epoch == self._last
                       or self._own <= self.budget * (now - self._start))
        if self._watch:  # an unmeasured epoch costs the doctor a clock reading and a few comparisons
            self._ratios = {}
            np.copyto(self._before, self.model.flat.values)
            self._own += time.perf_counter() - now

    def on_batch_end(self, step, logs):
        # the update-to-weight ratio of two steps an epoch, the first and the middle one: a schedule's
        # last steps have a rate near zero and would hide a rate that is too high
        self._batch += 1
        if not self._watch:
            return
        if self._batch != 1 and self._batch != self._mid and self._batch + 1 != self._mid:
            return
        t0 = time.perf_counter()
        if self._batch in (1, self._mid):
            self._record_ratios()
        if self._batch + 1 == self._mid:
            np.copyto(self._before, self.model.flat.values)
        self._own += time.perf_counter() - t0

    def _record_ratios(self) -> None:
        values, before = self.model.flat.values, self._before
        for i, slices in self._slices.items():
            w = _norm(before[s] for s in slices)
            d = _norm(values[s] - before[s] for s in slices)
            ratio = d / w if w > 0 else math.nan
            self._ratios[i] = max(self._ratios.get(i, 0.0), ratio)

    def on_epoch_end(self, epoch, logs):
        if not self._watch:
            return
        t0 = time.perf_counter()
        record = {"epoch": int(epoch), "loss": float(logs.get("loss", math.nan)), "layers": self._measure()}
        for key in ("val_loss", "lr"):
            if key in logs:
                record[key] = float(logs[key])
        if self._probe_y is not None and self._logits is not None and len(self._logits) == len(self._probe_y):
            record["probe_accuracy"] = float(np.mean(_labels(self._logits, predicted=True) == self._probe_y))
        self.records.append(record)
        if self._file is not None:
            self._file.append(_finite_json(record))
        self._own += time.perf_counter() - t0

    def on_train_end(self, logs):
        if self._file is not None:
            self._file.close()

    def on_divergence(self, info: dict[str, Any]) -> None:
        """Find the first non-finite value of the failing step: parameters and outputs layer by layer."""
        self.divergence = first_non_finite(self.model, info.get("x"), int(info.get("iterations", 0)),
                                           int(info.get("epoch", 0)), self._batch)
        if self._file is not None:  # on disk before the error goes up
            self._file.append({"divergence": _finite_json(self.divergence)})
            self._file.close(sync=True)

    # --- measuring -------------------------------------------------------------------------
    def _measure(self) -> list[dict[str, Any]]:
        model = self.model
        acts = self._activations()
        out = []
        for layer in model.steps:
            i = model.layers.index(layer)
            if not layer.params and i not in acts:
                continue  # Dropout: nothing of its own to show
            rec: dict[str, Any] = {"layer": i, "name": layer.describe()}
            if layer.params:
                w = _norm(layer.params.values())
                rec["weight_norm"], rec["grad_norm"] = w, _norm(layer.grads.values())
                rec["update_ratio"] = self._ratios.get(i, math.nan)
            rec.update(acts.get(i, {}))
            out.append(rec)
        return out

    def _activations(self) -> dict[int, dict[str, Any]]:
        """Activation figures of each hidden layer's output on the probe batch."""
        model = self.model
        self._logits = None
        if self.probe is None or not len(self.probe):
            return {}
        figures: dict[int, dict[str, Any]] = {}
        x = self.probe
        steps = model.steps
        for k, layer in enumerate(steps):
            x = layer.forward(x, training=False)
            if k == len(steps) - 1:
                self._logits = x
                break
            name = activation_name(layer)
            if name is None and not layer.params:
                continue
            rec: dict[str, Any] = {"activation": name, "act_mean": float(np.mean(x)), "act_std": float(np.std(x))}
            if name in RELU_LIKE:
                rec["dead_fraction"] = float(np.mean(np.max(x, axis=0) <= 0))
            elif name in SATURATING:
                # the derivative below a tenth of its peak: y(1-y) < 0.025 for sigmoid, 1 - y^2 < 0.1 for tanh
                slope = x * (1 - x) / 0.25 if name == "sigmoid" else 1 - x * x
                rec["saturated_fraction"] = float(np.mean(np.mean(slope < 0.1, axis=0) >= 0.9))
            figures[model.layers.index(layer)] = rec
        return figures

    # --- results ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "divergence": self.divergence, "data": self.data,
                "findings": [vars(f) for f in self.findings()]}

    def save(self) -> None:
        """Put the records appended so far on disk now (training does it at intervals and at its end)."""
        if self._file is not None:
            self._file.flush()

    def findings(self) -> list[Finding]:
        return diagnose(self.records, self.divergence, self.rules, self.data)


def _labels(y: np.ndarray, predicted: bool = False) -> np.ndarray:
    """Class indices (n,) of integer labels, one-hot rows or (with `predicted`) logits; one logit: above 0."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    flat = y.reshape(-1)
    return (flat > 0).astype(np.int64) if predicted else flat.astype(np.int64)


def activation_name(layer) -> str | None:
    """The activation a step of the model applies last: a Dense's fused one or an activation layer's."""
    act = layer.applied if hasattr(layer, "applied") else getattr(layer, "act", None)
    return getattr(act, "name", None)


def diagnose(records: list[dict[str, Any]], divergence: dict[str, Any] | None = None,
             rules: tuple[Rule, ...] = RULES, data: dict[str, Any] | None = None) -> list[Finding]:
    """The findings of a doctor's records: each per-layer rule once per layer, with the epochs it held, then the
    run-level rules (doctor_rules.run_findings) on the records and the data figures."""
    found: list[Finding] = []
    if divergence:
        found.append(Finding("non_finite", divergence.get("layer"), divergence["text"], NON_FINITE_REMEDY,
                             divergence.get("epoch")))
    by_layer: dict[int, list[tuple[int, dict[str, Any]]]] = {}  # one pass: a long run's records are not rescanned
    for rec in records:
        for r in rec["layers"]:
            by_layer.setdefault(r["layer"], []).append((rec["epoch"], r))
    for rule in rules:
        for i in sorted(by_layer):
            series = [(e, r.get(rule.measure)) for e, r in by_layer[i]]
            held = [(e, v) for e, v in series if rule.holds(v)]
            if not held:
                continue
            first, still = held[0][0], rule.holds(series[-1][1])
            value = series[-1][1] if still else held[-1][1]
            when = (f"since epoch {first}" if still else f"in epoch {first}" if len(held) == 1
                    else f"in epochs {first}-{held[-1][0]}")
            shown = f"{100 * value:.0f} %" if rule.percent else f"{value:.3g}"
            found.append(Finding(rule.name, i, rule.message.format(value=shown, when=when), rule.remedy, first))
    found.extend(run_findings(records, data, divergence))
    return found


def first_non_finite(model, x: np.ndarray | None, iterations: int, epoch: int, batch: int) -> dict[str, Any]:
    """Where a diverged step first went non-finite: each layer's parameters, then its output on the batch `x`.

    If the batch's forward pass is finite, the parameters went bad in the update of step `iterations`."""
    step, where = iterations + 1, None
    outputs = _first_bad_output(model, x) if x is not None else None
    if outputs is None:  # the forward pass was fine: the last update made a parameter non-finite
        step, batch = iterations, max(batch, 1)
    else:
        batch += 1
    for layer in model.steps:
        i = model.layers.index(layer)
        for name, p in layer.params.items():
            if not np.all(np.isfinite(p)):
                g = layer.grads.get(name)
                where = (i, layer.describe(), name, "parameter" if g is None or np.all(np.isfinite(g)) else
                         "parameter and its gradient")
                break
        if where is not None:
            break
        if outputs is not None and outputs[0] == i:
            where = (i, layer.describe(), outputs[1], "output")
            break
    if where is None:
        where = (None, "the loss", "loss", "value")
    i, desc, tensor, kind = where
    place = ("in the loss" if i is None else f"the output of layer {i} ({desc})" if kind == "output"
             else f"in layer {i} ({desc}), {kind} {tensor!r}")
    text = f"training diverged at step {step} (epoch {epoch}, batch {batch}): the first non-finite value is {place}"
    return {"step": step, "epoch": epoch, "batch": batch, "layer": i, "layer_name": desc, "tensor": tensor,
            "kind": kind, "text": text}


def _first_bad_output(model, x: np.ndarray) -> tuple[int, str] | None:
    """(layer index, tensor) of the first non-finite output of the forward pass of `x`, or None."""
    with np.errstate(all="ignore"):
        for layer in model.steps:
            x = layer.forward(x, training=False)
            if not np.all(np.isfinite(x)):
                return model.layers.index(layer), "output"
    return None


def _norm(arrays) -> float:
    return math.sqrt(sum(float(np.dot(a.reshape(-1), a.reshape(-1))) for a in arrays))


def _slices(model, layer_index: int) -> list[slice]:
    """Where layer `layer_index`'s parameters lie in model.flat.values."""
    pv, out = model.flat, []
    for key, shape, offset in zip(pv.keys, pv.shapes, pv.offsets, strict=True):
        if key.split(".")[0] == str(layer_index):
            out.append(slice(offset, offset + int(np.prod(shape))))
    return out


def _finite_json(obj: Any) -> Any:
    """NaN and inf as null: the file stays strict JSON any reader takes."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_json(v) for v in obj]
    return obj


def doctor_path(run_dir: str | os.PathLike) -> Path | None:
    """The doctor's file in a run folder: doctor.jsonl, else the doctor.json of runs before it; None if neither."""
    for name in (DOCTOR_FILE, "doctor.json"):
        if os.path.lexists(Path(run_dir) / name):
            return Path(run_dir) / name
    return None


def load_doctor(run_dir: str | os.PathLike) -> dict[str, Any]:
    """A run folder's doctor.jsonl (or an older run's doctor.json), every field checked (runfiles.read_doctor);
    its findings recomputed from the records with today's rules. RunFileError naming the file and the field for
    anything else."""
    from ..runfiles import read_doctor

    path = doctor_path(run_dir)
    if path is None:
        raise NumpynnError(f"{run_dir}: no {DOCTOR_FILE} or doctor.json (was the run trained with doctor = false, "
                           f"or is this not a run folder?)")
    records, divergence, data = read_doctor(path, with_data=True)
    return {"records": records, "divergence": divergence, "data": data,
            "findings": diagnose(records, divergence, data=data)}
