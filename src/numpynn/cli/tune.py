"""`numpynn tune`: search a space of settings around a base config; every trial is a run folder in OUT/trials."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("tune", help="search settings with Optuna (numpynn[tune]): trials as run folders, "
                       "pruning, resumable, --jobs workers, tune.html")
    p.add_argument("--config", type=Path, required=True, help="the base config (TOML, e.g. a run's config.toml)")
    p.add_argument("--space", type=Path, required=True, help="the search space (TOML: [space], [pruner], [search])")
    p.add_argument("--trials", type=int, required=True, help="finished trials the study should hold; the same "
                   "command again continues it")
    p.add_argument("--out", type=Path, required=True, help="the tune folder: study.db, trials/NNNN, tune.html")
    p.add_argument("--jobs", type=int, default=1, help="worker processes on this machine (the cores are split "
                   "between them)")
    p.add_argument("--storage", help="an Optuna database URL shared by workers on many machines, e.g. "
                   "postgresql://user@host/db (default: SQLite in --out)")
    p.add_argument("--study", help="the study's name in the storage (default: the --out folder's name)")
    p.add_argument("--dask", metavar="ADDRESS", help="run the --jobs workers as tasks of a Dask cluster "
                   "(tcp://scheduler:8786), or of a LocalCluster on this machine (local)")
    p.add_argument("--timeout", type=float, help="seconds after which no new trial starts")
    p.add_argument("--no-report", action="store_true", help="skip tune.html and each trial's figures and report.html")
    p.add_argument("--quiet", action="store_true", help="no line per trial")


def run(args) -> int:
    from ..tune import tune

    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    result = tune(args.config, args.space, trials=args.trials, out=args.out, jobs=args.jobs, storage=args.storage,
                  study=args.study, timeout=args.timeout, report=not args.no_report,
                  trial_reports=not args.no_report, log=log, quiet_workers=args.quiet,
                  dask=args.dask)
    if result.best_number is not None:
        where = result.best_run_dir or f"its run folder is on the machine of worker {result.best_worker}"
        log(f"best: trial {result.best_number}, {result.best_value:.4g}, {result.best_params} -> {where}")
    print(result.report or result.out)
    return 0 if all(code == 0 for code in result.worker_statuses) else 1
