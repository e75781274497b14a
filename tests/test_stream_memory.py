"""A table several times larger than the memory a process may use trains all the same: streamed, it finishes and
predicts its held-out rows; read whole under the same limit, it is refused before anything is read.

The limit is an address-space limit (RLIMIT_AS) of 600 MiB above what the child process maps once numpy, pyarrow
and numpynn are loaded. An address-space limit also counts what allocators reserve without using: glibc's
arenas, one per thread that allocates (64 MiB each), and pyarrow's default allocator (mimalloc), which reserves
a gigabyte up front. The child therefore runs with MALLOC_ARENA_MAX=2 and pyarrow's system allocator, so that
what the limit counts is what numpynn and the Parquet reader allocate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import numpynn

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

LIMIT = 600 << 20
ROWS, COLUMNS, GROUPS, FILES = 110_000, 50, 10, 5  # 5.5 million rows: 2.2 GB of float64 read, 0.2 GB stored

CHILD = r"""
import json, resource, sys
import numpy, pyarrow, pyarrow.parquet
import numpynn
from numpynn.config import TrainConfig
from numpynn.run import train_run


def mapped(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))


base = mapped("VmSize")
resource.setrlimit(resource.RLIMIT_AS, (base + int(sys.argv[3]), resource.RLIM_INFINITY))
config = TrainConfig(dataset=sys.argv[1], label_column="label", hidden=[16], epochs=1, batch_size=1024,
                     doctor=False, stream=sys.argv[4])
try:
    result = train_run(config, sys.argv[2], log=lambda m: print(m, file=sys.stderr), verbose=0, report=False)
except numpynn.errors.NumpynnError as exc:
    print(json.dumps({"refused": str(exc)}))
    sys.exit(3)
print(json.dumps({"accuracy": result.test_metrics["accuracy"], "peak": mapped("VmPeak") - base}))
"""


@pytest.fixture(scope="module")
def big_table(tmp_path_factory) -> tuple[Path, int]:
    """A folder of Parquet files whose label follows a linear rule of 50 numbers, each one of 61 values (stored
    as small dictionary codes, read as float64); (the folder, its size read in bytes)."""
    folder = tmp_path_factory.mktemp("big") / "table"
    folder.mkdir()
    rng = np.random.default_rng(0)
    w = rng.normal(size=COLUMNS)
    levels = np.arange(-30, 31) / 10.0
    words = pa.array(["no", "yes"])
    schema = pa.schema([(f"x{j}", pa.float64()) for j in range(COLUMNS)] + [("label", pa.string())])
    read = 0
    for f in range(FILES):
        with pq.ParquetWriter(folder / f"part-{f}.parquet", schema, compression="none") as writer:
            for _ in range(GROUPS):
                values = levels[rng.integers(0, len(levels), size=(COLUMNS, ROWS), dtype=np.int8)]
                label = words.take(pa.array((w @ values > 0).astype(np.int8)))
                table = pa.table([pa.array(v) for v in values] + [label], schema=schema)
                read += table.nbytes
                writer.write_table(table)
    return folder, read


def _child(folder: Path, out: Path, stream: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "ARROW_DEFAULT_MEMORY_POOL": "system",
           "PYTHONPATH": os.pathsep.join([str(Path(numpynn.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", CHILD, str(folder), str(out), str(LIMIT), stream],
                          capture_output=True, text=True, env=env, timeout=600)


def test_a_table_several_times_the_memory_limit_streams_and_predicts_its_held_out_rows(big_table, tmp_path,
                                                                                         engine):
    if engine != "numpy":
        pytest.skip("the memory bound is the reader's and the buffers', whatever the engine: run once")
    folder, read = big_table
    assert read > 3.5 * LIMIT
    done = _child(folder, tmp_path / "streamed", "auto")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "streamed row group by row group" in done.stderr  # chosen by size: more than the memory left
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["accuracy"] > 0.9  # the held-out test rows; chance is about 0.5
    assert figures["peak"] < LIMIT
    # under the same limit the table read whole is refused, with numpynn's message, before it is read
    whole = _child(folder, tmp_path / "whole", "off")
    assert whole.returncode == 3, whole.stderr[-3000:]
    assert "of memory" in json.loads(whole.stdout.strip().splitlines()[-1])["refused"]
