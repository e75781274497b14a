"""One way to build an optimizer with its learning-rate schedule from plain settings (a run's config, an
estimator's parameters).

Schedules are given in epochs, the unit both callers think in, and turned into optimizer steps here with
`steps_per_epoch`, so the conversion (and the clamp of a warm-up longer than the run) lives in one place.
"""

from __future__ import annotations

import math
from typing import Any

from ..checks import in_range, lookup
from .base import OPTIMIZERS, Optimizer
from .schedules import CosineDecay, ExponentialDecay, OneCycle, Schedule, StepDecay
from .sgd import SGD

BUILDER_SCHEDULES = ("none", "cosine", "step", "exponential", "one_cycle")
ADAMW_WEIGHT_DECAY = 0.01  # AdamW's usual default, used when no weight decay is asked for


def _positive_int(name: str, value: Any, schedule: str) -> int:
    if not in_range(value, 1, integer=True):
        raise ValueError(f"schedule {schedule!r} needs {name} as an integer >= 1, got {value!r}")
    return value


def build_schedule(schedule: str, lr: float, *, epochs: int | None = None, steps_per_epoch: int | None = None,
                   warmup_epochs: float = 0.0, step_epochs: int | None = None,
                   gamma: float | None = None) -> float | Schedule:
    """The learning rate for an optimizer: `lr` itself for schedule "none", else a Schedule of the step.

    - "cosine": warm-up over int(warmup_epochs * steps_per_epoch) steps (at most the run's steps - 1), then
      cosine decay to 0 at epochs * steps_per_epoch.
    - "step": lr * gamma every `step_epochs` epochs.
    - "exponential": lr * gamma ** epoch, smoothly per step.
    - "one_cycle": the one-cycle policy over epochs * steps_per_epoch steps.
    """
    lookup(BUILDER_SCHEDULES, schedule, "schedule")
    if schedule == "none":
        return lr
    spe = _positive_int("steps_per_epoch", steps_per_epoch, schedule)
    if schedule in ("step", "exponential"):
        if gamma is None:
            raise ValueError(f"schedule {schedule!r} needs gamma (the factor per epoch or period), got None")
        if schedule == "exponential":
            return ExponentialDecay(lr, gamma, spe)
        return StepDecay(lr, _positive_int("step_epochs", step_epochs, schedule) * spe, gamma)
    total = _positive_int("epochs", epochs, schedule) * spe
    if schedule == "one_cycle":
        return OneCycle(lr, total)
    if not (isinstance(warmup_epochs, (int, float)) and math.isfinite(warmup_epochs) and warmup_epochs >= 0):
        raise ValueError(f"warmup_epochs must be a finite number >= 0, got {warmup_epochs!r}")
    return CosineDecay(lr, total, min(int(warmup_epochs * spe), total - 1))


def build_optimizer(name: str, lr: float, *, schedule: str = "none", epochs: int | None = None,
                    steps_per_epoch: int | None = None, warmup_epochs: float = 0.0, step_epochs: int | None = None,
                    gamma: float | None = None, weight_decay: float | None = None, momentum: float = 0.0,
                    nesterov: bool = False, clip_norm: float | None = None) -> Optimizer:
    """An optimizer by name ('adam', 'adamw', 'sgd', 'rmsprop', 'adagrad') with its rate or schedule.

    - schedule: one of BUILDER_SCHEDULES (see build_schedule); "cosine" and "one_cycle" need epochs and
      steps_per_epoch, "step" needs step_epochs and gamma, "exponential" needs gamma.
    - weight_decay: None is the optimizer's default (0.01 for AdamW, 0 for the others).
    - momentum, nesterov: SGD's; the other optimizers have none and ignore them (as runs always have).
    - clip_norm: clip gradients to this global norm; None does not clip.
    """
    cls = lookup(OPTIMIZERS, name, "optimizer")
    rate = build_schedule(schedule, lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
                          warmup_epochs=warmup_epochs, step_epochs=step_epochs, gamma=gamma)
    if weight_decay is None:
        weight_decay = ADAMW_WEIGHT_DECAY if cls.name == "adamw" else 0.0
    kw: dict[str, Any] = {"weight_decay": weight_decay, "clip_norm": clip_norm}
    if issubclass(cls, SGD):
        kw.update(momentum=momentum, nesterov=nesterov)
    return cls(rate, **kw)
