"""The CSV reader, class labels as a checked class set, per-column standardisation and its replay, the fuzz corpus."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import numpynn as nn
from numpynn import data, tables
from numpynn.data import csv as csv_reader
from numpynn.data.csv import read_csv
from numpynn.data.labels import choose_task, class_labels
from numpynn.data.table import label_of, read_table
from numpynn.errors import DatasetError, ModelFileError, NumpynnError

FUZZ = Path(__file__).parent.parent / "fuzz"


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_byte_order_mark_hides_neither_the_first_row_nor_the_label_column(tmp_path):
    bom = b"\xef\xbb\xbf"
    X, y = data.load_csv(write(tmp_path / "a.csv", bom + b"1,2,0\n3,4,1\n5,6,2\n"))
    np.testing.assert_array_equal(X, [[1, 2], [3, 4], [5, 6]])  # the first row is a row, not a header
    np.testing.assert_array_equal(y, [0, 1, 2])
    table = read_csv(write(tmp_path / "b.csv", bom + b"label,a,b\n0,1,2\n1,3,4\n"))
    assert table.header == ["label", "a", "b"]
    X, y, col = table.split()
    assert col == 0 and y.tolist() == [0, 1] and X.tolist() == [[1, 2], [3, 4]]


def test_label_column_by_name_by_index_and_text_labels(tmp_path):
    path = write(tmp_path / "iris.csv", 'x,z,species,w\n5.1,3.5,setosa,1\n4.9,3.0,"virginica",2\n')
    table = read_csv(path)
    X, y, col = table.split()  # no header name says which: the lone text column is the label
    assert col == 2 and y.tolist() == ["setosa", "virginica"] and X.shape == (2, 3)
    assert table.label_index("w") == 3 and table.label_index("-1") == 3 and table.label_index(0) == 0
    with pytest.raises(DatasetError, match="row 2, column 3 \\('species'\\): 'setosa' is not a number; only the "
                                           "label column, column 4 \\('w'\\), may hold text"):
        table.split("w")
    with pytest.raises(DatasetError, match="no column named 'nope'; the header is"):
        table.split("nope")
    with pytest.raises(DatasetError, match="index 7 is out of range for 4 columns"):
        table.split(7)


@pytest.mark.parametrize("text, message", [
    ("1,2,3\n4,5\n6,7,8\n", "row 2 has 2 fields, expected 3"),
    ("a,b\n1,\n", "row 2, column 2 \\('b'\\): the field is empty"),
    ("1,2\n3,\n", "row 2, column 2: the field is empty"),
    ("1,nan,0\n2,3,1\n", "row 1, column 2: nan is not a finite number"),
    ("1e400,2,0\n", "inf is not a finite number"),
    ("", "the file is empty"),
    ("a,b,label\n", "no data rows after the header"),
])
def test_bad_files_say_what_and_where(tmp_path, text, message):
    with pytest.raises(DatasetError, match=message):
        read_csv(write(tmp_path / "bad.csv", text))


def test_a_header_name_wins_over_a_guess_from_the_values(tmp_path):
    table = read_csv(write(tmp_path / "a.csv", "x,y,species\n5.1,3.5,setosa\n4.9,3.0,virginica\n"))
    assert table.label_index() == 1  # the header names y; the text column is no reason to take another
    with pytest.raises(DatasetError, match=r"row 2, column 3 \('species'\): 'setosa' is not a number; only the "
                                           r"label column, column 2 \('y'\), may hold text \(--label-column"):
        table.split()
    X, y, col = table.split("species")
    assert col == 2 and y.tolist() == ["setosa", "virginica"]
    X, y, col = read_csv(write(tmp_path / "b.csv", "Label,a,b\n0,1,2\n1,3,4\n")).split()
    assert col == 0 and y.tolist() == [0, 1] and X.tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("cell, shown", [(b"NA", "'NA'"), (b'"0,5"', "'0,5'"), (b"4\0", r"'4\\x00'"),
                                         (b"\0", r"'\\x00'"), (b"4\x002", r"'4\\x002'")])
@pytest.mark.parametrize("header", [b"a,b,label\n", b"a,b,c\n", b""])
def test_a_stray_cell_in_a_numeric_column_is_refused_with_its_row_and_column(tmp_path, cell, shown, header):
    rows = [b"1,2,0", b"3," + cell + b",1", b"5,6,0", b"7,8,1"]
    path = write(tmp_path / "bad.csv", header + b"\n".join(rows) + b"\n")
    where = f"row {3 if header else 2}, column 2" + (f" \\('{header.decode()[2]}'\\)" if header else "")
    with pytest.raises(DatasetError, match=f"bad.csv: {where}: {shown} "):
        read_csv(path)
    if cell == b"\0" or b"\0" in cell:  # no text holds a NUL byte: refused as the file is read
        with pytest.raises(DatasetError, match=f"{where}: {shown} "):
            read_table(path)
        return
    frame = read_table(path)
    label = label_of(frame)[0]
    if cell == b"NA":  # a table's missing cell: the column is numbers with one missing
        assert [c.kind for c in tables.infer_schema(frame, label=label)] == ["numeric", "numeric"]
        return
    with pytest.raises(DatasetError, match=f"{where}: {shown} "):
        tables.infer_schema(frame, label=label)


def test_a_text_label_column_and_a_mostly_numeric_one(tmp_path):
    X, y, col = read_csv(write(tmp_path / "t.csv", "1,2,cat\n3,4,dog\n5,6,7\n")).split()  # classes, one named 7
    assert col == 2 and y.tolist() == ["cat", "dog", "7"]
    with pytest.raises(DatasetError, match=r"row 3, column 3: 'n/a' is not a number, though 2 of the column's 3 "):
        read_csv(write(tmp_path / "n.csv", "1,2,0\n3,4,1\n5,6,n/a\n"))


@pytest.mark.parametrize("header, message", [
    ("a,label,label", "columns 2 and 3 are both named 'label'"),
    ("a,a,label", "columns 1 and 2 are both named 'a'"),
    ("a,class,label", r"the header names more than one label column \(column 2 \('class'\), column 3 \('label'\)\)"),
])
def test_columns_of_one_name_are_refused(tmp_path, header, message):
    path = write(tmp_path / "d.csv", f"{header}\n1,2,0\n3,4,1\n")
    with pytest.raises(DatasetError, match=message):
        read_csv(path).split()


def test_a_split_that_leaves_the_test_set_empty_says_so(tmp_path):
    path = write(tmp_path / "six.csv", "a,b,label\n" + "".join(f"{i},{i * i},{i % 3}\n" for i in range(6)))
    with pytest.raises(DatasetError, match="six.csv: the 20 % test split of 6 samples is empty"):
        data.load_dataset(str(path))
    with pytest.raises(DatasetError, match="2 samples are too few to split"):
        data.load_dataset(str(write(tmp_path / "two.csv", "a,b,label\n1,2,0\n3,4,1\n")))


def test_a_300_mb_line_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "long.csv"
    with open(path, "wb") as f:  # sparse: the hole reads as 300 MB of NUL bytes on line 3
        f.write(b"a,b,label\n1,2,0\n")
        f.seek(300 << 20)
        f.write(b",1\n")
    with pytest.raises(DatasetError, match=f"long.csv: line 3 is longer than {csv_reader.MAX_LINE_BYTES:,} bytes"):
        read_csv(path)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_the_line_limit_counts_each_line_across_chunks(tmp_path, monkeypatch, newline):
    monkeypatch.setattr(csv_reader, "MAX_LINE_BYTES", 40)
    row = b"1," * 19 + b"0"  # 39 bytes: within the limit, lines crossing the reader's chunks
    path = write(tmp_path / "ok.csv", newline.join([row] * 50) + newline)
    assert read_csv(path).matrix.shape == (50, 20)
    path = write(tmp_path / "long.csv", newline.join([row] * 5 + [b"1," * 30 + b"0"] + [row] * 5) + newline)
    with pytest.raises(DatasetError, match="long.csv: line 6 is longer than 40 bytes"):
        read_csv(path)


def test_a_fifo_is_refused_without_hanging(tmp_path):
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DatasetError, match="expected a regular CSV file, but it is a FIFO"):
        read_csv(fifo)


def test_class_labels_refuse_a_stray_label_and_fractions():
    y = np.concatenate([np.arange(10).repeat(5), [100000]])
    with pytest.raises(DatasetError, match=r"labels span 0..100000 but only 11 distinct values occur.*rarest: 100000"):
        class_labels(y, "f.csv")
    with pytest.raises(DatasetError, match="must be whole numbers, got 1.5"):
        class_labels(np.array([0.0, 1.5, 2.0]), "f")
    with pytest.raises(DatasetError, match="more than the 1000 classes"):
        class_labels(np.arange(1001), "f")
    labels, names = class_labels(np.array([1, 2, 3, 3]), "f")  # 1..3: indices, class 0 never seen
    assert labels.tolist() == [1, 2, 3, 3] and names == ("0", "1", "2", "3")
    labels, names = class_labels(np.array([-1, 1, 1]), "f")  # a compact set away from 0: named by value
    assert labels.tolist() == [0, 1, 1] and names == ("-1", "1")
    labels, names = class_labels(np.array([" b", "a", "b"]), "f")
    assert labels.tolist() == [1, 0, 1] and names == ("a", "b")


def test_stray_labels_are_refused_in_csv_npz_and_idx(tmp_path):
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.integers(0, 10, 60), [100000]])
    X = rng.random((61, 3))
    np.savetxt(tmp_path / "s.csv", np.column_stack([X, y]), delimiter=",", fmt="%g")
    np.savez(tmp_path / "s.npz", X=X, y=y)
    images = rng.integers(0, 255, (61, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "k.npz", x_train=images[:40], y_train=y[:40], x_test=images[40:], y_test=y[40:])
    folder = tmp_path / "idx"
    folder.mkdir()
    for split, sl in (("train", slice(0, 40)), ("t10k", slice(40, None))):
        data.write_idx(folder / f"{split}-images-idx3-ubyte", images[sl])
        data.write_idx(folder / f"{split}-labels-idx1-ubyte", y[sl].astype(np.int32))
    for source in ("s.csv", "s.npz", "k.npz", "idx"):
        with pytest.raises(DatasetError, match="labels span 0..100000 but only 11 distinct values occur"):
            data.load_dataset(str(tmp_path / source))
    data.write_idx(folder / "train-labels-idx1-ubyte", np.where(y[:40] == 3, 1.5, y[:40] % 10).astype(np.float32))
    with pytest.raises(DatasetError, match=r"whole numbers, got \[?1\.5"):
        data.load_dataset(str(folder))


def test_the_task_rule():
    assert choose_task(np.array(["a", "b"])) == "classification"
    assert choose_task(np.array([0.0, 1.0, 2.0])) == "classification"
    assert choose_task(np.array([0.5, 1.0])) == "regression"
    assert choose_task(np.arange(51)) == "regression"  # more than 50 distinct whole numbers
    assert choose_task(np.array([0, 1]), loss="mse") == "regression"
    assert choose_task(np.array([0.5, 1.0]), "classification") == "classification"
    with pytest.raises(DatasetError, match="loss mse trains a regression, but the targets are text"):
        choose_task(np.array(["setosa"]), loss="mse")


def mixed_scale(rng, n=1000):
    """Two 0..1 columns that decide the class and one income-sized column that does not."""
    a, b = rng.random(n), rng.random(n)
    income = rng.normal(50_000, 15_000, n)
    return np.column_stack([a, b, income]).astype(np.float32), (a > b).astype(np.int64)


def test_standardize_is_per_column_for_tables_and_one_scalar_for_images(rng):
    X, _ = mixed_scale(rng)
    Z, Zt, prep = data.normalize_pair(X[:800], X[800:], "standardize")
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(Z.std(0), 1, atol=1e-4)
    assert len(prep["mean"]) == 3 and prep["std"][2] > 1000
    json.dumps(prep)  # a model file's metadata is JSON
    np.testing.assert_allclose(data.apply_preprocessing(X[800:], prep), Zt, rtol=1e-6)
    const = np.column_stack([X[:, :2], np.full(len(X), 7.0, np.float32)])
    Zc, _, pc = data.normalize_pair(const, const, "standardize")
    assert pc["std"][2] == 1.0 and np.all(Zc[:, 2] == 0)  # a constant column stays finite
    (Xi, _), _ = data.load_raw("mnist-sample")
    _, _, pi = data.normalize_pair(Xi[:100], Xi[:10], "standardize")
    assert isinstance(pi["mean"], float) and isinstance(pi["std"], float)  # images: one mean, one std


def test_per_column_scaling_trains_where_one_scalar_gives_chance(rng):
    X, y = mixed_scale(rng)
    scores = {}
    for per_column in (True, False):
        Z, mean, std = data.standardize(X, per_feature=per_column)
        model = nn.build_mlp(3, [16], 2, seed=0)
        model.fit(Z[:800], y[:800], optimizer=nn.Adam(1e-2), epochs=40, batch_size=32, verbose=0)
        scores[per_column] = model.evaluate(Z[800:], y[800:])["accuracy"]
    assert scores[True] >= 0.97 and scores[False] < 0.75, scores


def test_old_scalar_preprocessing_is_replayed_and_edited_records_are_refused():
    X = np.array([[0, 128, 255]], np.uint8)
    np.testing.assert_allclose(data.apply_preprocessing(X, {"normalize": "standardize", "mean": 100.0, "std": 50.0}),
                               [[-2, 0.56, 3.1]], rtol=1e-6)
    np.testing.assert_allclose(data.apply_preprocessing(X, {"normalize": "scale", "max_value": 255.0}),
                               [[0, 128 / 255, 1]], rtol=1e-6)
    # the one check of a model file's preprocessing, with its words
    for prep, message in [({"normalize": "standardize", "std": 1.0}, "has no 'mean'"),
                          ({"normalize": "scale", "max_value": 0}, r"max_value must be a finite number > 0"),
                          ({"normalize": "standardize", "mean": 0.0, "std": "abc"}, r"std must be a finite number > 0"),
                          ({"normalize": "standardize", "mean": [0.0, 1.0], "std": 1.0}, "2 values of 'mean'"),
                          ({"normalize": "whiten"}, "must be 'scale', 'standardize' or 'none'"),
                          ("scale", "must be an object")]:
        with pytest.raises(ModelFileError, match=message):
            data.apply_preprocessing(X, prep)


def test_load_gives_class_indices_or_float_targets(tmp_path):
    write(tmp_path / "t.csv", "a,b,kind\n" + "".join(f"{i},{i % 3},{'xyz'[i % 3]}\n" for i in range(30)))
    (X, y), (Xt, yt) = data.load(tmp_path / "t.csv", normalize=None)
    assert y.dtype == np.int64 and set(y) == {0, 1, 2} and len(X) + len(Xt) == 30
    write(tmp_path / "r.csv", "a,b\n" + "".join(f"{i},{i * 0.5 + 0.25}\n" for i in range(30)))
    (X, y), _ = data.load(tmp_path / "r.csv", normalize=None)
    assert y.dtype == np.float64 and np.allclose(y, X[:, 0] * 0.5 + 0.25)


def fuzz_target():
    spec = importlib.util.spec_from_file_location("targets_csv", FUZZ / "targets_csv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TARGETS["csv"]


def test_the_fuzz_corpus_ends_in_a_result_or_a_numpynn_error():
    target = fuzz_target()
    files = sorted((FUZZ / "corpus" / "csv").iterdir())
    assert len(files) >= 12
    outcomes = {}
    for path in files:
        try:
            outcomes[path.name] = target(path)
        except NumpynnError as exc:
            outcomes[path.name] = type(exc).__name__
    assert outcomes["bom_no_header.csv"] == ((2, 2), "classification", 2)
    assert outcomes["text_labels.csv"][1] == "classification"
    assert outcomes["stray_label.csv"] == "DatasetError"
    for name in ("stray_na.csv", "decimal_comma.csv", "nul_in_number.csv", "duplicate_label.csv",
                 "named_label_and_text.csv"):
        assert outcomes[name] == "DatasetError", name


def test_label_column_and_task_are_settings(tmp_path):
    from numpynn.config import ConfigError, TrainConfig

    path = write(tmp_path / "c.toml", '[data]\nlabel_column = "0"\ntask = "regression"\n')
    config = TrainConfig.from_toml(path)
    assert config.label_column == "0" and config.task == "regression"
    assert 'label_column = "0"' in config.to_toml()
    with pytest.raises(ConfigError, match=r"label_column must be str, got 0 \(int\)"):
        TrainConfig(label_column=0)
    with pytest.raises(ConfigError, match="task must be one of"):
        TrainConfig(task="ranking")


def test_an_npz_with_two_numeric_targets_trains_a_two_output_regression(tmp_path):
    from numpynn.config import TrainConfig
    from numpynn.run import train_run

    rng = np.random.default_rng(0)
    X = rng.random((200, 3))
    np.savez(tmp_path / "two.npz", X=X, y=np.column_stack([X @ [1, 2, 3], X @ [3, -1, 0.5]]))
    config = TrainConfig(dataset=str(tmp_path / "two.npz"), hidden=[16], epochs=40, augment=False, batch_size=16,
                         lr=1e-2, dropout=0.0, normalize="standardize")
    result = train_run(config, tmp_path / "run", log=lambda *a: None, verbose=0, report=False)
    assert result.model.n_outputs == 2 and result.model.preprocessing["task"] == "regression"
    assert result.test_metrics["r2"] > 0.5 and result.model.predict(X[:4].astype(np.float32)).shape == (4, 2)
