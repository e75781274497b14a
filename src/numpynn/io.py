"""Model files: weights in safetensors format, everything else as JSON in the safetensors metadata.

Layout of a numpynn file (a valid safetensors file any safetensors reader opens):
- tensors "<layer>.<param>" (weights and BatchNorm statistics) and, with the training state,
  "optimizer/<layer>.<param>/<state>" (moments);
- metadata "numpynn": JSON with the architecture, loss, metrics and training state
  (epoch, optimizer scalars, RNG state, history), and "numpynn_sha256": a digest of that JSON and every
  tensor's name, dtype, shape and bytes, so a flipped byte anywhere is caught.

This module is the file layer: it writes what a model offers (`Sequential.save`) and reads back a checked
`ModelFile` (`Sequential.load` builds the model from it). Reading never unpickles and never evaluates
anything; the header is checked against the file's size before anything is allocated. Saving is atomic and
refuses non-finite tensors.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_bytes
from .errors import ModelFileError, NumpynnError
from .validation import all_finite
from .version import __version__

FORMAT = "numpynn.model"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 64 * 1024 * 1024  # far above any real header; bounds the first allocation
_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_OPT_PREFIX = "optimizer/"


@dataclass
class ModelFile:
    """A model file's contents, checked: its metadata, its weights and its optimizer state."""

    meta: dict[str, Any]  # architecture ("model"), "loss", "metrics", "preprocessing", "training" (optional)
    weights: dict[str, np.ndarray]  # "<layer>.<param>"
    optimizer: dict[str, np.ndarray]  # "<layer>.<param>/<state>"


def _digest(meta_json: str, tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(meta_json.encode())
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.data)
    return h.hexdigest()


def write_model_file(path: str | os.PathLike, meta: dict[str, Any], weights: dict[str, np.ndarray],
                     optimizer: dict[str, np.ndarray] | None = None) -> None:
    """Write `weights`, `optimizer` state arrays and `meta` (JSON-able) to `path` atomically (temporary file,
    fsync, rename); a non-finite tensor is refused and the existing file, if any, is left as it was."""
    from safetensors.numpy import save as st_save

    tensors = dict(weights)
    tensors.update({_OPT_PREFIX + k: v for k, v in (optimizer or {}).items()})
    for key, a in tensors.items():
        if not all_finite(a):
            raise NumpynnError(f"refusing to save {os.fspath(path)!r}: tensor {key!r} contains NaN or inf "
                               f"(the model diverged); the existing file, if any, is left as it was")
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "numpynn_version": __version__, **meta}
    meta_json = json.dumps(meta, sort_keys=True, allow_nan=True)
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    data = st_save(tensors, metadata={"numpynn": meta_json, "numpynn_sha256": _digest(meta_json, tensors)})
    atomic_write_bytes(path, data)


def read_header(data: bytes, name: str) -> tuple[dict[str, Any], int]:
    """Parse and bound-check a safetensors header; returns (header, data start offset)."""
    if len(data) < 8:
        raise ModelFileError(f"{name}: not a model file (only {len(data)} bytes; a safetensors file starts with "
                             f"an 8-byte header length)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(len(data) - 8, MAX_HEADER_BYTES):
        raise ModelFileError(f"{name}: header length field says {n} bytes but the file has {len(data) - 8} after it "
                             f"(truncated or not a safetensors file)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{name}: the header is not valid JSON ({exc}); the file is corrupt") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{name}: the header must be a JSON object, got {type(header).__name__}")
    start, payload = 8 + n, len(data) - 8 - n
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not _well_formed_entry(info):
            raise ModelFileError(f"{name}: tensor {key!r:.60} has a malformed entry (numpynn files hold F32/F64 "
                                 f"tensors with a shape and data_offsets)")
        b, e = info["data_offsets"]
        size = math.prod(info["shape"]) * _DTYPES[info["dtype"]].itemsize
        if not (0 <= b <= e <= payload) or e - b != size:
            raise ModelFileError(f"{name}: tensor {key!r:.60} claims bytes {b}..{e} for shape {info['shape']} but "
                                 f"the file holds {payload} bytes of tensor data (truncated or corrupt)")
    return header, start


def _well_formed_entry(info: Any) -> bool:
    if not isinstance(info, dict) or info.get("dtype") not in _DTYPES:
        return False
    shape, offsets = info.get("shape"), info.get("data_offsets")
    return (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)
            and isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets))


def read_model_file(path: str | os.PathLike) -> ModelFile:
    """Read and check a file written by `write_model_file`; ModelFileError for anything that is not an intact
    numpynn model file. The architecture is checked against the tensors by the model that is built from it."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    name = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {name!r}: {exc.strerror or exc}") from None
    header, _ = read_header(data, name)
    meta_raw = header.get("__metadata__") or {}
    meta_json = meta_raw.get("numpynn") if isinstance(meta_raw, dict) else None
    if not isinstance(meta_json, str):
        raise ModelFileError(f"{name}: a safetensors file, but not a numpynn model (no 'numpynn' metadata)")
    try:
        meta = json.loads(meta_json)
    except json.JSONDecodeError:
        raise ModelFileError(f"{name}: the numpynn metadata is not valid JSON; the file is corrupt") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise ModelFileError(f"{name}: unknown metadata format {found!r:.80}; expected {FORMAT!r}")
    if not isinstance(meta.get("format_version"), int) or meta["format_version"] > FORMAT_VERSION:
        raise ModelFileError(f"{name}: model file format version {meta.get('format_version')!r} is newer than this "
                             f"numpynn reads ({FORMAT_VERSION}); upgrade numpynn")
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as exc:
        raise ModelFileError(f"{name}: corrupt tensor data ({exc})") from None
    if _digest(meta_json, tensors) != meta_raw.get("numpynn_sha256"):
        raise ModelFileError(f"{name}: checksum mismatch: the file was changed or damaged after it was written")
    weights = {k: v for k, v in tensors.items() if not k.startswith(_OPT_PREFIX)}
    optimizer = {k[len(_OPT_PREFIX):]: v for k, v in tensors.items() if k.startswith(_OPT_PREFIX)}
    return ModelFile(meta, weights, optimizer)
