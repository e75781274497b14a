"""Optimizer bookkeeping: hyper-parameter validation, learning rate (constant or scheduled), per-key state,
gradient clipping by global norm, and a state dict that checkpoints save.

Subclasses declare their hyper-parameters and state names and implement `_update(param, grad, state, lr, t)`,
which changes `param` and its state in place through the engine's step (`self.ops.adam`, `self.ops.sgd`, ...):
the maths of each step is written out in numpynn/ops/numpy_ops.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ..aliases import optimizer_name
from ..checks import in_range, lookup
from ..errors import ArgumentError
from ..ops import EngineSlot
from ..parameters import ParameterVector, aligned_zeros
from .schedules import Schedule, schedule_from_config

Parameter = tuple[str, np.ndarray, np.ndarray]  # (key, value, gradient)
OPTIMIZERS: dict[str, type[Optimizer]] = {}


def check_lr(lr: Any) -> float | Schedule:
    if isinstance(lr, Schedule):
        return lr
    if not in_range(lr, 0, open_lo=True):
        raise ValueError(f"lr must be a positive number or a Schedule, got {lr!r}")
    return float(lr)


def check_range(name: str, value: Any, lo: float, hi: float, *, hi_open: bool = True) -> float:
    """Validate lo <= value < hi (or <= hi), naming the argument in the error."""
    if not in_range(value, lo, hi, open_hi=hi_open):
        raise ValueError(f"{name} must be in [{lo}, {hi}{')' if hi_open else ']'}, got {value!r}")
    return float(value)


class Optimizer:
    """Updates every parameter in place; state is made per parameter key on first use."""

    name: ClassVar[str] = ""
    hyper: ClassVar[tuple[str, ...]] = ()  # constructor arguments besides lr/weight_decay/clip_norm
    state_names: ClassVar[tuple[str, ...]] = ()
    nonnegative_state: ClassVar[tuple[str, ...]] = ()  # running sums of squares
    ops = EngineSlot()  # the model's engine once the model holds this optimizer

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        OPTIMIZERS[cls.name] = cls

    def __init__(self, lr: float | Schedule, *, weight_decay: float = 0.0, clip_norm: float | None = None) -> None:
        self.lr = check_lr(lr)
        self.weight_decay = check_range("weight_decay", weight_decay, 0.0, math.inf)
        if clip_norm is not None and not in_range(clip_norm, 0, open_lo=True):
            raise ValueError(f"clip_norm must be a positive number or None, got {clip_norm!r}")
        self.clip_norm = None if clip_norm is None else float(clip_norm)
        self.iterations = 0      # steps taken; schedules and bias corrections read it
        self.lr_scale = 1.0      # ReduceLROnPlateau multiplies this
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._flat: dict[str, np.ndarray] | None = None  # state as whole vectors when stepping a ParameterVector
        self._flat_keys: list[str] = []
        self.last_grad_norm: float | None = None

    def __getstate__(self) -> dict[str, Any]:
        # the flat state is rebuilt from the per-tensor state
        return {**self.__dict__, "_flat": None, "_flat_keys": []}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["state"] = {k: {n: a.copy() for n, a in st.items()} for k, st in state.get("state", {}).items()}
        self.__dict__.update(state)

    def current_lr(self) -> float:
        base = self.lr(self.iterations) if isinstance(self.lr, Schedule) else self.lr
        return base * self.lr_scale

    def step(self, parameters: ParameterVector | Iterable[Parameter]) -> None:
        """Apply one update to every parameter; gradients may be scaled in place by clipping.

        `parameters` is a model's ParameterVector (the fast path: one update over the whole vector) or any
        iterable of (key, param, grad).
        """
        if isinstance(parameters, ParameterVector):
            self._step_vector(parameters)
            return
        params = list(parameters)
        if self.clip_norm is not None:
            self._clip([g for _, _, g in params])
        lr = self.current_lr()
        self.iterations += 1
        for key, p, g in params:
            state = self.state.get(key)
            if state is None:
                state = self.state[key] = {n: np.zeros_like(p) for n in self.state_names}
            self._update(p, g, state, lr, self.iterations)

    def _step_vector(self, pv: ParameterVector) -> None:
        if self.clip_norm is not None:
            self._clip([pv.grads])
        lr = self.current_lr()
        self.iterations += 1
        flat = self._flat_state(pv)
        self._update(pv.values, pv.grads, flat, lr, self.iterations)

    def _flat_state(self, pv: ParameterVector) -> dict[str, np.ndarray]:
        """State as whole vectors laid out like the parameters, with `self.state[key]` as views into them
        (so checkpoints still name state per tensor). Per-tensor state loaded from a file is moved in."""
        flat = self._flat
        if flat is not None and self._flat_keys == pv.keys and all(a.shape == pv.values.shape for a in flat.values()):
            return flat
        flat = {n: aligned_zeros(pv.values.size, pv.values.dtype) for n in self.state_names}
        for i, key in enumerate(pv.keys):
            old = self.state.get(key, {})
            for n in self.state_names:
                view = pv.view(flat[n], i)
                if n in old:
                    view[...] = old[n]
                old[n] = view
            self.state[key] = old
        self._flat, self._flat_keys = flat, list(pv.keys)
        return flat

    def _clip(self, grads: list[np.ndarray]) -> None:
        total = math.sqrt(sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in grads))
        self.last_grad_norm = total
        if total > self.clip_norm:
            scale = self.clip_norm / (total + 1e-12)
            for g in grads:
                g *= scale

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], lr: float, t: int) -> None:
        raise NotImplementedError

    # --- serialisation ----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        lr = {"schedule": self.lr.name, "config": self.lr.get_config()} if isinstance(self.lr, Schedule) else self.lr
        cfg = {"lr": lr, "weight_decay": self.weight_decay, "clip_norm": self.clip_norm}
        cfg.update({h: getattr(self, h) for h in self.hyper})
        return cfg

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able scalars, arrays keyed 'param_key/state_name') — everything a resumed run needs."""
        scalars = {"name": self.name, "config": self.get_config(), "iterations": self.iterations,
                   "lr_scale": self.lr_scale}
        arrays = {f"{k}/{n}": a for k, st in self.state.items() for n, a in st.items()}
        return scalars, arrays

    def load_state_dict(self, scalars: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Take back a `state_dict()`, checking each value against its meaning (it may come from a file)."""
        iterations, lr_scale = scalars.get("iterations", 0), scalars.get("lr_scale", 1.0)
        if not in_range(iterations, 0, 2**62, integer=True):
            raise ValueError(f"iterations must be an integer in [0, 2**62], got {iterations!r:.40}")
        if not in_range(lr_scale, 0, open_lo=True):
            raise ValueError(f"lr_scale must be a finite number > 0, got {lr_scale!r:.40}")
        state: dict[str, dict[str, np.ndarray]] = {}
        for name, a in arrays.items():
            key, _, state_name = name.rpartition("/")
            state_name, a = self._upgrade_state(state_name, a)
            if state_name not in self.state_names:
                raise ValueError(f"{self.name} has no state named {state_name!r}")
            if not np.isfinite(a).all() or (state_name in self.nonnegative_state and (a < 0).any()):
                raise ValueError(f"state {name!r} must hold finite numbers"
                                 f"{' >= 0' if state_name in self.nonnegative_state else ''}")
            state.setdefault(key, {})[state_name] = np.array(a, copy=True)
        for key, st in state.items():
            if set(st) != set(self.state_names):
                raise ValueError(f"state of {key!r} has {sorted(st)}; {self.name} keeps {list(self.state_names)}")
        self.iterations, self.lr_scale = iterations, float(lr_scale)
        self.state, self._flat = state, None

    def _upgrade_state(self, state_name: str, a: np.ndarray) -> tuple[str, np.ndarray]:
        """A state array as written by an older numpynn, in today's name and meaning."""
        return state_name, a

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def optimizer_from_config(spec: dict[str, Any]) -> Optimizer:
    cls = lookup(OPTIMIZERS, spec.get("name"), "optimizer")
    cfg = dict(spec.get("config", {}))
    if isinstance(cfg.get("lr"), dict):
        lr = cfg["lr"]
        cfg["lr"] = schedule_from_config({"name": lr.get("schedule"), "config": lr.get("config", {})})
    return cls(**cfg)


def get_optimizer(optimizer: str | Optimizer | None, lr: float | None = None) -> Optimizer:
    """An Optimizer instance, or a name ('adam', 'sgd', ...) built with its default rate or `lr`."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if optimizer is not None and not isinstance(optimizer, str):  # a Keras or PyTorch optimizer object
        raise ArgumentError(f"optimizer must be a name or a numpynn Optimizer, got a {type(optimizer).__module__}."
                            f"{type(optimizer).__name__}: write optimizer=\"adam\", or numpynn.Adam(lr=0.001) "
                            f"(numpynn.SGD(lr=0.01, momentum=0.9), ...)")
    name = optimizer_name(optimizer or "adam", OPTIMIZERS)
    cls = lookup(OPTIMIZERS, name, "optimizer", also="or an Optimizer")
    return cls(lr) if lr is not None else cls()
