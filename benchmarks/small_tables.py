"""Small networks on tables: one training epoch of a 256-128-1 regression network (ReLU, Adam, MSE) on 16,000
rows, numpynn against the GEMM floor and scikit-learn's MLPRegressor, for input widths 8, 26, 64 and batches 32,
200, 512, each with 1 and 2 BLAS threads (threadpoolctl.threadpool_limits).

- numpynn: nn.Sequential + fit(epochs=1) per round; a callback times the epoch itself (on_epoch_begin to
  on_epoch_end) and reads the OpenBLAS thread count the loop chose for it (numpynn.ops.threads.EpochThreads).
- floor: only the products of one epoch as plain NumPy matmuls of the same shapes (forward x @ W per layer,
  backward x.T @ dz per layer and dz @ W.T for all but the first), into preallocated outputs; nothing else.
- scikit-learn: MLPRegressor(hidden_layer_sizes=(256, 128), solver="adam", batch_size=bs).partial_fit, one epoch.

Every figure is the median of `--rounds` epochs after a warm-up epoch, the three systems interleaved round by
round. Targets (issue 29): numpynn/floor <= 1.5 and sklearn/numpynn >= 3. Run it with OpenBLAS's own kernels:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/small_tables.py [--rounds 5]
        [--widths 8,26,64] [--batches 32,200,512] [--threads 1,2] [--json results.json]
    python benchmarks/small_tables.py --profile 26,200 --threads 1     # cProfile of numpynn's epochs there
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import numpynn as nn
from numpynn.ops import threads as epoch_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import floor_epoch  # noqa: E402 (the products of one epoch, as benchmarks/run.py times them)

ROWS = 16_000
HIDDEN = (256, 128)
FLOOR_TARGET, SKLEARN_TARGET = 1.5, 3.0


def table(width: int, rows: int = ROWS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standardised float32 features (rows, width) and a smooth non-linear float32 target (rows, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, width)).astype(np.float32)
    w = rng.standard_normal(width) / np.sqrt(width)
    y = np.sin(X @ w) + 0.1 * (X[:, 0] * X[:, -1]) + 0.05 * rng.standard_normal(rows)
    return X, y.astype(np.float32).reshape(-1, 1)




# --- numpynn --------------------------------------------------------------------------------------------------
class EpochTimer(nn.Callback):
    """Wall-clock and CPU seconds of each epoch, and the OpenBLAS threads it ran on (read at its first step)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.cpu: list[float] = []
        self.threads: list[int] = []
        self._get = epoch_threads._found()
        self._first = False

    def on_epoch_begin(self, epoch: int) -> None:
        self._first = True
        self._t, self._c = time.perf_counter(), time.process_time()

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        if self._first:
            self._first = False
            self.threads.append(self._get[0]() if self._get else 1)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.seconds.append(time.perf_counter() - self._t)
        self.cpu.append(time.process_time() - self._c)


def numpynn_epoch(X: np.ndarray, y: np.ndarray, bs: int):
    model = nn.Sequential([nn.Dense(X.shape[1], HIDDEN[0]), nn.ReLU(), nn.Dense(HIDDEN[0], HIDDEN[1]), nn.ReLU(),
                           nn.Dense(HIDDEN[1], 1)], seed=0)
    timer = EpochTimer()
    model.fit(X, y, loss="mse", optimizer=nn.Adam(1e-3), epochs=1, batch_size=bs, verbose=0)  # warm-up

    def epoch() -> None:
        model.fit(X, y, epochs=1, batch_size=bs, verbose=0, callbacks=[timer])

    return epoch, timer, model


def loop_choice(model, bs: int) -> dict:
    """What the training loop's EpochThreads decides under the current limits, and why."""
    chooser = epoch_threads.EpochThreads(epoch_threads.largest_product(model, bs))
    return {"setting": chooser.setting, "largest product": epoch_threads.largest_product(model, bs),
            "small": chooser.small, "others load": round(epoch_threads.others_load(1), 2),
            "usable cpus": epoch_threads.usable_cpus(), "chooses": chooser.for_epoch()}


# --- scikit-learn ---------------------------------------------------------------------------------------------
def sklearn_epoch(X: np.ndarray, y: np.ndarray, bs: int):
    from sklearn.neural_network import MLPRegressor

    reg = MLPRegressor(hidden_layer_sizes=HIDDEN, activation="relu", solver="adam", batch_size=bs,
                       learning_rate_init=1e-3, random_state=0, shuffle=True)
    target = y.ravel()
    reg.partial_fit(X, target)  # warm-up; each call is one epoch in minibatches of batch_size
    return lambda: reg.partial_fit(X, target)


# --- measuring ------------------------------------------------------------------------------------------------
def timed(fn) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def measure(width: int, bs: int, n_threads: int, rounds: int) -> dict:
    from threadpoolctl import threadpool_limits

    X, y = table(width)
    with threadpool_limits(n_threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLPRegressor warns that one epoch has not converged
        floor = floor_epoch(X, [width, *HIDDEN, 1], bs)
        floor()
        ours, timer, model = numpynn_epoch(X, y, bs)
        theirs = sklearn_epoch(X, y, bs)
        wall: dict[str, list[float]] = {"floor": [], "numpynn": [], "sklearn": []}
        cpu: dict[str, list[float]] = {"floor": [], "numpynn": [], "sklearn": []}
        for _ in range(rounds):
            for name, fn in (("floor", floor), ("numpynn", ours), ("sklearn", theirs)):
                seconds, cpu_seconds = timed(fn)
                if name == "numpynn":  # the epoch itself, without fit's per-call checks of X and y
                    seconds, cpu_seconds = timer.seconds[-1], timer.cpu[-1]
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
        choice = loop_choice(model, bs)
    med = {k: float(np.median(v)) for k, v in wall.items()}
    return {"width": width, "batch": bs, "threads": n_threads, "seconds": med,
            "cpu seconds": {k: float(np.median(v)) for k, v in cpu.items()},
            "numpynn/floor": med["numpynn"] / med["floor"], "sklearn/numpynn": med["sklearn"] / med["numpynn"],
            "loop threads": sorted(set(timer.threads)), "loop choice": choice}


def profile(width: int, bs: int, n_threads: int, epochs: int = 10, top: int = 25) -> None:
    """cProfile of numpynn's epochs at one shape: where the time over the floor goes (by own time)."""
    import cProfile
    import pstats

    from threadpoolctl import threadpool_limits

    X, y = table(width)
    with threadpool_limits(n_threads):
        ours, timer, _ = numpynn_epoch(X, y, bs)
        floor = floor_epoch(X, [width, *HIDDEN, 1], bs)
        floor()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(epochs):
            ours()
        profiler.disable()
        floor_s = float(np.median([timed(floor)[0] for _ in range(epochs)]))
    print(f"numpynn {width} inputs, batch {bs}, {n_threads} thread(s): {epochs} epochs under cProfile, median epoch "
          f"{np.median(timer.seconds):.4f} s (the floor's {floor_s:.4f} s without the profiler)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def blas_info() -> list[dict]:
    from threadpoolctl import threadpool_info

    return [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for d in threadpool_info()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per system and shape (default 5)")
    parser.add_argument("--widths", default="8,26,64")
    parser.add_argument("--batches", default="32,200,512")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--profile", metavar="WIDTH,BATCH", default=None,
                        help="only profile numpynn's epochs at this shape (cProfile, first --threads count)")
    args = parser.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    thread_counts = [int(t) for t in args.threads.split(",")]
    if args.profile:
        width, bs = (int(v) for v in args.profile.split(","))
        profile(width, bs, thread_counts[0])
        return 0

    import sklearn

    env = {"numpynn": nn.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__,
           "cpu": platform.processor() or platform.machine(), "elementwise loops": nn.ops.describe(),
           "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "load average": os.getloadavg(),
           "blas": blas_info()}
    print(f"{ROWS:,} rows, {'-'.join(map(str, HIDDEN))}-1 ReLU, Adam, MSE; median of {args.rounds} epochs after a "
          f"warm-up; numpynn's elementwise loops: {env['elementwise loops']}")
    for lib in env["blas"]:
        print(f"BLAS: {lib['internal_api']} {lib['version']} kernel {lib['architecture']} ({lib['filepath']})")
    print(f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}; 1-minute load average at start "
          f"{env['load average'][0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'width':>5s} {'batch':>5s} {'thr':>3s} {'floor s':>8s} {'numpynn s':>9s} {'sklearn s':>9s}  "
          f"{'numpynn/floor':>13s} {'sklearn/numpynn':>15s}  loop threads (largest product, load)")
    rows = []
    for n_threads in thread_counts:
        for width in widths:
            for bs in batches:
                r = measure(width, bs, n_threads, args.rounds)
                rows.append(r)
                s, c = r["seconds"], r["loop choice"]
                ok_floor = "ok" if r["numpynn/floor"] <= FLOOR_TARGET else "MISSED"
                ok_sk = "ok" if r["sklearn/numpynn"] >= SKLEARN_TARGET else "MISSED"
                print(f"{width:5d} {bs:5d} {n_threads:3d} {s['floor']:8.4f} {s['numpynn']:9.4f} {s['sklearn']:9.4f}  "
                      f"{r['numpynn/floor']:8.2f} {ok_floor:>4s} {r['sklearn/numpynn']:10.2f} {ok_sk:>4s}  "
                      f"{r['loop threads']} ({c['largest product'] / 1e6:.1f}M{' small' if c['small'] else ''}, "
                      f"{c['others load']:.1f})", flush=True)
    met = sum(r["numpynn/floor"] <= FLOOR_TARGET and r["sklearn/numpynn"] >= SKLEARN_TARGET for r in rows)
    print(f"both targets met in {met} of {len(rows)} rows (numpynn/floor <= {FLOOR_TARGET}, "
          f"sklearn/numpynn >= {SKLEARN_TARGET})")
    one = {(r["width"], r["batch"]): r["seconds"]["floor"] for r in rows if r["threads"] == 1}
    for r in rows:  # a busy machine slows the 2-thread floor itself: numpynn's epoch against the 1-thread floor too
        if r["threads"] > 1 and (r["width"], r["batch"]) in one:
            r["numpynn/floor at 1 thread"] = r["seconds"]["numpynn"] / one[r["width"], r["batch"]]
            print(f"width {r['width']:3d} batch {r['batch']:4d}: numpynn at {r['threads']} threads / the 1-thread "
                  f"floor {r['numpynn/floor at 1 thread']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"environment": env, "rows": rows}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
