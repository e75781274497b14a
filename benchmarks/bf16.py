"""numpynn's bf16 engine (fit's precision="bf16") against float32, measured side by side in one run.

Rows: the products at MLP shapes (NumPy/OpenBLAS float32, oneDNN float32, oneDNN bfloat16, GFLOP/s); then the
784-256-128-10 (batch 128) and 784-1024-1024-10 (batch 256) epochs on Fashion-MNIST: the float32 GEMM floor,
numpynn float32 and numpynn bf16, with their ratios, and test accuracy after the same epochs in both
precisions. Medians of interleaved repeats. Where this CPU or installation has no bfloat16 products it says
why and stops.

    python benchmarks/bf16.py [--repeats 5] [--threads N] [--epochs 10] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import numpynn as nn
from numpynn import ops
from numpynn.ops import onednn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import NETWORKS, floor_epoch, numpynn_model  # noqa: E402

SHAPES = [(128, 784, 256), (784, 128, 256), (256, 784, 1024), (256, 1024, 1024), (2048, 2048, 2048)]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _gflops(fn, flop: float, inner: int, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        out.append(flop / 1e9 / ((time.perf_counter() - t) / inner))
    return out


def products(engine, repeats: int) -> None:
    dnnl = engine._dnnl
    rng = np.random.default_rng(0)
    print(f"{'product m x k x n':>20s} {'NumPy f32':>10s} {'oneDNN f32':>11s} {'oneDNN bf16':>12s}  (GFLOP/s)")
    for m, k, n in SHAPES:
        A, B = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
        Ab, Bb, C = np.empty(A.shape, np.uint16), np.empty(B.shape, np.uint16), np.empty((m, n), np.float32)
        engine.to_product(A, Ab), engine.to_product(B, Bb)
        calls = {"numpy": functools.partial(np.matmul, A, B, out=C), "sgemm": functools.partial(dnnl.sgemm, A, B, C),
                 "bf16": functools.partial(dnnl.gemm_bf16, Ab, Bb, C)}
        inner = max(1, int(2e8 // (m * k * n)))  # a few hundred microseconds per timing at least
        g = {name: [] for name in calls}
        for _ in range(repeats if m * k * n < 1e9 else max(2, repeats // 3)):  # interleaved
            for name, fn in calls.items():
                fn()
                g[name] += _gflops(fn, 2 * m * k * n, inner, 1)
        g = {name: float(np.median(v)) for name, v in g.items()}
        print(f"{f'{m} x {k} x {n}':>20s} {g['numpy']:10.0f} {g['sgemm']:11.0f} {g['bf16']:12.0f}", flush=True)


def epochs(X, y, Xt, yt, repeats: int, n_epochs: int) -> None:
    print(f"\n{'network':30s} {'floor f32':>9s} {'numpynn f32':>11s} {'numpynn bf16':>12s}   {'bf16/floor':>10s} "
          f"{'f32/floor':>9s} {'bf16/f32':>8s}   accuracy after {n_epochs} epochs: f32, bf16")
    for name in ("784-256-128-10 Adam b128", "784-1024-1024-10 Adam b256"):
        sizes, act, bs, _, lr = NETWORKS[name]
        floor = floor_epoch(X, sizes, bs)
        models = {p: numpynn_model(sizes, act) for p in ("float32", "bf16")}
        for p, model in models.items():
            model.fit(X, y, optimizer=nn.Adam(lr), epochs=1, batch_size=bs, verbose=0, precision=p)  # warm-up
        runs = {"floor": floor}
        for p, model in models.items():
            runs[p] = functools.partial(model.fit, X, y, epochs=1, batch_size=bs, verbose=0, precision=p)
        t = {k: [] for k in runs}
        for _ in range(repeats):
            for k, fn in runs.items():
                t[k].append(median_time(fn, 1) if k == "floor" else _once(fn))
        med = {k: float(np.median(v)) for k, v in t.items()}
        accuracy = {}
        for p in ("float32", "bf16"):
            model = numpynn_model(sizes, act)
            model.fit(X, y, optimizer=nn.Adam(lr), epochs=n_epochs, batch_size=bs, verbose=0, precision=p)
            accuracy[p] = 100 * float(np.mean(model.predict(Xt) == yt))
        print(f"{name:30s} {med['floor']:9.3f} {med['float32']:11.3f} {med['bf16']:12.3f}   "
              f"{med['bf16'] / med['floor']:10.2f} {med['float32'] / med['floor']:9.2f} "
              f"{med['bf16'] / med['float32']:8.2f}   {accuracy['float32']:.2f} %, {accuracy['bf16']:.2f} %",
              flush=True)


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--epochs", type=int, default=10, help="epochs for the accuracy comparison (default 10)")
    parser.add_argument("--quick", action="store_true", help="products only")
    args = parser.parse_args(argv)
    flags = onednn.bf16_flags()
    print(f"CPU: {cpu_model()}; bfloat16 features: {', '.join(flags) or 'none'}; {args.threads} threads")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))  # read by GNU OpenMP when oneDNN loads
    try:
        engine = ops.engine_for("bf16")
    except onednn.Bf16Unavailable as exc:
        print(f"no bf16 rows: {exc}")
        return 0
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    print(f"engine: {ops.describe('bf16')}\n")
    products(engine, args.repeats)
    if args.quick:
        return 0
    (X, y), (Xt, yt) = nn.datasets.load("fashion-mnist")
    epochs(X, y.astype(np.int64), Xt, yt.astype(np.int64), args.repeats, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
