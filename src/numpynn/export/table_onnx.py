"""A table model's raw columns in an ONNX graph: the nodes of numpynn.tables.transform, from one graph input per
column to the model's input matrix.

The inputs (`input_specs`; the same list is in the ONNX file's metadata, key "inputs"), each (batch, 1), named
after its column (a name that is an output's, "probabilities", "label" or "values", or empty gets "input:" in
front):
- numeric: float32, NaN for a missing cell;
- categorical: string, the cell's text as numpynn reads it (without surrounding spaces; a number as numpynn
  writes it, "3" for 3.0); "" or any of numpynn's spellings of a missing cell ("NA", "N/A", "null", ...) is a
  missing cell, "TRUE"/"True" read as "true"; text never seen in training is an unseen category;
- datetime: int64, seconds since 1970-01-01T00:00:00 of the wall-clock time (as numpynn reads dates: no time
  zone), and -2**63 (NumPy's NaT) for a missing cell: `np.asarray(dates, "datetime64[s]").astype(np.int64)`.
The arithmetic is numpynn's: the same float64 operations in the same order (imputation, scaling, the smooth
clip, the date parts), rounded once to float32 as transform returns them, so each input matches to the last bit.
Categories become indices through ai.onnx.ml's LabelEncoder, then one-hot columns by Equal, or an Embedding's
code as a float column, which the Embedding step of the graph reads.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..data.table import MISSING
from ..errors import ExportError
from ..tables.preprocess import CLIP, required_columns
from .onnx_graph import OUTPUT_NAMES, Graph

ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 2  # LabelEncoder with string keys and int64 values
NAT = np.iinfo(np.int64).min  # NumPy's NaT as int64: a missing date
TYPES = {"numeric": "float32", "categorical": "string", "datetime": "int64"}
MISSING_OF = {"numeric": "NaN", "categorical": '"" (or NA, N/A, null, ...)', "datetime": str(NAT)}
_F64, _F32, _I64 = np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.int64)


def _kinds(record: dict[str, Any]) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for e in record["columns"]:
        if kinds.setdefault(e["name"], e["kind"]) != e["kind"]:
            raise ExportError(f"the table record uses column {e['name']!r} as both {kinds[e['name']]} and "
                              f"{e['kind']}")
    return kinds


def input_specs(record: dict[str, Any]) -> list[dict[str, str]]:
    """One entry per graph input, in order: its ONNX name, the column, the column's kind, the input's element
    type and what a missing cell is."""
    kinds = _kinds(record)
    taken = set(OUTPUT_NAMES) | {""}
    specs = []
    for column in required_columns(record):
        name = column
        while name in taken:
            name = "input:" + name
        taken.add(name)
        _encodable(column, "column name")
        kind = kinds[column]
        specs.append({"input": name, "column": column, "kind": kind, "type": TYPES[kind], "missing": MISSING_OF[kind]})
    return specs


def _encodable(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ExportError(f"the {what} {text[:60]!r} holds a character ONNX cannot store (a lone surrogate)") \
            from None


def emit_table(g: Graph, record: dict[str, Any]) -> str:
    """Declare the table's inputs on `g` and add the nodes of transform(record, rows, float32): returns the
    name of the (batch, n_inputs) float32 matrix."""
    onnx = g.onnx
    elem = {"float32": onnx.TensorProto.FLOAT, "string": onnx.TensorProto.STRING, "int64": onnx.TensorProto.INT64}
    inputs = {s["column"]: g.input(s["input"], elem[s["type"]], (1,)) for s in input_specs(record)}
    dates: dict[str, dict[str, str]] = {}
    parts: list[str] = []
    for i, e in enumerate(record["columns"]):
        x, at = inputs[e["name"]], f"prep.{i}"
        if e["kind"] == "numeric":
            value = g.node("Cast", [x], to=g.elem(_F64))
            parts += _scaled(g, value, g.node("IsNaN", [value]), e, at)
        elif e["kind"] == "datetime":
            if e["name"] not in dates:
                dates[e["name"]] = _date_parts(g, x, f"prep.date{i}")
            d = dates[e["name"]]
            parts += _scaled(g, d[e["part"]], d["missing"], e, at)
        else:
            parts += _categorical(g, x, e, at)
    return g.node("Concat", parts, axis=1) if len(parts) > 1 else parts[0]


def _scaled(g: Graph, x: str, gap: str, e: dict[str, Any], at: str) -> list[str]:
    """numpynn's numeric column: the fill where missing, (x - center) * factor, z / sqrt(1 + (z / 3)^2) when
    clipped, in float64; then float32, and the missing flag."""
    x = g.node("Where", [gap, g.const(f"{at}.fill", e["fill"], _F64), x])
    z = g.node("Mul", [g.node("Sub", [x, g.const(f"{at}.center", e["center"], _F64)]),
                       g.const(f"{at}.factor", e["factor"], _F64)])
    if e["clip"]:
        t = g.node("Div", [z, g.const(f"{at}.clip", CLIP, _F64)])
        root = g.node("Sqrt", [g.node("Add", [g.const(f"{at}.one", 1.0, _F64), g.node("Mul", [t, t])])])
        z = g.node("Div", [z, root])
    out = [g.node("Cast", [z], to=g.elem(_F32))]
    if e["indicator"]:
        out.append(g.node("Cast", [gap], to=g.elem(_F32)))
    return out


def _floor_div(g: Graph, a: str, b: int, at: str) -> str:
    """floor(a / b) of int64 a for b > 0, exactly: ONNX's integer Mod takes the divisor's sign."""
    div = g.const(f"{at}.div{b}", b, _I64)
    return g.node("Div", [g.node("Sub", [a, g.node("Mod", [a, div])]), div])


def _date_parts(g: Graph, seconds: str, at: str) -> dict[str, str]:
    """numpynn.tables.preprocess.date_parts of int64 seconds: days (fractional), month, weekday and hour, float64,
    and the missing mask. The month by the civil calendar in int64 (H. Hinnant's days-to-date algorithm), as NumPy's
    datetime64[M] counts it."""
    missing = g.node("Equal", [seconds, g.const(f"{at}.nat", NAT, _I64)])
    s = g.node("Where", [missing, g.const(f"{at}.zero", 0, _I64), seconds])  # no arithmetic on NaT
    secs = g.node("Cast", [s], to=g.elem(_F64))
    c = {v: g.const(f"{at}.{v:g}", float(v), _F64) for v in (3, 7, 3600, 86400)}
    days = g.node("Div", [secs, c[86400]])
    whole = g.node("Floor", [days])
    t = g.node("Add", [whole, c[3]])  # (days + 3) % 7, as Python's float remainder (floor division)
    weekday = g.node("Sub", [t, g.node("Mul", [g.node("Floor", [g.node("Div", [t, c[7]])]), c[7]])])
    hour = g.node("Div", [g.node("Sub", [secs, g.node("Mul", [whole, c[86400]])]), c[3600]])

    def i64(v: int) -> str:
        return g.const(f"{at}.i{v}", v, _I64)

    def add(a: str, b: str) -> str:
        return g.node("Add", [a, b])

    def sub(a: str, b: str) -> str:
        return g.node("Sub", [a, b])

    def mul(a: str, v: int) -> str:
        return g.node("Mul", [a, i64(v)])

    def div(a: str, v: int) -> str:  # a >= 0 here: truncation is floor
        return g.node("Div", [a, i64(v)])

    z = add(_floor_div(g, s, 86400, at), i64(719468))  # days since 0000-03-01
    era = _floor_div(g, z, 146097, at)
    doe = sub(z, mul(era, 146097))  # day of the 400-year era, 0..146096
    yoe = div(sub(add(sub(doe, div(doe, 1460)), div(doe, 36524)), div(doe, 146096)), 365)
    doy = sub(doe, sub(add(mul(yoe, 365), div(yoe, 4)), div(yoe, 100)))  # day of the year from March 1st
    mp = div(add(mul(doy, 5), i64(2)), 153)  # month from March, 0..11
    month = add(g.node("Mod", [add(mp, i64(2)), i64(12)]), i64(1))
    return {"days": days, "month": g.node("Cast", [month], to=g.elem(_F64)), "weekday": weekday, "hour": hour,
            "missing": missing}


def _keys(e: dict[str, Any]) -> dict[str, int]:
    """Each text the column's cells may hold -> the category's index, or -2 for a missing cell (numpynn reads
    its missing spellings as missing before it looks a category up, and booleans in any case as lower case)."""
    keys = {token: -2 for token in MISSING}
    for k, v in enumerate(e["categories"]):
        _encodable(v, f"category of column {e['name']!r}")
        keys.setdefault(v, k)
        if v in ("true", "false"):
            for spelling in itertools.product(*((c.lower(), c.upper()) for c in v)):
                keys.setdefault("".join(spelling), k)
    return keys


def _categorical(g: Graph, x: str, e: dict[str, Any], at: str) -> list[str]:
    keys = _keys(e)
    k = len(e["categories"])
    if e["encoding"] == "embedding":  # 0 missing (1 when training had none), 1 unseen, 2 + k category k
        gap = 0 if e["missing"] else 1
        codes = [v + 2 if v >= 0 else gap for v in keys.values()]
        code = g.node("LabelEncoder", [x], domain=ML_DOMAIN, keys_strings=list(keys), values_int64s=codes,
                      default_int64=1)
        return [g.node("Cast", [code], to=g.elem(_F32))]
    index = g.node("LabelEncoder", [x], domain=ML_DOMAIN, keys_strings=list(keys), values_int64s=list(keys.values()),
                   default_int64=-1)  # -1: a category never seen, all zeros
    out = [g.node("Cast", [g.node("Equal", [index, g.const(f"{at}.categories", np.arange(k), _I64)])],
                  to=g.elem(_F32))] if k else []
    if e["missing"]:
        out.append(g.node("Cast", [g.node("Equal", [index, g.const(f"{at}.missing", -2, _I64)])], to=g.elem(_F32)))
    return out
