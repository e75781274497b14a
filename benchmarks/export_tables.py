"""What a table model's exported preprocessing costs: raw rows to predictions by numpynn (numpynn.tables.prepare
then predict_proba), by onnxruntime on the exported graph (one input per column) and by the NumPy-only file
(`preprocess(dict of columns)` then `predict`), on the diamonds fixture tiled to --rows rows.

The model is a 64-64 ReLU regression of price trained for one epoch (its weights do not change the cost). Each
way is timed --repeats times in a rotated order; medians in milliseconds, and rows per second. The inputs each
way takes are built once, outside the timing: a Frame for numpynn, the (batch, 1) arrays for onnxruntime (one
thread, like numpynn's small work), a dict of NumPy columns for the file.

    python benchmarks/export_tables.py [--rows 100000] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import numpynn as nn
from numpynn import tables
from numpynn.data.table import Frame, read_table
from numpynn.export import export_onnx, export_python
from numpynn.tables.preprocess import numbers_of, text_of

DIAMONDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "diamonds-1000.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import onnxruntime as ort

    (X, y), _, prep = tables.load(DIAMONDS, label_column="price")
    model = nn.build_mlp(X.shape[1], [64, 64], 1, seed=0)
    model.set_loss("mse")
    model.preprocessing = prep
    model.fit(X, y, epochs=1, verbose=0)
    base = read_table(DIAMONDS)
    tile = np.arange(args.rows) % base.n_rows
    frame = Frame(base.names, [c[tile] for c in base.columns])
    work = Path(tempfile.mkdtemp())
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(export_onnx(model, work / "m.onnx")), options,
                                   providers=["CPUExecutionProvider"])
    feeds = {}
    for spec in json.loads(session.get_modelmeta().custom_metadata_map["inputs"]):
        col = frame.column(spec["column"])
        feeds[spec["input"]] = (numbers_of(col, "", "").astype(np.float32) if spec["type"] == "float32" else
                                np.array(["" if v is None else v for v in text_of(col)], object)).reshape(-1, 1)
    py, _ = export_python(model, work / "predict_diamonds.py")
    spec = importlib.util.spec_from_file_location("predict_diamonds", py)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    columns = {n: frame.column(n) for n in frame.names}
    ways = {
        "numpynn (prepare + predict)": lambda: model.predict(tables.prepare(frame, model.preprocessing)),
        "onnxruntime (raw columns)": lambda: session.run(["values"], feeds)[0],
        "NumPy file (preprocess + predict)": lambda: exported.predict(exported.preprocess(columns)),
    }
    want = ways["numpynn (prepare + predict)"]()
    for name, way in ways.items():  # all three agree before any is timed
        np.testing.assert_allclose(np.reshape(way(), want.shape), want, rtol=1e-5,
                                   atol=1e-5 * float(np.abs(want).max()), err_msg=name)
    times: dict[str, list[float]] = {name: [] for name in ways}
    names = list(ways)
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter()
            ways[name]()
            times[name].append(time.perf_counter() - t)
    result = {"rows": args.rows, "machine": platform.processor() or platform.machine(),
              "ms": {name: 1e3 * float(np.median(t)) for name, t in times.items()}}
    print(f"{args.rows:,} diamonds rows, raw columns -> predicted prices, median of {args.repeats}")
    for name, ms in result["ms"].items():
        print(f"  {name:<36} {ms:9.1f} ms  {args.rows / ms * 1e3:12,.0f} rows/s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
