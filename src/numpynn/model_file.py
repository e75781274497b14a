"""What a model file holds for a Sequential, and how it is read back: the architecture, loss, metrics and
preprocessing as JSON metadata, the weights (and optimizer state) as tensors (numpynn.io writes and reads the
bytes). Reading checks every tensor the architecture will create against the file's before building anything,
and every value against its meaning, naming the field at fault."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from . import filechecks as checks
from .errors import ModelFileError, NumpynnError
from .io import ModelFile, read_model_file, write_model_file
from .layers import Embedding, layer_from_config
from .losses import loss_from_config, loss_to_config
from .optim import optimizer_from_config
from .training.history import History
from .validation import all_finite

# the model is numpynn.model.Sequential, named `Any` here: this room sits below model.py
Sequential = Any


def save(model: Sequential, path: str | os.PathLike, *, include_optimizer: bool = True) -> None:
    """Write `model` to `path` atomically; with include_optimizer, the training state a resumed run needs."""
    meta: dict[str, Any] = {"model": model.get_config(), "loss": loss_to_config(model.loss),
                            "metrics": list(model.metrics), "preprocessing": model.preprocessing}
    optimizer = None
    if include_optimizer:
        meta["training"], optimizer = training_state(model)
    # non-finite tensors are named by write_model_file; finite weights may still overflow on every input
    if model.input_shape and all_finite(model.flat.values) \
            and not all_finite(model.predict_logits(_probe(model.input_shape, model.dtype, model.layers[0]))):
        raise NumpynnError(f"refusing to save {os.fspath(path)!r}: the model's outputs overflow to NaN or inf on "
                           f"inputs of the usual scale (the model diverged); the existing file, if any, is left "
                           f"as it was")
    write_model_file(path, meta, model.get_weights(), optimizer)


def _probe(input_shape: tuple[int, ...], dtype: np.dtype, first: Any = None) -> np.ndarray:
    """A few standard-normal inputs, the same every time: a model whose outputs overflow on them is no model.
    A first Embedding's code columns get codes of their range (the first few, and the last)."""
    x = np.random.default_rng(0).standard_normal((8, *input_shape)).astype(dtype)
    if isinstance(first, Embedding):
        top = np.asarray(first.cardinalities) - 1
        x[:, list(first.columns)] = np.minimum(np.arange(8)[:, None], top)
        x[-1, list(first.columns)] = top
    return x


def load(cls: Any, path: str | os.PathLike) -> Sequential:
    """A `cls` model from a file written by `save`, with its training state when the file has one."""
    file, name = read_model_file(path), os.fspath(path)
    try:
        with checks.reading("the model file"):  # a last net; every field below has its own name
            model = _build(cls, file)
            with checks.reading("weights"):
                model.set_weights(file.weights)
            for i, layer in enumerate(model.layers):
                with checks.reading(f"model.layers[{i}] ({layer.describe()})"):
                    layer.check_state()
            training = file.meta.get("training")
            if training is not None:
                restore_training_state(model, training, file.optimizer)
            elif file.optimizer:
                raise ModelFileError("optimizer tensors without training metadata")
    except ModelFileError as exc:
        raise ModelFileError(f"{name}: {exc}") from None
    return model


def training_state(model: Sequential, *, snapshot: bool = False) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(JSON-able scalars, optimizer arrays): what a resumed run needs besides the weights, i.e. the epoch, the
    random state, the history and the optimizer's state. A snapshot (kept in memory, taken every epoch) holds
    the history's lengths instead of the history, and copies of the arrays."""
    h = model.history
    history = ({k: len(v) for k, v in h.epochs.items()}, len(h.batch_loss)) if snapshot else h.to_dict()
    training: dict[str, Any] = {"epoch": model.epoch, "rng": model.rng.bit_generator.state, "history": history,
                                "optimizer": None}
    arrays: dict[str, np.ndarray] = {}
    if model.optimizer is not None:
        training["optimizer"], arrays = model.optimizer.state_dict()
        if snapshot:
            arrays = {k: a.copy() for k, a in arrays.items()}
    return training, arrays


def restore_snapshot(model: Sequential, training: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Take back a snapshot's `training_state` (numpynn's own, so unchecked); the history is cut back to it."""
    if training["optimizer"] is not None:
        model.optimizer.load_state_dict(training["optimizer"], arrays)
    model.rng.bit_generator.state = training["rng"]
    model.epoch = training["epoch"]
    lengths, n_batches = training["history"]
    h = model.history
    h.epochs = {k: v[: lengths.get(k, 0)] for k, v in h.epochs.items() if lengths.get(k)}
    del h.batch_loss[n_batches:]


def restore_training_state(model: Sequential, training: Any, arrays: dict[str, np.ndarray]) -> None:
    """Take back a `training_state()` into `model`, checking every value (it may come from a file)."""
    training = checks.obj(training, "training")
    model.epoch = checks.integer(training.get("epoch", 0), "training.epoch")
    rng_state = training.get("rng")
    if rng_state is not None:
        with checks.reading("training.rng"):
            model.rng.bit_generator.state = checks.rng_state(rng_state, "training.rng")
    with checks.reading("training.history"):
        model.history = History.from_dict(checks.history(training.get("history") or {}, "training.history"))
    opt = training.get("optimizer")
    if opt is None:
        if arrays:
            raise ModelFileError("the file has optimizer tensors but no training.optimizer metadata")
        return
    opt = checks.obj(opt, "training.optimizer")
    with checks.reading(f"training.optimizer ({str(opt.get('name')):.20})"):
        optimizer = optimizer_from_config(opt)
    params = {k: p for k, p, _ in model.parameters()}
    for name, a in arrays.items():
        key = name.rpartition("/")[0]
        if key not in params or params[key].shape != a.shape or params[key].dtype != a.dtype:
            raise ModelFileError(f"optimizer state {name!r} does not match any parameter of the model")
    with checks.reading("training.optimizer"):
        optimizer.load_state_dict(opt, arrays)
    model.optimizer = optimizer


def check_metric_names(metrics: Any) -> list[str]:
    """`metrics` as a model file must hold it: a list of known metric names."""
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ModelFileError(f"'metrics' must be a list of names, got {metrics!r:.80}")
    with checks.reading("metrics"):
        from .training.metrics import get_metric

        for m in metrics:
            get_metric(m)
    return metrics


def _build(cls: Any, file: ModelFile) -> Sequential:
    """Check every tensor the architecture will create against the file's, then build the model."""
    meta, config = file.meta, file.meta.get("model")
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list) or not config["layers"]:
        raise ModelFileError("the metadata has no 'model' with a non-empty 'layers' list")
    if config.get("class") != "Sequential":
        raise ModelFileError(f"unknown model class {config.get('class')!r:.40}; expected 'Sequential'")
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"model dtype must be float32 or float64, got {dtype!r:.40}")
    layers = []
    for i, spec in enumerate(config["layers"]):  # constructed only: no weights allocated
        with checks.reading(f"model.layers[{i}]"):
            layers.append(layer_from_config(spec))
    _check_tensors(layers, file.weights, dtype)
    seed = config.get("seed")
    if seed is not None:
        checks.integer(seed, "model.seed", 0, 2**128 - 1)
    input_shape = checks.shape(config.get("input_shape"), "model.input_shape")
    with checks.reading("model"):
        model = cls(layers, seed=seed, dtype=dtype, input_shape=input_shape)
    loss = meta.get("loss")
    if loss is not None:
        checks.obj(loss, "loss")
    with checks.reading("loss"):
        model.set_loss(loss_from_config(loss) if loss is not None else None)
    model.metrics = check_metric_names(meta.get("metrics", []))
    n_features = math.prod(model.input_shape) if model.input_shape else None
    model.preprocessing = checks.preprocessing(meta.get("preprocessing", {}), n_features=n_features)
    return model


def _check_tensors(layers: list, weights: dict[str, np.ndarray], dtype: str) -> None:
    """The file's tensors are exactly those the layers declare, of their shapes and of the model's dtype."""
    expected = {}
    for i, layer in enumerate(layers):
        with checks.reading(f"model.layers[{i}] ({layer.describe()})"):
            expected.update({f"{i}.{k}": tuple(s) for k, s in layer.param_shapes().items()})
    if set(expected) != set(weights):
        missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise ModelFileError(f"the tensors do not match the architecture: missing {missing}, unexpected "
                             f"{unexpected}")
    for key, shape in expected.items():
        a = weights[key]
        if a.shape != shape:
            raise ModelFileError(f"tensor {key!r} has shape {a.shape}, the architecture needs {shape}")
        if a.dtype != np.dtype(dtype):
            raise ModelFileError(f"tensor {key!r} is {a.dtype}, the model is {dtype}")
