"""Sequential: a stack of layers with forward, backward, parameters, prediction, training and saving.

Parameter keys are "<layer index>.<name>" ("0.W", "0.b", "2.gamma"); the same keys name tensors in model
files and optimizer state.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import filechecks as checks
from .dtypes import resolve_dtype
from .errors import ModelFileError, NumpynnError, ShapeError
from .io import ModelFile, read_model_file, write_model_file
from .layers import BatchNorm, Dense, Dropout, Layer, layer_from_config
from .losses import Loss, get_loss, loss_from_config, loss_to_config
from .ops import Activation, NumpyOps, get_ops
from .optim import Optimizer, optimizer_from_config
from .parameters import ParameterVector
from .training.history import History
from .validation import all_finite, check_batch_size, check_integer, check_targets, check_X

PREDICT_BATCH = 8192  # rows per forward pass in predict/evaluate: bounds memory on large inputs
_UNMADE = object()  # the few-row predictor is made on first use


class Sequential:
    """A feed-forward network.

    >>> model = Sequential([Dense(784, 128, "relu"), Dense(128, 10)], seed=0)

    `seed` seeds the model's Generator, which draws the initial weights, dropout masks, minibatch order and
    augmentation; `dtype` is "float32" (default) or "float64".
    """

    def __init__(self, layers: Sequence[Layer], *, seed: int | None = 0, dtype: str | np.dtype = "float32",
                 input_shape: Sequence[int] | None = None) -> None:
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential needs at least one layer, got an empty list")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} must be a numpynn Layer, got {type(layer).__name__}")
        self.layers = layers
        self.seed = check_integer(seed, "seed", 0, none="fresh entropy")  # a NumPy integer too, stored as int
        self.dtype = resolve_dtype(dtype)
        self.ops = get_ops()  # the engine every layer, and the loss, compute with
        self.rng = np.random.default_rng(seed)
        self.loss: Loss | None = None
        self.optimizer: Optimizer | None = None
        self.metrics: list[str] = []
        # how raw inputs become this model's inputs, e.g. {"normalize": "scale", "max_value": 255.0}
        self.preprocessing: dict[str, Any] = {}
        self.history = History()
        self.epoch = 0  # epochs completed; resuming continues from here
        self.stop_training = False
        self._build(tuple(check_integer(d, "input_shape", 1) for d in input_shape) if input_shape is not None else None)

    # --- structure ------------------------------------------------------------------------
    def _build(self, input_shape: tuple[int, ...] | None) -> None:
        first = self.layers[0]
        if input_shape is None:
            input_shape = (first.in_features,) if isinstance(first, Dense) else getattr(first, "expected", None)
        shape = input_shape
        for layer in self.layers:
            shape = layer.build(shape, dtype=self.dtype, ops=self.ops, rng=self.rng)
        self.input_shape = input_shape  # None (e.g. a bare Flatten() first): layers check shapes themselves
        out = next((ly.output_shape for ly in reversed(self.layers) if ly.output_shape is not None), None)
        if out is None or len(out) != 1:
            raise ShapeError(f"the last layer must output (batch, k) vectors, got per-sample shape {out}")
        self.n_outputs = out[0]
        self._index_parameters()
        self.set_loss(self.loss)

    def _index_parameters(self) -> None:
        """Put every parameter (and gradient) into one contiguous vector; the layers keep views into it."""
        tensors = [(f"{i}.{name}", layer.params, layer.grads, name)
                   for i, layer in enumerate(self.layers) for name in layer.params]
        self.flat = ParameterVector.gather(tensors, self.dtype)
        self._few_rows = self._batch_rows = _UNMADE  # the layers now hold new arrays
        self._penalised = [ly for ly in self.layers if isinstance(ly, Dense) and (ly.l1 or ly.l2)]

    def __getstate__(self) -> dict[str, Any]:
        # rebuilt from the layers: the parameter vector and the few-row predictor, which holds views into it
        return {k: v for k, v in self.__dict__.items() if k not in ("flat", "_few_rows", "_batch_rows")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index_parameters()

    def set_loss(self, loss: str | Loss | None) -> Loss:
        """Choose the loss (None: from the output size) and fuse a matching output activation into it."""
        self.loss = get_loss(loss, self.n_outputs)
        self.loss.ops = self.ops
        self._plan_steps()
        return self.loss

    def _plan_steps(self) -> None:
        """Decide the layers forward() runs, `steps`. The loss takes a matching output activation in (a last
        Softmax or Sigmoid layer, or a last Dense's own); an activation layer right after a Dense runs inside
        it, in the same pass as the bias, so `Dense(784, 256), ReLU()` computes as `Dense(784, 256, "relu")` does
        (the initial weights follow each Dense's own `init`). Parameters, keys and model files stay those of the
        layers as written."""
        layers, fused = list(self.layers), self.loss.fused_activation
        for layer in layers:
            if isinstance(layer, Dense):
                layer.applied = layer.own_activation
        last = layers[-1]
        if _activation_of(last) is not None and _activation_of(last).name == fused:
            layers.pop()
        elif isinstance(last, Dense) and last.activation is not None and last.activation == fused:
            last.applied = None
        steps: list[Layer] = []
        for layer in layers:
            act, before = _activation_of(layer), steps[-1] if steps else None
            if act is not None and isinstance(before, Dense) and before.applied is None:
                before.applied = None if act.name in ("identity", "linear") else act
                continue
            steps.append(layer)
        self.steps = tuple(steps)
        # the first layer with parameters never needs dL/dx: skipping it saves one GEMM per step
        self._first_step = next((i for i, ly in enumerate(steps) if ly.params), 0)
        for i, layer in enumerate(steps):
            if isinstance(layer, Dense):
                layer.needs_input_grad = i != self._first_step
        self._few_rows = self._batch_rows = _UNMADE

    @contextlib.contextmanager
    def training_engine(self, ops: NumpyOps) -> Iterator[None]:
        """Within the block, the layers, loss and optimizer compute with `ops` (fit's precision="bf16" engine);
        the model's own engine afterwards."""
        if ops is self.ops:
            yield
            return
        own = self.ops

        def bind(engine: NumpyOps) -> None:
            self.ops = engine
            for layer in self.layers:
                layer.ops = engine
            if self.loss is not None:
                self.loss.ops = engine
            if self.optimizer is not None:
                self.optimizer.ops = engine
            self._few_rows = self._batch_rows = _UNMADE

        bind(ops)
        try:
            yield
        finally:
            bind(own)

    def _dense_stack(self) -> list | None:
        """(W, b, activation) of each step when the steps are Dense layers (Dropout does nothing at prediction),
        else None."""
        dense = [ly for ly in self.steps if not isinstance(ly, Dropout)]
        if not dense or not all(isinstance(ly, Dense) for ly in dense):
            return None
        return [(ly.params["W"], ly.params["b"], ly.applied) for ly in dense]

    def _make_few_rows(self):
        """The engine's predictor for a few rows of a stack of Dense layers, or None: not such a stack, or not
        an engine with one."""
        stack = self._dense_stack()
        return None if stack is None else self.ops.few_rows_predictor(stack)

    def _batch_predictor(self):
        """The engine's predictor for many rows of a stack of Dense layers (made on first use), or None."""
        if self._batch_rows is _UNMADE:
            stack = self._dense_stack()
            self._batch_rows = None if stack is None else self.ops.batch_predictor(stack)
        return self._batch_rows

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """(key, parameter, gradient) for every trainable tensor, in a stable order (views into `self.flat`)."""
        return iter(self.flat)

    def n_params(self) -> int:
        return self.flat.n_params()

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer (BatchNorm statistics), keyed as in model files."""
        return {key: a.copy() for key, a in self._tensor_slots().items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Copy values into the existing arrays, checking that keys, shapes and dtypes match exactly."""
        targets = self._tensor_slots()
        missing, extra = set(targets) - set(weights), set(weights) - set(targets)
        if missing or extra:
            raise ShapeError(f"weights do not match the model: missing {sorted(missing)}, unexpected {sorted(extra)}")
        for key, dst in targets.items():
            src = np.asarray(weights[key])
            if src.shape != dst.shape:
                raise ShapeError(f"weight {key!r}: the model has shape {dst.shape}, got {src.shape}")
            np.copyto(dst, src, casting="same_kind")

    def snapshot(self) -> dict[str, Any]:
        """Copies of everything a checkpoint holds (weights, optimizer state, RNG state, epoch, history length),
        cheap enough to take every epoch; `restore` puts them back."""
        opt = None
        if self.optimizer is not None:
            scalars, arrays = self.optimizer.state_dict()
            opt = (scalars, {k: a.copy() for k, a in arrays.items()})
        h = self.history
        return {"weights": self.get_weights(), "optimizer": opt, "rng": self.rng.bit_generator.state,
                "epoch": self.epoch, "history": ({k: len(v) for k, v in h.epochs.items()}, len(h.batch_loss))}

    def restore(self, snap: dict[str, Any]) -> None:
        """Return to a `snapshot`: later epochs and batches are dropped from the history."""
        self.set_weights(snap["weights"])
        if snap["optimizer"] is not None:
            self.optimizer.load_state_dict(*snap["optimizer"])
        self.rng.bit_generator.state = snap["rng"]
        self.epoch = snap["epoch"]
        lengths, n_batches = snap["history"]
        self.history.epochs = {k: v[: lengths.get(k, 0)] for k, v in self.history.epochs.items() if lengths.get(k)}
        del self.history.batch_loss[n_batches:]

    def _tensor_slots(self) -> dict[str, np.ndarray]:
        slots = {f"{i}.{n}": a for i, ly in enumerate(self.layers) for n, a in ly.params.items()}
        slots.update({f"{i}.{n}": a for i, ly in enumerate(self.layers) for n, a in ly.buffers.items()})
        return slots

    # --- computing --------------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Logits (the output before any activation the loss fuses in), shape (batch, n_outputs)."""
        for layer in self.steps:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dlogits: np.ndarray, *, input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate dL/dlogits through every layer, filling each layer's `grads`; returns dL/dx if asked."""
        steps = self.steps
        if not steps:  # every layer was taken into the loss (a lone Softmax): nothing to backpropagate through
            return dlogits if input_grad else None
        first = steps[self._first_step]
        if isinstance(first, Dense):
            first.needs_input_grad = input_grad
        d = dlogits
        for layer in reversed(steps[0 if input_grad else self._first_step:]):
            d = layer.backward(d)
        for layer in self._penalised:
            layer.add_penalty_grad()
        return d if input_grad else None

    def input_gradients(self, X: Any, class_index: int | Sequence[int] | np.ndarray) -> np.ndarray:
        """Saliency: d logit[class] / d x for each row of X, shaped like X (Simonyan et al. 2014).

        `class_index`: one class for every row, or one per row (n,). The logit is the class's score before
        the softmax or sigmoid the loss applies. Computed as at prediction: dropout off, BatchNorm with its
        running statistics. The model's weights and gradient buffers are left as they were.
        """
        Xa = check_X(X, self.input_shape, self.dtype)
        n = len(Xa)
        c = np.asarray(class_index)
        if c.ndim == 0:
            c = np.full(n, c)
        if c.dtype.kind not in "iu" or c.shape != (n,):
            raise ValueError(f"class_index must be an integer or {n} integers (one per row), got {class_index!r:.80}")
        if n and (c.min() < 0 or c.max() >= self.n_outputs):
            raise ValueError(f"class_index must be in [0, {self.n_outputs}), got values from {c.min()} to {c.max()}")
        out = np.empty(Xa.shape, dtype=self.dtype)
        saved = self.flat.grads.copy()  # the layers' backward writes parameter gradients: keep the model's own
        try:
            for s in range(0, n, PREDICT_BATCH):
                out[s:s + PREDICT_BATCH] = self._input_gradient_batch(Xa[s:s + PREDICT_BATCH],
                                                                      c[s:s + PREDICT_BATCH])
        finally:
            np.copyto(self.flat.grads, saved)
            self._plan_steps()  # the first layer skips dL/dx again
        return out

    def _input_gradient_batch(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        layers = [ly for ly in self.steps if not isinstance(ly, Dropout)]  # Dropout is the identity here
        for layer in layers:  # training=True keeps what backward needs; BatchNorm stays in evaluation mode
            x = layer.forward(x, training=not isinstance(layer, BatchNorm))
        d = np.zeros((len(x), self.n_outputs), dtype=self.dtype)
        d[np.arange(len(x)), c] = 1
        for layer in layers:
            if isinstance(layer, Dense):
                layer.needs_input_grad = True
        for layer in reversed(layers):
            if isinstance(layer, BatchNorm):  # evaluation-mode BatchNorm is x * gamma / sqrt(var + eps) + ...
                d = d * (layer.params["gamma"] / np.sqrt(layer.buffers["running_var"] + layer.eps))
            else:
                d = layer.backward(d)
        return d

    def penalty(self) -> float:
        """The L1/L2 weight-penalty term added to the loss."""
        return sum(layer.penalty() for layer in self._penalised)

    def _forward_few_rows(self, x: np.ndarray, softmax: bool = False) -> np.ndarray | None:
        """forward() of a prediction of a few rows by the engine's predictor, where it has one; else None. With
        softmax, the softmax of the logits (computed in the same call). The result is a reused buffer."""
        run = self._few_rows
        if run is _UNMADE:
            run = self._few_rows = self._make_few_rows()
        return None if run is None else run(x, softmax)

    def _batched_logits(self, X: np.ndarray, batch_size: int | None, copy: bool = True) -> np.ndarray:
        """Logits of X in batches; `copy=False` may return a layer's reused buffer (read it before the next call)."""
        n = len(X)
        bs = check_batch_size(batch_size) or PREDICT_BATCH
        if (out := self._forward_few_rows(X)) is not None:
            return out.copy() if copy else out
        if (run := self._batch_predictor()) is not None:
            return run(X, False, batch_size)  # a new array
        if n <= bs:
            out = self.forward(X)  # layers reuse their output buffers: hand back an array of our own
            return out.copy() if copy else out
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        for s in range(0, n, bs):
            out[s:s + bs] = self.forward(X[s:s + bs])
        return out

    def predict_logits(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        return self._batched_logits(check_X(X, self.input_shape, self.dtype), batch_size)

    def predict_proba(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (n, k); for a one-output binary model (n, 2) = [P(0), P(1)].
        With binary cross-entropy over k > 1 outputs each column is that class's own sigmoid (one-vs-rest)."""
        if not self.loss.is_classification:
            raise NumpynnError(f"predict_proba needs a classification loss; this model uses {self.loss.name!r}")
        X = check_X(X, self.input_shape, self.dtype)
        check_batch_size(batch_size)
        if self.loss.name == "cross_entropy":
            if (probs := self._forward_few_rows(X, softmax=True)) is not None:
                return probs.copy()
            if (run := self._batch_predictor()) is not None:
                return run(X, True, batch_size)  # the softmax in place on a new array
        # the output activation makes a new array, so the logits need not be copied first
        return self.probability_columns(self.loss.output(self._batched_logits(X, batch_size, copy=False)))

    @staticmethod
    def probability_columns(scores: np.ndarray) -> np.ndarray:
        """predict_proba's layout of the loss's output (n, k): a one-output binary model's (n, 2) [P(0), P(1)]."""
        return np.hstack([1 - scores, scores]) if scores.shape[1] == 1 else scores

    def labels_of(self, logits: np.ndarray) -> np.ndarray:
        """predict's class labels (n,) for a classifier's logits (n, k)."""
        if self.loss.name == "binary_cross_entropy" and self.n_outputs == 1:
            return (logits[:, 0] > 0).astype(np.int64)
        return logits.argmax(axis=1)

    def predict(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        """Class labels (n,) for classifiers; values (n, k) for regression."""
        classifier = self.loss.is_classification
        logits = self._batched_logits(check_X(X, self.input_shape, self.dtype), batch_size, copy=not classifier)
        return self.labels_of(logits) if classifier else logits

    def evaluate(self, X: Any, y: Any, metrics: Sequence[str] | None = None,
                 batch_size: int | None = None) -> dict[str, float]:
        """Loss and metrics on (X, y), e.g. {'loss': 0.21, 'accuracy': 0.94}."""
        from .training.fit import compute_metrics

        Xa = check_X(X, self.input_shape, self.dtype)
        ya = check_targets(y, self.n_outputs, self.loss.name, self.dtype)
        if len(Xa) != len(ya):
            raise ShapeError(f"X and y must have the same number of samples, got {len(Xa)} and {len(ya)}")
        logits = self._batched_logits(Xa, batch_size)
        loss, _ = self.loss(logits, ya)
        names = list(metrics) if metrics is not None else (self.metrics or self._default_metrics())
        return {"loss": loss + self.penalty(), **compute_metrics(names, ya, logits, self.loss)}

    def _default_metrics(self) -> list[str]:
        return ["accuracy"] if self.loss.is_classification else ["mse"]

    def fit(self, X: Any, y: Any, **kwargs: Any) -> History:
        """Train with minibatch gradient descent; see numpynn.training.fit.fit for every argument."""
        from .training.fit import fit

        return fit(self, X, y, **kwargs)

    # --- describing and saving ----------------------------------------------------------
    def summary(self, print_fn=print) -> str:
        """A table of layers, output shapes, parameter counts and forward FLOPs per sample."""
        from .summary import summary_table

        text = summary_table(self)
        if print_fn is not None:
            print_fn(text)
        return text

    def _repr_html_(self) -> str:
        """The summary as an HTML table, for Jupyter."""
        from .summary import summary_html

        return summary_html(self)

    def get_config(self) -> dict[str, Any]:
        return {"class": "Sequential", "dtype": self.dtype.name, "seed": self.seed,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "layers": [{"class": type(ly).__name__, "config": ly.get_config()} for ly in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: str | None = None) -> Sequential:
        """Rebuild an (untrained) model from get_config() output, using only registered layer names."""
        if not isinstance(config, dict) or config.get("class") != "Sequential":
            raise NumpynnError(f"expected a Sequential config, got {str(config)[:200]}")
        layers = config.get("layers")
        if not isinstance(layers, list) or not layers:
            raise NumpynnError("a Sequential config needs a non-empty 'layers' list")
        return cls([layer_from_config(spec) for spec in layers], seed=config.get("seed"),
                   dtype=dtype or config.get("dtype", "float32"), input_shape=config.get("input_shape"))

    def astype(self, dtype: str | np.dtype) -> Sequential:
        """A copy of this model (weights, loss) computing in another dtype, e.g. float64 for gradient checks."""
        clone = Sequential.from_config(self.get_config(), dtype=np.dtype(dtype).name)
        clone.set_weights(self.get_weights())
        clone.set_loss(copy.copy(self.loss))  # its own: the clone hands the loss its engine
        clone.rng.bit_generator.state = self.rng.bit_generator.state
        return clone

    def save(self, path: str | os.PathLike, *, include_optimizer: bool = True) -> None:
        """Write a safetensors model file atomically (see numpynn.io): weights, architecture, loss, metrics,
        preprocessing and, with include_optimizer, the training state a resumed run needs."""
        meta: dict[str, Any] = {"model": self.get_config(), "loss": loss_to_config(self.loss),
                                "metrics": list(self.metrics), "preprocessing": self.preprocessing}
        optimizer = None
        if include_optimizer:
            meta["training"], optimizer = self.training_state()
        # non-finite tensors are named by write_model_file; finite weights may still overflow on every input
        if self.input_shape and all_finite(self.flat.values) \
                and not all_finite(self.predict_logits(_probe(self.input_shape, self.dtype))):
            raise NumpynnError(f"refusing to save {os.fspath(path)!r}: the model's outputs overflow to NaN or inf on "
                               f"inputs of the usual scale (the model diverged); the existing file, if any, is left "
                               f"as it was")
        write_model_file(path, meta, self.get_weights(), optimizer)

    def export_onnx(self, path: str | os.PathLike, **options: Any) -> os.PathLike:
        """Write this model as ONNX for onnxruntime and other runtimes; see numpynn.export.export_onnx for
        the options (raw_input, class_names, opset). Returns the path written. Needs the `onnx` extra."""
        from .export.onnx import export_onnx

        return export_onnx(self, path, **options)

    def training_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able scalars, optimizer arrays): what a resumed run needs besides the weights."""
        training: dict[str, Any] = {"epoch": self.epoch, "rng": self.rng.bit_generator.state,
                                    "history": self.history.to_dict(), "optimizer": None}
        arrays: dict[str, np.ndarray] = {}
        if self.optimizer is not None:
            training["optimizer"], arrays = self.optimizer.state_dict()
        return training, arrays

    def restore_training_state(self, training: Any, arrays: dict[str, np.ndarray]) -> None:
        """Take back a `training_state()`, checking every value (it may come from a file)."""
        training = checks.obj(training, "training")
        self.epoch = checks.integer(training.get("epoch", 0), "training.epoch")
        rng_state = training.get("rng")
        if rng_state is not None:
            with checks.reading("training.rng"):
                self.rng.bit_generator.state = checks.rng_state(rng_state, "training.rng")
        with checks.reading("training.history"):
            self.history = History.from_dict(checks.history(training.get("history") or {}, "training.history"))
        opt = training.get("optimizer")
        if opt is None:
            if arrays:
                raise ModelFileError("the file has optimizer tensors but no training.optimizer metadata")
            return
        opt = checks.obj(opt, "training.optimizer")
        with checks.reading(f"training.optimizer ({str(opt.get('name')):.20})"):
            optimizer = optimizer_from_config(opt)
        params = {k: p for k, p, _ in self.parameters()}
        for name, a in arrays.items():
            key = name.rpartition("/")[0]
            if key not in params or params[key].shape != a.shape or params[key].dtype != a.dtype:
                raise ModelFileError(f"optimizer state {name!r} does not match any parameter of the model")
        with checks.reading("training.optimizer"):
            optimizer.load_state_dict(opt, arrays)
        self.optimizer = optimizer

    @classmethod
    def load(cls, path: str | os.PathLike) -> Sequential:
        """A model from a file written by `save`, with its training state when the file has one.

        Raises ModelFileError for anything that is not an intact numpynn model file, naming the field at fault."""
        file, name = read_model_file(path), os.fspath(path)
        try:
            with checks.reading("the model file"):  # a last net; every field below has its own name
                model = cls._from_file(file)
                with checks.reading("weights"):
                    model.set_weights(file.weights)
                for i, layer in enumerate(model.layers):
                    with checks.reading(f"model.layers[{i}] ({layer.describe()})"):
                        layer.check_state()
                training = file.meta.get("training")
                if training is not None:
                    model.restore_training_state(training, file.optimizer)
                elif file.optimizer:
                    raise ModelFileError("optimizer tensors without training metadata")
        except ModelFileError as exc:
            raise ModelFileError(f"{name}: {exc}") from None
        return model

    @classmethod
    def _from_file(cls, file: ModelFile) -> Sequential:
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
        expected = {}
        for i, layer in enumerate(layers):
            with checks.reading(f"model.layers[{i}] ({layer.describe()})"):
                expected.update({f"{i}.{k}": tuple(s) for k, s in layer.param_shapes().items()})
        if set(expected) != set(file.weights):
            missing, unexpected = sorted(set(expected) - set(file.weights)), sorted(set(file.weights) - set(expected))
            raise ModelFileError(f"the tensors do not match the architecture: missing {missing}, unexpected "
                                 f"{unexpected}")
        for key, shape in expected.items():
            a = file.weights[key]
            if a.shape != shape:
                raise ModelFileError(f"tensor {key!r} has shape {a.shape}, the architecture needs {shape}")
            if a.dtype != np.dtype(dtype):
                raise ModelFileError(f"tensor {key!r} is {a.dtype}, the model is {dtype}")
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
        metrics = meta.get("metrics", [])
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise ModelFileError(f"'metrics' must be a list of names, got {metrics!r:.80}")
        with checks.reading("metrics"):
            from .training.metrics import get_metric

            for m in metrics:
                get_metric(m)
        model.metrics = metrics
        n_features = math.prod(model.input_shape) if model.input_shape else None
        model.preprocessing = checks.preprocessing(meta.get("preprocessing", {}), n_features=n_features)
        return model

    def __repr__(self) -> str:
        inner = ", ".join(repr(ly) for ly in self.layers)
        return f"Sequential([{inner}], seed={self.seed}, dtype={self.dtype.name!r})"


def _activation_of(layer: Layer) -> Activation | None:
    """The activation an activation layer applies (None for any other layer)."""
    act = getattr(layer, "act", None)
    return act if isinstance(act, Activation) else None


def _probe(input_shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A few standard-normal inputs, the same every time: a model whose outputs overflow on them is no model."""
    return np.random.default_rng(0).standard_normal((8, *input_shape)).astype(dtype)
