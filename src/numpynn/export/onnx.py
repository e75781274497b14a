"""ONNX export: a numpynn model (or fitted estimator) as an ONNX graph that onnxruntime and others run.

The graph takes a dynamic batch of what `numpynn predict` takes, prepared in the graph exactly as numpynn
prepares it: a table model's raw columns (one input per column, numpynn.export.table_onnx), or raw rows `raw` of
a model of numbers (scaled or standardised); an image model takes its model inputs `x` unless `raw_input` asks
for raw pixels. It gives `probabilities` (predict_proba's columns) and `label` (the class index predict
returns) for a classifier, or `values` for regression. The class names, the preprocessing record and, for a
table, which input is which column are in the model's metadata. Built with the `onnx` package's helpers (the `onnx`
extra); `onnx.checker` checks the model, with shape inference, before anything is written.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_bytes
from ..checks import in_range
from ..errors import ExportError
from ..ops import Activation
from ..version import __version__
from .onnx_graph import Graph
from .plan import Plan, Preparation, Step, alpha_of, plan_of, preparation
from .table_onnx import ML_DOMAIN, ML_OPSET, emit_table, input_specs

DEFAULT_OPSET = 17  # the oldest opset with every operator used here in its current form; onnxruntime >= 1.13
MIN_OPSET = 17
RAW_TYPES = ("uint8", "float32", "float64")
_GELU_C = float(np.sqrt(2.0 / np.pi))
_PROTOBUF_LIMIT = 2**31 - 1  # a protobuf message cannot be larger


def _onnx():
    try:
        return importlib.import_module("onnx")
    except ImportError:
        raise ExportError("ONNX export needs the onnx package: pip install 'numpynn[onnx]'") from None


def export_onnx(obj: Any, path: str | os.PathLike, *, raw_input: bool | str | None = None, class_names: Any = None,
                opset: int = DEFAULT_OPSET) -> Path:
    """Write `obj` (a Sequential, or a fitted NumpynnClassifier/NumpynnRegressor) to `path` as ONNX, atomically.

    raw_input: what the graph takes. None (the default): what `numpynn predict` takes: a table model's raw
    columns, one input per column (numpynn.export.table_onnx says which type each is); a model of rows of numbers
    (a CSV or an array of features, scaled or standardised) the raw rows `raw` as float32; an image model, or one
    with no preprocessing recorded, its model inputs `x`. True: the raw samples in their natural type (a table's
    columns, rows as float32, image pixels as uint8); "uint8"/"float32"/"float64": raw samples of that type
    (not for a table); False: the model inputs `x`, already prepared (for a table, the matrix
    numpynn.tables.prepare makes). The preprocessing of raw samples runs in the graph. class_names: k names
    (default: those the model records, else "0".."k-1"). Returns the path."""
    proto = to_onnx(obj, raw_input=raw_input, class_names=class_names, opset=opset)
    data = proto.SerializeToString()
    atomic_write_bytes(path, data)
    return Path(path)


def to_onnx(obj: Any, *, raw_input: bool | str | None = None, class_names: Any = None, opset: int = DEFAULT_OPSET):
    """The checked onnx.ModelProto of `obj` (see export_onnx)."""
    onnx = _onnx()
    newest = onnx.defs.onnx_opset_version()
    if not in_range(opset, MIN_OPSET, newest, integer=True):
        raise ExportError(f"opset must be an integer from {MIN_OPSET} to {newest} (this onnx package's newest), "
                          f"got {opset!r}")
    plan = plan_of(obj, class_names)
    prep = preparation(plan)
    raw = _raw_type(raw_input, prep)
    g = Graph(onnx, plan.dtype)
    if raw == "table":
        x = emit_table(g, prep.table)
        x = g.node("Cast", [x], to=g.elem(plan.dtype)) if plan.dtype != np.float32 else x
    elif raw:
        x = _preprocess(g, g.input("raw", np.dtype(raw), prep.raw_shape), plan, prep)
    else:
        x = g.input("x", plan.dtype, plan.input_shape)
    for step in plan.steps:
        x = _emit(g, step, x)
    _outputs(g, x, plan)
    graph = onnx.helper.make_graph(g.nodes, "numpynn", g.inputs, g.outputs, g.initializers,
                                   doc_string=_describe(plan, raw))
    opsets = [onnx.helper.make_opsetid("", opset)]
    if raw == "table":
        opsets.append(onnx.helper.make_opsetid(ML_DOMAIN, ML_OPSET))
    model = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="numpynn",
                                   producer_version=__version__,
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    props = {
        "class_names": _json(list(plan.class_names), "class names"),
        "preprocessing": _json(plan.preprocessing, "preprocessing"),
        "input": {"table": "table", None: "model"}.get(raw, "raw"),
        "dtype": plan.dtype.name,
    }
    if raw == "table":  # which input is which column, of what type, and how a missing cell is written
        props["inputs"] = _json(input_specs(prep.table), "inputs")
    onnx.helper.set_model_props(model, props)
    if model.ByteSize() > _PROTOBUF_LIMIT:
        raise ExportError(f"the model's weights take {model.ByteSize() / 2**30:.1f} GiB; an ONNX file holds at "
                          f"most 2 GiB")
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:  # a bug of numpynn's, never the user's: say so plainly
        raise ExportError(f"numpynn built an ONNX graph that onnx.checker refuses (please report it): {exc}") from None
    return model


def _raw_type(raw_input: bool | str | None, prep: Preparation) -> str | None:
    """What the graph takes: "table" (a table's columns), a raw sample dtype's name, or None (model inputs)."""
    if raw_input is not None and not isinstance(raw_input, bool) and raw_input not in RAW_TYPES:
        raise ExportError(f"raw_input must be None, True, False or one of {RAW_TYPES}, got {raw_input!r}")
    if raw_input is False:
        return None
    if prep.kind == "table":
        if raw_input not in (None, True):
            raise ExportError(f"a table model's raw input is one input per column, each of its own type; "
                              f"raw_input={raw_input!r} names one type for all: leave it out (or True)")
        return "table"
    if raw_input is None:  # rows of numbers take their raw values; images and unprepared inputs their model inputs
        return prep.raw_type if prep.rows and prep.kind in ("scale", "standardize") else None
    return prep.raw_type if raw_input is True else raw_input


def _json(value: Any, what: str) -> str:
    """Metadata as JSON text, ASCII only (non-ASCII and control characters escaped), so any name travels as data."""
    try:
        return json.dumps(value, ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"the model's {what} must be JSON data with finite numbers to go into the ONNX "
                          f"metadata: {exc}") from None


def _preprocess(g: Graph, x: str, plan: Plan, prep: Preparation) -> str:
    """The nodes of `apply_preprocessing` (numpynn.data): in float32, as it computes, then the model's dtype."""
    f32 = np.dtype(np.float32) if prep.kind is not None else plan.dtype  # nothing recorded: inputs as they are
    x = g.node("Cast", [x], to=g.elem(f32))
    if prep.per_feature:  # one statistic per feature: the features in one axis first
        x = g.node("Flatten", [x], axis=1)
    if prep.kind == "scale":
        x = g.node("Mul", [x, g.const("prep.scale", prep.tensors["scale"], f32)])
    elif prep.kind == "standardize":
        x = g.node("Sub", [x, g.const("prep.mean", prep.tensors["mean"], f32)])
        x = g.node("Div", [x, g.const("prep.std", prep.tensors["std"], f32)])
    if len(plan.input_shape) == 1:
        x = g.node("Flatten", [x], axis=1)
    else:
        x = g.node("Reshape", [x, g.const("prep.shape", [-1, *plan.input_shape], np.dtype(np.int64))])
    return g.node("Cast", [x], to=g.elem(plan.dtype)) if plan.dtype != f32 else x


def _emit(g: Graph, step: Step, x: str) -> str:
    name = step.name
    if step.op == "dense":
        x = g.node("Gemm", [x, g.const(f"{name}.W", step.tensors["W"]), g.const(f"{name}.b", step.tensors["b"])])
        return _activation(g, step.activation, x, name) if step.activation is not None else x
    if step.op == "activation":
        return _activation(g, step.activation, x, name)
    if step.op == "batchnorm":
        t = step.tensors
        x = g.node("Sub", [x, g.const(f"{name}.running_mean", t["mean"])])
        x = g.node("Mul", [x, g.const(f"{name}.scale", t["scale"])])
        return g.node("Add", [x, g.const(f"{name}.beta", t["beta"])])
    if step.op == "flatten":
        return g.node("Flatten", [x], axis=1)
    if step.op == "embedding":
        return _embedding(g, step, x)
    if step.op == "periodic":
        return _periodic(g, step, x)
    if step.op == "exp":
        return g.node("Exp", [x])
    if step.op == "expm1":  # ONNX has no Expm1, and exp(x) - 1 loses the digits of a small x
        return _expm1(g, x, name)
    raise ExportError(f"step {name}: no ONNX form for {step.op!r}")


def _expm1(g: Graph, x: str, name: str) -> str:
    """expm1(x) to a few ulps: 2 t / (1 - t) with t = tanh(x / 2) where |x| < 1 (no cancellation there), else
    exp(x) - 1 (no cancellation there either)."""
    one = g.const(f"{name}.one", 1.0)
    t = g.node("Tanh", [g.node("Mul", [x, g.const(f"{name}.half", 0.5)])])
    small = g.node("Div", [g.node("Add", [t, t]), g.node("Sub", [one, t])])
    large = g.node("Sub", [g.node("Exp", [x]), one])
    return g.node("Where", [g.node("Less", [g.node("Abs", [x]), one]), small, large])


def _embedding(g: Graph, step: Step, x: str) -> str:
    """Embedding.infer: the ordinary columns, then for each code column a Gather of its table's rows at the
    int64-cast codes, all concatenated. The graph trusts the codes (numpynn refuses a code outside 0..rows-1;
    onnxruntime refuses one too large, counts a negative one from the end and truncates a fraction)."""
    name, t, int64 = step.name, step.tensors, np.dtype(np.int64)
    parts = [g.node("Gather", [x, g.const(f"{name}.plain", t["plain"], int64)], axis=1)] if t["plain"].size else []
    for i, column in enumerate(step.layer.columns):
        code = g.node("Gather", [x, g.const(f"{name}.column{i}", column, int64)], axis=1)  # (batch,)
        code = g.node("Cast", [code], to=g.elem(int64))
        parts.append(g.node("Gather", [g.const(f"{name}.E{i}", t[f"E{i}"]), code], axis=0))  # (batch, dim)
    return g.node("Concat", parts, axis=1) if len(parts) > 1 else g.node("Identity", parts)


def _periodic(g: Graph, step: Step, x: str) -> str:
    """PeriodicEmbedding.infer: z = x_j * freqs_j (batch, features, k), [Cos, Sin] concatenated, then per
    feature a MatMul by W_j as one batched MatMul over the features (one shared W when lite), + b, Relu, and
    the features' vectors side by side (batch, features * d)."""
    name, t, int64 = step.name, step.tensors, np.dtype(np.int64)
    z = g.node("Mul", [g.node("Unsqueeze", [x, g.const(f"{name}.axis", [2], int64)]),
                       g.const(f"{name}.freqs", t["freqs"])])
    v = g.node("Concat", [g.node("Cos", [z]), g.node("Sin", [z])], axis=2)  # (batch, features, 2k)
    if step.layer.lite:
        h = g.node("MatMul", [v, g.const(f"{name}.W", t["W"])])
    else:  # (features, batch, 2k) @ (features, 2k, d), back to (batch, features, d)
        h = g.node("MatMul", [g.node("Transpose", [v], perm=[1, 0, 2]), g.const(f"{name}.W", t["W"])])
        h = g.node("Transpose", [h], perm=[1, 0, 2])
    h = g.node("Relu", [g.node("Add", [h, g.const(f"{name}.b", t["b"])])])
    width = step.layer.output_shape[0]
    return g.node("Reshape", [h, g.const(f"{name}.shape", [-1, width], int64)])


def _activation(g: Graph, act: Activation, x: str, name: str) -> str:
    """The activation as numpynn.ops.activations computes it (the same formula, for the same numbers)."""
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if act.name in simple:
        return g.node(simple[act.name], [x])
    if act.name == "softmax":
        return g.node("Softmax", [x], axis=-1)
    if act.name == "leaky_relu":  # max(x, alpha x), for 0 <= alpha < 1
        return g.node("Max", [x, g.node("Mul", [x, g.const(f"{name}.alpha", alpha_of(act))])])
    if act.name == "elu":  # x for x > 0, alpha (exp(x) - 1) otherwise; exp of min(x, 0) never overflows
        zero = g.const(f"{name}.zero", 0.0)
        neg = g.node("Min", [x, zero])
        neg = g.node("Mul", [g.node("Sub", [g.node("Exp", [neg]), g.const(f"{name}.one", 1.0)]),
                             g.const(f"{name}.alpha", alpha_of(act))])
        return g.node("Where", [g.node("Greater", [x, zero]), x, neg])
    if act.name == "gelu":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(f"{name}.k", 0.044715)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(f"{name}.c", _GELU_C)])])
        half = g.node("Mul", [g.node("Add", [t, g.const(f"{name}.one", 1.0)]), g.const(f"{name}.half", 0.5)])
        return g.node("Mul", [x, half])
    if act.name in ("identity", "linear"):
        return x
    raise ExportError(f"layer {name}: the activation {act.name!r} has no ONNX form")


def _outputs(g: Graph, z: str, plan: Plan) -> None:
    k = plan.n_outputs
    if plan.output is None:
        if plan.squeeze:
            g.node("Squeeze", [z, g.const("out.axis", [1], np.dtype(np.int64))], "values")
            g.output("values", plan.dtype, ["batch"])
        else:
            g.node("Identity", [z], "values")
            g.output("values", plan.dtype, ["batch", k])
        return
    if plan.output == "softmax":
        g.node("Softmax", [z], "probabilities", axis=-1)
    elif plan.output == "sigmoid":
        g.node("Sigmoid", [z], "probabilities")
    else:  # one sigmoid output: predict_proba's columns [1 - p, p], the label where z > 0
        p = g.node("Sigmoid", [z])
        g.node("Concat", [g.node("Sub", [g.const("out.one", 1.0), p]), p], "probabilities", axis=1)
        positive = g.node("Greater", [z, g.const("out.zero", 0.0)])
        squeezed = g.node("Squeeze", [positive, g.const("out.axis", [1], np.dtype(np.int64))])
        g.node("Cast", [squeezed], "label", to=g.elem(np.dtype(np.int64)))
    if plan.output != "sigmoid_binary":
        g.node("ArgMax", [z], "label", axis=1, keepdims=0)
    g.output("probabilities", plan.dtype, ["batch", len(plan.class_names)])
    g.output("label", np.dtype(np.int64), ["batch"])


def _describe(plan: Plan, raw: str | None) -> str:
    what = "class probabilities and labels" if plan.is_classifier else "predicted values"
    given = ("a table's raw columns, one input per column (the metadata's 'inputs'), prepared in the graph"
             if raw == "table" else f"raw samples ({raw}), prepared in the graph" if raw else
             "model inputs (already prepared)")
    return f"numpynn {__version__} model: {given} -> {what}"
