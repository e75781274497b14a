"""Training rows per second on one Parquet table, read whole into memory against streamed row group by row group.

The table (written once into a temporary folder unless --table names one): --rows rows of 20 numbers (float64),
two text categories (5 and 12 values) and a label of 3 classes that they decide, in 4 files of row groups of
50,000 rows. The network: inputs-64-64-3 (ReLU, Adam, batch 256), float32, the engine NUMPYNN_KERNELS picks.

Measured: the preparation (in memory: read, learn, transform the 80 % training split; streamed: the first pass
and the sample), then --repeats rounds of one epoch each way in turn (the streamed one as the machine decides, and
reading ahead in a thread whatever the number of CPUs), and the stream's batches alone (reading and preparing, no
training). Rows per second are training rows over the median epoch; the fastest epoch is shown beside it. Prints
a table; --json writes the figures.

    python benchmarks/stream_speed.py [--rows 1000000] [--repeats 3] [--table DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import numpynn as nn
from numpynn import ops, tables
from numpynn.data import prefetch

GROUP_ROWS = 50_000


def write_table(folder: Path, rows: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(20, 3))
    small, large = np.array(list("abcde"), dtype=object), np.array([f"k{i}" for i in range(12)], dtype=object)
    per_file = -(-rows // 4)
    done = 0
    for f in range(4):
        with pq.ParquetWriter(folder / f"part-{f}.parquet", _schema(pa)) as writer:
            n_file = min(per_file, rows - done)
            for at in range(0, n_file, GROUP_ROWS):
                n = min(GROUP_ROWS, n_file - at)
                x = rng.normal(size=(n, 20))
                c1, c2 = rng.integers(0, 5, n), rng.integers(0, 12, n)
                score = x @ w + np.eye(3)[c1 % 3] + 0.5 * np.eye(3)[c2 % 3]
                label = np.array(["p", "q", "r"], dtype=object)[np.argmax(score, axis=1)]
                columns = {f"x{j}": x[:, j] for j in range(20)}
                columns.update(c1=small[c1], c2=large[c2], label=label)
                writer.write_table(pa.table(columns, schema=_schema(pa)))
            done += n_file


def _schema(pa):
    return pa.schema([(f"x{j}", pa.float64()) for j in range(20)] +
                     [("c1", pa.string()), ("c2", pa.string()), ("label", pa.string())])


def _model(n_inputs: int) -> nn.Sequential:
    model = nn.build_mlp(n_inputs, [64, 64], 3, activation="relu", seed=0)
    model.set_loss("cross_entropy")
    model.optimizer = nn.Adam(1e-3)
    return model


def _epoch(model, X, y) -> float:
    t0 = time.perf_counter()
    model.fit(X, y, epochs=1, batch_size=256, verbose=0)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--table", type=Path, help="a folder to write the table into (kept), else a temporary one")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.table or Path(tmp) / "table"
        if not folder.exists():
            write_table(folder, args.rows)
        t0 = time.perf_counter()
        (X, y), _, _ = tables.load(str(folder), label_column="label")
        prepare_memory = time.perf_counter() - t0
        t0 = time.perf_counter()
        table = tables.open_stream(folder, label_column="label", validation_split=0.0)
        prepare_stream = time.perf_counter() - t0
        memory, streamed, ahead = _model(X.shape[1]), _model(table.n_inputs), _model(table.n_inputs)
        times: dict[str, list[float]] = {"in memory": [], "streamed": [], "streamed, reading ahead": [],
                                         "stream's batches alone": []}
        cpus = prefetch.usable_cpus
        for _ in range(args.repeats):
            times["in memory"].append(_epoch(memory, X, y))
            times["streamed"].append(_epoch(streamed, table, None))  # reading ahead where MIN_CPUS are usable
            prefetch.usable_cpus = lambda: prefetch.MIN_CPUS  # in a thread, whatever the machine
            try:
                times["streamed, reading ahead"].append(_epoch(ahead, table, None))
            finally:
                prefetch.usable_cpus = cpus
            t0 = time.perf_counter()
            for _ in table.batches(np.random.default_rng(0), 256):
                pass
            times["stream's batches alone"].append(time.perf_counter() - t0)
    figures = {k: {"epoch_seconds": float(np.median(v)), "fastest_seconds": float(np.min(v)),
                   "rows_per_second": (len(X) if k == "in memory" else table.n_rows) / float(np.median(v))}
               for k, v in times.items()}
    print(f"{args.rows:,} rows, {table.n_inputs} inputs, engine {ops.describe()}; preparing: in memory "
          f"{prepare_memory:.1f} s, streamed (first pass) {prepare_stream:.1f} s")
    print(f"{'':<24} {'epoch (median)':>15} {'fastest':>9} {'training rows/s':>16}")
    for k, v in figures.items():
        print(f"{k:<24} {v['epoch_seconds']:>13.2f} s {v['fastest_seconds']:>7.2f} s {v['rows_per_second']:>16,.0f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "rows": args.rows,
                                         "prepare_seconds": {"in memory": prepare_memory,
                                                             "streamed": prepare_stream},
                                         "figures": figures, "times": times}, indent=1))


if __name__ == "__main__":
    main()
