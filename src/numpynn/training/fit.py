"""The training loop: minibatch gradient descent with validation, metrics, callbacks and clean stops.

One step: gather a batch (into a reused buffer), forward, loss and dL/dlogits, backward, optimizer update.
Every random draw (order, dropout, augmentation) comes from one seeded Generator, whose state checkpoints
save, so a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import DataError, TrainingDivergedError
from ..losses import Loss
from ..optim import Adam, Optimizer, get_optimizer
from ..validation import check_lengths, check_targets, check_X
from .callbacks import Callback, ProgressBar
from .history import History
from .metrics import get_metric

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def compute_metrics(names: Sequence[str], y: np.ndarray, logits: np.ndarray, loss: Loss) -> dict[str, float]:
    """Each named metric of the model output (probabilities for classifiers, values for regression)."""
    if not names:
        return {}
    scores = loss.output(logits) if loss.is_classification else logits
    return {name: get_metric(name)(y, scores) for name in names}


def fit(model, X: Any, y: Any, *, loss: str | Loss | None = None, optimizer: str | Optimizer | None = None,
        epochs: int = 10, batch_size: int | None = 32, validation_data: tuple[Any, Any] | None = None,
        validation_split: float = 0.0, metrics: Sequence[str] | None = None,
        callbacks: Sequence[Callback] = (), shuffle: bool = True, verbose: int = 1,
        rng: np.random.Generator | None = None, augment: Augment | None = None,
        sample_weight: Any = None, resume: bool = False) -> History:
    """Train `model` on (X, y) and return its History.

    - loss: "cross_entropy", "binary_cross_entropy", "mse", a Loss, or None (kept from an earlier fit, else
      chosen from the output size).
    - optimizer: an Optimizer or a name; None keeps the model's current optimizer (continuing its state),
      else Adam(1e-3).
    - batch_size=None is full-batch gradient descent.
    - validation_data=(X_val, y_val), or validation_split: a fraction held out by a permutation seeded with the
      model's seed (the same rows every time).
    - metrics: names such as "accuracy", "top5_accuracy", "mse", "mae", "r2"; computed on training batches and
      on the validation set.
    - rng: the Generator for batch order, dropout and augmentation; default the model's own (saved in checkpoints).
    - augment: f(batch, rng) -> batch applied to each training batch (see numpynn.data.augment).
    - resume=True: `epochs` is the total; training continues from the model's completed epoch count.
    - Ctrl-C stops after the current batch, keeping the weights and history (a second Ctrl-C aborts).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None (full batch), got {batch_size!r}")
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")

    if loss is not None or model.loss is None:
        model.set_loss(loss)
    if optimizer is not None or model.optimizer is None:
        model.optimizer = get_optimizer(optimizer) if optimizer is not None else Adam()
    if metrics is not None:
        model.metrics = list(metrics)
    loss_fn, opt, metric_names = model.loss, model.optimizer, model.metrics

    X = check_X(X, model.input_shape, model.dtype)
    y = check_targets(y, model.n_outputs, loss_fn.name, model.dtype)
    check_lengths(X, y)
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=model.dtype).reshape(-1)
        check_lengths(X, w, yname="sample_weight")
        if not np.isfinite(w).all() or (w < 0).any():
            raise DataError("sample_weight must be finite and >= 0")
    if validation_data is not None:
        if validation_split:
            raise ValueError("give validation_data or validation_split, not both")
        Xv = check_X(validation_data[0], model.input_shape, model.dtype, "X_val")
        yv = check_targets(validation_data[1], model.n_outputs, loss_fn.name, model.dtype, "y_val")
        check_lengths(Xv, yv, "X_val", "y_val")
    rows = None  # the training rows of X when some are held out; batches are gathered through it, never copied
    if validation_split:
        order = np.random.default_rng(model.seed).permutation(len(X))
        n_val = max(1, int(round(len(X) * validation_split)))
        if n_val >= len(X):
            raise DataError(f"validation_split={validation_split} leaves no training samples out of {len(X)}")
        val_idx, rows = np.sort(order[:n_val]), np.sort(order[n_val:])
        Xv, yv = X[val_idx], y[val_idx]
    elif validation_data is None:
        Xv = yv = None

    rng = rng if rng is not None else model.rng
    n = len(X) if rows is None else len(rows)
    bs = n if batch_size is None else min(batch_size, n)
    steps = math.ceil(n / bs)
    first_epoch = model.epoch
    last_epoch = epochs if resume else model.epoch + epochs
    cbs = list(callbacks)
    if verbose and not any(isinstance(c, ProgressBar) for c in cbs):
        cbs.append(ProgressBar(force_plain=verbose == 2))
    for cb in cbs:
        cb.set_model(model)

    history = model.history
    model.stop_training = False
    history.interrupted = history.stopped_early = False
    # one batch and no augmentation: the order of rows cannot change the gradient, so train on them in place
    # (after gathering held-out rows away once) instead of re-gathering the whole set every epoch
    whole = bs == n and augment is None
    if whole and rows is not None:
        X, y, w = np.take(X, rows, axis=0), y[rows], None if w is None else w[rows]
        rows = None
    xb = None if whole else np.empty((bs,) + X.shape[1:], dtype=model.dtype)
    end_logs: dict[str, Any] = {}
    for cb in cbs:
        cb.on_train_begin({"epochs": last_epoch, "steps_per_epoch": steps, "samples": n})
    with _sigint_stops(model) as interrupted:
        for epoch in range(first_epoch + 1, last_epoch + 1):
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            t0 = time.perf_counter()
            lr = opt.current_lr()
            order = rng.permutation(n) if shuffle and not whole else np.arange(n)
            if rows is not None:
                order = rows[order]
            totals = {"loss": 0.0, **{m: 0.0 for m in metric_names}}
            seen = 0
            for step in range(steps):
                idx = order[step * bs:(step + 1) * bs]
                if whole:
                    xbatch, ybatch = X, y
                else:
                    xbatch = np.take(X, idx, axis=0, out=xb[:len(idx)])
                    ybatch = y[idx]
                if augment is not None:
                    xbatch = augment(xbatch, rng)
                logits = model.forward(xbatch, training=True)
                value, dlogits = loss_fn(logits, ybatch, None if w is None else w[idx])
                value += model.penalty()
                global_step = opt.iterations + 1
                if not math.isfinite(value):
                    raise TrainingDivergedError(
                        _divergence_message(model, xbatch, value, global_step, epoch, step + 1, lr))
                model.backward(dlogits)
                opt.step(model.flat)
                history.batch_loss.append(value)
                k = len(idx)
                seen += k
                totals["loss"] += value * k
                for name, v in compute_metrics(metric_names, ybatch, logits, loss_fn).items():
                    totals[name] += v * k
                for cb in cbs:
                    cb.on_batch_end(global_step, {"loss": value})
                if interrupted.is_set():
                    break
            if interrupted.is_set():
                history.interrupted = True
                break
            bad = _first_non_finite_param(model)
            if bad:
                raise TrainingDivergedError(f"training diverged in epoch {epoch} (step {opt.iterations}): {bad} "
                                            f"became non-finite; lower the learning rate (now {lr:g})")
            logs: dict[str, float] = {"epoch": epoch}
            logs.update({k: v / seen for k, v in totals.items()})
            if Xv is not None:
                logs.update({f"val_{k}": v for k, v in model.evaluate(Xv, yv, metric_names).items()})
            logs["lr"] = lr
            logs["time"] = time.perf_counter() - t0
            model.epoch = epoch
            history.record_epoch(logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if model.stop_training:
                history.stopped_early = True
                break
    for cb in cbs:
        cb.on_train_end(end_logs)
    return history


def _first_non_finite_param(model) -> str | None:
    for i, layer in enumerate(model.layers):
        for name, p in layer.params.items():
            if not np.isfinite(p).all():
                return f"layer {i} {layer.describe()} parameter {name!r}"
    return None


def _first_non_finite_output(model, x: np.ndarray) -> str:
    for i, layer in enumerate(model.layers):
        x = layer.forward(x)
        if not np.isfinite(x).all():
            return f"the output of layer {i} {layer.describe()}"
    return "the loss itself"


def _divergence_message(model, x, value: float, step: int, epoch: int, batch: int, lr: float) -> str:
    where = _first_non_finite_param(model) or _first_non_finite_output(model, x)
    return (f"training diverged at step {step} (epoch {epoch}, batch {batch}): the loss is {value}; "
            f"first non-finite values in {where}. Lower the learning rate (now {lr:g}) or scale the inputs. "
            f"The update of this step was not applied.")


@contextlib.contextmanager
def _sigint_stops(model):
    """While training in the main thread, the first Ctrl-C asks the loop to stop after the current batch."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if flag.is_set():  # a second Ctrl-C: stop at once
            signal.signal(signal.SIGINT, previous if callable(previous) else signal.default_int_handler)
            raise KeyboardInterrupt
        flag.set()

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
