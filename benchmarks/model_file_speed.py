"""What numpynn's checks of a model file cost: `nn.load` (bounded reads, header and checksum, every field
validated, the model built) and `Sequential.save` (atomic, stale-temporary cleanup) of the README's
784-512-256-10 network with its Adam state, next to safetensors' own load_file/save_file of the same tensors.
Medians of interleaved runs.

    python benchmarks/model_file_speed.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

import numpynn as nn


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((256, 784)).astype(np.float32), rng.integers(0, 10, 256)
    model = nn.Sequential([nn.Dense(784, 512, "relu"), nn.Dense(512, 256, "relu"), nn.Dense(256, 10)], seed=0)
    model.fit(X, y, epochs=3, batch_size=64, verbose=0)
    times: dict[str, list[float]] = {k: [] for k in ("nn.load", "load_file", "save", "save_file")}
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp) / "m.safetensors", Path(tmp) / "plain.safetensors"
        model.save(ours)
        tensors = load_file(ours)
        for _ in range(args.repeats):
            for name, fn in (("nn.load", lambda: nn.load(ours)), ("load_file", lambda: load_file(theirs)),
                             ("save", lambda: model.save(ours)), ("save_file", lambda: save_file(tensors, theirs))):
                if name == "load_file" and not theirs.exists():
                    save_file(tensors, theirs)
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
        size = ours.stat().st_size / 2**20
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"784-512-256-10 with Adam state, {size:.1f} MiB, medians of {args.repeats}:")
    print(f"  load: nn.load {med['nn.load']:.1f} ms, safetensors load_file {med['load_file']:.1f} ms "
          f"({med['nn.load'] / med['load_file']:.2f}x)")
    print(f"  save: Sequential.save {med['save']:.1f} ms, safetensors save_file {med['save_file']:.1f} ms "
          f"({med['save'] / med['save_file']:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
