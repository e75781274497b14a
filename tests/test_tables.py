"""Tables straight in: reading every format alike, the inferred schema, the learned preprocessing and its replay."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from numpynn import tables
from numpynn.cli import main
from numpynn.data import load_dataset
from numpynn.data import table as table_module
from numpynn.data.table import Frame, label_of, read_table
from numpynn.errors import DatasetError, ModelFileError
from numpynn.tables.preprocess import CLIP

DATA = Path(__file__).parent / "data"
PENGUINS = DATA / "penguins.csv"
DIAMONDS = DATA / "diamonds-1000.csv"


def _pandas():
    return pytest.importorskip("pandas")


def _same(a: Frame, b: Frame) -> None:
    assert a.names == b.names
    for x, y in zip(a.columns, b.columns, strict=True):
        assert x.dtype == y.dtype
        if x.dtype == np.float32:
            np.testing.assert_array_equal(x, y)
        else:
            assert x.tolist() == y.tolist()


def test_penguins_read_with_their_missing_cells_and_text():
    f = read_table(PENGUINS)
    assert f.names[:3] == ["species", "island", "bill_length_mm"] and f.n_rows == 344
    assert f.column("species").dtype == object and f.column("bill_length_mm").dtype == np.float32
    assert int(np.isnan(f.column("bill_length_mm")).sum()) == 2
    assert sum(v is None for v in f.column("sex").tolist()) == 11


@pytest.mark.parametrize("form", ["pandas", "polars", "pyarrow", "parquet", "feather", "tsv", "semicolon", "dict"])
def test_every_form_of_a_table_reads_as_the_csv_does(form, tmp_path):
    pd = _pandas()
    df = pd.read_csv(PENGUINS)
    csv_frame = read_table(PENGUINS)
    if form == "pandas":
        source = df
    elif form == "polars":
        pl = pytest.importorskip("polars")
        source = pl.read_csv(PENGUINS, null_values=["NA"])
    elif form in ("pyarrow", "parquet", "feather"):
        pa = pytest.importorskip("pyarrow")
        source = pa.Table.from_pandas(df, preserve_index=False)
        if form == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(source, tmp_path / "t.parquet")
            source = tmp_path / "t.parquet"
        elif form == "feather":
            import pyarrow.feather as feather

            feather.write_feather(source, tmp_path / "t.feather")
            source = tmp_path / "t.feather"
    elif form == "dict":
        source = {c: df[c].to_numpy() for c in df.columns}
    else:
        sep = "\t" if form == "tsv" else ";"
        source = tmp_path / ("t.tsv" if form == "tsv" else "t.csv")
        df.to_csv(source, sep=sep, index=False)
    f = read_table(source)
    assert f.names == csv_frame.names
    record, _ = tables.learn(csv_frame, label="species")
    np.testing.assert_array_equal(tables.transform(record, f), tables.transform(record, csv_frame))


def test_numpynns_own_reader_reads_as_pyarrow_does(monkeypatch, tmp_path):
    pytest.importorskip("pyarrow")
    with_arrow = read_table(PENGUINS)
    monkeypatch.setattr(table_module, "_pyarrow", lambda: None)
    _same(read_table(PENGUINS), with_arrow)
    numeric = tmp_path / "n.csv"
    numeric.write_text("\ufeffa,b,label\n1,2.5,0\n3,4,1\n")  # the byte order mark hides no name
    f = read_table(numeric)
    assert f.names == ["a", "b", "label"] and f.column("b").tolist() == [2.5, 4.0]


def test_a_file_without_header_gets_numbered_columns_and_the_last_is_the_label(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("1,2,a\n3,,b\n5,6,a\n")
    f = read_table(p)
    assert f.names == ["column 1", "column 2", "column 3"]
    assert np.isnan(f.column("column 2")[1])
    assert label_of(f)[0] == "column 3"


def test_the_label_is_announced_and_an_ambiguous_guess_refused():
    diamonds = read_table(DIAMONDS)
    with pytest.raises(DatasetError, match=r"which column is the label\?.*'y'.*'cut'.*'z'.*--label-column"):
        label_of(diamonds)
    name, how = label_of(read_table(PENGUINS), "species")
    assert name == "species" and "species" in how
    ds = load_dataset(DIAMONDS, label_column="price")
    assert ds.task == "regression" and any("'price'" in n for n in ds.notes)
    with pytest.raises(DatasetError, match="no column named 'prise'"):
        label_of(diamonds, "prise")


def test_a_missing_label_is_refused_with_its_rows(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,label\n1,x\n2,\n3,y\n4,NA\n")
    with pytest.raises(DatasetError, match=r"missing in 2 rows \(rows 3, 5\)"):
        load_dataset(p)


def test_the_schema_names_each_kind_and_why():
    pd = _pandas()
    n = 40
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": np.arange(n) + 100, "const": 7.0, "empty": np.nan, "when": pd.date_range(
        "2024-01-01", periods=n, freq="13h"), "grade": rng.choice(["a", "b", "c"], n), "code": rng.integers(0, 3, n),
        "x": rng.normal(size=n), "name": [f"person {i}" for i in range(n)], "y": rng.integers(0, 2, n)})
    schema = {c.name: c.kind for c in tables.infer_schema(read_table(df), label="y")}
    assert schema == {"id": "identifier", "const": "constant", "empty": "empty", "when": "datetime",
                      "grade": "categorical", "code": "numeric", "x": "numeric", "name": "identifier"}
    schema = {c.name: c.kind for c in tables.infer_schema(read_table(df), label="y", categorical=["code"],
                                                          drop=["x"], numeric=["id"])}
    assert (schema["code"], schema["x"], schema["id"]) == ("categorical", "dropped", "numeric")
    with pytest.raises(DatasetError, match="--categorical names no column 'nope'"):
        tables.infer_schema(read_table(df), categorical=["nope"])
    text = tables.describe(tables.infer_schema(read_table(df), label="y"), "y")
    assert "identifier" in text and "drop" in text and "the target" in text


def test_every_column_mixing_numbers_and_text_is_named_in_one_error(tmp_path):
    p = tmp_path / "t.csv"
    rows = ["a,b,c,label"] + [f"{i},{i / 2},{i},x" for i in range(30)]
    rows[5] = "oops,2.0,3,x"
    rows[9] = "1,2,0.5 kg,y"
    p.write_text("\n".join(rows) + "\n")
    frame = read_table(p)
    with pytest.raises(DatasetError) as err:
        tables.infer_schema(frame, label="label")
    text = str(err.value)
    assert "these columns mix numbers and text" in text and "'oops'" in text and "'0.5 kg'" in text
    assert "column 1 ('a')" in text and "column 3 ('c')" in text and "('b')" not in text and "--categorical" in text
    schema = tables.infer_schema(frame, label="label", categorical=["a", "c"])
    assert [c.kind for c in schema] == ["categorical", "numeric", "categorical"]


def test_an_infinite_number_is_refused_with_row_and_column(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,label\n1,2,x\n2,inf,y\n3,1e39,x\n")
    with pytest.raises(DatasetError, match=r"infinite.*row 3, column 2 \('b'\): inf"):
        tables.infer_schema(read_table(p), label="label")


def test_robust_scaling_with_smooth_clipping_by_hand():
    x = np.array([1, 2, 3, 4, 5, 6, 7, 8, 100, np.nan], np.float32)
    frame = Frame(["x", "y"], [x, np.arange(10, dtype=np.float32)])
    record, _ = tables.learn(frame, label="y")
    e = record["columns"][0]
    present = x[~np.isnan(x)].astype(np.float64)
    q25, med, q75 = np.quantile(present, [0.25, 0.5, 0.75])
    assert (e["center"], e["fill"]) == pytest.approx((med, med))
    assert e["factor"] == pytest.approx(1 / (q75 - q25)) and e["indicator"]
    out = tables.transform(record, frame)
    z = (np.where(np.isnan(x), med, x) - med) / (q75 - q25)
    np.testing.assert_allclose(out[:, 0], z / np.sqrt(1 + (z / CLIP) ** 2), rtol=1e-6)
    assert np.abs(out[:, 0]).max() < CLIP
    assert out[:, 1].tolist() == [0] * 9 + [1]


def test_categories_one_hot_with_slots_for_missing_and_unseen():
    cells = np.array(["a", "b", None, "a", "c"], dtype=object)
    frame = Frame(["g", "y"], [cells, np.zeros(5, np.float32)])
    record, _ = tables.learn(frame, label="y")
    assert tables.input_names(record) == ["g=a", "g=b", "g=c", "g missing"]
    new = Frame(["y", "g", "extra"], [np.zeros(3, np.float32), np.array(["c", "zzz", None], dtype=object),
                                      np.ones(3, np.float32)])
    assert tables.transform(record, new).tolist() == [[0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    with pytest.raises(DatasetError, match="the model needs column 'g'"):
        tables.transform(record, Frame(["y"], [np.zeros(3, np.float32)]))


def test_many_categories_become_codes_for_an_embedding():
    rng = np.random.default_rng(0)
    cats = np.array([f"c{i}" for i in rng.integers(0, 40, 400)] + ["once"], dtype=object)
    cats[3] = None
    frame = Frame(["g", "x"], [cats, rng.normal(size=401).astype(np.float32)])
    record, _ = tables.learn(frame, label=None)
    e = record["columns"][0]
    assert e["encoding"] == "embedding" and "once" not in e["categories"]  # seen once: the unknown code learns
    codes = tables.transform(record, frame)[:, 0]
    assert codes[3] == 0 and codes[-1] == 1 and codes.min() == 0 and codes.max() == len(e["categories"]) + 1
    spec = tables.embedding_spec(record)
    assert spec == {"columns": [0], "cardinalities": [len(e["categories"]) + 2], "dims": [e["dim"]]}


def test_dates_become_days_month_weekday_and_hour():
    when = np.array(["2024-03-01T06:00:00", "2024-03-02T18:30:00", "NaT"], dtype="datetime64[s]")
    frame = Frame(["t", "y"], [when, np.zeros(3, np.float32)])
    record, schema = tables.learn(frame, label="y", numeric=[], categorical=[])
    assert [c.kind for c in schema] == ["datetime"]
    assert [e["part"] for e in record["columns"]] == ["days", "month", "weekday", "hour"]
    parts = tables.preprocess.date_parts(when)
    assert parts["month"][:2].tolist() == [3, 3] and parts["weekday"][:2].tolist() == [4, 5]  # Friday, Saturday
    assert parts["hour"][:2].tolist() == [6, 18.5] and np.isnan(parts["days"][2])


def test_a_date_column_with_no_cells_is_missing_and_one_of_numbers_is_refused_by_name():
    when = np.array(["2024-03-01T06:00:00", "2024-03-02T18:30:00", "2024-04-02T10:00:00"], dtype="datetime64[s]")
    record, _ = tables.learn(Frame(["t", "y"], [when, np.arange(3, dtype=np.float32)]), label="y")
    blank = tables.transform(record, Frame(["t"], [np.full(2, np.nan, np.float32)], "blank.csv"))
    full = tables.transform(record, Frame(["t"], [np.array(["NaT", "NaT"], dtype="datetime64[s]")], "nat.csv"))
    np.testing.assert_array_equal(blank, full)  # an empty date column reads as numbers: both all missing
    with pytest.raises(DatasetError, match=r"numbers.csv: row 2, column 't': 17 is a number; the model was trained "
                                           r"with dates"):
        tables.transform(record, Frame(["t"], [np.array([np.nan, 17], np.float32)], "numbers.csv"))


def test_a_hostile_record_in_a_model_file_is_refused():
    frame = read_table(PENGUINS)
    record, _ = tables.learn(frame, label="species")
    tables.check_record(record, n_features=tables.n_inputs(record))
    for change, message in [
            (lambda r: r.update(version=99), "version"),
            (lambda r: r["columns"][3].update(factor=float("nan")), "finite number"),
            (lambda r: r["columns"][0].update(categories=["a", "a"]), "twice"),
            (lambda r: r["columns"][0].update(encoding="pickle"), "encoding"),
            (lambda r: r["columns"][0].update(categories=[0]), "string"),
            (lambda r: r.update(columns=[]), "columns"),
    ]:
        bad = json.loads(json.dumps(record))
        change(bad)
        with pytest.raises(ModelFileError, match=message):
            tables.check_record(bad)
    with pytest.raises(ModelFileError, match="makes 15 inputs for a model of 14"):
        tables.check_record(record, n_features=14)


def _train(tmp_path, data, *extra):
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(data), "--out", str(out), "--epochs", "15", "--no-doctor", *extra]) == 0
    return out


def test_penguins_train_predict_and_evaluate_from_the_raw_file(tmp_path, capsys):
    pd = _pandas()
    out = _train(tmp_path, PENGUINS, "--label-column", "species")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.9
    rows = pd.read_csv(PENGUINS).drop(columns="species").sample(frac=1.0, random_state=1)
    rows = rows[list(reversed(rows.columns))].assign(extra="ignored").head(20)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    capsys.readouterr()
    assert main(["predict", str(out / "model.safetensors"), str(tmp_path / "rows.csv"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    truth = pd.read_csv(PENGUINS).loc[rows.index, "species"].tolist()
    assert np.mean([a == b for a, b in zip(got["labels"], truth, strict=True)]) > 0.8
    assert main(["evaluate", str(out / "model.safetensors"), "--data", str(PENGUINS), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert sum(scored["per_class"]["support"]) == 344  # a file given for evaluation is scored whole
    rows.drop(columns=["island", "sex"]).to_csv(tmp_path / "short.csv", index=False)
    assert main(["predict", str(out / "model.safetensors"), str(tmp_path / "short.csv")]) == 2
    assert "needs columns 'island', 'sex'" in capsys.readouterr().err


def test_diamonds_regression_beats_the_mean_and_inspect_shows_what_is_done(tmp_path, capsys):
    out = _train(tmp_path, DIAMONDS, "--label-column", "price")
    assert json.loads((out / "metrics.json").read_text())["test"]["r2"] > 0.8
    capsys.readouterr()
    assert main(["inspect", str(DIAMONDS), "--label-column", "price"]) == 0
    text = capsys.readouterr().out
    assert "rownames  identifier" in text and "one-hot (5 columns)" in text and "robust scaling" in text


def test_a_table_with_missing_cells_and_a_constant_column_trains_and_says_what_it_dropped(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=n)
    lines = ["x,empty,const,color,label"] + [
        f"{'' if i % 17 == 0 else f'{x[i]:.4f}'},,1,{'NA' if i % 13 == 0 else ['red', 'blue'][i % 2]},"
        f"{int(x[i] > 0)}" for i in range(n)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    out = _train(tmp_path, tmp_path / "t.csv")
    captured = capsys.readouterr()
    log = captured.out + captured.err
    assert "empty" in log and "constant" in log and "labels from column 'label'" in log
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] > 0.85


def test_prepare_refuses_an_array_for_a_table_model():
    record, _ = tables.learn(read_table(PENGUINS), label="species")
    with pytest.raises(DatasetError, match="trained on a table"):
        tables.prepare(np.zeros((2, 15), np.float32), {"table": record})


def test_ten_thousand_columns_and_one_category_only(tmp_path):
    rng = np.random.default_rng(0)
    n, width = 60, 10_000
    X = rng.normal(size=(n, width)).astype(np.float32)
    names = [f"f{j}" for j in range(width)]
    frame = Frame(names + ["one", "label"], [*X.T, np.array(["same"] * n, dtype=object),
                                              (X[:, 0] > 0).astype(np.float32)])
    record, schema = tables.learn(frame, label="label")
    assert {c.name: c.kind for c in schema}["one"] == "constant" and tables.n_inputs(record) == width
    assert tables.transform(record, frame).shape == (n, width)
    assert [d["name"] for d in record["dropped"]] == ["one"]


def test_a_table_of_nothing_to_learn_from_is_refused_with_why():
    frame = Frame(["id", "same", "y"], [np.arange(30, dtype=np.float32), np.ones(30, np.float32),
                                        np.zeros(30, np.float32)])
    with pytest.raises(DatasetError, match=r"no column is left to learn from: 'id' identifier.*'same' constant"):
        tables.learn(frame, label="y")


def test_numbers_stored_as_text_and_booleans_of_any_spelling_read_alike():
    pd = _pandas()
    df = pd.DataFrame({"n": pd.Series(["1", "2.5", None, "4"] * 10, dtype=object),
                       "b": [True, False, True, None] * 10, "y": [0, 1] * 20})
    schema = {c.name: c.kind for c in tables.infer_schema(read_table(df), label="y")}
    assert schema == {"n": "numeric", "b": "categorical"}
    record, _ = tables.learn(read_table(df), label="y")
    text = Frame(["n", "b"], [np.array([1, 2.5, np.nan, 4], np.float32), np.array(["TRUE", "False", "true", ""],
                                                                                     dtype=object)])
    text = Frame(text.names, [text.columns[0], table_module.text_column(text.columns[1].tolist())])
    np.testing.assert_array_equal(tables.transform(record, text), tables.transform(record, read_table(df).take(
        np.arange(4))))


def test_a_many_valued_category_trains_through_an_embedding_from_the_raw_file(tmp_path, capsys):
    import numpynn as nn

    rng = np.random.default_rng(0)
    n = 1200
    shop = rng.integers(0, 40, n)
    effect = rng.normal(size=40)
    x = rng.normal(size=n)
    target = (effect[shop] + 0.3 * x > 0).astype(int)
    lines = ["shop,x,label"] + [f"shop{s},{v:.4f},{t}" for s, v, t in zip(shop, x, target, strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    out = _train(tmp_path, tmp_path / "t.csv", "--epochs", "40")
    model = nn.load(out / "model.safetensors")
    assert type(model.layers[0]).__name__ == "Embedding"
    assert model.preprocessing["table"]["columns"][0]["encoding"] == "embedding"
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] > 0.85  # only the shop's code tells
    rows = tmp_path / "rows.csv"
    rows.write_text("x,shop\n0.1,shop3\n-0.2,never-seen\n0.0,\n")
    assert main(["predict", str(out / "model.safetensors"), str(rows), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out.splitlines()[-1])["labels"]) == 3


def test_loading_a_model_file_checks_its_table_record(tmp_path):
    import numpynn as nn

    (X, y), _, prep = tables.load(PENGUINS, label_column="species")
    model = nn.build_mlp(X.shape[1], [4], 3, seed=0)
    bad = json.loads(json.dumps(prep))
    bad["table"]["columns"][3]["factor"] = "1"
    model.preprocessing = bad
    model.save(tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match=r"preprocessing\.table\.columns\[3\]\.factor must be a finite number"):
        nn.load(tmp_path / "m.safetensors")
    model.preprocessing = prep
    model.save(tmp_path / "m.safetensors")
    assert nn.load(tmp_path / "m.safetensors").preprocessing["table"] == prep["table"]
