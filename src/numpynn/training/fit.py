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
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

from ..errors import DataError, TrainingDivergedError
from ..losses import Loss
from ..ops import training_engine
from ..ops.threads import EpochThreads, largest_product
from ..optim import Adam, Optimizer, get_optimizer
from ..validation import all_finite, check_integer, check_lengths, check_X
from .callbacks import Callback, ProgressBar
from .history import History
from .labels import encode_names
from .metrics import check_metrics_fit, compute_metrics, metric_names
from .source import BatchSource, checked_batches, is_batch_source
from .split import validation_rows

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def fit(model, X: Any, y: Any, *, loss: str | Loss | None = None, optimizer: str | Optimizer | None = None,
        epochs: int = 10, batch_size: int | None = 32, validation_data: tuple[Any, Any] | None = None,
        validation_split: float = 0.0, metrics: Sequence[str] | None = None,
        callbacks: Sequence[Callback] = (), shuffle: bool = True, verbose: int = 1,
        rng: np.random.Generator | None = None, augment: Augment | None = None,
        sample_weight: Any = None, resume: bool = False, precision: str = "float32") -> History:
    """Train `model` on (X, y) and return its History.

    The History is the model's one record of all its training (model.history, saved in its file): fit again
    and the new epochs are appended, numbered on from the last, with NaN for a figure this call does not
    record (val_loss without validation data), so every list keeps one entry per epoch.

    X may instead be a batch source (numpynn.training.source: a table streamed from disk, numpynn.tables.
    open_stream) with y None: its minibatches are trained on as they come (it draws their order from `rng`);
    it takes validation_data, not validation_split, and neither sample_weight nor full-batch training.

    - loss: "cross_entropy", "binary_cross_entropy", "mse", "mae", "huber", "quantile", a Loss (e.g.
      Huber(delta=2.0), Quantile((0.1, 0.5, 0.9)), MeanSquaredError(log_target=True)), or None (kept from
      `compile` or an earlier fit, else chosen from the output size). Keras', PyTorch's and scikit-learn's
      names are taken too ("sparse_categorical_crossentropy", "CrossEntropyLoss", "log_loss": numpynn.aliases).
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
    - precision="bf16": the matrix products of training in bfloat16 with float32 accumulation (weights,
      gradients and optimizer state stay float32), where the CPU and `numpynn[bf16]` allow; see numpynn.ops.
    """
    epochs, batch_size = _check_arguments(epochs, batch_size, validation_split)
    model._build_for(X)  # a model whose first Dense(64) waits for the data's width
    engine = training_engine(precision, model.dtype, model.ops)
    if loss is not None or model.loss is None:
        model.set_loss(loss)
    if optimizer is not None or model.optimizer is None:
        model.optimizer = get_optimizer(optimizer) if optimizer is not None else Adam()
    if metrics is not None:
        metrics = metric_names(metrics)
        check_metrics_fit(metrics, model.loss)
        model.metrics = metrics
    else:  # compile's, or an earlier fit's, checked against the loss they now meet
        check_metrics_fit(model.metrics, model.loss)
    if is_batch_source(X):
        data = _prepare_source(model, X, y, sample_weight, validation_data, validation_split, batch_size)
    else:
        data = _prepare_data(model, X, y, sample_weight, validation_data, validation_split)
    n = data.n_train
    bs = n if batch_size is None else min(batch_size, n)
    # one batch and no augmentation: the order of rows cannot change the gradient, so train on them in place
    # (after gathering held-out rows away once) instead of re-gathering the whole set every epoch
    whole = bs == n and augment is None
    if whole:
        data.gather_training_rows()
    if augment is not None and hasattr(augment, "on_engine"):  # an Augmenter resamples on the training engine
        augment = augment.on_engine(engine)
    run = _EpochRunner(model, data, bs, whole, shuffle and not whole, rng if rng is not None else model.rng, augment)

    last_epoch = epochs if resume else model.epoch + epochs
    cbs = list(callbacks)
    if verbose and not any(isinstance(c, ProgressBar) for c in cbs):
        cbs.append(ProgressBar(force_plain=verbose == 2))
    for cb in cbs:
        cb.set_model(model)
    history = model.history
    model.stop_training = False
    history.interrupted = history.stopped_early = False
    for cb in cbs:
        cb.on_train_begin({"epochs": last_epoch, "steps_per_epoch": run.steps, "samples": n, "X": data.probe,
                          "y": data.y if data.source is None else None})
    with _sigint_stops() as interrupted, model.training_engine(engine):
        for epoch in range(model.epoch + 1, last_epoch + 1):
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            run.fallback.epoch_begins()
            with model.ops.flush_subnormals():  # decayed optimizer state would otherwise slow every step
                try:
                    logs = run.epoch(epoch, cbs, interrupted)
                except TrainingDivergedError as exc:  # the callbacks (the Doctor) look at the failed step first
                    for cb in cbs:
                        cb.on_divergence({"epoch": epoch, "iterations": model.optimizer.iterations,
                                          "x": run.last_batch})
                    good = run.fallback.restore()
                    raise TrainingDivergedError(f"{exc} The model holds the weights of epoch {good}"
                                                f"{' (before training)' if good == 0 else ''}.") from None
            if logs is None:  # Ctrl-C: the weights of the last finished step stay, the epoch is not recorded
                history.interrupted = True
                break
            model.epoch = epoch
            history.record_epoch(logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if model.stop_training:
                history.stopped_early = True
                break
    for cb in cbs:
        cb.on_train_end({})
    return history


def _check_arguments(epochs, batch_size, validation_split) -> tuple[int, int | None]:
    """(epochs, batch_size) as Python ints, NumPy integers included; bools and floats are refused."""
    epochs = check_integer(epochs, "epochs", 0, expected="a non-negative integer")
    batch_size = check_integer(batch_size, "batch_size", 1, none="full batch",
                               expected="a positive integer or None (full batch)")
    if isinstance(validation_split, (bool, np.bool_)) or not isinstance(validation_split, Real):
        raise TypeError(f"validation_split must be a number in [0, 1), got {validation_split!r:.40} "
                        f"({type(validation_split).__name__})")
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    return epochs, batch_size


@dataclass
class _TrainData:
    """Checked training arrays; `rows` lists the training rows of X when some are held out (no copy is made).
    Or a batch source, X and y then None."""

    X: np.ndarray | None
    y: np.ndarray | None
    w: np.ndarray | None
    rows: np.ndarray | None
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    source: BatchSource | None = None

    @property
    def n_train(self) -> int:
        if self.source is not None:
            return self.source.n_rows
        return len(self.X) if self.rows is None else len(self.rows)

    @property
    def probe(self) -> np.ndarray | None:
        """Training rows for the callbacks to look at (the Doctor's activation statistics)."""
        return getattr(self.source, "probe", None) if self.source is not None else self.X

    def gather_training_rows(self) -> None:
        """Copy the training rows out once (for full-batch training, which reads all of them every step)."""
        if self.rows is None:
            return
        r = self.rows
        self.X, self.y = np.take(self.X, r, axis=0), self.y[r]
        if self.w is not None:
            self.w = self.w[r]
        self.rows = None


def _prepare_data(model, X, y, sample_weight, validation_data, validation_split) -> _TrainData:
    loss, dtype = model.loss, model.dtype
    X = check_X(X, model.input_shape, dtype)
    y = loss.check_targets(encode_names(model, y), model.n_outputs, dtype)
    check_lengths(X, y)
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=dtype).reshape(-1)
        check_lengths(X, w, yname="sample_weight")
        if not all_finite(w) or (w < 0).any():
            raise DataError("sample_weight must be finite and >= 0")
    Xv = yv = rows = None
    if validation_data is not None:
        if validation_split:
            raise ValueError("give validation_data or validation_split, not both")
        Xv, yv = _validation_arrays(model, validation_data)
    elif validation_split:  # the same held-out rows every time: the split is seeded by the model's seed
        rows, val_idx = validation_rows(len(X), validation_split, model.seed)
        Xv, yv = X[val_idx], y[val_idx]
    return _TrainData(X, y, w, rows, Xv, yv)


def _validation_arrays(model, validation_data) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        got = f"{type(validation_data).__name__} of {len(validation_data)}" \
            if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__
        raise TypeError(f"validation_data must be a pair (X_val, y_val), got a {got}")
    Xv = check_X(validation_data[0], model.input_shape, model.dtype, "X_val")
    yv = model.loss.check_targets(encode_names(model, validation_data[1], "y_val"), model.n_outputs, model.dtype,
                                  "y_val")
    check_lengths(Xv, yv, "X_val", "y_val")
    return Xv, yv


def _prepare_source(model, source, y, sample_weight, validation_data, validation_split, batch_size) -> _TrainData:
    """A batch source's training data: its batches are checked one by one as they come (checked_batches)."""
    if y is not None:
        raise TypeError(f"a batch source holds its own targets: give y=None, got {type(y).__name__}")
    if sample_weight is not None:
        raise TypeError("a batch source takes no sample_weight")
    if validation_split:
        raise ValueError("a batch source holds out no rows for fit to take: give its validation rows as "
                         "validation_data=(X_val, y_val)")
    if batch_size is None:
        raise ValueError("full-batch training needs every row at once; a batch source trains in minibatches: give "
                         "a batch_size")
    check_integer(source.n_rows, "the batch source's n_rows", 1, expected="a positive integer")
    Xv = yv = None
    if validation_data is not None:
        Xv, yv = _validation_arrays(model, validation_data)
    return _TrainData(None, None, None, None, Xv, yv, source)


class _EpochRunner:
    """One pass over the training data in minibatches: gather, forward, loss, backward, update."""

    def __init__(self, model, data: _TrainData, bs: int, whole: bool, shuffle: bool, rng, augment) -> None:
        self.model, self.data, self.bs, self.whole, self.shuffle, self.rng, self.augment = \
            model, data, bs, whole, shuffle, rng, augment
        self.steps = math.ceil(data.n_train / bs)
        # reused every step
        self.xb = None if whole or data.X is None else np.empty((bs,) + data.X.shape[1:], dtype=model.dtype)
        self.last_batch: np.ndarray | None = None  # the inputs of the latest step, for on_divergence
        self.fallback = _Fallback(model)
        self.threads = EpochThreads(largest_product(model, bs))

    def epoch(self, epoch: int, callbacks, interrupted) -> dict[str, float] | None:
        """Train one epoch and return its figures, or None if Ctrl-C stopped it."""
        with self.threads.epoch():
            return self._epoch(epoch, callbacks, interrupted)

    def _epoch(self, epoch: int, callbacks, interrupted) -> dict[str, float] | None:
        model, data, opt = self.model, self.data, self.model.optimizer
        t0 = time.perf_counter()
        lr = opt.current_lr()
        names = model.metrics
        totals = {"loss": 0.0, **{m: 0.0 for m in names}}
        n = 0
        batches = self._batches()
        try:
            for step, (xbatch, ybatch, wbatch) in enumerate(batches):
                value, logits = self._step(xbatch, ybatch, wbatch, epoch, step, lr)
                if step == 0:
                    self.fallback.confirmed()
                k = len(xbatch)
                n += k
                totals["loss"] += value * k
                for name, v in compute_metrics(names, ybatch, logits, model.loss).items():
                    totals[name] += v * k
                for cb in callbacks:
                    cb.on_batch_end(opt.iterations, {"loss": value})
                if interrupted.is_set():
                    return None
        finally:
            batches.close()  # a source's files are closed when an epoch stops early
        if n == 0:
            raise DataError("the batch source handed over no rows in an epoch")
        bad = _first_non_finite_param(model)
        if bad:
            raise TrainingDivergedError(f"training diverged in epoch {epoch} (step {opt.iterations}): {bad} "
                                        f"became non-finite; lower the learning rate (now {lr:g})")
        logs: dict[str, float] = {"epoch": epoch, **{k: v / n for k, v in totals.items()}}
        if data.X_val is not None:
            val = model.evaluate(data.X_val, data.y_val, names)
            if not math.isfinite(val["loss"]):  # non-finite outputs give a non-finite loss too
                raise TrainingDivergedError(f"training diverged in epoch {epoch} (step {opt.iterations}): the "
                                            f"validation loss is {val['loss']}; lower the learning rate (now {lr:g}) "
                                            f"or scale the inputs. This epoch is not recorded or saved.")
            logs.update({f"val_{k}": v for k, v in val.items()})
        logs["lr"] = lr
        logs["time"] = time.perf_counter() - t0
        return logs

    def _batches(self):
        """(x, y, sample weights or None) of each step of an epoch: gathered from the arrays in a shuffled order,
        or as a batch source hands them over."""
        data, model = self.data, self.model
        if data.source is not None:
            for x, y in checked_batches(model, data.source, self.rng, self.bs):
                yield x, y, None
            return
        n = data.n_train
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        if data.rows is not None:
            order = data.rows[order]
        for step in range(self.steps):
            idx = order[step * self.bs:(step + 1) * self.bs]
            if self.whole:
                xbatch, ybatch = data.X, data.y
            else:
                xbatch = model.ops.take_rows(data.X, idx, self.xb[:len(idx)])
                ybatch = data.y[idx]
            yield xbatch, ybatch, None if data.w is None else data.w[idx]

    def _step(self, xbatch: np.ndarray, ybatch: np.ndarray, wbatch: np.ndarray | None, epoch: int, step: int,
              lr: float):
        """One gradient step on a batch; returns (loss, logits)."""
        model = self.model
        if self.augment is not None:
            xbatch = self.augment(xbatch, self.rng)
        self.last_batch = xbatch
        value, logits = model.train_step(xbatch, ybatch, wbatch)
        if not math.isfinite(value):
            raise TrainingDivergedError(_divergence_message(model, xbatch, value, model.optimizer.iterations + 1,
                                                            epoch, step + 1, lr))
        model.history.batch_loss.append(value)
        return value, logits


class _Fallback:
    """The training state a diverged fit goes back to: the one at the start of the latest epoch whose first step
    had a finite loss. An epoch's last weights are used by no step of it, so they may already overflow; the next
    epoch's first loss is what vouches for them."""

    def __init__(self, model) -> None:
        self.model = model
        self.good: dict[str, Any] | None = None
        self.pending: dict[str, Any] | None = None

    def epoch_begins(self) -> None:
        self.pending = self.model.snapshot()

    def confirmed(self) -> None:
        """The first step of the epoch computed a finite loss with the weights it started from."""
        if self.pending is not None:
            self.good, self.pending = self.pending, None

    def restore(self) -> int:
        """Put the vouched-for state back (else the epoch's start, no step of which was applied); its epoch."""
        snap = self.good if self.good is not None else self.pending
        self.model.restore(snap)
        return snap["training"][0]["epoch"]


def _first_non_finite_param(model) -> str | None:
    for i, layer in enumerate(model.layers):
        for name, p in layer.params.items():
            if not all_finite(p):
                return f"layer {i} {layer.describe()} parameter {name!r}"
    return None


def _first_non_finite_output(model, x: np.ndarray) -> str:
    for layer in model.steps:
        x = layer.forward(x)
        if not all_finite(x):
            return f"the output of layer {model.layers.index(layer)} {layer.describe()}"
    return "the loss itself"


def _divergence_message(model, x, value: float, step: int, epoch: int, batch: int, lr: float) -> str:
    where = _first_non_finite_param(model) or _first_non_finite_output(model, x)
    return (f"training diverged at step {step} (epoch {epoch}, batch {batch}): the loss is {value}; "
            f"first non-finite values in {where}. Lower the learning rate (now {lr:g}) or scale the inputs.")


@contextlib.contextmanager
def _sigint_stops():
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
