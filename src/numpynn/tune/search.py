"""`nn.tune(...)` and `numpynn tune`: search a space of configs on an Optuna study, each trial an ordinary run.

    result = nn.tune("base.toml", "space.toml", trials=30, out="tunes/mnist", jobs=2)
    result.best_run_dir      # tunes/mnist/trials/0017: evaluate, export, compare it like any run folder

Calling it again with the same `out` (or --storage and --study) continues the study: `trials` counts the
study's finished trials (completed or pruned), so the same call after a crash runs only what is missing.
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checks import is_int, is_real
from ..config import ConfigError, TrainConfig, read_toml
from .extra import optuna
from .space import Space, parse_space
from .storage import DB_NAME, default_url, fail_dead_trials, open_storage, shown
from .study import TRIALS_DIR, StudySpec, finished_count, open_study, run_worker
from .workers import check_jobs, run_workers


@dataclass
class TuneResult:
    """What a search left: the study (name, storage), its best trial and where things are."""

    study: str
    storage: str
    out: Path
    n_finished: int  # completed or pruned trials in the study
    n_failed: int
    best_number: int | None
    best_value: float | None
    best_params: dict[str, Any]
    best_run_dir: Path | None  # None where the best trial ran on another machine (best_worker says which)
    best_worker: str | None
    report: Path | None
    worker_statuses: list[int]


def tune(config: TrainConfig | str | os.PathLike, space: dict | str | os.PathLike, *, trials: int,
         out: str | os.PathLike, jobs: int = 1, storage: str | None = None, study: str | None = None,
         timeout: float | None = None, heartbeat: int = 10, grace: int = 60, report: bool = True,
         trial_reports: bool = True, log=print, quiet_workers: bool = False, dask: str | None = None) -> TuneResult:
    """Search `space` around the base `config` until the study holds `trials` finished trials (or `timeout`
    seconds pass), with `jobs` worker processes; write OUT/tune.html. Everything is checked before anything is
    written: the config, the space, the counts, the storage, and that a resumed study has the same base and space.

    storage: an Optuna database URL (default: SQLite in OUT/study.db); study: its name (default: OUT's name).
    heartbeat, grace: seconds between a worker's heartbeats, and after which a silent worker's trial fails.
    report: write OUT/tune.html; trial_reports: each trial's figures and report.html.
    log: where this process's lines go; quiet_workers: --jobs workers print no line per trial.
    dask: a Dask scheduler's address (or "local" for a LocalCluster): the `jobs` workers run as its tasks.
    """
    base = config if isinstance(config, TrainConfig) else TrainConfig.from_toml(config)
    if not base.validation_split:
        raise ConfigError("tune compares trials on their validation figures: the base config needs "
                          "validation_split > 0")
    raw = _space_tables(space)
    parse_space(raw, base, where="space" if isinstance(space, dict) else str(space))  # every error, before all else
    trials, jobs = _count(trials, "trials"), check_jobs(jobs)
    if dask is not None and (not isinstance(dask, str) or not (dask == "local" or "://" in dask)):
        raise ConfigError(f"dask must be a scheduler address such as tcp://host:8786, or local; got {dask!r:.60}")
    if timeout is not None and (not is_real(timeout) or not math.isfinite(timeout) or timeout <= 0):
        raise ConfigError(f"timeout must be a positive number of seconds, got {timeout!r:.40}")
    heartbeat, grace = _count(heartbeat, "heartbeat"), _count(grace, "grace")
    if grace <= heartbeat:
        raise ConfigError(f"grace ({grace} s) must be longer than the heartbeat interval ({heartbeat} s)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} exists and is not a folder")
    name = study or out.resolve().name
    url = storage or default_url(out)
    if storage is not None:  # reachable before OUT is made; the default SQLite file is made in OUT
        open_storage(storage, heartbeat=heartbeat, grace=grace)
    elif not (out / DB_NAME).exists() and (out / TRIALS_DIR).is_dir() and any((out / TRIALS_DIR).iterdir()):
        raise ConfigError(f"{out / TRIALS_DIR} holds trials but {out / DB_NAME} is missing: give a new --out, or "
                          f"the --storage the study lives in")
    if storage is not None or (out / DB_NAME).exists():
        _check_trials_folder(out, url, name, heartbeat, grace)
    spec = StudySpec(base.to_toml(), raw, str(out.resolve()), url, name, trials,
                     None if timeout is None else float(timeout), heartbeat, grace, bool(trial_reports),
                     shared=jobs > 1 or storage is not None or dask is not None, quiet=bool(quiet_workers))
    optuna()
    out.mkdir(parents=True, exist_ok=True)
    the_study, db = open_study(spec, create=True)
    resumed = finished_count(the_study)
    failed = fail_dead_trials(the_study, db)
    log(f"study {name!r} in {shown(url)}: {resumed} of {trials} trials finished"
        + (f"; trial(s) {failed} of a stopped worker marked failed" if failed else ""))
    statuses = [0]
    if dask is not None:
        from .dask_workers import run_on_dask

        statuses = [0 for _ in run_on_dask(spec, dask, jobs, log=log)]
    elif jobs == 1:
        run_worker(spec, 0, log=log)
    else:
        statuses = run_workers(spec, jobs, log=log)
    page = None
    if report:
        from .report import write_tune_report

        page = write_tune_report(the_study, out, figures=importlib.util.find_spec("matplotlib") is not None)
        log(f"report: {page.resolve()}")
    return _result(the_study, spec, out, page, statuses)


def _check_trials_folder(out: Path, url: str, name: str, heartbeat: int, grace: int) -> None:
    """A new study cannot write its trials over the run folders of another one in OUT/trials."""
    folder = out / TRIALS_DIR
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    if name not in optuna().get_all_study_names(open_storage(url, heartbeat=heartbeat, grace=grace)):
        raise ConfigError(f"{folder} holds the trials of another study; a new study {name!r} needs its own --out")


def _space_tables(space: Space | dict | str | os.PathLike) -> dict[str, Any]:
    if isinstance(space, Space):
        raise ConfigError("give the space as its TOML file or its tables (a dict), as a study records it")
    if isinstance(space, dict):
        return space
    return read_toml(space, "space")


def _count(value: Any, name: str) -> int:
    if not is_int(value) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r:.40}")
    return int(value)


def _result(study: Any, spec: StudySpec, out: Path, page: Path | None, statuses: list[int]) -> TuneResult:
    state = optuna().trial.TrialState
    done = study.get_trials(deepcopy=False, states=(state.COMPLETE,))
    failed = study.get_trials(deepcopy=False, states=(state.FAIL,))
    best = study.best_trial if done else None
    run_dir = out / best.user_attrs["run_dir"] if best is not None and "run_dir" in best.user_attrs else None
    if run_dir is not None and not (run_dir / "config.toml").is_file():  # run by a worker on another machine
        run_dir = None
    return TuneResult(spec.study, shown(spec.storage), out, finished_count(study), len(failed),
                      None if best is None else best.number, None if best is None else float(best.value),
                      {} if best is None else _decoded(best.params, spec), run_dir,
                      None if best is None else best.user_attrs.get("worker"), page, statuses)


def _decoded(params: dict[str, Any], spec: StudySpec) -> dict[str, Any]:
    """A trial's values as the settings take them (a list-valued choice is stored as its JSON text)."""
    by_name = {p.name: p for p in spec.parsed_space().params}
    return {k: by_name[k].decode(v) if k in by_name else v for k, v in params.items()}
