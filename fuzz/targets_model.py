"""Fuzz targets for model files: `nn.load` (and using what it loads) and the safetensors header parser.

MUTATORS rewrite a model file's metadata and recompute its checksum, as an attacker who crafts a file would:
the byte-level mutations of the harness mostly stop at the checksum, these reach every field's checks.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

MAX_INPUT_VALUES = 10**6  # a loaded model is run on one zero sample when its input is at most this large


def load(path: Path) -> None:
    """Load a model file and use it as `numpynn predict` does: preprocessing, probabilities, its summary."""
    import numpynn as nn
    from numpynn.data import apply_preprocessing

    model = nn.load(path)
    model.summary(print_fn=None)
    shape = model.input_shape or model.preprocessing.get("input_shape")
    if shape and math.prod(shape) <= MAX_INPUT_VALUES:
        X = apply_preprocessing(np.zeros((1, *shape), np.uint8), model.preprocessing)
        if model.input_shape is None or X.shape[1:] == tuple(model.input_shape):
            model.predict_proba(X) if model.loss.is_classification else model.predict(X)


def read_header(path: Path) -> None:
    from numpynn.io import read_header as parse

    parse(path.read_bytes(), str(path))


TARGETS = {"load": load, "read_header": read_header}


# --- structure-aware mutations ----------------------------------------------------------------------------
def _split(data: bytes) -> tuple[dict, dict, bytes] | None:
    """(header, numpynn metadata, tensor bytes) of a model file, or None if it is not one."""
    try:
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        return header, json.loads(header["__metadata__"]["numpynn"]), data[8 + n:]
    except Exception:  # noqa: BLE001 - not a model file: the mutator leaves it alone
        return None


def _rebuild(header: dict, meta_json: str, payload: bytes) -> bytes:
    """A file with `meta_json` as its metadata and the checksum numpynn would compute for it."""
    from numpynn.io import _DTYPES, _digest

    tensors = {}
    for key, info in header.items():
        if key != "__metadata__":
            b, e = info["data_offsets"]
            tensors[key] = np.frombuffer(payload[b:e], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
    header = dict(header, __metadata__={"numpynn": meta_json, "numpynn_sha256": _digest(meta_json, tensors)})
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + payload


def _paths(value, prefix=()):
    """Every (path, value) inside a JSON value."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:8]):
            yield from _paths(v, (*prefix, i))


HOSTILE_VALUES = [None, True, -1, 0, 2**63, 2**200, -(2**70), 1.5, -0.0, 1e308, float("inf"), float("nan"), "",
                  "abc", "1", [], [1], [[[]]], {}, {"epochs": [1]}, [2**31, 2**31]]


def set_a_field(data: bytes, draw) -> bytes:
    """Replace one metadata value (anywhere in the tree) by a hostile one; the checksum is recomputed."""
    from hypothesis import strategies as st

    parts = _split(data)
    if parts is None:
        return data
    header, meta, payload = parts
    where = draw(st.sampled_from([p for p, _ in _paths(meta) if p]))
    value = draw(st.sampled_from(HOSTILE_VALUES))
    target = meta
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return _rebuild(header, json.dumps(meta, allow_nan=True), payload)


def nest_deeply(data: bytes, draw) -> bytes:
    """Put a deeply nested list into the metadata, checksum recomputed."""
    from hypothesis import strategies as st

    parts = _split(data)
    if parts is None:
        return data
    header, meta, payload = parts
    depth = draw(st.sampled_from([63, 65, 1000, 20000]))
    text = json.dumps(meta)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    return _rebuild(header, text, payload)


MUTATORS = {"load": [set_a_field, set_a_field, set_a_field, nest_deeply]}
