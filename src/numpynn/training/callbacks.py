"""Callbacks: small objects `fit` calls at the start and end of training, epochs and batches.

A callback can stop training (`self.model.stop_training = True`), change the learning rate, or save and log.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_bytes
from ..validation import check_integer


class Callback:
    """Base class with do-nothing hooks; `self.model` is set before training starts."""

    model: Any = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: dict[str, Any]) -> None: ...
    def on_epoch_begin(self, epoch: int) -> None: ...
    def on_batch_end(self, step: int, logs: dict[str, float]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...
    def on_train_end(self, logs: dict[str, Any]) -> None: ...
    # training diverged: {"epoch", "iterations" (steps applied), "x" (the failing step's inputs)}; the error follows
    def on_divergence(self, info: dict[str, Any]) -> None: ...


class _Monitor:
    """Tracks whether a monitored figure improved (min for losses/errors, max for accuracy-like)."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if any(w in monitor for w in ("acc", "r2", "f1")) else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(float(min_delta))
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs: dict[str, float]) -> float:
        if self.monitor not in logs:
            raise KeyError(f"cannot monitor {self.monitor!r}: this run records {sorted(logs)}")
        return logs[self.monitor]

    def improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs; optionally restore the best weights."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        self._m = _Monitor(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = check_integer(patience, "patience", 0), restore_best_weights
        self.wait, self.best_epoch, self.stopped_epoch = 0, 0, 0
        self._best_state: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, epoch, logs):
        value = self._m.value(logs)
        if self._m.improved(value):
            self._m.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_state = self.model.get_weights()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs):
        if self.stopped_epoch and self.restore_best_weights and self._best_state is not None:
            self.model.set_weights(self._best_state)
            logs["restored_epoch"] = self.best_epoch

    @property
    def best(self) -> float:
        return self._m.best


class WeightAverage(Callback):
    """End training with an exponential moving average of the weights instead of the last ones.

    The last weights of SGD-like training jitter around a minimum; their average sits nearer its centre and
    usually generalises better (Polyak averaging; Izmailov et al. 2018, "Averaging weights leads to wider
    optima"). From epoch `start_epoch` on, after every step:  avg += (w - avg) * max(1 - decay, 1/n),  n being
    the number of steps averaged so far: a plain running mean until it is as long as the EMA's memory.
    When training ends (also by Ctrl-C or early stopping) the model's parameters become the average.
    The logs of each epoch still describe the raw weights; BatchNorm running statistics are not averaged;
    the average is not part of checkpoints, so a resumed run starts a new one.
    """

    def __init__(self, decay: float = 0.999, start_epoch: int = 1) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {decay!r}")
        self.decay, self.start_epoch = float(decay), check_integer(start_epoch, "start_epoch", 1)
        self.average: np.ndarray | None = None  # laid out like model.flat.values
        self.count = 0
        self._epoch = 0
        self._tmp: np.ndarray | None = None

    def on_train_begin(self, logs):
        self.average, self.count = None, 0

    def on_epoch_begin(self, epoch):
        self._epoch = epoch

    def on_batch_end(self, step, logs):
        if self._epoch < self.start_epoch:
            return
        w = self.model.flat.values
        self.count += 1
        if self.average is None:
            self.average, self._tmp = w.copy(), np.empty_like(w)
            return
        rate = max(1.0 - self.decay, 1.0 / self.count)
        np.subtract(w, self.average, out=self._tmp)
        self._tmp *= rate
        self.average += self._tmp

    def on_train_end(self, logs):
        if self.average is not None:
            self.model.flat.values[...] = self.average
            logs["averaged_steps"] = self.count


class ModelCheckpoint(Callback):
    """Save the model with its full training state (resumable) after each epoch, or only when `monitor` improves.

    `path` may contain '{epoch}'. With `every_seconds`, epochs that end sooner than that after the last save
    are kept as an in-memory snapshot instead (fast epochs are not slowed by disk writes); if training is then
    interrupted, the model is returned to that snapshot and saved, so the file holds the last finished epoch.
    """

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", every_seconds: float = 0.0) -> None:
        self.path, self.save_best_only, self.every_seconds = str(path), save_best_only, float(every_seconds)
        self._m = _Monitor(monitor, mode, 0.0)
        self.saved: list[str] = []
        self._last_save = -math.inf
        self._pending: tuple[int, dict[str, Any]] | None = None

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only:
            value = self._m.value(logs)
            if not self._m.improved(value):
                return
            self._m.best = value
        if time.monotonic() - self._last_save < self.every_seconds:
            self._pending = (epoch, self.model.snapshot())
            return
        self._save(epoch)

    def _save(self, epoch: int) -> None:
        path = self.path.format(epoch=epoch)
        self.model.save(path)
        self.saved.append(path)
        self._last_save, self._pending = time.monotonic(), None

    def on_train_end(self, logs):
        self.flush(restore=self.model.history.interrupted)

    def flush(self, *, restore: bool = True) -> None:
        """Save the epoch kept in memory, if any; with `restore` the model returns to it first (after Ctrl-C
        or divergence, the model in memory is past it)."""
        if self._pending is None:
            return
        epoch, snap = self._pending
        if restore:
            self.model.restore(snap)
        self._save(epoch)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` has not improved for `patience` epochs."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 3,
                 min_lr: float = 0.0, min_delta: float = 1e-4, mode: str = "auto") -> None:
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        self._m = _Monitor(monitor, mode, min_delta)
        patience = check_integer(patience, "patience", 0)
        self.factor, self.patience, self.min_lr, self.wait = float(factor), patience, float(min_lr), 0

    def on_epoch_end(self, epoch, logs):
        value = self._m.value(logs)
        if self._m.improved(value):
            self._m.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait > self.patience:
            opt = self.model.optimizer
            lr = opt.current_lr()
            if lr > self.min_lr:
                opt.lr_scale *= max(self.factor, self.min_lr / lr)
            self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start from `fn(epoch) -> lr` (epochs count from 1)."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def on_epoch_begin(self, epoch):
        opt = self.model.optimizer
        lr = float(self.fn(epoch))
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"LearningRateScheduler gave lr={lr!r} for epoch {epoch}; expected a positive number")
        opt.lr, opt.lr_scale = lr, 1.0


class ProgressBar(Callback):
    """A tqdm bar per epoch on a terminal; in Jupyter (with ipywidgets) one tqdm notebook widget over the epochs;
    one plain line per epoch otherwise (logs, CI, pipes)."""

    def __init__(self, stream=None, force_plain: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.force_plain = force_plain
        self._bar = None
        self._widget = None
        self._steps = 0

    def _use_bar(self) -> bool:
        if self.force_plain or not getattr(self.stream, "isatty", lambda: False)():
            return False
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return False
        return True

    def on_train_begin(self, logs):
        self._steps, self._epochs = logs.get("steps_per_epoch", 0), logs.get("epochs", 0)

    def on_epoch_begin(self, epoch):
        self._t0 = time.perf_counter()
        if self._widget is None and not self.force_plain and in_notebook():
            from tqdm.notebook import tqdm

            self._widget = tqdm(total=self._epochs, initial=epoch - 1, desc="training", unit="epoch")
        if self._widget is not None:
            return
        if self._use_bar():
            from tqdm import tqdm

            self._bar = tqdm(total=self._steps, desc=f"epoch {epoch}/{self._epochs}", file=self.stream,
                             leave=True, dynamic_ncols=True, unit="batch")

    def on_batch_end(self, step, logs):
        if self._bar is not None:
            self._bar.update(1)
            if step % 10 == 0:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs):
        text = format_logs(logs)
        if self._widget is not None:
            self._widget.set_postfix_str(text, refresh=False)
            self._widget.update(1)
        elif self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)
            self._bar.close()
            self._bar = None
        else:
            print(f"epoch {epoch}/{self._epochs} {text}", file=self.stream, flush=True)

    def on_train_end(self, logs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._widget is not None:
            self._widget.close()
            self._widget = None


def in_notebook() -> bool:
    """Inside a Jupyter kernel with ipywidgets and tqdm installed: tqdm's notebook widget can be drawn."""
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    if shell is None or "IPKernelApp" not in getattr(shell, "config", {}):
        return False
    return all(importlib.util.find_spec(m) is not None for m in ("ipywidgets", "tqdm"))


def format_logs(logs: dict[str, float]) -> str:
    skip = ("epoch",)
    parts = []
    for k, v in logs.items():
        if k in skip:
            continue
        if k == "time":
            parts.append(f"{v:.2f}s")
        elif k == "lr":
            parts.append(f"lr={v:.3g}")
        else:
            parts.append(f"{k}={v:.4f}")
    return " ".join(parts)


class CSVLogger(Callback):
    """Write the per-epoch history as CSV after every epoch (atomically: a reader never sees half a file)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs):
        atomic_write_bytes(self.path, self.model.history.to_csv().encode())


class JSONLogger(Callback):
    """Write the whole history (per epoch and per batch) as JSON after every epoch, atomically."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs):
        atomic_write_bytes(self.path, json.dumps(self.model.history.to_dict()).encode())
