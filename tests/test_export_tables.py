"""A table model exported: the ONNX graph (in onnxruntime) and the NumPy-only file take the raw rows, text and
missing cells included, and predict what numpynn predicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import numpynn as nn
from numpynn import tables
from numpynn.cli import main
from numpynn.data.table import Frame, read_table
from numpynn.errors import ExportError
from numpynn.export import export_onnx, export_python
from numpynn.tables.preprocess import numbers_of, required_columns, text_of
from numpynn.tables.schema import as_dates
from tests.test_export_python import HOSTILE, numpy_only, run_isolated  # noqa: F401 (a fixture)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

DATA = Path(__file__).parent / "data"
PENGUINS = DATA / "penguins.csv"
DIAMONDS = DATA / "diamonds-1000.csv"
TOL = 1e-5

# rows a user sends that training never showed: unseen categories, missing cells in every spelling, extremes
ODD_PENGUINS = """island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year,extra
Atlantis,39.1,18.7,181,3750,male,2007,x
Dream,NA,,N/A,6300,,2009,y
,55.0,13.0,230,4000,female,2008,z
Biscoe,,,,,NA,,
null,30.0,22.0,170,2700,unknown,2031,
"""


def session(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def metadata(s: ort.InferenceSession) -> dict[str, str]:
    return s.get_modelmeta().custom_metadata_map


def feeds(s: ort.InferenceSession, frame: Frame) -> dict[str, np.ndarray]:
    """A table's columns as the graph's inputs say (the metadata's "inputs"): float32 with NaN, text with "",
    int64 seconds with NaT's value."""
    out = {}
    for spec in json.loads(metadata(s)["inputs"]):
        col = frame.column(spec["column"])
        if spec["type"] == "float32":
            out[spec["input"]] = numbers_of(col, spec["column"], frame.source).astype(np.float32).reshape(-1, 1)
        elif spec["type"] == "string":
            out[spec["input"]] = np.array(["" if v is None else v for v in text_of(col)], object).reshape(-1, 1)
        else:
            out[spec["input"]] = as_dates(col).astype(np.int64).reshape(-1, 1)
    return out


def predicted(s: ort.InferenceSession, frame: Frame) -> dict[str, np.ndarray]:
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, feeds(s, frame)), strict=True))


def close(got: np.ndarray, want: np.ndarray) -> None:
    """Within 1e-5: probabilities absolutely; a regression's values relative to their scale (values in the
    thousands, as prices, carry float32's rounding of sums that large, whatever computes them)."""
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL * max(1.0, float(np.abs(want).max())))


def numpynn_says(model, rows) -> np.ndarray:
    X = tables.prepare(rows, model.preprocessing)
    return model.predict_proba(X) if model.loss.is_classification else model.predict(X)


def train(tmp_path, data, *extra) -> Path:
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(data), "--out", str(out), "--epochs", "3", "--no-doctor", "--quiet",
                 "--no-report", *extra]) == 0
    return out / "model.safetensors"


def identity_model(record: dict, dtype: str = "float32") -> nn.Sequential:
    """A regression whose values are its inputs: the exported preprocessing's output, bit for bit."""
    k = tables.n_inputs(record)
    model = nn.Sequential([nn.Dense(k, k)], seed=0, dtype=dtype)
    model.set_loss("mse")
    w = model.get_weights()
    w["0.W"][...], w["0.b"][...] = np.eye(k), 0
    model.set_weights(w)
    model.preprocessing = {"normalize": "none", "table": record, "input_shape": [k]}
    return model


def odd_table(n: int = 400, seed: int = 0) -> Frame:
    """Every kind of column: numbers with missing cells and a long tail, categories with missing cells, booleans,
    numbers declared categorical, ISO dates and times from 1621 to 2413 (leap days, before 1970) with missing
    ones, and a category of 30 values (an Embedding's codes)."""
    rng = np.random.default_rng(seed)
    secs = rng.integers(-11_000_000_000, 14_000_000_000, n)
    secs[:6] = [0, -1, 951_782_400, -2_203_891_200, 86_399, 951_868_799]  # 1970, 1969, 2000-02-29, 1900-03-01
    when = np.array([str(np.datetime64(int(s), "s")).replace("T", " ") for s in secs], dtype=object)
    when[7::17] = None
    x = rng.normal(3, 2, n).astype(np.float32)
    x[::7] = np.nan
    color = np.array(rng.choice(["red", "blue", "green"], n), dtype=object)
    color[::11] = None
    shop = np.array([f"shop{k}" for k in rng.integers(0, 30, n)], dtype=object)
    shop[::13] = None
    return Frame(["x", "z", "color", "flag", "grade", "when", "shop", "y"],
                 [x, rng.lognormal(0, 2, n).astype(np.float32), color,
                  np.array(rng.choice(["true", "false"], n), dtype=object),
                  rng.choice([1.0, 2.5, 3.0], n).astype(np.float32), when, shop,
                  rng.integers(0, 2, n).astype(np.float32)])


@pytest.mark.parametrize("scaling", ["robust", "standardize", "scale", "none"])
def test_every_prepared_input_matches_numpynn_to_the_last_bit(scaling, tmp_path):
    frame = odd_table()
    record, _ = tables.learn(frame, label="y", scaling=scaling, categorical=["grade"])
    kinds = {e["kind"] for e in record["columns"]} | {e.get("encoding") for e in record["columns"]}
    assert {"numeric", "datetime", "categorical", "onehot", "embedding"} <= kinds
    want = tables.transform(record, frame)
    for dtype in ("float32", "float64"):
        model = identity_model(record, dtype)
        s = session(export_onnx(model, tmp_path / f"{dtype}.onnx"))
        got = predicted(s, frame)["values"]
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, want)
    py, _ = export_python(identity_model(record), tmp_path / "identity.py")
    module = _import(py)
    np.testing.assert_array_equal(module.preprocess({n: frame.column(n) for n in frame.names}), want)


def _import(path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_graph_declares_one_typed_input_per_column_and_says_so_in_its_metadata(tmp_path):
    frame = odd_table(60)
    record, _ = tables.learn(frame, label="y")
    proto = onnx.load(export_onnx(identity_model(record), tmp_path / "m.onnx"))
    types = {i.name: onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type).name
             if i.type.tensor_type.elem_type != onnx.TensorProto.STRING else "string" for i in proto.graph.input}
    assert types == {"x": "float32", "z": "float32", "color": "string", "flag": "string", "grade": "float32",
                     "when": "int64", "shop": "string"}
    for i in proto.graph.input:
        assert [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] == ["batch", 1]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["input"] == "table"
    specs = json.loads(meta["inputs"])
    assert [s["column"] for s in specs] == ["x", "z", "color", "flag", "grade", "when", "shop"]
    assert {s["kind"]: s["missing"] for s in specs}["datetime"] == str(np.iinfo(np.int64).min)
    assert json.loads(meta["preprocessing"])["table"] == record
    assert {o.domain for o in proto.opset_import} == {"", "ai.onnx.ml"}


def test_penguins_from_the_csv_predict_alike_in_onnxruntime(tmp_path, capsys):
    path = train(tmp_path, PENGUINS, "--label-column", "species")
    model = nn.load(path)
    assert main(["export", str(path)]) == 0  # the default: the raw columns
    s = session(path.with_suffix(".onnx"))
    assert {i.name: i.type for i in s.get_inputs()}["body_mass_g"] == "tensor(float)"
    (tmp_path / "odd.csv").write_text(ODD_PENGUINS)
    sources = [PENGUINS, tmp_path / "odd.csv"]
    try:  # the table as its package ships it, a DataFrame with NaN and pandas' text
        import palmerpenguins

        sources.append(palmerpenguins.load_penguins())
    except ImportError:
        pass
    for rows in sources:
        frame = read_table(rows)
        got, want = predicted(s, frame), numpynn_says(model, frame)
        np.testing.assert_allclose(got["probabilities"], want, rtol=TOL, atol=TOL)
        np.testing.assert_array_equal(got["label"], want.argmax(1))
    assert json.loads(metadata(s)["class_names"]) == ["Adelie", "Chinstrap", "Gentoo"]


def test_booleans_in_any_case_and_missing_spellings_read_as_numpynn_reads_them(tmp_path):
    frame = Frame(["b", "c", "y"], [np.array(["true", "false", None] * 20, dtype=object),
                                    np.array(["a", "b"] * 30, dtype=object), np.arange(60, dtype=np.float32) % 2])
    record, _ = tables.learn(frame, label="y")
    s = session(export_onnx(identity_model(record), tmp_path / "m.onnx"))
    cells = ["TRUE", "False", "tRuE", "", "NA", "null", "maybe", "true"]
    given = {"b": np.array(cells, object).reshape(-1, 1), "c": np.array(["a"] * len(cells), object).reshape(-1, 1)}
    got = s.run(["values"], given)[0]
    from numpynn.data.table import text_column

    want = tables.transform(record, Frame(["b", "c"], [text_column(cells), np.array(["a"] * len(cells), object)]))
    np.testing.assert_array_equal(got, want)


def test_a_standardised_and_a_scaled_csv_model_export_in_both_formats(tmp_path, numpy_only):  # noqa: F811
    for how in ("standardize", "scale"):
        path = train(tmp_path / how, DIAMONDS, "--label-column", "price", "--normalize", how)
        model = nn.load(path)
        assert model.preprocessing["table"]["scaling"] == how
        onnx_path = tmp_path / f"{how}.onnx"
        assert main(["export", str(path), "--raw-input", "--out", str(onnx_path)]) == 0  # was: a crash
        s = session(onnx_path)
        assert {i.type for i in s.get_inputs()} == {"tensor(float)", "tensor(string)"}  # no uint8 for prices
        frame = read_table(DIAMONDS)
        close(predicted(s, frame)["values"], numpynn_says(model, frame))
        assert main(["export", str(path), "--format", "python", "--out", str(tmp_path / f"p_{how}.py")]) == 0
    _run_files(tmp_path, numpy_only, [(tmp_path / f"p_{how}.py", DIAMONDS, nn.load(tmp_path / how / "run" /
                                                                                   "model.safetensors"))
                                      for how in ("standardize", "scale")])


def _run_files(tmp_path: Path, numpy_only: Path, jobs: list[tuple[Path, object, object]]) -> None:  # noqa: F811
    """Each (exported file, rows, model) in a NumPy-only child: its predictions agree with numpynn's. Rows: a
    CSV path, a dict of columns or a list of row dicts (both sent as JSON)."""
    orders = []
    for i, (py, rows, _) in enumerate(jobs):
        if isinstance(rows, Path):
            orders.append([str(py), "csv", str(rows)])
        else:
            (tmp_path / f"rows_{i}.json").write_text(json.dumps(rows))
            orders.append([str(py), "json", str(tmp_path / f"rows_{i}.json")])
    out = tmp_path / "child"
    out.mkdir(exist_ok=True)
    done = run_isolated(numpy_only, tmp_path, "-B", "-c", TABLE_DRIVER, str(numpy_only), json.dumps(orders), str(out))
    assert done.returncode == 0, done.stderr
    for i, (_, rows, model) in enumerate(jobs):
        want = numpynn_says(model, rows if isinstance(rows, Path) else _as_numpynn_reads(rows))
        close(np.load(out / f"{i}.npy"), want)


def _as_numpynn_reads(rows):
    """numpynn takes a dict of columns; a list of row dicts as that dict (a key absent from a row: missing)."""
    if isinstance(rows, dict):
        return rows
    names = list(dict.fromkeys(k for r in rows for k in r))
    return {n: [r.get(n) for r in rows] for n in names}


# run in the child: each exported file by its path, given a CSV path or the rows from a JSON file
TABLE_DRIVER = """
import importlib.util, json, sys
sys.path[:0] = [sys.argv[1]]
import numpy as np
for i, (path, kind, rows) in enumerate(json.loads(sys.argv[2])):
    spec = importlib.util.spec_from_file_location(f"exported_{i}", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    x = m.preprocess(rows if kind == "csv" else json.load(open(rows)))
    np.save(f"{sys.argv[3]}/{i}.npy", m.predict_proba(x) if hasattr(m, "predict_proba") else m.predict(x))
"""


def test_the_numpy_file_takes_a_csv_a_dict_of_columns_and_row_dicts_without_numpynn(tmp_path, numpy_only):  # noqa: F811
    path = train(tmp_path, PENGUINS, "--label-column", "species")
    model = nn.load(path)
    assert main(["export", str(path), "--format", "python", "--out", str(tmp_path / "penguins.py")]) == 0
    (tmp_path / "odd.csv").write_text(ODD_PENGUINS)
    frame = read_table(tmp_path / "odd.csv")
    columns = {n: [None if v != v else v for v in c.tolist()] for n, c in zip(frame.names, frame.columns,
                                                                              strict=True)}
    records = [{n: c[i] for n, c in columns.items() if c[i] is not None} for i in range(frame.n_rows)]
    py = tmp_path / "penguins.py"
    _run_files(tmp_path, numpy_only, [(py, PENGUINS, model), (py, tmp_path / "odd.csv", model),
                                      (py, columns, model), (py, records, model)])
    text = py.read_text()
    assert "def preprocess(rows):" in text and "Atlantis" not in text and "Adelie" in text  # class names only
    palmerpenguins = pytest.importorskip("palmerpenguins")
    df = palmerpenguins.load_penguins()  # a DataFrame (here, where pandas is): its columns by .items()
    np.testing.assert_array_equal(_import(py).preprocess(df), tables.prepare(df, model.preprocessing))


def test_an_embedding_coded_table_exports_its_codes(tmp_path, numpy_only):  # noqa: F811
    rng = np.random.default_rng(0)
    n = 600
    shop = rng.integers(0, 40, n)
    x = rng.normal(size=n)
    target = (rng.normal(size=40)[shop] + 0.3 * x > 0).astype(int)
    lines = ["shop,x,label"] + [f"shop{s},{v:.4f},{t}" for s, v, t in zip(shop, x, target, strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    path = train(tmp_path, tmp_path / "t.csv")
    model = nn.load(path)
    assert type(model.layers[0]).__name__ == "Embedding"
    rows = tmp_path / "rows.csv"
    rows.write_text("x,shop\n0.1,shop3\n-0.2,never-seen\n0.0,\n1.5,NA\n,shop7\n")
    assert main(["export", str(path), "--out", str(tmp_path / "m.onnx")]) == 0
    s = session(tmp_path / "m.onnx")
    for data in (tmp_path / "t.csv", rows):
        frame = read_table(data)
        np.testing.assert_allclose(predicted(s, frame)["probabilities"], numpynn_says(model, frame), rtol=TOL,
                                   atol=TOL)
    assert main(["export", str(path), "--format", "python", "--out", str(tmp_path / "shops.py")]) == 0
    _run_files(tmp_path, numpy_only, [(tmp_path / "shops.py", rows, model), (tmp_path / "shops.py",
                                                                             tmp_path / "t.csv", model)])


NAMES = [*HOSTILE, "label", "probabilities", "values", "input:label", "", "x~2", "0.W", "nul\0byte"]


def test_hostile_column_names_and_categories_stay_data(tmp_path, numpy_only):  # noqa: F811
    rng = np.random.default_rng(0)
    n = 80
    columns = {}
    for j, name in enumerate(NAMES):  # every other column numeric, the rest categories with hostile names
        if j % 2:
            columns[name] = np.array([HOSTILE[(i + j) % len(HOSTILE)] for i in range(n)], dtype=object)
        else:
            columns[name] = rng.normal(size=n).astype(np.float32)
    columns["target"] = (rng.normal(size=n) > 0).astype(np.float32)
    frame = read_table(columns)
    record, _ = tables.learn(frame, label="target")
    assert len(required_columns(record)) == len(NAMES)
    model = nn.build_mlp(tables.n_inputs(record), [6], 2, seed=0)
    model.set_loss("cross_entropy")
    model.preprocessing = {"normalize": "none", "table": record, "input_shape": [tables.n_inputs(record)],
                           "class_names": [HOSTILE[0], HOSTILE[1]]}
    s = session(export_onnx(model, tmp_path / "m.onnx"))
    specs = json.loads(metadata(s)["inputs"])
    assert [x["column"] for x in specs] == NAMES
    names = {x["column"]: x["input"] for x in specs}
    assert names["label"] == "input:label" and names["input:label"] == "input:input:label" and names[""] == "input:"
    assert names[HOSTILE[0]] == HOSTILE[0]
    want = numpynn_says(model, frame)
    np.testing.assert_allclose(predicted(s, frame)["probabilities"], want, rtol=TOL, atol=TOL)
    py, npz = export_python(model, tmp_path / "hostile.py")
    text = py.read_text()
    assert f"CLASS_NAMES = {[HOSTILE[0], HOSTILE[1]]!r}" in text  # class names as literals of themselves
    assert [name for name in HOSTILE[2:] if name.strip() in text] == []  # column names and categories: data only
    rows = {k: [None if isinstance(v, float) and v != v else v for v in c.tolist()] for k, c in columns.items()}
    _run_files(tmp_path, numpy_only, [(py, rows, model)])
    assert not list(tmp_path.rglob("PWNED"))


def test_a_table_model_refuses_one_raw_type_for_all_columns_and_gives_its_matrix_on_request(tmp_path):
    (X, y), (Xt, _), prep = tables.load(PENGUINS, label_column="species")
    model = nn.build_mlp(X.shape[1], [8], 3, seed=0)
    model.preprocessing = prep
    for raw in ("float32", "uint8"):
        with pytest.raises(ExportError, match="one input per column"):
            export_onnx(model, tmp_path / "m.onnx", raw_input=raw)
    assert list(tmp_path.iterdir()) == []
    s = session(export_onnx(model, tmp_path / "m.onnx", raw_input=False))
    assert [i.name for i in s.get_inputs()] == ["x"]
    np.testing.assert_allclose(s.run(["probabilities"], {"x": Xt})[0], model.predict_proba(Xt), atol=TOL)


def test_the_numpy_file_says_which_column_is_missing_or_not_a_number(tmp_path):
    frame = odd_table(60)
    record, _ = tables.learn(frame, label="y")
    module = _import(export_python(identity_model(record), tmp_path / "m.py")[0])
    columns = {n: frame.column(n) for n in frame.names}
    with pytest.raises(ValueError, match=r"needs the columns \['color', 'when'\]"):
        module.preprocess({k: v for k, v in columns.items() if k not in ("color", "when")})
    with pytest.raises(ValueError, match=r"row 2, column 'x': 'heavy' is not a number"):
        module.preprocess(columns | {"x": ["1.5", "heavy"] + [None] * 58})
    with pytest.raises(ValueError, match="a dict of columns, a list of row dicts or a CSV file's path"):
        module.preprocess([1, 2, 3])


def test_the_deploy_page_table_snippet_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("pandas")
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "deploy.md").read_text()
    section = text.split("## A table model", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].split() for line in re.findall(r"```bash\n(.*?)```", section, re.S)[0].splitlines()
                if line.startswith("numpynn ")]
    (snippet,) = re.findall(r"```python\n(.*?)```", section, re.S)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "penguins.csv").write_bytes(PENGUINS.read_bytes())
    (tmp_path / "new-penguins.csv").write_text(ODD_PENGUINS)
    for command in commands:
        assert main([*command[1:], *(["--epochs", "2", "--quiet", "--no-report"] if "train" in command else [])]) == 0
    capsys.readouterr()
    exec(compile(snippet, "deploy.md", "exec"), {})  # noqa: S102
    model = nn.load(tmp_path / "runs" / "penguins" / "model.safetensors")
    want = numpynn_says(model, tmp_path / "new-penguins.csv").argmax(1)
    names = model.preprocessing["class_names"]
    assert capsys.readouterr().out.strip().splitlines()[-1] == str([names[k] for k in want])


def test_the_numpy_file_reads_a_csv_as_numpynn_does_header_or_not_any_delimiter(tmp_path):
    body = ["2.5;red;2020-01-03", "4;red;2024-02-29T12:30:00", "NA;blue;", "-1;;1999-12-31 23:00", "0.5;N/A;?"]
    (tmp_path / "named.csv").write_text("w;color;when\n" + "\n".join(body) + "\n")
    (tmp_path / "bare.tsv").write_text("\n".join(b.replace(";", "\t") for b in body) + "\n")
    for path in (tmp_path / "named.csv", tmp_path / "bare.tsv"):
        frame = read_table(path)
        record, _ = tables.learn(frame, scaling="standardize")
        module = _import(export_python(identity_model(record), tmp_path / f"{path.stem}.py")[0])
        np.testing.assert_array_equal(module.preprocess(path), tables.prepare(path, {"table": record}))
    assert read_table(tmp_path / "bare.tsv").names == ["column 1", "column 2", "column 3"]
