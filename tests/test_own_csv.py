"""Your own CSV through the real `numpynn` command: mixed-scale columns, text labels, the label column by name and
by index, a real regression (scikit-learn's diabetes table), predict on the labelled CSV, evaluate."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import numpynn as nn

QUICK = ["--batch-size", "32", "--no-augment", "--quiet", "--dropout", "0"]


def numpynn(*args, timeout=300):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "numpynn.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def test_mixed_scale_columns_train_per_column_and_predict_drops_the_label(tmp_path):
    rng = np.random.default_rng(0)
    n = 1500
    a, b, income = rng.random(n), rng.random(n), rng.normal(50_000, 15_000, n)
    label = np.where(a > b, "yes", "no")
    path = tmp_path / "mixed.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "income", "answer"])
        w.writerows(zip(a.round(5), b.round(5), income.round(2), label, strict=True))
    run = tmp_path / "run"
    r = numpynn("train", "--dataset", path, "--label-column", "answer", "--normalize", "standardize", "--hidden",
                "16", "--epochs", "25", "--lr", "0.01", "--out", run, *QUICK, "--no-report")
    assert r.returncode == 0, r.stderr
    m = metrics(run)
    assert m["task"] == "classification" and m["test"]["accuracy"] >= 0.97, m["test"]["accuracy"]
    model = nn.load(run / "model.safetensors")
    prep = model.preprocessing
    assert prep["class_names"] == ["no", "yes"] and prep["label_column"] == "answer"
    assert prep["feature_names"] == ["a", "b", "income"] and prep["table"]["scaling"] == "standardize"
    assert [e["name"] for e in prep["table"]["columns"]] == ["a", "b", "income"]
    assert prep["table"]["columns"][2]["factor"] < 1e-3  # each column by its own deviation

    r = numpynn("predict", run / "model.safetensors", path, "--out", tmp_path / "pred.csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / "pred.csv")))
    assert len(rows) == n and set(rows[0]) == {"row", "answer", "probability"}
    assert np.mean([row["answer"] == t for row, t in zip(rows, label, strict=True)]) >= 0.97
    r = numpynn("predict", run / "model.safetensors", path)  # to stdout, the same table
    assert r.returncode == 0 and r.stdout == (tmp_path / "pred.csv").read_text()

    r = numpynn("evaluate", run / "model.safetensors", "--data", path, "--split", "test", "--json")
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout)
    assert ev["classes"] == ["no", "yes"] and ev["accuracy"] == pytest.approx(m["test"]["accuracy"])
    r = numpynn("evaluate", run / "model.safetensors", "--data", path)
    assert r.returncode == 0 and "  yes  " in r.stdout and "  no  " in r.stdout


def iris_csv(path: Path, *, header: bool, label_first: bool) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        if header:
            w.writerow(["species", *names] if label_first else [*names, "species"])
        for x, t in zip(iris.data, iris.target, strict=True):
            name = str(iris.target_names[t])
            w.writerow([name, *x] if label_first else [*x, name])


@pytest.mark.parametrize("header, label_first, flag", [(True, True, "species"), (False, True, "0")])
def test_text_labels_with_the_label_column_by_name_or_by_index(tmp_path, header, label_first, flag):
    pytest.importorskip("sklearn")
    path = tmp_path / "iris.csv"
    iris_csv(path, header=header, label_first=label_first)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Excel writes it
    run = tmp_path / "run"
    r = numpynn("train", "--dataset", path, "--label-column", flag, "--normalize", "standardize", "--hidden", "16",
                "--epochs", "60", "--lr", "0.01", "--out", run, *QUICK, "--no-report")
    assert r.returncode == 0, r.stderr
    m = metrics(run)
    assert m["samples"]["train"] + m["samples"]["validation"] + m["samples"]["test"] == 150  # no row lost
    assert m["test"]["accuracy"] >= 0.85
    model = nn.load(run / "model.safetensors")
    assert model.preprocessing["class_names"] == ["setosa", "versicolor", "virginica"]
    r = numpynn("predict", run / "model.safetensors", path, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["labels"]) == 150 and set(out["labels"]) <= {"setosa", "versicolor", "virginica"}


def test_a_real_regression_csv_trains_end_to_end(tmp_path):
    pytest.importorskip("matplotlib")
    sk = pytest.importorskip("sklearn.datasets")
    d = sk.load_diabetes(scaled=False)  # 442 patients, 10 measurements, disease progression after a year
    path = tmp_path / "diabetes.csv"
    np.savetxt(path, np.column_stack([d.data, d.target]), delimiter=",", comments="", fmt="%.6g",
               header=",".join([*d.feature_names, "progression"]))
    run = tmp_path / "run"
    r = numpynn("train", "--dataset", path, "--normalize", "standardize", "--hidden", "16", "--epochs", "60",
                "--out", run, *QUICK)
    assert r.returncode == 0, r.stderr
    files = {p.name for p in run.iterdir()}
    assert {"model.safetensors", "config.toml", "history.json", "history.csv", "metrics.json", "curves.png",
            "report.html"} <= files
    m = metrics(run)
    assert m["task"] == "regression"  # fractional targets: the stated rule picks a regression
    test = m["test"]
    assert {"mse", "mae", "r2", "loss"} <= set(test) and 0.3 < test["r2"] < 1  # a linear model gets about 0.45
    assert "R\u00b2" in (run / "report.html").read_text() and "MAE" in (run / "report.html").read_text()
    r = numpynn("evaluate", run / "model.safetensors", "--data", path, "--split", "test", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["r2"] == pytest.approx(test["r2"], rel=1e-5)
    r = numpynn("evaluate", run / "model.safetensors", "--data", path)  # a file given to evaluate is scored whole
    assert r.returncode == 0 and "all samples: 442" in r.stdout, r.stdout + r.stderr
    r = numpynn("predict", run / "model.safetensors", path)
    assert r.returncode == 0, r.stderr
    table = list(csv.reader(io.StringIO(r.stdout)))
    assert table[0] == ["row", "progression"] and len(table) == 443
    pred = np.array([float(v) for _, v in table[1:]])
    assert 25 < pred.mean() < 350 and np.corrcoef(pred, d.target)[0, 1] > 0.6


def test_iris_with_loss_mse_is_a_regression_or_a_clear_error(tmp_path):
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris

    iris = load_iris()
    path = tmp_path / "iris_numeric.csv"
    np.savetxt(path, np.column_stack([iris.data, iris.target]), delimiter=",", fmt="%g")
    r = numpynn("train", "--dataset", path, "--loss", "mse", "--hidden", "8", "--epochs", "5", "--out",
                tmp_path / "run", *QUICK, "--no-report")
    assert r.returncode == 0, r.stderr
    assert metrics(tmp_path / "run")["task"] == "regression" and "r2" in metrics(tmp_path / "run")["test"]
    text = tmp_path / "iris.csv"
    iris_csv(text, header=True, label_first=False)
    r = numpynn("train", "--dataset", text, "--loss", "mse", "--out", tmp_path / "run2", *QUICK)
    assert r.returncode == 2 and "loss mse trains a regression, but the targets are text" in r.stderr
    assert "Traceback" not in r.stderr
    r = numpynn("train", "--dataset", path, "--loss", "mse", "--task", "classification", "--out", tmp_path / "run3",
                *QUICK)
    assert r.returncode == 2 and "loss mse is for a regression" in r.stderr


def test_a_stray_label_is_refused_with_what_was_found(tmp_path):
    rng = np.random.default_rng(1)
    y = np.concatenate([rng.integers(0, 10, 200), [100000]])
    path = tmp_path / "stray.csv"
    np.savetxt(path, np.column_stack([rng.random((201, 4)), y]), delimiter=",", fmt="%g")
    r = numpynn("train", "--dataset", path, "--out", tmp_path / "run", *QUICK)
    assert r.returncode == 2 and "labels span 0..100000 but only 11 distinct values occur" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()  # refused before a run folder is made


def refused(r, tmp_path) -> str:
    """The one-line error of a refused `numpynn train`, which made no run folder."""
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "run").exists()
    return r.stderr


@pytest.mark.parametrize("cell, shown", [(b"NA", "'NA'"), (b'"0,5"', "'0,5'"), (b"0.5\0", r"'0.5\x00'")])
def test_a_stray_cell_in_a_feature_column_is_refused_not_taken_as_the_labels(tmp_path, cell, shown):
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{int(a > b)}".encode() for a, b in rng.random((40, 2))]
    rows[6] = b"0.25," + cell + b",1"
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b,label\n" + b"\n".join(rows) + b"\n")
    r = numpynn("train", "--dataset", path, "--out", tmp_path / "run", *QUICK, "--epochs", "1", "--no-report")
    if cell == b"NA":  # a missing cell of a table: imputed, with a missing flag
        assert r.returncode == 0, r.stderr
        assert nn.load(tmp_path / "run" / "model.safetensors").preprocessing["table"]["columns"][1]["indicator"]
        return
    assert f"bad.csv: row 8, column 2 ('b'): {shown} is not a number" in refused(r, tmp_path)


def test_a_guess_between_a_column_named_y_and_a_text_column_is_refused_with_both(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y,species\n" + "".join(f"{i},{i % 2},{'ab'[i % 2]}\n" for i in range(20)))
    r = numpynn("train", "--dataset", path, "--out", tmp_path / "run", *QUICK, "--epochs", "1", "--no-report")
    assert ("which column is the label? It could be any of 'y', 'species'; say which with --label-column"
            in refused(r, tmp_path))


@pytest.mark.parametrize("header, message", [("a,label,label", "columns 2 and 3 are both named 'label'"),
                                             ("a,b,b", "columns 2 and 3 are both named 'b'")])
def test_columns_of_one_name_are_refused(tmp_path, header, message):
    path = tmp_path / "d.csv"
    path.write_text(header + "\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20)))
    r = numpynn("train", "--dataset", path, "--out", tmp_path / "run", *QUICK, "--epochs", "1", "--no-report")
    assert message in refused(r, tmp_path)


@pytest.mark.parametrize("n, message", [(2, "2 samples are too few to split into training and test sets"),
                                        (6, "the 20 % test split of 6 samples is empty")])
def test_a_table_too_small_for_a_test_set_says_so(tmp_path, n, message):
    path = tmp_path / "small.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i * i},{i % 3}\n" for i in range(n)))
    r = numpynn("train", "--dataset", path, "--out", tmp_path / "run", *QUICK, "--epochs", "1", "--no-report")
    assert f"small.csv: {message}" in refused(r, tmp_path)


def test_a_300_mb_line_is_refused_with_its_line_number(tmp_path):
    path = tmp_path / "long.csv"
    with open(path, "wb") as f:  # sparse: a hole of 300 MB on line 4
        f.write(b"a,b,label\n1,2,0\n3,4,1\n")
        f.seek(300 << 20)
        f.write(b",0\n")
    r = numpynn("train", "--dataset", path, "--out", tmp_path / "run", *QUICK, "--epochs", "1", "--no-report")
    assert "long.csv: line 4 is longer than 4,194,304 bytes" in refused(r, tmp_path)
