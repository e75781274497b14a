"""`numpynn lr-find`: the learning-rate range test (Smith 2017) on a run's model and data; plot and suggestion."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .common import add_setting_flags, config_from_args, setting_overrides


def add_parser(sub) -> None:
    p = sub.add_parser("lr-find", help="learning-rate range test: loss against a growing rate, a suggested rate")
    p.add_argument("--config", type=Path, help="a TOML file (e.g. a run's config.toml); flags override it")
    p.add_argument("--out", type=Path, default=Path("runs") / "lr-find", help="folder for lr_find.png/.json")
    p.add_argument("--steps", type=int, default=100, help="minibatches (one rate each)")
    p.add_argument("--start-lr", type=float, default=1e-6)
    p.add_argument("--end-lr", type=float, default=1.0)
    add_setting_flags(p)  # the same settings as `numpynn train`: the model and data under test


def run(args) -> int:
    import importlib.util

    from ..atomic import atomic_write_bytes
    from ..run import build_model, load_run_data, n_outputs_for, resolve_loss
    from ..training.lr_find import lr_find

    overrides = setting_overrides(args)
    config = config_from_args(args, overrides)
    rd = load_run_data(config, log=lambda msg: print(msg, file=sys.stderr))
    n_out = rd.y_train.shape[1] if rd.is_regression else n_outputs_for(config, len(rd.class_names))
    model = build_model(config, rd.X_train.shape[1], n_out, rd.preprocessing)
    model.set_loss(resolve_loss(config, n_out, rd.task))
    result = lr_find(model, rd.X_train, rd.y_train, optimizer=config.optimizer, start_lr=args.start_lr,
                     end_lr=args.end_lr, steps=args.steps, batch_size=config.batch_size or 128, seed=config.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / "lr_find.json", json.dumps(result.to_dict(), indent=1).encode())
    if importlib.util.find_spec("matplotlib") is not None:
        result.plot(args.out / "lr_find.png")
        print(f"plot: {(args.out / 'lr_find.png').resolve()}", file=sys.stderr)
    print(f"tried {len(result.lrs)} rates from {result.lrs[0]:.2g} to {result.lrs[-1]:.2g}; "
          f"suggested learning rate ({result.rule}):", file=sys.stderr)
    print(f"{result.suggestion:.3g}")
    return 0
