"""`numpynn info`: a model file's layers, parameters and training state."""

from __future__ import annotations

import json
from pathlib import Path

from .common import load_model


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="a model file's layers, parameters and training state")
    p.add_argument("model", type=Path)


def run(args) -> int:
    model = load_model(args.model)
    model.summary()
    print(f"epochs trained: {model.epoch}")
    if model.optimizer is not None:
        print(f"optimizer: {model.optimizer!r} after {model.optimizer.iterations:,} steps")
    h = model.history.epochs
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if h.get(key):
            print(f"last {key}: {h[key][-1]:.4f}")
    if model.preprocessing:
        print(f"preprocessing: {json.dumps(model.preprocessing)}")
    return 0
