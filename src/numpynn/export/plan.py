"""The model's plan (numpynn.plan) as the exporters take it: checked (finite numbers, layers they can write, an
input shape), with class names, a regression's output transform (an estimator's exp, a log_target model's
expm1) as a last step, and the preprocessing constants both write.

Both exporters (ONNX and the NumPy file) translate the plan the model itself predicts with, so they agree
with it on what a model computes: Dropout is gone, BatchNorm uses its running statistics, an activation layer
after a Dense runs inside it, and the output is what `predict_proba` (classifiers) or `predict` (regression)
returns.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import filechecks
from ..errors import ExportError, ModelFileError
from ..ops import Activation
from ..ops.activations import ACTIVATIONS
from ..plan import OUTPUTS, Plan, Step, plan_of_model

__all__ = ["OUTPUTS", "Plan", "Preparation", "Step", "alpha_of", "plan_of", "preparation"]

@dataclass(frozen=True)
class Preparation:
    """What `preprocess(raw)` computes. For arrays, the arithmetic of numpynn.data.apply_preprocessing: raw
    samples as float32 (flattened first when a statistic is per feature), then `x * scale` ("scale"), `(x - mean)
    / std` ("standardize") or nothing more ("none"), then the model's input shape and dtype; `kind` None: nothing
    was recorded, and the inputs are taken as they are, in the model's dtype. `tensors` are float32, each a scalar
    or one value per feature; `raw_shape` is the shape of one raw sample. `kind` "table": `table` is the
    checked record numpynn.tables.transform replays on a table's columns. `rows`: the raw samples are rows of a
    table (one value per feature), not images."""

    kind: str | None
    tensors: dict[str, np.ndarray]
    per_feature: bool
    raw_shape: tuple[int, ...]
    table: dict[str, Any] | None = None
    rows: bool = False

    @property
    def raw_type(self) -> str:
        """The raw samples' natural dtype: float32 for rows (a body mass of 4,000 g), uint8 for image pixels."""
        return "float32" if self.rows else "uint8"


def preparation(plan: Plan) -> Preparation:
    """The preprocessing constants both exporters write, checked as a model file's are."""
    prep = plan.preprocessing
    if not prep or not {"normalize", "table", "input_shape"} & prep.keys():  # class names alone prepare nothing
        return Preparation(None, {}, False, plan.input_shape)
    try:
        filechecks.preprocessing(prep, "the model's preprocessing", n_features=math.prod(plan.input_shape))
    except ModelFileError as exc:
        raise ExportError(str(exc)) from None
    if "table" in prep:
        if len(plan.input_shape) != 1:
            raise ExportError(f"a table model takes one row of inputs, got an input shape {plan.input_shape}")
        return Preparation("table", {}, False, plan.input_shape, table=prep["table"], rows=True)
    kind = prep.get("normalize", "none")
    tensors: dict[str, np.ndarray] = {}
    if kind == "scale":  # as scale_to_unit: one float32 factor
        tensors["scale"] = np.asarray(1.0 / float(prep.get("max_value", 255.0)), np.float32)
    elif kind == "standardize":  # as standardize: float64 statistics rounded once to float32
        tensors["mean"] = np.asarray(prep["mean"], np.float64).astype(np.float32)
        tensors["std"] = np.asarray(prep["std"], np.float64).astype(np.float32)
    shape = prep.get("input_shape")
    raw_shape = tuple(int(d) for d in shape) if isinstance(shape, list) and shape else plan.input_shape
    # a recorded one-axis input shape: rows of a table (a CSV or an array of features); images record (h, w)
    rows = isinstance(shape, list) and len(shape) == 1
    return Preparation(kind, tensors, any(a.ndim for a in tensors.values()), raw_shape, rows=rows)


def alpha_of(act: Activation) -> float:
    """The shape parameter an activation computes with: its own, or its function's default."""
    if act.alpha is not None:
        return float(act.alpha)
    return float(inspect.signature(ACTIVATIONS[act.name][0]).parameters["alpha"].default)


def plan_of(obj: Any, class_names: Any = None) -> Plan:
    """The plan of a numpynn Sequential, or of a fitted NumpynnClassifier/NumpynnRegressor (its `model_`,
    with `classes_` as class names and the regressor's target scaling)."""
    model = getattr(obj, "model_", None)
    if model is None:
        if hasattr(obj, "steps") and hasattr(obj, "layers") and hasattr(obj, "loss"):
            return _model_plan(obj, class_names)
        if hasattr(obj, "get_params") and hasattr(obj, "fit"):
            raise ExportError(f"{type(obj).__name__} is not fitted yet: call fit before exporting it")
        raise ExportError(f"expected a numpynn Sequential or a fitted numpynn estimator, got {type(obj).__name__}")
    if class_names is None and hasattr(obj, "classes_"):
        class_names = [str(c) for c in obj.classes_]
    plan = _model_plan(model, class_names)
    if getattr(obj, "out_activation_", None) == "exp":  # NumpynnRegressor(loss="poisson"): a log link
        plan = replace(plan, steps=plan.steps + (Step("exp", "target"),))
    if not model.loss.is_classification and model.n_outputs == 1 and hasattr(obj, "out_activation_"):
        plan = replace(plan, squeeze=True)  # a one-output regressor predicts (n,), as scikit-learn's
    return plan


def _model_plan(model: Any, class_names: Any) -> Plan:
    if model.input_shape is None:
        raise ExportError("the model's input shape is unknown (a first Flatten() without input_shape): give the "
                          "first layer its input shape, e.g. Flatten((28, 28)), before exporting")
    plan = plan_of_model(model)
    if plan.output == "unknown":
        raise ExportError(f"the loss {model.loss.name!r} has no exported output; expected one of {sorted(OUTPUTS)}")
    for step in plan.steps:
        if step.op == "layer":
            raise ExportError(f"layer {step.name} ({type(step.layer).__name__}) cannot be exported: the exporters "
                              f"know Dense, Dropout, BatchNorm, Flatten, Embedding, PeriodicEmbedding and the "
                              f"activation layers")
        for key, a in step.tensors.items():
            if not np.isfinite(a).all():
                raise ExportError(f"layer {step.name}'s {key} has NaN or inf values: a model that cannot predict "
                                  f"is not exported")
        if step.activation is not None:
            _check_activation(step.activation, step.name)
    if plan.target_transform is not None:  # log_target: the exporters write expm1 as the plan's last step
        plan = replace(plan, steps=plan.steps + (Step(plan.target_transform, "target"),), target_transform=None)
    return replace(plan, class_names=_class_names(class_names, model, plan.output))


def _check_activation(act: Activation, name: str) -> None:
    """The exporters write an activation's shape parameter as a number literal: it must be finite."""
    if act.name in ("leaky_relu", "elu") and not math.isfinite(alpha_of(act)):
        raise ExportError(f"layer {name}'s {act.name} alpha must be a finite number, got {act.alpha!r}")


def _class_names(given: Any, model: Any, output: str | None) -> tuple[str, ...]:
    if output is None:
        if given:
            raise ExportError("class names were given for a regression model, which has no classes")
        return ()
    k = 2 if output == "sigmoid_binary" else model.n_outputs
    if given is None:
        given = model.preprocessing.get("class_names") or [str(c) for c in range(k)]
    names = tuple(str(c) for c in given)
    if len(names) != k:
        raise ExportError(f"the model has {k} classes, got {len(names)} class names: {list(names)[:12]}")
    return names
