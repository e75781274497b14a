"""A training run from a TrainConfig: data, model, optimizer, callbacks, and the run folder it writes.

The run folder holds everything needed to understand and repeat the run:
model.safetensors (saved after every epoch, with the training state), config.toml, history.json/.csv,
metrics.json, doctor.jsonl, the figures and report.html.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import data as datasets
from . import tables
from .atomic import atomic_write_bytes
from .config import ConfigError, TrainConfig
from .data.table import Frame
from .errors import TrainingDivergedError
from .evaluation import classifier_outputs, evaluate_classifier, evaluate_regression
from .losses import REGRESSION_LOSSES, CrossEntropy, Huber, Loss, Quantile, get_loss
from .mlp import build_mlp
from .model import Sequential
from .optim import CosineDecay, OneCycle, Optimizer, build_optimizer
from .training.callbacks import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, WeightAverage
from .training.doctor import DOCTOR_FILE, Doctor
from .training.history import History
from .training.split import validation_rows


@dataclass
class RunData:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]  # () for a regression
    image_shape: tuple[int, ...] | None
    preprocessing: dict[str, Any]
    task: str = "classification"
    # a table streamed from disk (numpynn.tables.StreamedTable): training reads it every epoch, X_train and y_train
    # hold its sample (prepared), `validation` its held-out validation rows
    stream: Any = None
    validation: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"

    @property
    def n_train(self) -> int:
        """Rows of the training split, those fit holds out for validation included."""
        if self.stream is None:
            return len(self.X_train)
        return self.stream.n_rows + (0 if self.validation is None else len(self.validation[0]))


def load_run_data(config: TrainConfig, log=print) -> RunData:
    """The config's dataset, normalised and flattened, with what a model file must remember about it:
    the preprocessing, the task, the class names, and for a table its columns and label column. A table's
    preprocessing (numpynn.tables) is learned from its training split only. A Parquet table too large for memory
    (or any, with stream on) is streamed instead (`_streamed_run_data`)."""
    streams, why = tables.stream_decision(config.dataset, config.stream)
    if streams:
        log(why)
        return _streamed_run_data(config, log)
    ds = datasets.load_dataset(config.dataset, label_column=config.label_column or None, task=config.task,
                               loss=config.loss, log=log)
    for note in ds.notes:
        log(note)
    (Xr, yr), (Xtr, ytr) = ds.splits
    image_shape = tuple(Xr.shape[1:]) if not isinstance(Xr, Frame) and Xr.ndim == 3 else None
    if isinstance(Xr, Frame):
        X, Xt, prep = _prepare_table(config, Xr, Xtr, ds.label_column, log)
    else:
        how = {"auto": "scale"}.get(config.normalize, config.normalize)
        if how == "robust":
            raise ConfigError("normalize robust is for tables; images take scale, standardize or none")
        X, Xt, prep = datasets.normalize_pair(Xr, Xtr, how)
        prep["input_shape"] = list(Xr.shape[1:])
    prep["task"] = ds.task
    if ds.class_names:
        prep["class_names"] = list(ds.class_names)
    if ds.label_column is not None:
        prep["label_column"], prep["label_index"] = ds.label_column, ds.label_index
    if ds.feature_names is not None:
        prep["feature_names"] = ds.feature_names
    if ds.task == "regression":  # targets as the model's dtype, one column
        yr, ytr = yr.astype(config.dtype).reshape(len(yr), -1), ytr.astype(config.dtype).reshape(len(ytr), -1)
    return RunData(datasets.flatten(X), yr, datasets.flatten(Xt), ytr, ds.class_names, image_shape, prep, ds.task)


def _streamed_run_data(config: TrainConfig, log) -> RunData:
    """A Parquet table read row group by row group: a first pass learns the labels, a sample for the
    preprocessing and the held-out rows (numpynn.tables.stream); each epoch then reads it again."""
    if not config.batch_size:
        raise ConfigError("a streamed table trains in minibatches: batch_size 0 (full batch) would hold every row "
                          "at once")
    t0 = time.perf_counter()
    table = tables.open_stream(config.dataset, label_column=config.label_column or None, task=config.task,
                               loss=config.loss, scaling={"auto": "robust"}.get(config.normalize, config.normalize),
                               categorical=config.categorical, numeric=config.numeric, drop=config.drop,
                               validation_split=config.validation_split, seed=config.seed,
                               dtype=np.float64 if config.dtype == "float64" else np.float32)
    names = table.class_names
    log(f"{table.how}; task: {table.task}" + (f" ({len(names)} classes: {', '.join(names[:10])}"
                                                   f"{', ...' if len(names) > 10 else ''})" if names else ""))
    log(f"first pass over the table: {time.perf_counter() - t0:.1f} s. {table.describe(config.batch_size)}")
    log(tables.describe(table.schema, table.label, table.record))
    (X, y), (Xt, yt) = table.sample, table.test
    return RunData(X, y, Xt, yt, names, None, table.preprocessing(), table.task, stream=table,
                   validation=table.validation)


def _prepare_table(config: TrainConfig, train: Frame, test: Frame, label: str | None,
                   log) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """A table's columns as model inputs: the schema shown, the preprocessing learned from the training rows."""
    scaling = {"auto": "robust"}.get(config.normalize, config.normalize)
    record, schema = tables.learn(train, label=label, scaling=scaling, categorical=config.categorical,
                                  numeric=config.numeric, drop=config.drop)
    log(tables.describe(schema, label, record))
    dtype = np.float64 if config.dtype == "float64" else np.float32
    prep = {"normalize": "none", "table": record, "input_shape": [tables.n_inputs(record)]}
    return tables.transform(record, train, dtype), tables.transform(record, test, dtype), prep


def n_outputs_for(config: TrainConfig, n_classes: int, task: str = "classification") -> int:
    """One output for a two-class sigmoid network or a regression, else one per class."""
    if task == "regression":
        return 1
    sigmoid = config.loss == "binary_cross_entropy" or (config.loss == "auto" and config.output == "sigmoid")
    return 1 if sigmoid and n_classes == 2 else n_classes


def build_model(config: TrainConfig, n_features: int, n_outputs: int,
                preprocessing: dict[str, Any] | None = None) -> Sequential:
    """The config's network; a table with many-valued categories starts with an Embedding of their codes."""
    table = (preprocessing or {}).get("table")
    embedding = tables.embedding_spec(table) if table else None
    return build_mlp(n_features, config.hidden, n_outputs, activation=config.activations(), init=config.init,
                     **({"embedding": embedding} if embedding else {}),
                     bias_init=config.bias_init,
                     dropout=config.dropout, input_dropout=config.input_dropout, batchnorm=config.batchnorm,
                     output=None if config.output == "auto" else config.output, seed=config.seed, dtype=config.dtype)


def resolve_loss(config: TrainConfig, n_outputs: int, task: str = "classification") -> Loss:
    """The config's loss: "auto" is mse for a regression, binary cross-entropy for a sigmoid output, else chosen
    from the output size; a regression's loss takes huber_delta, quantiles and log_target. A setting of one loss
    given to another (label smoothing, huber_delta, quantiles) is refused rather than ignored; so is a loss (or
    log_target) that does not fit the task."""
    name = config.loss
    regression = task == "regression"
    if regression:
        if name not in ("auto", *REGRESSION_LOSSES):
            raise ConfigError(f"a regression trains with loss {', '.join(REGRESSION_LOSSES)} (auto: mse); this run "
                              f"asks for {name}")
        if config.output != "auto":
            raise ConfigError(f"a regression needs the linear output (output auto), got {config.output}")
        name = "mse" if name == "auto" else name
    if name == "auto":
        name = "binary_cross_entropy" if config.output == "sigmoid" else None
    loss = get_loss(name, n_outputs) if name not in ("huber", "quantile") else None  # those two: below
    shown, defaults = name if loss is None else loss.name, TrainConfig()
    if config.label_smoothing:
        if shown != "cross_entropy":
            raise ConfigError(f"label_smoothing applies to cross_entropy; this run's loss is {shown}")
        loss = CrossEntropy(config.label_smoothing)
    for setting, applies in (("huber_delta", "huber"), ("quantiles", "quantile")):
        if getattr(config, setting) != getattr(defaults, setting) and name != applies:
            raise ConfigError(f"{setting} applies to loss {applies}; this run's loss is {shown}")
    if loss is not None and loss.is_classification and config.log_target:
        raise ConfigError(f"log_target applies to a regression's targets; this run's loss is {shown}")
    if not regression and (loss is None or not loss.is_classification):
        raise ConfigError(f"loss {shown} is for a regression, and this run's task is classification: use "
                          "cross_entropy (or auto), or --task regression for numeric targets")
    if name == "huber":
        loss = Huber(config.huber_delta, log_target=config.log_target)
    elif name == "quantile":
        loss = Quantile(config.quantiles, log_target=config.log_target)
    elif config.log_target:
        loss = type(loss)(log_target=True)
    loss.check_outputs(n_outputs)
    return loss


def outputs_per_target(config: TrainConfig) -> int:
    """A regression network's outputs per target column: one per quantile for the quantile loss, else one."""
    return len(config.quantiles) if config.loss == "quantile" else 1


def optimizer_for(config: TrainConfig, steps_per_epoch: int) -> Optimizer:
    """The config's optimizer and schedule, for `steps_per_epoch` optimizer steps per epoch."""
    return build_optimizer(
        config.optimizer, config.lr,
        # plateau is not a schedule of the step: ReduceLROnPlateau (a callback) scales a constant rate
        schedule="none" if config.schedule == "plateau" else config.schedule,
        epochs=config.epochs, steps_per_epoch=steps_per_epoch, warmup_epochs=config.warmup_epochs,
        step_epochs=config.step_epochs, gamma=config.gamma,
        weight_decay=config.weight_decay or None,  # 0 = the optimizer's default (0.01 for AdamW)
        momentum=config.momentum, nesterov=config.nesterov, clip_norm=config.clip_norm or None)


def build_callbacks(config: TrainConfig, model_path: Path, has_validation: bool) -> list[Callback]:
    monitor = "val_loss" if has_validation else "loss"
    cbs: list[Callback] = [ModelCheckpoint(model_path, every_seconds=5.0)]
    if config.schedule == "plateau":
        cbs.append(ReduceLROnPlateau(monitor=monitor, factor=config.gamma, patience=3))
    if config.early_stopping:
        cbs.append(EarlyStopping(monitor=monitor, patience=config.early_stopping, restore_best_weights=True))
    if config.average_decay:
        cbs.append(WeightAverage(config.average_decay, config.average_start_epoch))
    if config.doctor:  # appends to doctor.jsonl every epoch; on disk at intervals, at the end and on divergence
        cbs.append(Doctor(model_path.parent / DOCTOR_FILE))
    return cbs


@dataclass
class RunResult:
    out_dir: Path
    model: Sequential
    test_metrics: dict[str, Any]
    seconds: float
    interrupted: bool
    report: Path | None = None  # report.html, when it was written


def train_run(config: TrainConfig, out_dir: str | Path, *, log=print, verbose: int = 1,
              report: bool = True, resume: bool = False, callbacks: Sequence[Callback] = ()) -> RunResult:
    """Train as `config` says and write the run folder; returns the model and its test figures.
    `callbacks` join the run's own (numpynn tune adds its pruning there).

    resume=True continues the run in `out_dir` from its model.safetensors exactly as the uninterrupted run
    would have gone on (`config` must be the run's config.toml). Its `epochs` may be raised to continue a
    finished run: a schedule of the run's length (cosine, one_cycle) is then stretched to the new total, and
    config.toml records it. After Ctrl-C or divergence every figure in the folder describes the model file it
    holds."""
    if report and importlib.util.find_spec("matplotlib") is None:
        log("matplotlib is not installed: training without the figures and report.html "
            "(pip install 'numpynn[plots]' to get them)")
        report = False
    out = Path(out_dir)
    plan = _plan(config, out, resume, log)  # everything is checked before the run folder is written to
    plan.callbacks.extend(callbacks)
    # written once the run is known to start: a refused run leaves the folder as it was (a resumed run's, when
    # it was given a new total of epochs)
    written = out / "config.toml"
    if not resume or not written.is_file() or TrainConfig.from_toml(written) != config:
        atomic_write_bytes(written, config.to_toml().encode())
    rd, n_val = plan.data, plan.n_val
    if resume:
        log(f"continuing {out} from epoch {plan.model.epoch} to {config.epochs}")
    log(f"training on {config.dataset}: {rd.n_train - n_val:,} train, {n_val:,} validation, "
        f"{len(rd.X_test):,} test samples; {plan.model.n_params():,} parameters")
    model, history, seconds = _fit(plan, config, resume, verbose)
    if history.interrupted:
        stopped_in = model.epoch + 1
        if not plan.model_path.exists():
            log(f"interrupted in epoch {stopped_in}, before any epoch finished: no model was saved")
            return _interrupted_before_any_epoch(out, config, rd, n_val, seconds, model)
        # the model in memory may be part-way through an epoch: the figures describe the file instead
        model = Sequential.load(plan.model_path)
        history = model.history
        history.interrupted = True
        log(f"interrupted in epoch {stopped_in}: {plan.model_path} holds the model of epoch {model.epoch}; "
            f"`numpynn train --resume {out}` continues the run")
    else:
        model.save(plan.model_path)  # the final (or early-stopping best) weights with the training state
    return _write_results(out, config, model, history, plan, seconds, report, log)


@dataclass
class _RunPlan:
    """What a run trains, decided and checked before anything is written."""

    data: RunData
    model: Sequential
    model_path: Path
    n_val: int
    optimizer: Optimizer | None
    callbacks: list[Callback]
    augment: Any


def _plan(config: TrainConfig, out: Path, resume: bool, log) -> _RunPlan:
    """The data, loss, memory, model, optimizer, callbacks and augmentation of a run."""
    rd = load_run_data(config, log=log)
    n_out = rd.y_train.shape[1] * outputs_per_target(config) if rd.is_regression else \
        n_outputs_for(config, len(rd.class_names))
    loss = resolve_loss(config, n_out, rd.task)
    check_memory(config, rd.n_train, rd.X_train.shape[1], n_out)
    model = build_model(config, rd.X_train.shape[1], n_out, rd.preprocessing)
    model.preprocessing = rd.preprocessing
    model.set_loss(loss)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / "model.safetensors"
    if resume:
        model = resumable_model(model_path, model, config)
    elif rd.is_regression:
        start_at_target_mean(model, rd.y_train)
    # the rows fit will hold out (it splits the same way), to count the steps per epoch and report the split
    n_val = 0
    if rd.stream is not None:  # the stream holds out its own validation rows
        n_val = 0 if rd.validation is None else len(rd.validation[0])
    elif config.validation_split:
        n_val = len(validation_rows(len(rd.X_train), config.validation_split, model.seed)[1])
    n_fit = rd.n_train - n_val
    steps = math.ceil(n_fit / min(config.batch_size or n_fit, n_fit))
    optimizer = None if resume else optimizer_for(config, steps)  # resumed: the file's, with its state
    if resume:
        stretch_schedule(model.optimizer, optimizer_for(config, steps))
    augment = None
    if config.augment and rd.image_shape is not None and len(rd.image_shape) == 2:
        augment = datasets.Augmenter(rd.image_shape, config.shift, config.rotate, config.elastic,
                                     config.elastic_sigma, config.noise, flip=config.flip, scale=config.scale)
    return _RunPlan(rd, model, model_path, n_val, optimizer, build_callbacks(config, model_path, n_val > 0),
                    augment)


def _fit(plan: _RunPlan, config: TrainConfig, resume: bool, verbose: int) -> tuple[Sequential, History, float]:
    """Train the planned model: (model, history, seconds of training). A divergence says what the file holds."""
    model, rd = plan.model, plan.data
    t0 = time.perf_counter()
    X, y, held = rd.X_train, rd.y_train, {"validation_split": config.validation_split}
    if rd.stream is not None:  # the training rows come from disk every epoch; the validation rows are held
        X, y, held = rd.stream, None, {"validation_data": rd.validation}
    try:
        history = model.fit(X, y, optimizer=plan.optimizer, epochs=config.epochs,
                            batch_size=config.batch_size or None, **held,
                            metrics=["mae"] if rd.is_regression else ["accuracy"], callbacks=plan.callbacks,
                            verbose=verbose, augment=plan.augment, resume=resume, precision=config.precision)
    except TrainingDivergedError as exc:
        for cb in plan.callbacks:  # the last good epoch, if only kept in memory, goes to the file
            if isinstance(cb, ModelCheckpoint):
                cb.flush()
        raise TrainingDivergedError(f"{exc} {_what_the_file_holds(plan.model_path)}") from None
    return model, history, time.perf_counter() - t0


def _write_results(out: Path, config: TrainConfig, model: Sequential, history: History, plan: _RunPlan,
                   seconds: float, report: bool, log) -> RunResult:
    """The history, the test figures (metrics.json) and the report of a finished (or interrupted) run."""
    rd, n_val = plan.data, plan.n_val
    atomic_write_bytes(out / "history.json", history.to_json().encode())
    atomic_write_bytes(out / "history.csv", history.to_csv().encode())
    outputs = None
    if rd.is_regression:
        test = evaluate_regression(model, rd.X_test, rd.y_test)
    else:  # one pass over the test set for the metrics and the report
        outputs = classifier_outputs(model, rd.X_test)
        test = evaluate_classifier(model, rd.X_test, rd.y_test, len(rd.class_names), outputs=outputs)
    summary = {"test": test, "train_seconds": seconds, "epochs": model.epoch, "interrupted": history.interrupted,
               "stopped_early": history.stopped_early, "dataset": config.dataset, "task": rd.task,
               "samples": {"train": rd.n_train - n_val, "validation": n_val, "test": len(rd.X_test)},
               "timing": timing(history, rd.n_train - n_val)}
    atomic_write_bytes(out / "metrics.json", json.dumps(summary, indent=1).encode())
    result = (f"test R\u00b2 {test['r2']:.4f} (MSE {test['mse']:.4g}, MAE {test['mae']:.4g})" if rd.is_regression
              else f"test accuracy {100 * test['accuracy']:.2f}% (loss {test['loss']:.4f})")
    log(f"{result} after {model.epoch} epochs, {seconds:.1f} s of training")
    report_path = None
    if report:
        from .report import write_report

        report_path = write_report(out, config, model, rd, summary, proba=None if outputs is None else outputs.proba)
        log(f"report: {report_path.resolve()}")
    return RunResult(out, model, test, seconds, history.interrupted, report_path)


def check_memory(config: TrainConfig, n_rows: int, n_features: int, n_outputs: int) -> None:
    """Refuse a network that cannot fit in memory, with both figures, before anything is allocated."""
    from .memory import available_bytes, gib, training_bytes

    widths = [n_features, *config.hidden, n_outputs]
    states = {"adam": 2, "adamw": 2, "rmsprop": 1, "adagrad": 1}.get(config.optimizer, 1 if config.momentum else 0)
    batch = min(config.batch_size or n_rows, n_rows)
    need = training_bytes(widths, batch, 8 if config.dtype == "float64" else 4, states)
    have = available_bytes()
    if have is not None and need > have:
        raise ConfigError(f"a {'-'.join(map(str, widths))} network needs about {gib(need)} of memory to train "
                          f"({config.optimizer}, batch {config.batch_size or 'full'}) but {gib(have)} is available; "
                          f"choose smaller --hidden layers")


def resumable_model(path: Path, fresh: Sequential, config: TrainConfig) -> Sequential:
    """The model of an interrupted run, checked against what its config builds."""
    if not path.exists():
        raise ConfigError(f"cannot resume: {path} does not exist (the run saved no model; start it again)")
    model = Sequential.load(path)
    if model.get_config()["layers"] != fresh.get_config()["layers"] or model.optimizer is None:
        raise ConfigError(f"cannot resume: {path} is not the model (with its training state) that "
                          f"{path.parent / 'config.toml'} describes")
    if model.epoch >= config.epochs:
        raise ConfigError(f"nothing to resume: {path} has finished {model.epoch} epochs and the run asks for "
                          f"{config.epochs} in all; to train it longer give a new total above {model.epoch}: "
                          f"numpynn train --resume {path.parent} --epochs N")
    return model


def stretch_schedule(optimizer: Optimizer, planned: Optimizer) -> None:
    """Give a resumed optimizer the schedule of the run's (new) length, when its schedule depends on the length
    (cosine, one_cycle): a finished run continued for more epochs goes on as a run planned that long would,
    rather than at the rate its old schedule ended at (0 for cosine). An interrupted run's length is unchanged,
    so its schedule is kept as it was."""
    old, new = optimizer.lr, planned.lr
    if isinstance(old, CosineDecay | OneCycle) and type(new) is type(old) and new.total_steps != old.total_steps:
        optimizer.lr = new


def _what_the_file_holds(path: Path) -> str:
    if not path.exists():
        return "No model was saved."
    return f"{path} holds the model of epoch {Sequential.load(path).epoch}, the last before the divergence."


def _interrupted_before_any_epoch(out: Path, config: TrainConfig, rd: RunData, n_val: int, seconds: float,
                                  model: Sequential) -> RunResult:
    """The run folder of a run stopped in its first epoch: its config and figures that say nothing was trained."""
    history = History()
    history.interrupted = True
    atomic_write_bytes(out / "history.json", history.to_json().encode())
    atomic_write_bytes(out / "history.csv", history.to_csv().encode())
    summary = {"test": None, "train_seconds": seconds, "epochs": 0, "interrupted": True, "stopped_early": False,
               "dataset": config.dataset, "model_saved": False,
               "samples": {"train": rd.n_train - n_val, "validation": n_val, "test": len(rd.X_test)}}
    atomic_write_bytes(out / "metrics.json", json.dumps(summary, indent=1).encode())
    return RunResult(out, model, {}, seconds, True, None)


def timing(history, n_train: int) -> dict[str, float]:
    """Median seconds per epoch and training samples per second (an epoch's time includes its validation)."""
    seconds = history.epochs.get("time", [])
    if not seconds:
        return {}
    median = float(np.median(seconds))
    return {"epoch_seconds": median, "samples_per_second": n_train / median if median > 0 else float("nan")}


def start_at_target_mean(model: Sequential, y: np.ndarray) -> None:
    """Start a regression's output at the targets' best constant and spread (output bias = the loss's constant:
    the mean for mse, the median, the quantiles; weights scaled by the std; both of log1p(y) with log_target),
    so that targets far from 0 (prices, ages) need not be reached one small optimizer step at a time."""
    last = model.layers[-1]
    if "b" not in last.params or "W" not in last.params:
        return
    bias, spread = model.loss.initial_output(y)
    last.params["b"][...] = bias
    last.params["W"][...] *= max(spread, 1e-12)
