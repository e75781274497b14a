"""What the regression losses cost: one loss call (value and dL/doutputs) at table batch sizes, and a training
epoch of a table-sized network with each loss, interleaved repeats, medians.

The loss call is timed alone for batches of 32, 128 and 512 rows (one target; the quantile loss with three
quantiles, so three outputs); the epoch is 20,000 synthetic rows of 32 columns through 32-256-256-k (ReLU, Adam,
batch 128), k = 1 (3 for the quantile loss), float32, the engine NUMPYNN_KERNELS picks. Each repeat runs every
loss once, in a rotated order. Prints both tables and writes them as JSON with --json.

    python benchmarks/regression_losses.py [--repeats 7] [--json benchmarks/results/regression_losses.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

import numpynn as nn
from numpynn import ops

LOSSES = {
    "mse": lambda: nn.MeanSquaredError(),
    "mae": lambda: nn.MeanAbsoluteError(),
    "huber": lambda: nn.Huber(1.0),
    "quantile x3": lambda: nn.Quantile((0.1, 0.5, 0.9)),
    "mse log_target": lambda: nn.MeanSquaredError(log_target=True),
}


def loss_call_us(make, batch: int, rng: np.random.Generator, calls: int = 2000) -> float:
    """Median microseconds of one call, over 5 timings of `calls` calls."""
    loss = make()
    k = len(getattr(loss, "quantiles", (0,)))
    z = rng.standard_normal((batch, k)).astype(np.float32)
    t = rng.exponential(1.0, (batch, 1)).astype(np.float32)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls):
            loss(z, t)
        times.append((time.perf_counter() - t0) / calls * 1e6)
    return float(np.median(times))


def epoch_seconds(make, X: np.ndarray, y: np.ndarray) -> float:
    loss = make()
    k = len(getattr(loss, "quantiles", (0,)))
    model = nn.build_mlp(X.shape[1], [256, 256], k, activation="relu", seed=0)
    model.set_loss(loss)
    model.fit(X[:256], y[:256], optimizer=nn.Adam(1e-3), epochs=1, batch_size=128, verbose=0)  # warm
    t0 = time.perf_counter()
    model.fit(X, y, epochs=1, batch_size=128, verbose=0)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 32)).astype(np.float32)
    y = np.exp(X[:, :4].sum(axis=1) * 0.3 + 0.2 * rng.standard_normal(20_000)).astype(np.float32)
    calls = {name: {b: loss_call_us(make, b, rng) for b in (32, 128, 512)} for name, make in LOSSES.items()}
    names = list(LOSSES)
    epochs: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            epochs[name].append(epoch_seconds(LOSSES[name], X, y))
    medians = {n: float(np.median(v)) for n, v in epochs.items()}
    print(f"engine: {ops.describe()}   machine: {platform.processor() or platform.machine()}")
    print(f"{'loss':<16}{'call b=32':>11}{'b=128':>9}{'b=512':>9}   {'epoch (median)':>15}{'vs mse':>9}")
    for n in names:
        c = calls[n]
        print(f"{n:<16}{c[32]:>9.1f}us{c[128]:>7.1f}us{c[512]:>7.1f}us   {medians[n]:>13.3f} s"
              f"{100 * (medians[n] / medians['mse'] - 1):>+8.1f}%")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"engine": ops.describe(), "call_us": calls, "epoch_seconds": epochs,
                                         "epoch_median": medians}, indent=1))


if __name__ == "__main__":
    main()
