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
import stat
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from .atomic import atomic_write_bytes
from .checks import is_int
from .errors import ModelFileError, NumpynnError
from .validation import all_finite
from .version import __version__

FORMAT = "numpynn.model"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own cap; bounds the first allocation
MAX_METADATA_BYTES = 16 * 1024 * 1024  # the numpynn JSON: architecture, training state, history
MAX_JSON_DEPTH = 64  # a numpynn file nests about 6 levels
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
    """Parse and bound-check the safetensors header of a whole file's bytes; returns (header, data start)."""
    n = _header_length(data[:8], len(data), name)
    return _parse_header(data[8:8 + n], len(data), name), 8 + n


def _header_length(prefix: bytes, file_size: int, name: str) -> int:
    """The header length the first 8 bytes declare, checked against the cap and the file's size."""
    if file_size < 8 or len(prefix) < 8:
        raise ModelFileError(f"{name}: not a model file (only {file_size} bytes; a safetensors file starts with "
                             f"an 8-byte header length)")
    (n,) = struct.unpack("<Q", prefix[:8])
    if n > min(file_size - 8, MAX_HEADER_BYTES):
        raise ModelFileError(f"{name}: header length field says {n} bytes but the file has {file_size - 8} after it "
                             f"(truncated or not a safetensors file; the limit is {MAX_HEADER_BYTES} bytes)")
    return n


def _parse_header(raw: bytes, file_size: int, name: str) -> dict[str, Any]:
    """The header JSON, every tensor entry checked, and the tensor data exactly filling the rest of the file."""
    header = parse_json(raw, f"{name}: the header", allow_constants=False)
    if not isinstance(header, dict):
        raise ModelFileError(f"{name}: the header must be a JSON object, got {type(header).__name__}")
    payload = file_size - 8 - len(raw)
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise ModelFileError(f"{name}: the header's __metadata__ must map names to strings")
            continue
        if not _well_formed_entry(info):
            raise ModelFileError(f"{name}: tensor {key!r:.60} has a malformed entry (numpynn files hold F32/F64 "
                                 f"tensors with a shape and data_offsets)")
        b, e = info["data_offsets"]
        size = math.prod(info["shape"]) * _DTYPES[info["dtype"]].itemsize
        if not (0 <= b <= e <= payload) or e - b != size:
            raise ModelFileError(f"{name}: tensor {key!r:.60} claims bytes {b}..{e} for shape "
                                 f"{str(info['shape']):.80} but the file holds {payload} bytes of tensor data "
                                 f"(truncated or corrupt)")
        end = max(end, e)
    if end != payload:
        raise ModelFileError(f"{name}: the file has {payload - end} bytes after the tensor data its header "
                             f"describes (a damaged or appended file)")
    return header


def parse_json(raw: bytes | str, what: str, *, allow_constants: bool = True) -> Any:
    """JSON from a file, any failure (bad bytes, 10^5-deep nesting, a 5,000-digit number, NaN where none may
    be) a ModelFileError saying `what` it was; nesting is capped at MAX_JSON_DEPTH."""
    def refuse(constant: str):
        raise ValueError(f"{constant} is not a number JSON allows here")

    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_constant=None if allow_constants else refuse)
    except RecursionError:  # the parser's own guard, far below what the C stack takes
        raise ModelFileError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels; no numpynn file does") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{what} is not valid JSON ({str(exc):.200}); the file is corrupt") from None
    _check_depth(value, what)
    return value


def _check_depth(value: Any, what: str) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH (walked without recursion), so that no later step recurses far."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH + 1):
        level = [v for c in level if isinstance(c, (list, dict)) for v in (c.values() if isinstance(c, dict) else c)]
        if not level:
            return
    raise ModelFileError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels; no numpynn file does")


def _well_formed_entry(info: Any) -> bool:
    if not isinstance(info, dict) or info.get("dtype") not in _DTYPES:
        return False
    shape, offsets = info.get("shape"), info.get("data_offsets")
    return (isinstance(shape, list) and len(shape) <= 8 and all(is_int(d) and d >= 0 for d in shape)
            and isinstance(offsets, list) and len(offsets) == 2 and all(is_int(o) for o in offsets))



def read_model_file(path: str | os.PathLike) -> ModelFile:
    """Read and check a file written by `write_model_file`; ModelFileError for anything that is not an intact
    numpynn model file. The architecture is checked against the tensors by the model that is built from it."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    name = os.fspath(path)
    data, header = _read_bounded(path, name)
    meta_raw = header.get("__metadata__") or {}
    meta_json = meta_raw.get("numpynn")
    if not isinstance(meta_json, str):
        raise ModelFileError(f"{name}: a safetensors file, but not a numpynn model (no 'numpynn' metadata)")
    if len(meta_json) > MAX_METADATA_BYTES:
        raise ModelFileError(f"{name}: the numpynn metadata is {len(meta_json):,} characters, over the limit of "
                             f"{MAX_METADATA_BYTES:,}; no numpynn file holds that much")
    meta = parse_json(meta_json, f"{name}: the numpynn metadata")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise ModelFileError(f"{name}: unknown metadata format {found!r:.80}; expected {FORMAT!r}")
    version = meta.get("format_version")
    if not is_int(version) or version < 1:
        raise ModelFileError(f"{name}: format_version must be an integer >= 1, got {version!r:.40}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{name}: model file format version {version} is newer than this numpynn reads "
                             f"({FORMAT_VERSION}); upgrade numpynn")
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as exc:
        raise ModelFileError(f"{name}: corrupt tensor data ({exc})") from None
    if _digest(meta_json, tensors) != meta_raw.get("numpynn_sha256"):
        raise ModelFileError(f"{name}: checksum mismatch: the file was changed or damaged after it was written")
    for key, a in tensors.items():  # save refuses these; a file that has them was not written by numpynn
        if not all_finite(a):
            raise ModelFileError(f"{name}: tensor {key!r:.60} contains NaN or inf; numpynn never saves those")
    weights = {k: v for k, v in tensors.items() if not k.startswith(_OPT_PREFIX)}
    optimizer = {k[len(_OPT_PREFIX):]: v for k, v in tensors.items() if k.startswith(_OPT_PREFIX)}
    return ModelFile(meta, weights, optimizer)


def _read_bounded(path: str | os.PathLike, name: str) -> tuple[bytes, dict[str, Any]]:
    """(the bytes, the checked header) of a regular file (a symlink is followed to one).

    FIFOs, devices and folders are refused before a byte is read (a FIFO is opened without blocking); the
    header length is checked against the cap and the file's size before the header is read, and the header's
    tensors must fill the rest of the file exactly before the rest is read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {name!r}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ModelFileError(f"{name}: not a regular file (it is {_kind_of(st.st_mode)}); numpynn reads model "
                                 f"files only from regular files")
        prefix = _read_exactly(fd, min(8, st.st_size), name)
        raw = _read_exactly(fd, _header_length(prefix, st.st_size, name), name)
        header = _parse_header(raw, st.st_size, name)
        rest = _read_exactly(fd, st.st_size - 8 - len(raw), name)
        return prefix + raw + rest, header
    finally:
        os.close(fd)


def _read_exactly(fd: int, size: int, name: str) -> bytes:
    chunks, left = [], size
    try:
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 24))
            if not chunk:
                raise ModelFileError(f"{name}: the file ended after {size - left} of {size} bytes (it changed "
                                     f"while being read)")
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {name!r}: {exc.strerror or exc}") from None
    return b"".join(chunks)


def _kind_of(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((text for test, text in kinds if test(mode)), "not a regular file")
