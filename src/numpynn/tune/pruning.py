"""Pruning through numpynn's History: each epoch's validation figure goes to the trial, which may stop the run."""

from __future__ import annotations

from typing import Any

from ..config import ConfigError
from ..training.callbacks import Callback


class TrialPruning(Callback):
    """After every epoch, report `logs[objective]` to the Optuna trial; when its pruner says the trial falls
    behind the others, stop training (the run folder is still written whole) and remember the epoch."""

    def __init__(self, trial: Any, objective: str) -> None:
        self.trial, self.objective = trial, objective
        self.pruned_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.objective not in logs:
            raise ConfigError(f"the search's objective {self.objective!r} is not a figure this run records: "
                              f"{sorted(k for k in logs if k.startswith('val_'))}")
        self.trial.report(float(logs[self.objective]), epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            self.model.stop_training = True
