"""Sequential: a stack of layers with forward, backward, parameters, prediction, training and saving.

Parameter keys are "<layer index>.<name>" ("0.W", "0.b", "2.gamma"); the same keys name tensors in model
files and optimizer state.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import model_file, saliency
from .dtypes import resolve_dtype
from .errors import ArgumentError, NotBuiltError, NumpynnError, ShapeError
from .layers import ActivationLayer, Dense, Layer, layer_from_config
from .losses import Loss, get_loss, make_loss
from .ops import Activation, NumpyOps, get_ops
from .optim import Optimizer, get_optimizer
from .parameters import ParameterVector
from .plan import Plan, plan_of_model
from .summary import summary_html, summary_table
from .training import fit as training_fit
from .training import step as training_step
from .training.history import History
from .training.metrics import check_metrics_fit, compute_metrics, metric_names
from .validation import check_batch_size, check_integer, check_X

PREDICT_BATCH = 8192  # rows per forward pass in predict/evaluate: bounds memory on large inputs


class Sequential:
    """A feed-forward network.

    >>> model = Sequential([Dense(784, 128, "relu"), Dense(128, 10)], seed=0)

    `seed` seeds the model's Generator, which draws the initial weights, dropout masks, minibatch order and
    augmentation; `dtype` is "float32" (default) or "float64".

    Also as Keras and PyTorch users write it: the layers one by one (`Sequential(Dense(784, 128), ReLU(), ...)`),
    or none and then `add(layer)`; a first `Dense(64)` without its input width makes the model wait for the data:
    it is built (the same weights as if the width had been written) at its first fit, prediction or call, or by
    `build(input_shape)`. Until then, asking for its weights raises NotBuiltError.
    """

    def __init__(self, layers: Sequence[Layer] | Layer | None = None, *more: Layer, seed: int | None = 0,
                 dtype: str | np.dtype = "float32", input_shape: Sequence[int] | None = None) -> None:
        if isinstance(layers, Layer):  # PyTorch's nn.Sequential(a, b, c)
            layers = [layers, *more]
        elif more:
            raise TypeError(f"give the layers as one list or one by one, not a {type(layers).__name__} and then "
                            f"{len(more)} more")
        layers = [] if layers is None else list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} must be a numpynn Layer, got {type(layer).__name__}")
        self.layers = layers
        self.seed = check_integer(seed, "seed", 0, none="fresh entropy")  # a NumPy integer too, stored as int
        self.dtype = resolve_dtype(dtype)
        self.rng = np.random.default_rng(seed)
        self._loss: Loss | None = None
        self._optimizer: Optimizer | None = None
        self.bind(get_ops())  # the engine the layers, the loss and the optimizer compute with
        self.metrics: list[str] = []
        self._preprocessing: dict[str, Any] = {}
        self.history = History()
        self.epoch = 0  # epochs completed; resuming continues from here
        self.stop_training = False
        self.built = False
        shape = tuple(check_integer(d, "input_shape", 1) for d in input_shape) if input_shape is not None else None
        if self._knows_its_shapes(shape):
            self._build(shape)

    # --- structure ------------------------------------------------------------------------
    def _knows_its_shapes(self, input_shape: tuple[int, ...] | None) -> bool:
        """Whether the layers can be built now: they are there, and a Dense that takes its input width from
        before it gets one (from input_shape, or a first layer that declares its input)."""
        if not self.layers:
            return False
        first = self.layers[0]
        declared = input_shape or getattr(first, "expected", None) or \
            (isinstance(first, Dense) and not first.infers_width)
        return bool(declared) or not any(isinstance(ly, Dense) and ly.infers_width for ly in self.layers)

    def build(self, input_shape: Sequence[int | None]) -> None:
        """Build the layers for inputs of `input_shape` per sample (Keras' `(None, 784)` with the batch axis
        too), drawing the initial weights; fit, prediction and a call do it by themselves from their data."""
        shape = tuple(input_shape)[1:] if len(input_shape) > 1 and input_shape[0] is None else tuple(input_shape)
        shape = tuple(check_integer(d, "input_shape", 1) for d in shape)
        if self.built:  # as Keras: building a built model changes nothing, for the shape it was built for
            if shape != self.input_shape:
                raise ShapeError(f"the model is built for inputs of shape {self.input_shape} per sample, got "
                                 f"build({tuple(input_shape)})")
            return
        self._build(shape)

    def add(self, layer: Layer) -> None:
        """Append a layer (Keras' `model.add`); the model is built anew from its seed, so its weights are those
        of `Sequential([...all layers...], seed=...)`. Only before training: training would be thrown away."""
        if not isinstance(layer, Layer):
            raise TypeError(f"add takes a numpynn Layer, got {type(layer).__name__}")
        if self.epoch or len(self.history):
            raise NumpynnError(f"add() builds the model's weights anew, and this model has trained {self.epoch} "
                               f"epochs: add layers before training, or start a new Sequential")
        shape = self.input_shape if self.built else None
        self.layers.append(layer)
        self.rng = np.random.default_rng(self.seed)
        if self.built:
            for name in _BUILT_ATTRIBUTES:
                self.__dict__.pop(name, None)
            self.built = False
            self._forget_predictor()
        if self._knows_its_shapes(shape):
            self._build(shape)

    def _build_for(self, X: Any) -> None:
        """Build an unbuilt model for the per-sample shape of the data it is first given."""
        if self.built:
            return
        if not self.layers:
            raise NotBuiltError("the model has no layers: give them to Sequential([...]) or add them with "
                                "model.add(layer)")
        shape = getattr(X, "shape", None)
        if shape is None and not hasattr(X, "batches"):  # lists of rows
            shape = np.shape(X)
        if shape is None or len(shape) < 2:
            got = type(X).__name__ + ("" if shape is None else f" of shape {shape}")
            raise NotBuiltError(f"the model takes its input width from its first data, which must be (samples, "
                                f"features) rows; got {got}: give Sequential(input_shape=(n,)) or model.build((n,))")
        self._build(tuple(int(d) for d in shape[1:]))

    def _build(self, input_shape: tuple[int, ...] | None) -> None:
        first = self.layers[0]
        if input_shape is None:
            input_shape = (first.in_features,) if isinstance(first, Dense) else getattr(first, "expected", None)
        shape = input_shape
        for layer in self.layers:
            shape = layer.build(shape, dtype=self.dtype, rng=self.rng)
        self.input_shape = input_shape  # None (e.g. a bare Flatten() first): layers check shapes themselves
        out = next((ly.output_shape for ly in reversed(self.layers) if ly.output_shape is not None), None)
        if out is None or len(out) != 1:
            raise ShapeError(f"the last layer must output (batch, k) vectors, got per-sample shape {out}")
        self.n_outputs = out[0]
        self._index_parameters()
        self.built = True
        self.set_loss(self._loss)

    def __getattr__(self, name: str) -> Any:
        # called only for attributes not there: those of the built layers, on a model not built yet
        if name in _BUILT_ATTRIBUTES and not self.__dict__.get("built", True):
            raise NotBuiltError(f"the model is not built yet (its {name} is made then): its layers learn their input "
                                f"width from the first data (fit, predict or a call), or from "
                                f"model.build((n_features,))")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def compile(self, optimizer: str | Optimizer | None = None, loss: str | Loss | None = None,
                metrics: Sequence[str] | None = None) -> None:
        """Keras' reflex: choose the optimizer, loss and metrics that `fit(X, y)` then trains with (an argument
        given to fit still wins). Names as Keras, PyTorch or scikit-learn write them are taken in numpynn's
        meaning ("sparse_categorical_crossentropy" is cross_entropy; numpynn.aliases lists them all)."""
        if optimizer is not None:
            self.optimizer = get_optimizer(optimizer)
        if loss is not None:
            if self.built:
                self.set_loss(loss)
            else:  # checked now, fitted to the output size at the build
                self._loss = make_loss(loss)
        if metrics is not None:
            names = metric_names(metrics)
            if self._loss is not None:
                check_metrics_fit(names, self._loss)
            self.metrics = names

    def _index_parameters(self) -> None:
        """Put every parameter (and gradient) into one contiguous vector; the layers keep views into it."""
        tensors = [(f"{i}.{name}", layer.params, layer.grads, name)
                   for i, layer in enumerate(self.layers) for name in layer.params]
        self.flat = ParameterVector.gather(tensors, self.dtype)
        self._forget_predictor()  # the layers now hold new arrays
        self._gradient_lock = threading.Lock()  # input_gradients writes the layers' caches and gradients
        self._penalised = [ly for ly in self.layers if isinstance(ly, Dense) and (ly.l1 or ly.l2)]

    def __getstate__(self) -> dict[str, Any]:
        # rebuilt from the layers: the parameter vector and the predictors, which hold views into it
        return {k: v for k, v in self.__dict__.items()
                if k not in ("flat", "plan", "_predictor", "_gradient_lock")}

    def __copy__(self) -> Sequential:  # layers hold views into one vector: a copy is a model of its own
        return copy.deepcopy(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("built", True)  # pickled by a numpynn that built every model at once
        self.__dict__.update(state)
        if self.built:
            self._index_parameters()

    def set_loss(self, loss: str | Loss | None) -> Loss:
        """Choose the loss (None: from the output size) and fuse a matching output activation into it."""
        if not self.built:  # the loss waits for the output size (compile, or fit's first step, sets it)
            self._loss = make_loss(loss)
            return self._loss
        self._loss = get_loss(loss, self.n_outputs)
        self.bind(self.ops)
        self._plan_steps()
        return self._loss

    @property
    def loss(self) -> Loss | None:
        return self._loss

    @property
    def preprocessing(self) -> dict[str, Any]:
        """How raw inputs become this model's inputs, e.g. {"normalize": "scale", "max_value": 255.0}."""
        return self._preprocessing

    @preprocessing.setter
    def preprocessing(self, value: dict[str, Any]) -> None:
        self._preprocessing = value
        self._forget_predictor()  # the plan carries it

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """What each class is called, output i (of a softmax; 0 and 1 of one sigmoid) naming class i; None when
        unnamed. Kept in preprocessing["class_names"], so the model file, predict, serve and the exports use it;
        fit sets it from labels given as names."""
        names = self._preprocessing.get("class_names")
        return tuple(names) if isinstance(names, list) else None

    @class_names.setter
    def class_names(self, names: Any) -> None:
        prep = {k: v for k, v in self._preprocessing.items() if k != "class_names"}
        if names is not None:
            listed = None if isinstance(names, str) else [str(n) for n in names]  # a string is one name, not k
            k = self.n_outputs if self.n_outputs > 1 else 2
            if listed is None or len(listed) != k or len(set(listed)) != k:
                raise ArgumentError(f"class_names must be {k} different names (one per class of this model), "
                                    f"got {names!r:.80}")
            prep["class_names"] = listed
        self.preprocessing = prep

    @property
    def optimizer(self) -> Optimizer | None:
        """The optimizer fit steps with; one assigned here computes with the model's engine."""
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer: Optimizer | None) -> None:
        self._optimizer = optimizer
        self.bind(self.ops)

    def bind(self, ops: NumpyOps) -> None:
        """Compute with the engine `ops`: the model, its layers, loss and optimizer. The one place an engine is
        handed to the parts that compute."""
        self.ops = ops
        for part in (*self.layers, self._loss, self._optimizer):
            if part is not None:
                part.ops = ops
        self._forget_predictor()

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
        self._forget_predictor()

    @contextlib.contextmanager
    def training_engine(self, ops: NumpyOps) -> Iterator[None]:
        """Within the block, the layers, loss and optimizer compute with `ops` (fit's precision="bf16" engine);
        the model's own engine afterwards."""
        if ops is self.ops:
            yield
            return
        own = self.ops
        self.bind(ops)
        try:
            yield
        finally:
            self.bind(own)

    @functools.cached_property
    def plan(self) -> Plan:
        """What a prediction does (numpynn.plan): the steps without Dropout, and the output rule."""
        return plan_of_model(self)

    @functools.cached_property
    def _predictor(self):
        """The engine's predictor of the plan when it is a stack of Dense layers (made on first use); else None,
        and the plan's steps predict."""
        stack = self.plan.dense_stack()
        return None if stack is None else self.ops.predictor(stack)

    def _forget_predictor(self) -> None:
        """The layers, steps, engine or preprocessing changed: the plan and predictor are made anew."""
        self.__dict__.pop("plan", None)
        self.__dict__.pop("_predictor", None)

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
        """Copies of everything a checkpoint holds (the weights and `training_state`, the history by its lengths),
        cheap enough to take every epoch; `restore` puts them back."""
        return {"weights": self.get_weights(), "training": model_file.training_state(self, snapshot=True)}

    def restore(self, snap: dict[str, Any]) -> None:
        """Return to a `snapshot`: later epochs and batches are dropped from the history."""
        self.set_weights(snap["weights"])
        model_file.restore_snapshot(self, *snap["training"])

    def _tensor_slots(self) -> dict[str, np.ndarray]:
        slots = {f"{i}.{n}": a for i, ly in enumerate(self.layers) for n, a in ly.params.items()}
        slots.update({f"{i}.{n}": a for i, ly in enumerate(self.layers) for n, a in ly.buffers.items()})
        return slots

    # --- computing --------------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Logits (the output before any activation the loss fuses in), shape (batch, n_outputs). At prediction
        (training=False) a new array, and any number of threads may call it at once."""
        self._build_for(x)
        if not training:
            return self.plan.logits(x)
        for layer in self.steps:
            x = layer.forward(x, training=True)
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
        """Saliency: d logit[class] / d x for each row of X, shaped like X (numpynn.saliency)."""
        return saliency.input_gradients(self, X, class_index, PREDICT_BATCH)

    def penalty(self) -> float:
        """The L1/L2 weight-penalty term added to the loss."""
        return sum(layer.penalty() for layer in self._penalised)

    def _batched_logits(self, X: np.ndarray, batch_size: int | None) -> np.ndarray:
        """Logits of X in batches of at most `batch_size` rows, a new array."""
        n = len(X)
        bs = check_batch_size(batch_size) or PREDICT_BATCH
        if (run := self._predictor) is not None:
            return run(X, False, batch_size)
        if n <= bs:
            return self.forward(X)
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        for s in range(0, n, bs):
            out[s:s + bs] = self.forward(X[s:s + bs])
        return out

    def __call__(self, X: Any) -> np.ndarray:
        """The logits of X (PyTorch's and Keras' `model(x)`; predict_proba gives probabilities), building the
        model from X's shape if it is not built yet."""
        return self.predict_logits(X)

    def predict_logits(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        self._build_for(X)
        return self._batched_logits(check_X(X, self.input_shape, self.dtype), batch_size)

    def predict_proba(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (n, k); for a one-output binary model (n, 2) = [P(0), P(1)].
        With binary cross-entropy over k > 1 outputs each column is that class's own sigmoid (one-vs-rest)."""
        self._build_for(X)
        if not self.loss.is_classification:
            raise NumpynnError(f"predict_proba needs a classification loss; this model uses {self.loss.name!r}")
        X = check_X(X, self.input_shape, self.dtype)
        check_batch_size(batch_size)
        if self.loss.name == "cross_entropy" and (run := self._predictor) is not None:
            return run(X, True, batch_size)  # the softmax in the same pass
        return self.plan.probability_columns(self.loss.output(self._batched_logits(X, batch_size)))

    def predict(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        """Class labels (n,) for classifiers; values (n, k) for regression (expm1 of the outputs for a loss
        with log_target; one column per quantile and target for a quantile loss)."""
        self._build_for(X)
        logits = self._batched_logits(check_X(X, self.input_shape, self.dtype), batch_size)
        return self.plan.labels(logits) if self.loss.is_classification else self.plan.values(logits)

    def evaluate(self, X: Any, y: Any, metrics: Sequence[str] | None = None,
                 batch_size: int | None = None) -> dict[str, float]:
        """Loss and metrics on (X, y), e.g. {'loss': 0.21, 'accuracy': 0.94}."""
        self._build_for(X)
        Xa = check_X(X, self.input_shape, self.dtype)
        ya = self.loss.check_targets(y, self.n_outputs, self.dtype)
        if len(Xa) != len(ya):
            raise ShapeError(f"X and y must have the same number of samples, got {len(Xa)} and {len(ya)}")
        logits = self._batched_logits(Xa, batch_size)
        loss, _ = self.loss(logits, ya)
        names = metric_names(metrics) if metrics is not None else (self.metrics or self._default_metrics())
        return {"loss": loss + self.penalty(), **compute_metrics(names, ya, logits, self.loss)}

    def _default_metrics(self) -> list[str]:
        return ["accuracy"] if self.loss.is_classification else ["mse"]

    fit = training_fit.fit  # model.fit(X, y, epochs=..., ...): the training loop, with its own signature
    gradient = training_step.gradient  # one batch's loss and its gradient
    train_step = training_step.train_step  # ... and the optimizer's update

    # --- describing and saving ----------------------------------------------------------
    def summary(self, print_fn=print) -> str:
        """A table of layers, output shapes, parameter counts and forward FLOPs per sample."""
        text = summary_table(self)
        if print_fn is not None:
            print_fn(text)
        return text

    def _repr_html_(self) -> str | None:
        """The summary as an HTML table, for Jupyter (an unbuilt model shows its repr)."""
        return summary_html(self) if self.built else None

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
        model_file.save(self, path, include_optimizer=include_optimizer)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Sequential:
        """A model from a file written by `save`, with its training state when the file has one.

        Raises ModelFileError for anything that is not an intact numpynn model file, naming the field at fault."""
        return model_file.load(cls, path)

    def training_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able scalars, optimizer arrays): what a resumed run needs besides the weights."""
        return model_file.training_state(self)

    def restore_training_state(self, training: Any, arrays: dict[str, np.ndarray]) -> None:
        """Take back a `training_state()`, checking every value (it may come from a file)."""
        model_file.restore_training_state(self, training, arrays)

    def export_onnx(self, path: str | os.PathLike, **options: Any) -> os.PathLike:
        """Write this model as ONNX for onnxruntime and other runtimes; see numpynn.export.export_onnx for
        the options (raw_input, class_names, opset). Returns the path written. Needs the `onnx` extra."""
        from .export.onnx import export_onnx

        return export_onnx(self, path, **options)

    def __repr__(self) -> str:
        inner = ", ".join(repr(ly) for ly in self.layers)
        return f"Sequential([{inner}], seed={self.seed}, dtype={self.dtype.name!r})"


# what only a built model has (set by _build); asked of an unbuilt one, they raise NotBuiltError
_BUILT_ATTRIBUTES = frozenset({"flat", "n_outputs", "steps", "input_shape", "_first_step", "_penalised",
                               "_gradient_lock"})


def _activation_of(layer: Layer) -> Activation | None:
    """The activation an activation layer applies (None for any other layer)."""
    return layer.act if isinstance(layer, ActivationLayer) else None
