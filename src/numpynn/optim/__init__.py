"""Optimizers (state per parameter key, in-place updates) and learning-rate schedules."""

from .adam import Adam, AdamW
from .base import OPTIMIZERS, Optimizer, get_optimizer, optimizer_from_config
from .builder import build_optimizer, build_schedule
from .rmsprop import Adagrad, RMSprop
from .schedules import SCHEDULES, CosineDecay, ExponentialDecay, OneCycle, Schedule, StepDecay, schedule_from_config
from .sgd import SGD

__all__ = [
    "OPTIMIZERS", "SCHEDULES", "SGD", "Adagrad", "Adam", "AdamW", "CosineDecay", "ExponentialDecay", "OneCycle",
    "Optimizer", "RMSprop", "Schedule", "StepDecay", "build_optimizer", "build_schedule", "get_optimizer",
    "optimizer_from_config", "schedule_from_config",
]
