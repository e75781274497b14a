"""`numpynn evaluate`: loss, accuracy and per-class figures of a saved model on a dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .common import load_model


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="loss, accuracy and per-class figures of a model on a dataset")
    p.add_argument("model", type=Path)
    p.add_argument("--data", required=True, help="dataset name or path")
    p.add_argument("--split", choices=("test", "train"), default="test")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from ..data import apply_preprocessing, load_raw
    from ..run import evaluate_classifier

    model = load_model(args.model)
    (Xtr, ytr), (Xte, yte) = load_raw(args.data)
    X, y = (Xte, yte) if args.split == "test" else (Xtr, ytr)
    X = apply_preprocessing(X, model.preprocessing)
    n_classes = model.n_outputs if model.n_outputs > 1 else 2
    result = evaluate_classifier(model, X, y.astype(np.int64), n_classes)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.split} samples: {len(X):,}   loss: {result['loss']:.4f}   accuracy: {100 * result['accuracy']:.2f}%")
    tops = "   ".join(f"top-{k[3:-9]}: {100 * v:.2f}%" for k, v in result.items() if k.startswith("top"))
    print(f"calibration error (ECE, 15 bins): {100 * result['ece']:.2f} points" + (f"   {tops}" if tops else ""))
    per = result["per_class"]
    print("class  precision  recall     F1  support")
    for i in range(n_classes):
        print(f"{i:>5}  {100 * per['precision'][i]:9.2f}  {100 * per['recall'][i]:6.2f}  {100 * per['f1'][i]:5.2f}"
              f"  {per['support'][i]:7d}")
    return 0
