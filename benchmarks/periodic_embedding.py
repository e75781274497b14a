"""The cost of a PeriodicEmbedding (PLR) in front of an MLP: one epoch of fit and predict_proba on 20,000 rows
of 20 features, for build_mlp(20, [256, 256], 2) without it, with it (k=16, d=16) and with its lite form; then
the layer's own forward + backward on a batch of 256. Best of --repeats, in one process.

    python benchmarks/periodic_embedding.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import numpynn as nn


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 20)).astype(np.float32)
    y = (np.sin(3 * X[:, 0]) > 0).astype(np.int64)
    for name, spec in (("no embedding", None), ("PLR k=16 d=16", {"k": 16, "d": 16}),
                       ("PLR lite k=16 d=16", {"k": 16, "d": 16, "lite": True})):
        m = nn.build_mlp(20, [256, 256], 2, numeric_embedding=spec, seed=0)
        epoch = best(lambda m=m: m.fit(X, y, epochs=1, batch_size=256, verbose=0), args.repeats)
        predict = best(lambda m=m: m.predict_proba(X), args.repeats)
        print(f"{name:20s} one epoch (batch 256) {epoch * 1e3:7.1f} ms   predict_proba(20,000 rows) "
              f"{predict * 1e3:7.1f} ms")
    xb, dy = X[:256], rng.standard_normal((256, 320)).astype(np.float32)
    for lite in (False, True):
        layer = nn.Sequential([nn.PeriodicEmbedding(20, 16, 16, lite=lite)], input_shape=(20,), seed=0).layers[0]
        step = best(lambda layer=layer: (layer.forward(xb, training=True), layer.backward(dy)), 20 * args.repeats)
        print(f"PeriodicEmbedding(20, k=16, d=16{', lite' if lite else ''}) forward + backward, batch 256: "
              f"{step * 1e6:.0f} us")


if __name__ == "__main__":
    main()
