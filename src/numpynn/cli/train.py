"""`numpynn train`: every TrainConfig setting as a flag; writes a run folder."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path

from ..config import BOOL, TrainConfig
from .common import parse_value


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a network and write a run folder with model, history, plots, report")
    p.add_argument("--config", type=Path, help="a TOML file (e.g. a run's config.toml); flags override it")
    p.add_argument("--out", type=Path, help="run folder (default runs/<dataset>-<time>)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch output")
    p.add_argument("--plain", action="store_true", help="plain lines instead of progress bars")
    p.add_argument("--no-report", action="store_true", help="skip figures and report.html")
    for f in fields(TrainConfig):
        flag, text = "--" + f.name.replace("_", "-"), f.metadata["help"]
        if f.metadata["kind"] is BOOL:
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            p.add_argument(flag, dest=f.name, default=None, help=text, type=lambda t, n=f.name: parse_value(n, t))


def run(args) -> int:
    from ..run import train_run

    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    config = TrainConfig.from_toml(args.config, overrides) if args.config else TrainConfig(**overrides)
    out = args.out or Path("runs") / f"{Path(config.dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    verbose = 0 if args.quiet else (2 if args.plain else 1)
    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    result = train_run(config, out, log=log, verbose=verbose, report=not args.no_report)
    print(result.report or result.out_dir)
    return 130 if result.interrupted else 0
