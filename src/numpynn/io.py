"""Model files: weights in safetensors format, everything else as JSON in the safetensors metadata.

Layout of a numpynn file (a valid safetensors file any safetensors reader opens):
- tensors "<layer>.<param>" (weights and BatchNorm statistics) and, with the training state,
  "optimizer/<layer>.<param>/<state>" (moments);
- metadata "numpynn": JSON with the architecture, loss, metrics and training state
  (epoch, optimizer scalars, RNG state, history), and "numpynn_sha256": a digest of that JSON and every
  tensor's name, dtype, shape and bytes, so a flipped byte anywhere is caught.

Loading never unpickles and never evaluates anything: layers come from a fixed registry of names; the header is
checked against the file's size before anything is allocated; every tensor's shape and dtype is checked against
the architecture before the model is built. Saving is atomic and refuses non-finite weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_bytes
from .errors import ModelFileError, NumpynnError
from .layers import layer_from_config
from .losses import loss_from_config, loss_to_config
from .validation import all_finite

FORMAT = "numpynn.model"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 64 * 1024 * 1024  # far above any real header; bounds the first allocation
_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_OPT_PREFIX = "optimizer/"


def _digest(meta_json: str, tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(meta_json.encode())
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.data)
    return h.hexdigest()


def save_model(model: Any, path: str | os.PathLike, *, include_optimizer: bool = True) -> None:
    """Write `model` to `path` atomically (temporary file, fsync, rename)."""
    from safetensors.numpy import save as st_save

    tensors = model.get_weights()
    for key, a in tensors.items():
        if not all_finite(a):
            raise NumpynnError(f"refusing to save {os.fspath(path)!r}: weight {key!r} contains NaN or inf "
                               f"(the model diverged); the existing file, if any, is left as it was")
    meta: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "numpynn_version": _version(),
        "model": model.get_config(), "loss": loss_to_config(model.loss), "metrics": list(model.metrics),
        "preprocessing": model.preprocessing,
    }
    if include_optimizer:
        training: dict[str, Any] = {"epoch": model.epoch, "rng": model.rng.bit_generator.state,
                                    "history": model.history.to_dict(), "optimizer": None}
        if model.optimizer is not None:
            scalars, arrays = model.optimizer.state_dict()
            training["optimizer"] = scalars
            tensors.update({_OPT_PREFIX + k: v for k, v in arrays.items()})
        meta["training"] = training
    meta_json = json.dumps(meta, sort_keys=True, allow_nan=True)
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    data = st_save(tensors, metadata={"numpynn": meta_json, "numpynn_sha256": _digest(meta_json, tensors)})
    atomic_write_bytes(path, data)


def _version() -> str:
    from . import __version__

    return __version__


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


def load_model(path: str | os.PathLike):
    """Load a model written by `save_model`, with its training state when the file has one.

    Raises ModelFileError for anything that is not an intact numpynn model file.
    """
    from .model import Sequential

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
    declared = {k: v for k, v in header.items() if k != "__metadata__"}
    try:
        model = _build_checked(meta, declared, Sequential)
    except ModelFileError as exc:
        raise ModelFileError(f"{name}: {exc}") from None
    except (NumpynnError, ValueError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{name}: the architecture cannot be built: {exc}") from None

    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as exc:
        raise ModelFileError(f"{name}: corrupt tensor data ({exc})") from None
    if _digest(meta_json, tensors) != meta_raw.get("numpynn_sha256"):
        raise ModelFileError(f"{name}: checksum mismatch: the file was changed or damaged after it was written")
    weights = {k: v for k, v in tensors.items() if not k.startswith(_OPT_PREFIX)}
    try:
        model.set_weights(weights)
        _restore_training(model, meta, {k[len(_OPT_PREFIX):]: v for k, v in tensors.items()
                                        if k.startswith(_OPT_PREFIX)})
    except (NumpynnError, ValueError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{name}: {exc}") from None
    return model


def _build_checked(meta: dict[str, Any], declared: dict[str, Any], Sequential):
    """Check every tensor the architecture will create against the file's header, then build it."""
    config = meta.get("model")
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list) or not config["layers"]:
        raise ModelFileError("the metadata has no 'model' with a non-empty 'layers' list")
    if config.get("class") != "Sequential":
        raise ModelFileError(f"unknown model class {config.get('class')!r:.40}; expected 'Sequential'")
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"model dtype must be float32 or float64, got {dtype!r:.40}")
    want_code = "F32" if dtype == "float32" else "F64"
    layers = [layer_from_config(spec) for spec in config["layers"]]  # constructed only: no weights allocated yet
    expected = {f"{i}.{k}": tuple(s) for i, layer in enumerate(layers) for k, s in layer.param_shapes().items()}
    weight_keys = {k for k in declared if not k.startswith(_OPT_PREFIX)}
    if set(expected) != weight_keys:
        missing, unexpected = sorted(set(expected) - weight_keys), sorted(weight_keys - set(expected))
        raise ModelFileError(f"the tensors do not match the architecture: missing {missing}, unexpected {unexpected}")
    for key, shape in expected.items():
        info = declared[key]
        if tuple(info["shape"]) != shape:
            raise ModelFileError(f"tensor {key!r} has shape {tuple(info['shape'])}, the architecture needs {shape}")
        if info["dtype"] != want_code:
            raise ModelFileError(f"tensor {key!r} is {info['dtype']}, the model is {dtype}")
    seed = config.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise ModelFileError(f"model seed must be a non-negative integer or null, got {seed!r:.40}")
    model = Sequential(layers, seed=seed, dtype=dtype, input_shape=config.get("input_shape"))
    loss = meta.get("loss")
    model.set_loss(loss_from_config(loss) if isinstance(loss, dict) else None)
    metrics = meta.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ModelFileError(f"'metrics' must be a list of names, got {metrics!r:.80}")
    model.metrics = metrics
    prep = meta.get("preprocessing", {})
    if not isinstance(prep, dict):
        raise ModelFileError(f"'preprocessing' must be an object, got {prep!r:.80}")
    model.preprocessing = prep
    return model


def _restore_training(model, meta: dict[str, Any], opt_arrays: dict[str, np.ndarray]) -> None:
    from .optim import optimizer_from_config
    from .training.history import History

    training = meta.get("training")
    if training is None:
        if opt_arrays:
            raise ModelFileError("optimizer tensors without training metadata")
        return
    if not isinstance(training, dict):
        raise ModelFileError("'training' metadata must be an object")
    epoch = training.get("epoch", 0)
    if not isinstance(epoch, int) or epoch < 0:
        raise ModelFileError(f"training epoch must be a non-negative integer, got {epoch!r:.40}")
    model.epoch = epoch
    rng_state = training.get("rng")
    if rng_state is not None:
        if not isinstance(rng_state, dict) or rng_state.get("bit_generator") != "PCG64":
            raise ModelFileError("the saved random state must be a PCG64 state")
        model.rng.bit_generator.state = rng_state
    model.history = History.from_dict(training.get("history") or {})
    opt = training.get("optimizer")
    if opt is None:
        return
    if not isinstance(opt, dict):
        raise ModelFileError("optimizer metadata must be an object")
    optimizer = optimizer_from_config(opt)
    params = {k: p for k, p, _ in model.parameters()}
    for name, a in opt_arrays.items():
        key = name.rpartition("/")[0]
        if key not in params or params[key].shape != a.shape or params[key].dtype != a.dtype:
            raise ModelFileError(f"optimizer state {name!r} does not match any parameter of the model")
    optimizer.load_state_dict(opt, opt_arrays)
    model.optimizer = optimizer
