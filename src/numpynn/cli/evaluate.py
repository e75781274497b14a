"""`numpynn evaluate`: loss, accuracy and per-class figures (or MSE/RMSE/MAE/R² for a regression) of a saved
model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .common import load_model


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="loss, accuracy and per-class figures of a model on a dataset")
    p.add_argument("model", type=Path)
    p.add_argument("--data", required=True, help="dataset name or path")
    p.add_argument("--split", choices=("test", "train", "all"), default=None,
                   help="which rows to score: a named dataset's test split by default; a file given for "
                        "evaluation is scored whole (all) unless --split test/train asks for numpynn's 80/20 split")
    p.add_argument("--label-column", help="a CSV's label column (default: the one the model was trained with)")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from ..data import DATASETS, load_dataset
    from ..evaluation import evaluate_classifier, evaluate_regression
    from ..tables import prepare
    from .predict import class_names_of

    model = load_model(args.model)
    prep = model.preprocessing
    regression = not model.loss.is_classification
    names = None if regression else class_names_of(model)
    label = args.label_column or prep.get("label_column")
    split = args.split or ("test" if args.data in DATASETS else "all")
    ds = load_dataset(args.data, label_column=label if isinstance(label, str) else None,
                      task="regression" if regression else "classification", class_names=names,
                      whole=split == "all" and args.data not in DATASETS)
    X, y = ds.train if split == "train" else ds.test
    if split == "all" and args.data in DATASETS:  # a named dataset's train and test splits together
        X, y = np.concatenate([ds.train[0], ds.test[0]]), np.concatenate([ds.train[1], ds.test[1]])
    X = prepare(X, prep)
    args.split = split
    if regression:
        result = evaluate_regression(model, X, y.reshape(len(y), -1))
        if args.json:
            print(json.dumps(result))
        else:
            print(f"{args.split} samples: {len(X):,}   loss ({model.loss.name}): {result['loss']:.6g}   "
                  f"MSE: {result['mse']:.6g}   RMSE: {result['rmse']:.6g}   MAE: {result['mae']:.6g}   "
                  f"R\u00b2: {result['r2']:.4f}")
            if "coverage" in result:  # a quantile model: how often the target fell at or below each quantile
                print("coverage: " + "   ".join(f"q{q}: {100 * c:.1f}%" for q, c in result["coverage"].items()))
        return 0
    result = evaluate_classifier(model, X, y, len(names))
    if args.json:
        print(json.dumps({**result, "classes": names}))
        return 0
    print(f"{args.split} samples: {len(X):,}   loss: {result['loss']:.4f}   accuracy: {100 * result['accuracy']:.2f}%")
    tops = "   ".join(f"top-{k[3:-9]}: {100 * v:.2f}%" for k, v in result.items() if k.startswith("top"))
    print(f"calibration error (ECE, 15 bins): {100 * result['ece']:.2f} points" + (f"   {tops}" if tops else ""))
    per = result["per_class"]
    width = max(5, *(len(n) for n in names))
    print(f"{'class':>{width}}  precision  recall     F1  support")
    for i, name in enumerate(names):
        print(f"{name:>{width}}  {100 * per['precision'][i]:9.2f}  {100 * per['recall'][i]:6.2f}  "
              f"{100 * per['f1'][i]:5.2f}  {per['support'][i]:7d}")
    return 0
