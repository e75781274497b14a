"""`numpynn train`: every TrainConfig setting as a flag; writes a run folder, or continues one (--resume)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..config import ConfigError, TrainConfig
from .common import add_setting_flags, config_from_args, setting_overrides

# what a run writes into its folder: --force removes these (and nothing else) before a new run
RUN_FILES = ("model.safetensors", "config.toml", "history.json", "history.csv", "metrics.json", "report.html",
             "curves.png", "confusion.png", "predictions.png", "mistakes.png", "first_layer.png")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a network and write a run folder with model, history, plots, report")
    p.add_argument("--config", type=Path, help="a TOML file (e.g. a run's config.toml); flags override it")
    p.add_argument("--out", type=Path, help="run folder (default runs/<dataset>-<time>); must be new or empty")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="continue a run as its config.toml says: an interrupted one exactly, or (with --epochs N, "
                        "the new total) a finished one for more epochs; no other settings")
    p.add_argument("--force", action="store_true", help="reuse a non-empty --out, replacing the run in it")
    p.add_argument("--quiet", action="store_true", help="no per-epoch output")
    p.add_argument("--plain", action="store_true", help="plain lines instead of progress bars")
    p.add_argument("--no-report", action="store_true", help="skip figures and report.html")
    add_setting_flags(p)


def run(args) -> int:
    from ..run import train_run

    overrides = setting_overrides(args)
    if args.resume is not None:
        out, config = args.resume, _resumed_config(args, overrides)
    else:
        config = config_from_args(args, overrides)
        out = args.out or Path("runs") / f"{Path(config.dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        _claim(out, args.force)
    verbose = 0 if args.quiet else (2 if args.plain else 1)
    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    result = train_run(config, out, log=log, verbose=verbose, report=not args.no_report,
                       resume=args.resume is not None)
    print(result.report or result.out_dir)
    return 130 if result.interrupted else 0


def _resumed_config(args, overrides: dict) -> TrainConfig:
    """The config of the run folder being resumed, with --epochs (the new total) if given; other settings cannot
    change mid-run (the result would match neither run)."""
    epochs = overrides.pop("epochs", None)
    given = [f"--{k.replace('_', '-')}" for k in overrides] + (["--config"] if args.config else []) + \
        (["--out"] if args.out else []) + (["--force"] if args.force else [])
    if given:
        raise ConfigError(f"--resume continues a run with its own config.toml; it takes no {', '.join(given)} "
                          f"(only --epochs, the new total; start a new run with --out to change settings)")
    folder = args.resume
    if not folder.is_dir():
        raise ConfigError(f"cannot resume {str(folder)!r}: not a run folder")
    if not (folder / "config.toml").is_file():
        raise ConfigError(f"cannot resume {str(folder)!r}: it has no config.toml")
    # the run checks the new total against the epochs the folder's model has done (run.resumable_model)
    return TrainConfig.from_toml(folder / "config.toml", None if epochs is None else {"epochs": epochs})


def _claim(out: Path, force: bool) -> None:
    """Make sure `out` can take a new run: new or empty, or (with --force) cleared of an earlier run's files."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return
    if not force:
        raise ConfigError(f"--out {str(out)!r} is not empty; use --resume {out} to continue the run in it, or "
                          f"--force to replace it")
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
