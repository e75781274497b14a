"""The Layer contract and the registry that model files are rebuilt from.

A layer is built once for a per-sample input shape and the model's dtype, and computes with the engine its
model binds it to (`ops`); then
- `forward(x, training=...)` maps a batch (batch, *in_shape) to (batch, *out_shape), caching only what
  `backward` needs when training;
- `backward(dy)` returns dx and writes the parameter gradients into `grads`, whose keys and shapes
  mirror `params`;
- `infer(x)` is the forward pass at prediction (what `forward(x, training=False)` runs): a new output array,
  nothing written on the layer, so any number of threads may predict with one model at once.
Layers do their elementwise work through `self.ops` (numpynn.ops) and their products with NumPy's `@`.
Only classes registered here can be named in a model file: loading never imports or evaluates anything else.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import numpy as np

from ..errors import NumpynnError
from ..ops import EngineSlot

Shape = tuple[int, ...]
LAYERS: dict[str, type[Layer]] = {}
# a layer written outside numpynn may reuse buffers in forward(); its infer() runs one call at a time
_FOREIGN_FORWARD = threading.RLock()  # reentrant: such a forward may itself predict with a model


class Layer:
    """Base class: bookkeeping for params, grads, buffers, and the forward/backward cache."""

    trainable_params: ClassVar[tuple[str, ...]] = ()
    ops = EngineSlot()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_") and not cls.__dict__.get("abstract", False):
            LAYERS[cls.__name__] = cls

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}  # saved state that is not trained (BatchNorm statistics)
        self.dtype: np.dtype = np.dtype(np.float32)
        self.rng: np.random.Generator | None = None
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self._scratch: dict[str, np.ndarray] = {}
        self._ready_for_backward = False

    # --- pickling (scikit-learn and joblib pickle fitted estimators) -------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Scratch buffers and forward caches are transient: they are rebuilt on the next forward."""
        state = {k: (None if k.startswith("_") and isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}
        state["_scratch"] = {}
        state["_ready_for_backward"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for group in ("params", "grads", "buffers"):  # arrays may come back read-only (memory-mapped)
            state[group] = {k: writable(v) for k, v in state.get(group, {}).items()}
        self.__dict__.update(state)

    # --- building -------------------------------------------------------------------------
    def build(self, input_shape: Shape | None, *, dtype: np.dtype, rng: np.random.Generator) -> Shape | None:
        """Create parameters for `input_shape` (per sample, no batch axis) in `dtype`; return the output shape."""
        self.dtype, self.rng = np.dtype(dtype), rng
        self.input_shape = input_shape
        self.output_shape = input_shape
        return self.output_shape

    def param_shapes(self) -> dict[str, Shape]:
        """Shapes of every parameter and buffer this layer will create, known before building
        (a model file is checked against them before any memory is allocated)."""
        return {}

    def check_state(self) -> None:
        """Raise ValueError if the parameters or buffers (loaded from a file) hold values that mean nothing,
        such as a negative variance; weights are already known to be finite."""

    def _add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = np.ascontiguousarray(value, dtype=self.dtype)
        self.grads[name] = np.zeros_like(self.params[name])

    # --- computing ------------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The output at prediction as a new array, writing nothing on the layer (reentrant). numpynn's layers
        compute it directly; this default serves a layer that only defines `forward`."""
        with _FOREIGN_FORWARD:
            return np.array(self.forward(x, training=False))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check_backward(self) -> None:
        if not self._ready_for_backward:
            raise NumpynnError(f"{self.describe()}: backward() called without a forward(..., training=True) first")

    def _buffer(self, name: str, shape: Shape, dtype: np.dtype | None = None) -> np.ndarray:
        """A scratch array reused across batches (no per-step allocation); a smaller batch gets a row slice.
        Of the layer's dtype unless `dtype` says otherwise."""
        buf = self._scratch.get(name)
        dtype = self.dtype if dtype is None else dtype
        if buf is None or buf.dtype != dtype or buf.shape[1:] != tuple(shape[1:]) or buf.shape[0] < shape[0]:
            buf = self._scratch[name] = np.empty(shape, dtype=dtype)
        return buf[: shape[0]]

    # --- describing -----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable, from which `type(self)(**config)` rebuilds the layer."""
        return {}

    def describe(self) -> str:
        return type(self).__name__

    def flops_per_sample(self) -> int:
        """Approximate floating-point operations of one sample's forward pass."""
        return int(np.prod(self.output_shape)) if self.output_shape else 0

    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def writable(a: np.ndarray) -> np.ndarray:
    """`a` itself if it can be written in place, else a C-ordered copy."""
    return a if a.flags.writeable else np.array(a, order="C")


def layer_from_config(spec: Any) -> Layer:
    """Build a layer from {"class": name, "config": {...}} using only the registry; anything else is an error."""
    if not (isinstance(spec, dict) and isinstance(spec.get("class"), str) and isinstance(spec.get("config", {}), dict)):
        raise NumpynnError(f"a layer entry must be {{'class': str, 'config': dict}}, got {spec!r:.200}")
    cls = LAYERS.get(spec["class"])
    if cls is None:
        raise NumpynnError(f"unknown layer {spec['class']!r:.80}; known layers: {sorted(LAYERS)}")
    try:
        return cls(**spec.get("config", {}))
    except (TypeError, ValueError) as exc:
        raise NumpynnError(f"cannot build {spec['class']} from {spec.get('config')!r:.200}: {exc}") from None
