"""Learning-rate schedules: callables lr(step) of the optimizer's step count (0-based), serialisable by name.

Reduce-on-plateau depends on validation results, not on the step, so it is a callback
(numpynn.training.callbacks.ReduceLROnPlateau) that scales the optimizer's rate.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ..checks import lookup

SCHEDULES: dict[str, type[Schedule]] = {}


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    ok = value >= 0 if allow_zero else value > 0
    if not ok or not math.isfinite(value):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {value!r}")
    return float(value)


class Schedule:
    """Base class; subclasses define __call__(step) -> lr and keep their arguments as attributes."""

    name: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        SCHEDULES[cls.name] = cls

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.fields}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class StepDecay(Schedule):
    """lr * gamma ** (step // step_size)."""

    name, fields = "step", ("lr", "step_size", "gamma")

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        self.lr, self.gamma = _positive("lr", lr), _positive("gamma", gamma)
        self.step_size = int(_positive("step_size", step_size))

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)


class ExponentialDecay(Schedule):
    """lr * decay_rate ** (step / decay_steps)."""

    name, fields = "exponential", ("lr", "decay_rate", "decay_steps")

    def __init__(self, lr: float, decay_rate: float, decay_steps: int = 1) -> None:
        self.lr, self.decay_rate = _positive("lr", lr), _positive("decay_rate", decay_rate)
        self.decay_steps = int(_positive("decay_steps", decay_steps))

    def __call__(self, step: int) -> float:
        return self.lr * self.decay_rate ** (step / self.decay_steps)


class CosineDecay(Schedule):
    """Linear warm-up from 0 to lr over `warmup_steps`, then cosine decay to `min_lr` at `total_steps`."""

    name, fields = "cosine", ("lr", "total_steps", "warmup_steps", "min_lr")

    def __init__(self, lr: float, total_steps: int, warmup_steps: int = 0, min_lr: float = 0.0) -> None:
        self.lr, self.min_lr = _positive("lr", lr), _positive("min_lr", min_lr, allow_zero=True)
        self.total_steps = int(_positive("total_steps", total_steps))
        self.warmup_steps = int(_positive("warmup_steps", warmup_steps, allow_zero=True))
        if self.warmup_steps >= self.total_steps:
            raise ValueError(f"warmup_steps must be < total_steps, got {warmup_steps} >= {total_steps}")

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * progress))


class OneCycle(Schedule):
    """One-cycle policy: cosine rise from max_lr/div_factor to max_lr over pct_start of the steps,
    then cosine fall to max_lr/(div_factor*final_div_factor)."""

    name, fields = "one_cycle", ("max_lr", "total_steps", "pct_start", "div_factor", "final_div_factor")

    def __init__(self, max_lr: float, total_steps: int, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4) -> None:
        self.max_lr = _positive("max_lr", max_lr)
        self.total_steps = int(_positive("total_steps", total_steps))
        if not 0 < pct_start < 1:
            raise ValueError(f"pct_start must be in (0, 1), got {pct_start!r}")
        self.pct_start = float(pct_start)
        self.div_factor = _positive("div_factor", div_factor)
        self.final_div_factor = _positive("final_div_factor", final_div_factor)

    def __call__(self, step: int) -> float:
        start = self.max_lr / self.div_factor
        end = start / self.final_div_factor
        up = max(1, int(self.pct_start * self.total_steps))
        if step < up:
            a, b, t = start, self.max_lr, step / up
        else:
            a, b, t = self.max_lr, end, min(1.0, (step - up) / max(1, self.total_steps - up))
        return b + (a - b) * 0.5 * (1 + math.cos(math.pi * t))


def schedule_from_config(spec: dict[str, Any]) -> Schedule:
    return lookup(SCHEDULES, spec.get("name"), "schedule")(**spec.get("config", {}))
