"""ONNX export: a numpynn model (or fitted estimator) as an ONNX graph that onnxruntime and others run.

The graph takes a dynamic batch of model inputs `x` (or, with `raw_input`, of raw samples `raw`, prepared in
the graph exactly as `numpynn predict` prepares them) and gives `probabilities` (predict_proba's columns) and
`label` (the class index predict returns) for a classifier, or `values` for regression. The class names and
the preprocessing record are in the model's metadata. Built with the `onnx` package's helpers (the `onnx`
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
from .plan import Plan, Step, alpha_of, plan_of, preparation

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


def export_onnx(obj: Any, path: str | os.PathLike, *, raw_input: bool | str = False, class_names: Any = None,
                opset: int = DEFAULT_OPSET) -> Path:
    """Write `obj` (a Sequential, or a fitted NumpynnClassifier/NumpynnRegressor) to `path` as ONNX, atomically.

    raw_input: False (the graph takes model inputs), True or "uint8" (raw pixels), "float32"/"float64" (raw
    values of that type): the preprocessing runs in the graph. class_names: k names (default: those the model
    records, else "0".."k-1"). Returns the path."""
    proto = to_onnx(obj, raw_input=raw_input, class_names=class_names, opset=opset)
    data = proto.SerializeToString()
    atomic_write_bytes(path, data)
    return Path(path)


def to_onnx(obj: Any, *, raw_input: bool | str = False, class_names: Any = None, opset: int = DEFAULT_OPSET):
    """The checked onnx.ModelProto of `obj` (see export_onnx)."""
    onnx = _onnx()
    newest = onnx.defs.onnx_opset_version()
    if not in_range(opset, MIN_OPSET, newest, integer=True):
        raise ExportError(f"opset must be an integer from {MIN_OPSET} to {newest} (this onnx package's newest), "
                          f"got {opset!r}")
    raw = _raw_type(raw_input)
    plan = plan_of(obj, class_names)
    g = _Graph(onnx, plan.dtype)
    if raw:
        x = _preprocess(g, g.input("raw", np.dtype(raw), preparation(plan).raw_shape), plan)
    else:
        x = g.input("x", plan.dtype, plan.input_shape)
    for step in plan.steps:
        x = _emit(g, step, x)
    _outputs(g, x, plan)
    graph = onnx.helper.make_graph(g.nodes, "numpynn", g.inputs, g.outputs, g.initializers,
                                   doc_string=_describe(plan, raw))
    opsets = [onnx.helper.make_opsetid("", opset)]
    model = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="numpynn",
                                   producer_version=__version__,
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    onnx.helper.set_model_props(model, {
        "class_names": _json(list(plan.class_names), "class names"),
        "preprocessing": _json(plan.preprocessing, "preprocessing"),
        "input": "raw" if raw else "model",
        "dtype": plan.dtype.name,
    })
    if model.ByteSize() > _PROTOBUF_LIMIT:
        raise ExportError(f"the model's weights take {model.ByteSize() / 2**30:.1f} GiB; an ONNX file holds at "
                          f"most 2 GiB")
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:  # a bug of numpynn's, never the user's: say so plainly
        raise ExportError(f"numpynn built an ONNX graph that onnx.checker refuses (please report it): {exc}") from None
    return model


def _raw_type(raw_input: bool | str) -> str | None:
    if raw_input is False or raw_input is None:
        return None
    if raw_input is True:
        return "uint8"
    if raw_input not in RAW_TYPES:
        raise ExportError(f"raw_input must be True, False or one of {RAW_TYPES}, got {raw_input!r}")
    return raw_input


def _json(value: Any, what: str) -> str:
    """Metadata as JSON text, ASCII only (non-ASCII and control characters escaped), so any name travels as data."""
    try:
        return json.dumps(value, ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"the model's {what} must be JSON data with finite numbers to go into the ONNX "
                          f"metadata: {exc}") from None


class _Graph:
    """Nodes, initializers and value infos, each named once."""

    def __init__(self, onnx, dtype: np.dtype) -> None:
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self.outputs: list = []
        self._n = 0

    def elem(self, dtype: np.dtype) -> int:
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def input(self, name: str, dtype: np.dtype, shape: tuple[int, ...]) -> str:
        self.inputs.append(self.onnx.helper.make_tensor_value_info(name, self.elem(dtype), ["batch", *shape]))
        return name

    def output(self, name: str, dtype: np.dtype, shape: list) -> None:
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, self.elem(dtype), shape))

    def const(self, name: str, value: Any, dtype: np.dtype | None = None) -> str:
        a = np.asarray(value, dtype=dtype or self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(a, name))
        return name

    def node(self, op: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        if out is None:
            self._n += 1
            out = f"{op.lower()}_{self._n}"
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], **attrs))
        return out


def _preprocess(g: _Graph, x: str, plan: Plan) -> str:
    """The nodes of `apply_preprocessing` (numpynn.data): in float32, as it computes, then the model's dtype."""
    prep = preparation(plan)
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


def _emit(g: _Graph, step: Step, x: str) -> str:
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
    if step.op == "exp":
        return g.node("Exp", [x])
    if step.op == "expm1":  # ONNX has no Expm1, and exp(x) - 1 loses the digits of a small x
        return _expm1(g, x, name)
    raise ExportError(f"step {name}: no ONNX form for {step.op!r}")


def _expm1(g: _Graph, x: str, name: str) -> str:
    """expm1(x) to a few ulps: 2 t / (1 - t) with t = tanh(x / 2) where |x| < 1 (no cancellation there), else
    exp(x) - 1 (no cancellation there either)."""
    one = g.const(f"{name}.one", 1.0)
    t = g.node("Tanh", [g.node("Mul", [x, g.const(f"{name}.half", 0.5)])])
    small = g.node("Div", [g.node("Add", [t, t]), g.node("Sub", [one, t])])
    large = g.node("Sub", [g.node("Exp", [x]), one])
    return g.node("Where", [g.node("Less", [g.node("Abs", [x]), one]), small, large])


def _embedding(g: _Graph, step: Step, x: str) -> str:
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


def _activation(g: _Graph, act: Activation, x: str, name: str) -> str:
    """The activation as numpynn.ops.activations computes it (the same formula, for the same numbers)."""
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if act.name in simple:
        return g.node(simple[act.name], [x])
    if act.name == "softmax":
        return g.node("Softmax", [x], axis=-1)
    if act.name == "leaky_relu":  # max(x, alpha x), for 0 <= alpha < 1
        return g.node("Max", [x, g.node("Mul", [x, g.const(f"{name}.alpha", alpha_of(act))])])
    if act.name == "elu":  # x for x > 0, alpha (exp(x) - 1) otherwise; exp of min(x, 0) never overflows
        neg = g.node("Min", [x, g.const(f"{name}.zero", 0.0)])
        neg = g.node("Mul", [g.node("Sub", [g.node("Exp", [neg]), g.const(f"{name}.one", 1.0)]),
                             g.const(f"{name}.alpha", alpha_of(act))])
        return g.node("Where", [g.node("Greater", [x, f"{name}.zero"]), x, neg])
    if act.name == "gelu":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(f"{name}.k", 0.044715)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(f"{name}.c", _GELU_C)])])
        half = g.node("Mul", [g.node("Add", [t, g.const(f"{name}.one", 1.0)]), g.const(f"{name}.half", 0.5)])
        return g.node("Mul", [x, half])
    if act.name in ("identity", "linear"):
        return x
    raise ExportError(f"layer {name}: the activation {act.name!r} has no ONNX form")


def _outputs(g: _Graph, z: str, plan: Plan) -> None:
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
    given = f"raw samples ({raw}), prepared in the graph" if raw else "model inputs (already prepared)"
    return f"numpynn {__version__} model: {given} -> {what}"
