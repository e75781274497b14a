"""Reading a 1,000,000-row x 20-column CSV: numpynn.data.read_table against pandas.read_csv (its default engine),
each read in a fresh process (so each peak is its own), alternating, medians of --repeats.

The file: 19 float columns written with 5 significant digits and an integer class column, as a table exported
from a spreadsheet or a database. Memory is the peak resident size over the process's size after its imports,
against the float32 matrix of the table (n x 20 x 4 bytes): the target is at most 2x. CPU seconds are given
beside wall seconds: on a busy machine the wall clock mostly measures waiting.

    python benchmarks/table_read.py [--rows 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
if kind == "numpynn":
    import pyarrow.compute, pyarrow.csv  # noqa: F401 (imports are not the reading)
    from numpynn.data.table import read_table
else:
    import pandas as pd
with open("/proc/self/statm") as f:
    start = int(f.read().split()[1]) * resource.getpagesize()
wall, cpu = time.perf_counter(), time.process_time()
if kind == "numpynn":
    frame = read_table(path)
    n, k = frame.n_rows, len(frame.names)
else:
    df = pd.read_csv(path)
    n, k = df.shape
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"wall": wall, "cpu": cpu, "peak": peak - start, "rows": n, "columns": k}))
"""


def write_table(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write(",".join([f"x{i}" for i in range(19)] + ["label"]) + "\n")
        for start in range(0, rows, 100_000):
            m = min(100_000, rows - start)
            block = rng.normal(size=(m, 19)).astype(np.float32).tolist()
            labels = rng.integers(0, 3, m).tolist()
            f.write("".join(",".join(f"{v:.5g}" for v in r) + f",{c}\n" for r, c in zip(block, labels, strict=True)))


def measure(kind: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        write_table(path, args.rows)
        results: dict[str, list[dict]] = {"numpynn": [], "pandas": []}
        for r in range(args.repeats):
            for kind in (("numpynn", "pandas") if r % 2 == 0 else ("pandas", "numpynn")):
                results[kind].append(measure(kind, path))
        size = path.stat().st_size / 2**20
    matrix = args.rows * 20 * 4
    print(f"CSV of {args.rows:,} rows x 20 columns ({size:.0f} MiB); the float32 matrix {matrix / 2**20:.0f} MiB; "
          f"medians of {args.repeats}")
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu", "peak")} for k, v in results.items()}
    for kind, m in med.items():
        print(f"  {kind:8} {m['wall']:6.2f} s wall  {m['cpu']:6.2f} s CPU  peak {m['peak'] / 2**20:5.0f} MiB "
              f"({m['peak'] / matrix:.2f}x the matrix)")
    print(f"  numpynn / pandas: {med['numpynn']['wall'] / med['pandas']['wall']:.2f}x wall, "
          f"{med['numpynn']['cpu'] / med['pandas']['cpu']:.2f}x CPU (targets: at most 1x wall, 2x the matrix)")


if __name__ == "__main__":
    main()
