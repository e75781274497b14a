"""Export as one readable Python file that predicts with NumPy alone, its weights in a .npz beside it.

The file holds the forward pass as a few lines of `x @ W + b` and activations (each written as numpynn
computes it, so the numbers agree), the preprocessing of raw samples (for a table model, `preprocess(rows)` of
numpynn.export.table_python: a dict of columns, row dicts or a CSV file), and the class names; the weights and
the preprocessing constants are plain arrays in `<file>.npz`, loaded with `allow_pickle=False` (a table's record
as JSON bytes in it). Both files are written atomically. Every string that comes from the user (the file's name,
class names) is written as its `repr()`, and column names and categories only as data in the .npz, so no name can
become code; the docstring names the files only when their names are plain.
"""

from __future__ import annotations

import keyword
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_bytes, atomic_writer
from ..errors import ExportError
from ..ops import Activation
from ..version import __version__
from .plan import Plan, Preparation, alpha_of, plan_of, preparation
from .table_python import WEIGHT, record_bytes, table_lines

_GELU_C = float(np.sqrt(2.0 / np.pi))
_PLAIN = re.compile(r"[A-Za-z0-9_.-]+")  # a file name shown as it is in the docstring and its shell command
_DTYPES = ("float32", "float64")

# the activations as numpynn.ops.activations computes them, and Embedding's lookup, for the file's readers
_FUNCTIONS = {
    "relu": ["def relu(x):", "    return np.maximum(x, 0)"],
    "leaky_relu": ["def leaky_relu(x, alpha):", "    return np.maximum(x, alpha * x)"],
    "elu": ["def elu(x, alpha):", "    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))"],
    "gelu": ["def gelu(x):", '    """The tanh approximation of GELU."""',
             f"    return x * ((np.tanh({_GELU_C!r} * (x + 0.044715 * x * x * x)) + 1) * 0.5)"],
    "sigmoid": ["def sigmoid(x):", '    """1 / (1 + exp(-x)), without overflow."""',
                "    return (np.tanh(x * 0.5) + 1) * 0.5"],
    "tanh": ["def tanh(x):", "    return np.tanh(x)"],
    "embed": ["def embed(x, plain, tables):",
              '    """The ordinary columns, then for each (code column, table) the table\'s row of each code."""',
              "    parts = [x[:, plain]]",
              "    for column, table in tables:",
              "        codes = x[:, column]",
              "        if not np.all((codes >= 0) & (codes < len(table)) & (codes == np.floor(codes))):",
              '            raise ValueError(f"column {column} must hold category codes 0..{len(table) - 1}")',
              "        parts.append(table[codes.astype(np.int64)])",
              "    return np.concatenate(parts, axis=1)"],
    "periodic": ["def periodic(x, freqs, W, b):",
                 '    """Each column j as relu([cos(z), sin(z)] @ W_j + b_j) with z = x_j * freqs_j (2 pi times its',
                 "    frequencies); one W and b for every column when W has two axes; side by side (n, columns * d).",
                 '    """',
                 "    z = x[:, :, None] * freqs",
                 "    v = np.concatenate([np.cos(z), np.sin(z)], axis=2)",
                 '    h = v @ W if W.ndim == 2 else np.einsum("nji,jid->njd", v, W)',
                 "    return np.maximum(h + b, 0).reshape(len(x), -1)"],
    "softmax": ["def softmax(x):", '    """Row-wise, shifted by the row maximum so exp never overflows."""',
                "    e = np.exp(x - x.max(axis=1, keepdims=True))", "    return e / e.sum(axis=1, keepdims=True)"],
}


def export_python(obj: Any, path: str | os.PathLike, *, class_names: Any = None) -> tuple[Path, Path]:
    """Write `obj` (a Sequential or a fitted numpynn estimator) as the NumPy-only file `path` (ending in .py)
    and its weights as `path` with the suffix .npz. Returns both paths."""
    path = Path(path)
    if path.suffix != ".py":
        raise ExportError(f"the Python file's name must end in .py, got {str(path)!r}")
    try:
        encoded = os.fsencode(path)
    except UnicodeEncodeError:
        encoded = b"\0"
    if b"\0" in encoded:
        raise ExportError(f"the file name {str(path)!r} cannot be a file's name on this system (a NUL "
                          f"character, or text its file names cannot encode)")
    plan = plan_of(obj, class_names)
    prep = preparation(plan)
    weights = {f"{s.name}.{key}": np.ascontiguousarray(a) for s in plan.steps for key, a in s.tensors.items()}
    weights |= {f"prep.{key}": a for key, a in prep.tensors.items()}
    if prep.table is not None:  # the record as data, never as code
        weights[WEIGHT] = record_bytes(prep.table)
    npz = path.with_suffix(".npz")
    source = python_source(plan, npz.name)  # before anything is written: a refusal leaves no file
    with atomic_writer(npz) as f:
        np.savez(f, **weights)
    atomic_write_bytes(path, source.encode())
    return path, npz


def python_source(plan: Plan, weights_name: str) -> str:
    """The text of the file for `plan`, reading its weights from `weights_name` beside it."""
    if plan.dtype.name not in _DTYPES:
        raise ExportError(f"the Python file computes in {' or '.join(_DTYPES)}, the model in {plan.dtype.name}")
    prep = preparation(plan)
    used = {s.activation.name for s in plan.steps if s.activation is not None}
    used |= {"softmax"} if plan.output == "softmax" else {"sigmoid"} if plan.output else set()
    used |= {"embed"} if any(s.op == "embedding" for s in plan.steps) else set()
    used |= {"periodic"} if any(s.op == "periodic" for s in plan.steps) else set()
    n_in = ", ".join(map(str, plan.input_shape))
    table = prep.table is not None
    stdlib = ["import csv", "import io", "import json", "import sys"] if table else ["import sys"]
    lines = [*_docstring(plan, weights_name), "", *stdlib, "from pathlib import Path", "", "import numpy as np", "",
             f"CLASS_NAMES = {list(plan.class_names)!r}" if plan.is_classifier else "",
             f"DTYPE = np.{plan.dtype.name}",
             f"W = dict(np.load(Path(__file__).with_name({weights_name!r}), allow_pickle=False))", ""]
    for name in sorted(used - {"identity", "linear"}):
        lines += ["", *_FUNCTIONS[name], ""]
    lines += ["", *(table_lines(plan.input_shape[0]) if table else _preprocess(plan, prep)), "", "",
              "def forward(x):",
              f'    """Model inputs (n, {n_in}) -> the network\'s output (n, {plan.n_outputs})."""',
              "    x = np.asarray(x, dtype=DTYPE)",
              f"    if x.shape[1:] != {plan.input_shape!r}:",
              f'        raise ValueError(f"expected inputs of shape (n, {n_in}), got {{x.shape}}")']
    for step in plan.steps:
        lines += [f"    {_statement(step)}"]
    lines += ["    return x", ""]
    lines += _predictors(plan)
    if not table:
        lines += ["", *_READ_SAMPLES]
    read = "sys.argv[1]" if table else "read_samples(sys.argv[1])"  # a CSV file, or an .npy
    what = "rows.csv   # a table's rows, with a header" if table else "samples.npy   # raw samples, np.save(path, X)"
    lines += ["", 'if __name__ == "__main__":', "    if len(sys.argv) != 2:",
              f'        sys.exit("usage: python " + Path(sys.argv[0]).name + " {what}")',
              f"    samples = preprocess({read})"]
    if plan.is_classifier:
        lines += ["    for label in predict(samples):", "        print(CLASS_NAMES[label])"]
    else:
        lines += ["    for row in np.atleast_2d(predict(samples).T).T:", '        print(" ".join(map(str, row)))']
    return "\n".join(lines) + "\n"


# the generated file's reader of an .npy: numpy's own errors ("pickled data") say nothing of what to give instead
_READ_SAMPLES = [
    "def read_samples(path):",
    '    """Raw samples from an .npy file (np.save(path, X)); a message, not a traceback, for anything else."""',
    "    try:",
    '        with open(path, "rb") as f:',
    '            if f.read(6) != b"\\x93NUMPY":',
    '                sys.exit(f"{path}: not a .npy file; give samples saved with np.save (images: numpynn predict)")',
    "            f.seek(0)",
    "            return np.load(f, allow_pickle=False)",
    "    except (OSError, ValueError) as exc:",
    '        sys.exit(f"{path}: {exc}")',
]


def _docstring(plan: Plan, weights_name: str) -> list[str]:
    """The module's docstring: how to run and import the file. A name shows in it only when it is plain (letters,
    digits, `_`, `.`, `-`), so that no quote or backslash ever reaches the docstring's text."""
    stem = Path(weights_name).stem
    usage = "one class per line" if plan.is_classifier else "one row of values per line"
    script = f"{stem}.py" if _PLAIN.fullmatch(stem) else "<this file>"
    samples = "rows.csv   # a table's rows" if "table" in plan.preprocessing else "samples.npy   # raw samples"
    lines = [f'"""Predictions of a numpynn model (exported by numpynn {__version__}) with NumPy alone.', "",
             f"    python {script} {samples} -> {usage}"]
    if stem.isidentifier() and stem.isascii() and not keyword.iskeyword(stem):
        names = "predict_proba, predict" if plan.is_classifier else "predict"
        lines += [f"    from {stem} import preprocess, {names}"]
    where = weights_name if _PLAIN.fullmatch(weights_name) else "the .npz file of this file's name"
    return [*lines, "", f"The weights are plain arrays in {where} beside this file, loaded without pickle.", '"""']


def _preprocess(plan: Plan, prep: Preparation) -> list[str]:
    """preprocess(raw): numpynn.data.apply_preprocessing's float32 arithmetic, then the model's shape and dtype."""
    shape = ", ".join(map(str, plan.input_shape))
    out = ["def preprocess(raw):"]
    if prep.kind is None:  # nothing recorded (a model fitted from Python, an estimator): the inputs as they are
        return out + ['    """Raw samples -> model inputs: the model was trained on inputs as they are."""',
                      f"    return np.asarray(raw, dtype=DTYPE).reshape((len(raw), {shape}))"]
    out += [f'    """Raw samples -> model inputs, prepared as for training: {prep.kind}."""',
            "    x = np.asarray(raw).astype(np.float32)"]
    if prep.per_feature:
        out += ["    x = x.reshape(len(x), -1)  # one statistic per feature"]
    if prep.kind == "scale":
        out += ['    x = x * W["prep.scale"]']
    elif prep.kind == "standardize":
        out += ['    x = (x - W["prep.mean"]) / W["prep.std"]']
    return out + [f"    return x.reshape((len(x), {shape})).astype(DTYPE)"]


def _call(act: Activation | None, x: str) -> str:
    if act is None or act.name in ("identity", "linear"):
        return x
    if act.name in ("leaky_relu", "elu"):
        return f"{act.name}({x}, {alpha_of(act)!r})"
    return f"{act.name}({x})"


def _statement(step) -> str:
    n = step.name
    if step.op == "dense":
        W = step.tensors["W"]
        act = f", {step.activation.name}" if step.activation is not None else ""
        affine = f'x @ W["{n}.W"] + W["{n}.b"]'
        return f"x = {_call(step.activation, affine)}  # Dense {W.shape[0]} -> {W.shape[1]}{act}"
    if step.op == "activation":
        return f"x = {_call(step.activation, 'x')}"
    if step.op == "batchnorm":
        return (f'x = (x - W["{n}.mean"]) * W["{n}.scale"] + W["{n}.beta"]  '
                f"# BatchNorm: scale = gamma / sqrt(running_var + eps)")
    if step.op == "flatten":
        return "x = x.reshape(len(x), -1)  # Flatten"
    if step.op == "embedding":
        layer = step.layer
        tables = ", ".join(f'({c}, W["{n}.E{i}"])' for i, c in enumerate(layer.columns))
        return f'x = embed(x, W["{n}.plain"], [{tables}])  # Embedding {layer.n_in} -> {layer.output_shape[0]}'
    if step.op == "periodic":
        layer = step.layer
        args = ", ".join(f'W["{n}.{key}"]' for key in ("freqs", "W", "b"))
        return f"x = periodic(x, {args})  # PeriodicEmbedding {layer.n_features} -> {layer.output_shape[0]}"
    if step.op == "exp":
        return "x = np.exp(x)  # the log link of a Poisson regressor"
    if step.op == "expm1":
        return "x = np.expm1(x)  # the model was trained on log1p of its targets"
    raise ExportError(f"step {n}: no Python form for {step.op!r}")


def _predictors(plan: Plan) -> list[str]:
    k = len(plan.class_names)
    if plan.output is None:
        values = "forward(x)[:, 0]" if plan.squeeze else "forward(x)"
        return ["", "def predict(x):", '    """Predicted values."""', f"    return {values}", ""]
    if plan.output == "sigmoid_binary":
        proba = ["    p = sigmoid(forward(x))", "    return np.hstack([1 - p, p])"]
        label = "(forward(x)[:, 0] > 0).astype(np.int64)"
    else:
        proba = [f"    return {plan.output}(forward(x))"]
        label = "forward(x).argmax(axis=1)"
    return ["", "def predict_proba(x):", f'    """Class probabilities (n, {k})."""', *proba, "", "",
            "def predict(x):", '    """Class indices (n,); CLASS_NAMES[i] names class i."""', f"    return {label}", ""]
