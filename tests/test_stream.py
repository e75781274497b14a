"""Tables larger than memory: Parquet read row group by row group, the first pass (labels, sample, held-out
rows), each epoch's batches, fit's batch sources, and a streamed run beside the in-memory one."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from numpynn import Sequential, tables  # noqa: E402
from numpynn.cli import main  # noqa: E402
from numpynn.config import TrainConfig  # noqa: E402
from numpynn.data import load_dataset, prefetch  # noqa: E402
from numpynn.data.parquet_parts import decoded_bytes, open_parts, read_whole  # noqa: E402
from numpynn.data.prefetch import ahead  # noqa: E402
from numpynn.data.table import Frame, read_table, text_column  # noqa: E402
from numpynn.errors import DataError, DatasetError, ShapeError  # noqa: E402
from numpynn.layers import Dense, Dropout, ReLU  # noqa: E402
from numpynn.run import train_run  # noqa: E402
from numpynn.tables import stream as stream_module  # noqa: E402
from numpynn.tables.reservoir import Reservoir  # noqa: E402
from numpynn.tables.scan import TRAIN, split_codes  # noqa: E402


def write_folder(folder: Path, files: int = 3, groups: int = 4, rows: int = 500, seed: int = 0,
                 label=None) -> Path:
    """A Parquet folder of `files` files of `groups` row groups: numbers a and b, a category c with missing cells,
    and a label y that a and c decide (yes/no)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    schema = pa.schema([("a", pa.float64()), ("b", pa.int64()), ("c", pa.string()), ("y", pa.string())])
    for f in range(files):
        with pq.ParquetWriter(folder / f"part-{f}.parquet", schema) as w:
            for _ in range(groups):
                a = rng.normal(size=rows)
                c = rng.choice(np.array(["u", "v", "w", None], dtype=object), rows)
                y = np.where(a + 1.5 * (c == "u") > 0.4, "yes", "no") if label is None else label(a, c)
                w.write_table(pa.table({"a": a, "b": rng.integers(0, 50, rows), "c": c, "y": y}, schema=schema))
    return folder


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_folder(tmp_path / "table")


# ---- reading in pieces ------------------------------------------------------------------------------------------

def test_a_folder_is_its_parquet_files_row_group_by_row_group(folder):
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-0.parquet.crc").write_text("x")
    parts = open_parts(folder)
    assert [p.name for p in parts.files] == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    assert len(parts.pieces) == 12 and parts.n_rows == 6000 and parts.names == ["a", "b", "c", "y"]
    assert [p.first_row for p in parts.pieces[:4]] == [0, 500, 1000, 1500]
    whole = read_whole(folder)
    assert whole.n_rows == 6000
    pieces = [f for p in parts.pieces for f in parts.frames(p)]
    np.testing.assert_array_equal(np.concatenate([f.column("a") for f in pieces]), whole.column("a"))
    assert sum((f.column("c").tolist() for f in pieces), []) == whole.column("c").tolist()
    assert pieces[1].row_of(0) == 501  # rows are numbered within their file, as a whole file's are


def test_files_of_different_columns_are_refused_by_name(folder):
    pq.write_table(pa.table({"a": [1.0], "z": ["q"]}), folder / "part-9.parquet")
    with pytest.raises(DatasetError, match="part-9.parquet: its columns differ"):
        open_parts(folder)


def test_a_folder_without_parquet_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match="holds no Parquet files"):
        open_parts(tmp_path)


def test_the_size_read_counts_cells_not_dictionary_codes(tmp_path):
    """A column of few values is stored as small codes: its metadata's size says little of its size once read."""
    path = tmp_path / "few.parquet"
    pq.write_table(pa.table({"x": np.tile(np.arange(4.0), 250_000), "t": np.tile(["a", "b"], 500_000)}), path)
    meta = pq.ParquetFile(path).metadata
    stored = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    estimate = decoded_bytes(meta, pq.ParquetFile(path).schema_arrow)
    assert estimate >= 1_000_000 * (4 + 64) > 20 * stored


def test_text_cells_read_alike_through_the_dictionary():
    cells = ["a", " b ", None, "NA", "TRUE", "a", "", "x y"]
    col = pa.chunked_array([pa.array(cells[:3]), pa.array(cells[3:])])
    frame = read_table(pa.table({"t": col}))
    assert frame.column("t").tolist() == text_column(cells).tolist() == ["a", "b", None, None, "true", "a", None,
                                                                          "x y"]


# ---- the sample ----------------------------------------------------------------------------------------------

def test_the_reservoir_keeps_every_row_alike_likely_whatever_the_chunks():
    hits = np.zeros(100)
    for trial in range(3000):
        r = Reservoir(10, np.random.default_rng(trial))
        at = 0
        for size in (7, 1, 30, 12, 50):  # chunks smaller and larger than the reservoir
            rows, slots = r.admit(size)
            r.put(Frame(["i"], [np.arange(at, at + size, dtype=np.float32)[rows]]), slots)
            at += size
        sample = r.frame("s").column("i")
        assert len(sample) == 10 and len(set(sample.tolist())) == 10
        hits[sample.astype(int)] += 1
    assert np.all(np.abs(hits - 300) < 80), hits  # 300 expected per row, standard deviation about 16


def test_a_reservoir_larger_than_the_table_keeps_it_all_in_order():
    r = Reservoir(50, np.random.default_rng(0))
    for start in (0, 20):
        rows, slots = r.admit(20)
        r.put(Frame(["i"], [np.arange(start, start + 20, dtype=np.float32)[rows]]), slots)
    assert r.frame("s").column("i").tolist() == list(range(40))


# ---- the first pass and the epochs ----------------------------------------------------------------------------

def test_the_split_is_seeded_per_row_group():
    a, b = split_codes(3, 10_000, 0.2, 0.1, seed=5), split_codes(3, 10_000, 0.2, 0.1, seed=5)
    np.testing.assert_array_equal(a, b)
    assert abs((a == 2).mean() - 0.2) < 0.02 and abs((a == 1).mean() - 0.08) < 0.02  # 10 % of the other 80 %
    other = split_codes(3, 10_000, 0.2, 0.1, seed=6)
    np.testing.assert_array_equal(other == 2, a == 2)  # the test rows do not depend on the run's seed
    assert (other != a).any()


def test_an_epoch_hands_out_every_training_row_once_prepared_as_the_whole_table_would_be(folder):
    table = tables.open_stream(folder, label_column="y", validation_split=0.1, seed=3, buffer_bytes=20_000)
    parts = table.parts
    assert sum(table.counts) == parts.n_rows == 6000
    assert table.buffer_rows(32) < table.n_rows  # the buffer is refilled several times in an epoch
    whole = read_whole(folder)
    codes = np.concatenate([split_codes(k, p.rows, table.test_fraction, table.validation_fraction, 3)
                            for k, p in enumerate(parts.pieces)])
    expected = tables.transform(table.record, whole[codes == TRAIN])
    labels = (whole.column("y")[codes == TRAIN] == "yes").astype(np.int64)
    xs, ys = zip(*[(x.copy(), y.copy()) for x, y in table.batches(np.random.default_rng(0), 32)], strict=True)
    got, got_y = np.concatenate(xs), np.concatenate(ys)
    assert [len(x) for x in xs[:-1]] == [32] * (len(xs) - 1) and len(got) == table.n_rows == len(expected)
    key = np.column_stack([expected, labels])
    mine = np.column_stack([got, got_y])
    np.testing.assert_array_equal(key[np.lexsort(key.T)], mine[np.lexsort(mine.T)])
    assert not np.array_equal(got, expected)  # shuffled
    # held out: the test rows and the validation rows, prepared alike
    np.testing.assert_array_equal(table.test[0], tables.transform(table.record, whole[codes == 2]))
    np.testing.assert_array_equal(table.validation[1], (whole.column("y")[codes == 1] == "yes").astype(np.int64))


def test_the_same_generator_gives_the_same_epoch_and_another_a_different_one(folder, monkeypatch):
    table = tables.open_stream(folder, label_column="y", buffer_bytes=20_000)

    def epoch(seed):
        return np.concatenate([x.copy() for x, _ in table.batches(np.random.default_rng(seed), 50)])

    first = epoch(1)
    np.testing.assert_array_equal(first, epoch(1))
    assert not np.array_equal(first, epoch(2))
    monkeypatch.setattr(prefetch, "usable_cpus", lambda: 4)  # read ahead in a thread: the very same epoch
    np.testing.assert_array_equal(first, epoch(1))


def test_the_preprocessing_is_learned_from_a_bounded_sample(folder):
    table = tables.open_stream(folder, label_column="y", sample_rows=300, held_out_rows=200)
    assert len(table.sample[0]) == 300 and len(table.test[0]) <= 200 and len(table.validation[0]) <= 200
    assert table.test_fraction == pytest.approx(200 / 6000)
    entry = next(e for e in table.record["columns"] if e["name"] == "a")
    assert abs(entry["center"]) < 0.2  # the median of N(0, 1), estimated from 300 rows
    assert "a uniform sample of 300 of the" in table.describe(64)


def test_every_label_counts_for_the_classes_not_only_the_sampled_ones(tmp_path):
    def label(a, c):
        return np.where(a > 0, "yes", "no")

    folder = write_folder(tmp_path / "t", files=1, groups=3, label=label)
    pq.write_table(pa.table({"a": [0.5], "b": [1], "c": ["u"], "y": ["rare"]}), folder / "part-9.parquet")
    table = tables.open_stream(folder, label_column="y", sample_rows=100, held_out_rows=100)
    assert table.class_names == ("no", "rare", "yes")


def test_a_missing_label_deep_in_the_table_is_refused_with_its_file_and_row(folder):
    pq.write_table(pa.table({"a": [0.1, 0.2], "b": [1, 2], "c": ["u", "v"], "y": ["yes", None]}),
                   folder / "part-9.parquet")
    with pytest.raises(DatasetError, match=r"part-9.parquet: row 2: the label column 'y' is missing"):
        tables.open_stream(folder, label_column="y")


def test_fractional_targets_stream_as_a_regression(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=4000)
    pq.write_table(pa.table({"x": x, "target": 3 * x + 0.25}), folder / "r.parquet", row_group_size=1000)
    table = tables.open_stream(folder)
    assert table.task == "regression" and table.test[1].shape[1:] == (1,) and table.test[1].dtype == np.float32
    x_batch, y_batch = next(iter(table.batches(np.random.default_rng(0), 64)))
    assert y_batch.shape == (64, 1)


def test_streaming_is_chosen_by_size_or_by_asking(folder, tmp_path, monkeypatch):
    size = open_parts(folder).decoded_bytes
    monkeypatch.setattr(stream_module, "available_bytes", lambda: 100 * size)
    assert tables.stream_decision(str(folder))[0] is False
    monkeypatch.setattr(stream_module, "available_bytes", lambda: 2 * size)
    streams, why = tables.stream_decision(str(folder))
    assert streams and "more than a quarter" in why
    assert tables.stream_decision(str(folder), "off") == (False, "")
    assert tables.stream_decision(str(folder), "on")[0] is True
    csv = tmp_path / "t.csv"
    csv.write_text("a,y\n1,2\n")
    assert tables.stream_decision(str(csv))[0] is False
    with pytest.raises(DatasetError, match="stream on reads a Parquet file or a folder"):
        tables.stream_decision(str(csv), "on")


# ---- fit's batch sources --------------------------------------------------------------------------------------

class ArraySource:
    """The batches fit draws from arrays, handed over as a source: same order, same rows."""

    def __init__(self, X, y):
        self.X, self.y, self.n_rows = X, y, len(X)

    def batches(self, rng, batch_size):
        order = rng.permutation(self.n_rows)
        for s in range(0, self.n_rows, batch_size):
            yield self.X[order[s:s + batch_size]], self.y[order[s:s + batch_size]]


def _net(seed=0):
    return Sequential([Dense(4, 16), ReLU(), Dropout(0.2), Dense(16, 3)], seed=seed)


def test_fit_from_a_batch_source_trains_exactly_as_from_the_same_arrays(blobs):
    X, y = blobs
    a, b = _net(), _net()
    ha = a.fit(X, y, epochs=3, batch_size=16, verbose=0, validation_data=(X[:30], y[:30]), metrics=["accuracy"])
    hb = b.fit(ArraySource(X, y), None, epochs=3, batch_size=16, verbose=0, validation_data=(X[:30], y[:30]),
               metrics=["accuracy"])
    np.testing.assert_array_equal(a.flat.values, b.flat.values)
    assert ha.epochs["loss"] == hb.epochs["loss"] and ha.epochs["val_accuracy"] == hb.epochs["val_accuracy"]


def test_fit_refuses_what_a_batch_source_cannot_take(blobs):
    X, y = blobs
    source = ArraySource(X, y)
    with pytest.raises(TypeError, match="give y=None"):
        _net().fit(source, y, verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        _net().fit(source, None, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="minibatches"):
        _net().fit(source, None, batch_size=None, verbose=0)
    with pytest.raises(TypeError, match="sample_weight"):
        _net().fit(source, None, sample_weight=np.ones(len(X)), verbose=0)
    with pytest.raises(ShapeError, match="a streamed batch's x"):
        _net().fit(ArraySource(X[:, :3], y), None, verbose=0)
    with pytest.raises(DataError, match="finite"):
        _net().fit(ArraySource(np.full_like(X, np.nan), y), None, verbose=0)


def test_a_model_trains_on_a_streamed_table_through_fit(folder):
    table = tables.open_stream(folder, label_column="y")
    model = Sequential([Dense(table.n_inputs, 16), ReLU(), Dense(16, 2)], seed=0)
    model.preprocessing = table.preprocessing()
    model.fit(table, None, validation_data=table.validation, epochs=3, batch_size=64, verbose=0)
    assert model.evaluate(*table.test, metrics=["accuracy"])["accuracy"] > 0.9


# ---- runs ---------------------------------------------------------------------------------------------------------

def test_a_streamed_run_scores_close_to_the_in_memory_run_on_the_same_table(folder, tmp_path):
    figures = {}
    for mode in ("on", "off"):
        config = TrainConfig(dataset=str(folder), label_column="y", hidden=[16], epochs=6, lr=5e-3,
                             batch_size=64, stream=mode, doctor=mode == "on")
        lines: list[str] = []
        result = train_run(config, tmp_path / mode, log=lines.append, verbose=0, report=False)
        figures[mode] = result.test_metrics["accuracy"]
        if mode == "on":
            assert any("streamed row group by row group" in line for line in lines)
            assert any("uniform sample of" in line for line in lines)
            summary = json.loads((tmp_path / mode / "metrics.json").read_text())
            assert summary["samples"]["train"] + summary["samples"]["validation"] < 6000
            assert (tmp_path / mode / "doctor.jsonl").exists()
    assert figures["on"] > 0.95 and figures["off"] > 0.95
    assert abs(figures["on"] - figures["off"]) < 0.02, figures
    # the streamed model predicts rows of the table by their columns, as one trained in memory does
    model = Sequential.load(tmp_path / "on" / "model.safetensors")
    rows = read_whole(folder)[np.arange(0, 6000, 7)]
    predicted = np.array(model.preprocessing["class_names"])[model.predict(tables.prepare(rows,
                                                                                             model.preprocessing))]
    assert (predicted == rows.column("y")).mean() > 0.9


def test_a_streamed_run_resumed_goes_on_exactly_as_the_uninterrupted_one(folder, tmp_path, monkeypatch, capsys):
    """The first pass is seeded: a resumed run finds the same sample, preprocessing and held-out rows, and the
    epochs' order comes from the model's Generator, which the model file keeps."""
    from numpynn import run as run_module

    from .test_resume_cli import _CtrlC

    build = run_module.build_callbacks
    args = ["--label-column", "y", "--stream", "on", "--hidden", "8", "--epochs", "3", "--batch-size", "64",
            "--no-report", "--quiet", "--dataset", str(folder)]
    assert main(["train", *args, "--out", str(tmp_path / "whole")]) == 0
    monkeypatch.setattr(run_module, "build_callbacks", lambda *a, **k: [*build(*a, **k), _CtrlC(1)])
    assert main(["train", *args, "--out", str(tmp_path / "parted")]) == 130
    monkeypatch.setattr(run_module, "build_callbacks", build)
    assert main(["train", "--resume", str(tmp_path / "parted"), "--quiet", "--no-report"]) == 0
    a, b = (Sequential.load(tmp_path / d / "model.safetensors") for d in ("whole", "parted"))
    assert a.epoch == b.epoch == 3
    for key, w in a.get_weights().items():
        assert w.tobytes() == b.get_weights()[key].tobytes(), key
    assert a.history.batch_loss == b.history.batch_loss


def test_a_folder_that_fits_in_memory_trains_whole_from_the_command_line(folder, tmp_path, capsys):
    assert load_dataset(str(folder), label_column="y").train[0].n_rows == 4800
    code = main(["train", "--dataset", str(folder), "--label-column", "y", "--hidden", "8", "--epochs", "1",
                 "--stream", "off", "--out", str(tmp_path / "run"), "--no-report", "--quiet"])
    assert code == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["samples"]["test"] == 1200


def test_full_batch_training_is_refused_for_a_streamed_table(folder, tmp_path):
    config = TrainConfig(dataset=str(folder), label_column="y", batch_size=0, stream="on")
    with pytest.raises(Exception, match="batch_size 0"):
        train_run(config, tmp_path / "run", log=lambda m: None, verbose=0, report=False)


# ---- reading ahead --------------------------------------------------------------------------------------------

@pytest.fixture
def cpus(monkeypatch):
    """Reading ahead in its thread, as on a machine of 4 CPUs (on fewer than 3 it reads in the caller's)."""
    monkeypatch.setattr(prefetch, "usable_cpus", lambda: 4)


def test_reading_ahead_keeps_the_order_passes_errors_on_and_stops_when_closed(cpus):
    before = threading.active_count()
    items = ahead(iter(range(100)))
    assert next(items) == 0 and threading.active_count() == before + 1  # a thread of its own
    assert list(items) == list(range(1, 100))

    def failing():
        yield 1
        raise DatasetError("bad row group")

    with pytest.raises(DatasetError, match="bad row group"):
        list(ahead(failing()))
    made = []

    def endless():
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    items = ahead(endless(), depth=2)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    assert threading.active_count() == before and len(made) < 10


def test_a_many_valued_category_learned_from_the_sample_feeds_an_embedding(tmp_path):
    folder = tmp_path / "cities"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for f in range(2):
        city = rng.integers(0, 40, 3000)
        y = np.where(city % 2 == 0, "even", "odd")
        pq.write_table(pa.table({"city": [f"c{c}" for c in city], "x": rng.normal(size=3000), "y": y}),
                       folder / f"part-{f}.parquet", row_group_size=1000)
    config = TrainConfig(dataset=str(folder), label_column="y", hidden=[16], epochs=5, lr=5e-3, batch_size=64,
                         stream="on", doctor=False)
    result = train_run(config, tmp_path / "run", log=lambda m: None, verbose=0, report=False)
    entry = next(e for e in result.model.preprocessing["table"]["columns"] if e["name"] == "city")
    assert entry["encoding"] == "embedding" and type(result.model.layers[0]).__name__ == "Embedding"
    assert result.test_metrics["accuracy"] > 0.95
