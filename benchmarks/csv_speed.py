"""How fast numpynn reads an OpenML-style mnist_784 CSV (70,000 rows x 785 integer columns), next to NumPy's
own CSV reader on the same file.

    python benchmarks/csv_speed.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from numpynn import data


def main() -> int:
    (X, y), (Xt, yt) = data.load_raw("mnist-sample")
    rng = np.random.default_rng(0)
    pick = rng.integers(0, 8000, 70000)  # 70,000 real digit rows (the sample repeated), as in mnist_784
    rows = np.column_stack([X.reshape(8000, 784)[pick], y[pick]])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mnist_784.csv"
        header = ",".join(f'"pixel{i}"' for i in range(1, 785)) + ',"class"'
        np.savetxt(path, rows, fmt="%d", delimiter=",", header=header, comments="")
        size = path.stat().st_size / 2**20
        t = time.perf_counter()
        (a, b), (c, d) = data.load_openml_mnist_csv(path)
        ours = time.perf_counter() - t
        assert a.shape == (60000, 784) and c.shape == (10000, 784)
        np.testing.assert_array_equal(np.concatenate([a, c]), rows[:, :784])
        t = time.perf_counter()
        np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
        numpy_time = time.perf_counter() - t
    print(f"mnist_784-style CSV, {size:.0f} MiB: numpynn {ours:.2f} s, np.loadtxt {numpy_time:.2f} s "
          f"({numpy_time / ours:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
