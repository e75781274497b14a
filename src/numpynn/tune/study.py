"""A study: its storage and name, the base config and space it was started with, and the loop a worker runs.

Each trial is an ordinary run folder, `OUT/trials/NNNN` (the trial's number), made by the code `numpynn train`
runs, with a TrialPruning callback added; the trial's value is the objective of the model its folder holds.
"""

from __future__ import annotations

import json
import os
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ConfigError, TrainConfig
from ..errors import TrainingDivergedError
from .extra import optuna
from .pruning import TrialPruning
from .space import Param, Space, parse_space, trial_config
from .storage import WORKER_ATTR, fail_dead_trials, open_storage, shown, worker_id

TRIALS_DIR = "trials"
SAME_FAILURES = 3  # a worker stops after this many of its trials in a row failed with the same error


@dataclass
class StudySpec:
    """Everything a worker needs, as plain data (it travels to worker processes as JSON)."""

    base_toml: str  # the base config, as TrainConfig.to_toml writes it
    space: dict[str, Any]  # the space file's tables
    out: str
    storage: str
    study: str
    trials: int  # the study ends when this many trials completed or were pruned
    timeout: float | None = None  # seconds after which a worker starts no new trial
    heartbeat: int = 10
    grace: int = 60
    reports: bool = True  # each trial's figures and report.html
    shared: bool = False  # other processes (--jobs, --storage) may run trials of the study at the same time
    quiet: bool = False  # worker processes print no line per trial

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> StudySpec:
        return cls(**json.loads(text))

    def base_config(self) -> TrainConfig:
        # to_toml writes every setting in its section
        return TrainConfig(**{k: v for table in tomllib.loads(self.base_toml).values() for k, v in table.items()})

    def parsed_space(self) -> Space:
        return parse_space(self.space, self.base_config())


def open_study(spec: StudySpec, *, create: bool) -> tuple[Any, Any]:
    """(study, storage). With `create`, a new study records its base config and space, and an existing one must
    have been started with the same ones; ConfigError otherwise (nothing is changed in it)."""
    opt, space = optuna(), spec.parsed_space()
    storage = open_storage(spec.storage, heartbeat=spec.heartbeat, grace=spec.grace)
    if spec.study not in opt.get_all_study_names(storage) and not create:
        raise ConfigError(f"no study {spec.study!r} in {shown(spec.storage)}")
    pruner = _pruner(space, spec.base_config())
    study = opt.create_study(storage=storage, study_name=spec.study, direction=space.direction,
                             pruner=pruner, load_if_exists=True)
    if study.direction.name.lower() != space.direction:
        raise ConfigError(f"study {spec.study!r} {study.direction.name.lower()}s; this space's objective "
                          f"{space.objective} needs {space.direction}")
    attrs = study.user_attrs
    if "base_config" not in attrs:
        study.set_user_attr("base_config", spec.base_toml)
        study.set_user_attr("space", space.canonical())
        study.set_user_attr("trials", spec.trials)
    elif attrs["base_config"] != spec.base_toml or attrs.get("space") != space.canonical():
        what = "base config" if attrs["base_config"] != spec.base_toml else "space"
        raise ConfigError(f"study {spec.study!r} in {shown(spec.storage)} was started with another {what}; a "
                          f"changed search is a new study: give another --study or --out")
    return study, storage


def _pruner(space: Space, base: TrainConfig) -> Any:
    opt = optuna()
    s = space.pruner_settings
    if space.pruner == "median":
        return opt.pruners.MedianPruner(n_startup_trials=s["startup_trials"], n_warmup_steps=s["warmup_epochs"])
    if space.pruner == "hyperband":
        searched = any(p.name == "epochs" for p in space.params)
        return opt.pruners.HyperbandPruner(min_resource=s["min_epochs"], reduction_factor=s["reduction_factor"],
                                           max_resource="auto" if searched else base.epochs)
    return opt.pruners.NopPruner()


def _sampler(space: Space, worker: int, n_trials: int, shared: bool) -> Any:
    """TPE (or random), seeded from the space's seed, the worker, the trials the study holds already (a resumed
    study does not draw its first trials again) and, where other processes share the study, this process: two
    workers with one seed would propose the same trials. Alone on a study, the same search repeats."""
    opt = optuna()
    entropy = [space.seed, worker, n_trials] + ([os.getpid(), *worker_id().encode()] if shared else [])
    seed = int(np.random.SeedSequence(entropy).generate_state(1)[0] & 0x7FFFFFFF)
    if space.sampler == "random":
        return opt.samplers.RandomSampler(seed=seed)
    return opt.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(2, 2 * len(space.params))))


def finished_count(study: Any) -> int:
    state = optuna().trial.TrialState
    return len(study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED)))


def run_worker(spec: StudySpec, worker: int = 0, log=print) -> int:
    """Run trials of the study until it has `spec.trials` finished ones (completed or pruned; the running ones
    of other workers count as they will finish), or `spec.timeout` passes; the number of trials run here.
    Workers that look at the count at the same moment may each start a trial: K workers finish at most K - 1
    trials more than asked (as Optuna's MaxTrialsCallback does)."""
    opt, space = optuna(), spec.parsed_space()
    study, storage = open_study(spec, create=False)
    study.sampler = _sampler(space, worker, len(study.get_trials(deepcopy=False)), spec.shared)
    base, start, ran = spec.base_config(), time.monotonic(), 0
    state = opt.trial.TrialState
    failures: list[tuple[int, str]] = []  # this worker's failed trials since its last finished one
    while True:
        fail_dead_trials(study, storage)
        taken = len(study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED, state.RUNNING)))
        if taken >= spec.trials or (spec.timeout is not None and time.monotonic() - start >= spec.timeout):
            return ran
        study.optimize(lambda trial: _objective(trial, spec, space, base, log), n_trials=1,
                       catch=(ConfigError, TrainingDivergedError))
        ran += 1
        last = _last_own_trial(study)
        if last is not None and last.state == state.FAIL:
            failures.append((last.number, str(last.user_attrs.get("error", ""))))
        else:
            failures = []
        if len(failures) >= SAME_FAILURES and len({e for _, e in failures[-SAME_FAILURES:]}) == 1:
            # a failure every trial repeats (an objective the run does not record) would otherwise never end
            numbers = [n for n, _ in failures[-SAME_FAILURES:]]
            raise ConfigError(f"trials {numbers} all failed alike, so the search stops: {failures[-1][1]}")


def _last_own_trial(study: Any) -> Any:
    """The latest trial this process ran (other workers' trials interleave with its own)."""
    me = worker_id()
    own = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(WORKER_ATTR) == me]
    return own[-1] if own else None


def suggest(trial: Any, p: Param) -> Any:
    if p.choices is not None:
        return p.decode(trial.suggest_categorical(p.name, p.encoded_choices()))
    if p.is_int:
        return trial.suggest_int(p.name, p.low, p.high, step=p.step or 1, log=p.log)
    return trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log)


def _objective(trial: Any, spec: StudySpec, space: Space, base: TrainConfig, log) -> float:
    from ..run import train_run

    trial.set_user_attr(WORKER_ATTR, worker_id())
    trial.set_user_attr("blas_threads", blas_threads())
    folder = Path(spec.out) / TRIALS_DIR / f"{trial.number:04d}"
    trial.set_user_attr("run_dir", str(folder.relative_to(spec.out)))
    values = {p.name: suggest(trial, p) for p in space.params}
    try:
        config = trial_config(base, values)
    except ConfigError as exc:  # a combination the config refuses (e.g. one activation per hidden layer)
        trial.set_user_attr("error", str(exc))
        log(f"trial {trial.number}: failed: {exc}")
        raise
    pruning = TrialPruning(trial, space.objective)
    quiet = lambda *a, **k: None  # noqa: E731
    try:
        result = train_run(config, folder, log=quiet, verbose=0, report=spec.reports,
                           callbacks=[pruning])
    except (ConfigError, TrainingDivergedError) as exc:
        trial.set_user_attr("error", str(exc))
        log(f"trial {trial.number}: failed: {exc}")
        raise
    if result.interrupted:
        raise KeyboardInterrupt
    history = result.model.history
    restored = history.stopped_early and pruning.pruned_at is None and bool(config.early_stopping)
    value = objective_value(history.epochs, space.objective, restored)
    trial.set_user_attr("epochs", int(result.model.epoch))
    trial.set_user_attr("seconds", round(result.seconds, 3))
    trial.set_user_attr("test", {k: v for k, v in result.test_metrics.items() if isinstance(v, (int, float))})
    where = f"{folder}{os.sep}"
    if pruning.pruned_at is not None:
        trial.set_user_attr("pruned_at", pruning.pruned_at)
        log(f"trial {trial.number}: pruned after epoch {pruning.pruned_at} ({space.objective} {value:.4g}) {where}")
        raise optuna().TrialPruned()
    log(f"trial {trial.number}: {space.objective} {value:.4g} after {result.model.epoch} epochs, "
        f"{result.seconds:.1f} s {where}")
    return value


def blas_threads() -> int | None:
    """The BLAS threads this process computes with (None without threadpoolctl to ask)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [p.get("num_threads") for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else None


def objective_value(epochs: dict[str, list[float]], objective: str, restored: bool) -> float:
    """The objective of the model the run folder holds: the last epoch's or, when early stopping restored its best
    weights (those of the lowest val_loss), that epoch's."""
    values = epochs.get(objective, [])
    if not values:
        raise ConfigError(f"the run recorded no {objective}: the base config needs validation_split > 0")
    if restored and "val_loss" in epochs:
        losses = epochs["val_loss"]
        return float(values[losses.index(min(losses))])
    return float(values[-1])
