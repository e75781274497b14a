"""The functional tutorial's network (784-128-10, ReLU, softmax, N(0, 0.01^2) weights and biases) on full MNIST:
the tutorial's own method (full-batch gradient descent, lr 0.2, 2,000 iterations) beside numpynn's fastest recipe
for the same network to reach the tutorial's 96.21 % test accuracy, on the same machine in one run.

Each recipe trains epoch by epoch and stops at the first epoch whose test accuracy is >= 96.21 %; its time is the
training time only (the accuracy checks are not counted), the median over --repeats runs with different seeds.
The tutorial's method runs once (it is the long one); --iterations N times N iterations and scales the time to
2,000 (its accuracy is then that of N iterations, and says so).

    python benchmarks/replay.py [--data PATH] [--repeats 3] [--iterations 2000] [--json FILE]

Data: --data (a folder of the four IDX files, gzip or raw, or a Keras mnist.npz), else $NUMPYNN_MNIST, else
../shared/data/mnist beside the repository when it exists, else numpynn's MNIST (cache or download).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

import numpynn as nn
from numpynn import data as datasets

TUTORIAL_ACCURACY = 0.9621
HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "mnist"
# name: (optimizer factory, batch size, max epochs); all train the tutorial's 784-128-10 network
RECIPES = {
    "Adam 2e-3, batches of 128": (lambda: nn.Adam(2e-3), 128, 10),
    "Adam 2e-3, batches of 256": (lambda: nn.Adam(2e-3), 256, 10),
    "Adam 1e-3, batches of 64": (lambda: nn.Adam(1e-3), 64, 10),
    "SGD 0.1 + momentum 0.9, batches of 64": (lambda: nn.SGD(0.1, momentum=0.9), 64, 10),
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_mnist(path: str | None):
    source = path or os.environ.get("NUMPYNN_MNIST") or (str(SHARED) if SHARED.is_dir() else "mnist")
    (X, y), (Xt, yt) = datasets.load_raw(source)
    return (datasets.flatten(datasets.scale_to_unit(X)), y.astype(np.int64),
            datasets.flatten(datasets.scale_to_unit(Xt)), yt.astype(np.int64), source)


def tutorial_network(seed: int) -> nn.Sequential:
    return nn.Sequential([nn.Dense(784, 128, "relu", init="small_normal", bias_init="small_normal"),
                          nn.Dense(128, 10, init="small_normal", bias_init="small_normal")], seed=seed)


def tutorial_method(X, y, Xt, yt, iterations: int) -> dict:
    model = tutorial_network(0)
    t = time.perf_counter()
    model.fit(X, y, optimizer=nn.SGD(0.2), epochs=iterations, batch_size=None, verbose=0)
    seconds = time.perf_counter() - t
    return {"iterations": iterations, "seconds": seconds, "seconds_for_2000": seconds * 2000 / iterations,
            "accuracy": model.evaluate(Xt, yt)["accuracy"]}


def time_to_accuracy(X, y, Xt, yt, make_opt, batch: int, max_epochs: int, seed: int) -> dict:
    model = tutorial_network(seed)
    model.optimizer = make_opt()
    seconds, accuracy = 0.0, 0.0
    for epoch in range(1, max_epochs + 1):
        t = time.perf_counter()
        model.fit(X, y, epochs=1, batch_size=batch, verbose=0)
        seconds += time.perf_counter() - t
        accuracy = model.evaluate(Xt, yt)["accuracy"]
        if accuracy >= TUTORIAL_ACCURACY:
            return {"seconds": seconds, "epochs": epoch, "accuracy": accuracy}
    return {"seconds": None, "epochs": max_epochs, "accuracy": accuracy}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="full MNIST: a folder of IDX files or a Keras mnist.npz")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=2000, help="iterations of the tutorial's method to run")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    X, y, Xt, yt, source = load_mnist(args.data)
    print(f"CPU: {cpu_model()}, {len(os.sched_getaffinity(0))} cores usable; numpynn {nn.__version__}, "
          f"engine {nn.ops.describe()}; data {source} ({len(X):,} train, {len(Xt):,} test)")
    results = {}
    for name, (make_opt, batch, max_epochs) in RECIPES.items():
        runs = [time_to_accuracy(X, y, Xt, yt, make_opt, batch, max_epochs, seed) for seed in range(args.repeats)]
        reached = [r["seconds"] for r in runs if r["seconds"] is not None]
        results[name] = {"runs": runs, "median_seconds": statistics.median(reached) if len(reached) == len(runs)
                         else None}
        shown = f"{results[name]['median_seconds']:.2f} s" if results[name]["median_seconds"] else "not reached"
        print(f"  {name:40s} {shown:>12s}  (epochs {[r['epochs'] for r in runs]}, "
              f"accuracy {[round(100 * r['accuracy'], 2) for r in runs]} %)")
    done = {k: v["median_seconds"] for k, v in results.items() if v["median_seconds"] is not None}
    tutorial = tutorial_method(X, y, Xt, yt, args.iterations)
    scaled = "" if args.iterations == 2000 else f" (measured {args.iterations} iterations, scaled)"
    print(f"the tutorial's method, full-batch GD lr 0.2 x 2,000 iterations: {tutorial['seconds_for_2000']:.1f} s"
          f"{scaled}, test accuracy {100 * tutorial['accuracy']:.2f} % after {args.iterations} iterations "
          f"(the tutorial reports {100 * TUTORIAL_ACCURACY:.2f} %)")
    if done:
        best = min(done, key=done.get)
        print(f"numpynn's fastest recipe to {100 * TUTORIAL_ACCURACY:.2f} %: {best}, {done[best]:.2f} s "
              f"(median of {args.repeats}), {tutorial['seconds_for_2000'] / done[best]:.0f} x faster than the "
              f"tutorial's method")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "recipes": results, "tutorial": tutorial}, indent=1))


if __name__ == "__main__":
    main()
