"""Microseconds an image of elastic augmentation: numpynn's Augmenter against the textbook way it replaced, side by
side in one run, beside the matrix products of one training step of 784-1024-512-10 (what augmentation should
cost little next to).

The textbook way (Simard et al. 2003, as numpynn did it before): a uniform(-1, 1) displacement per pixel,
smoothed by a separable Gaussian convolution (float64), then four masked gathers. numpynn now draws the field on
a coarse grid and spreads it with Gaussian weights (two small products a sample), and resamples the batch
through one inverse map per image: in NumPy with one gather on a zero-padded copy (the reference), and as `fit`
runs it, with the engine's compiled loop (`ops.warp`, numpynn's C extension). Medians (and the fastest, steadier
on a shared machine) over --repeats, interleaved, on batches of --batch images.

    python benchmarks/augment_speed.py [--repeats 15] [--batch 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from numpynn import data, ops
from numpynn.data.augment import Augmenter, gaussian_kernel


def _smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    k = gaussian_kernel(sigma)
    r = len(k) // 2
    for axis in (-2, -1):
        pad = [(0, 0)] * field.ndim
        pad[axis] = (r, r)
        padded = np.pad(field, pad)
        n = field.shape[axis]
        out = np.zeros_like(field)
        for i, w in enumerate(k):
            out += w * np.take(padded, np.arange(i, i + n), axis=axis)
        field = out
    return field


def _bilinear(images, rows, cols):
    n, h, w = images.shape
    r0, c0 = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
    fr, fc = (rows - r0).astype(images.dtype), (cols - c0).astype(images.dtype)
    flat = images.reshape(n, h * w)
    out = np.zeros_like(images)
    for dr, dc, wgt in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        r, c = r0 + dr, c0 + dc
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        idx = np.where(inside, r * w + c, 0).reshape(n, -1)
        vals = np.take_along_axis(flat, idx, axis=1).reshape(n, h, w)
        out += np.where(inside, vals * wgt, 0)
    return out


def textbook(batch: np.ndarray, rng: np.random.Generator, shift=2.0, rotate=12.0, alpha=6.0, sigma=3.0):
    """The replaced implementation: per-pixel field, Gaussian convolution, float64 maps, masked gathers."""
    n = len(batch)
    images = batch.reshape(n, 28, 28)
    rows, cols = np.meshgrid(np.arange(28, dtype=np.float64), np.arange(28, dtype=np.float64), indexing="ij")
    theta = np.deg2rad(rng.uniform(-rotate, rotate, n))[:, None, None]
    dy, dx = rng.uniform(-shift, shift, (2, n))[..., None, None]
    r, c = rows - 13.5 - dy, cols - 13.5 - dx
    src_r = np.cos(theta) * r - np.sin(theta) * c + 13.5
    src_c = np.sin(theta) * r + np.cos(theta) * c + 13.5
    field = _smooth(rng.uniform(-1, 1, (2, n, 28, 28)), sigma) * alpha
    out = _bilinear(images, src_r + field[0], src_c + field[1])
    np.clip(out, 0, 1, out=out)
    return out.reshape(batch.shape)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    args = ap.parse_args()
    (X, _), _ = data.load("mnist-sample")
    batch = np.ascontiguousarray(X[:args.batch])
    numpynn_aug = Augmenter(shift=2.0, rotate=12.0, elastic_alpha=6.0, elastic_sigma=3.0)
    rng = np.random.default_rng(0)
    W1, W2, W3 = (np.random.default_rng(1).standard_normal(s).astype(np.float32) * 0.03
                  for s in ((784, 1024), (1024, 512), (512, 10)))

    def products():  # forward, and backward (weight gradients, and input gradients past the first layer)
        h1 = batch @ W1
        h2 = h1 @ W2
        z = h2 @ W3
        W3g, d2 = h2.T @ z, z @ W3.T
        W2g, d1 = h1.T @ d2, d2 @ W2.T
        return batch.T @ d1, W2g, W3g

    engine_aug = numpynn_aug.on_engine(ops.get_ops())
    jobs = {"textbook (before)": lambda: textbook(batch, rng),
            "numpynn, NumPy resampling": lambda: numpynn_aug(batch, rng),
            f"numpynn, {ops.get_ops().name} engine (as fit runs it)": lambda: engine_aug(batch, rng),
            "products of a 784-1024-512-10 step": products}
    times: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(args.repeats):
        for name, job in jobs.items():
            t = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - t)
    print(f"elastic augmentation (shift 2, rotate 12, alpha 6, sigma 3), batches of {args.batch}, "
          f"{len(os.sched_getaffinity(0))} cores usable; {args.repeats} repeats, us an image (median, fastest):")
    med = {k: statistics.median(v) / args.batch * 1e6 for k, v in times.items()}
    low = {k: min(v) / args.batch * 1e6 for k, v in times.items()}
    for name in jobs:
        print(f"  {name:42s} {med[name]:8.1f} {low[name]:8.1f}")
    ref, now = "numpynn, NumPy resampling", list(jobs)[2]
    before, gemm = "textbook (before)", "products of a 784-1024-512-10 step"
    print(f"  textbook / numpynn as fit runs it: {med[before] / med[now]:.1f} x "
          f"(fastest {low[before] / low[now]:.1f} x); "
          f"NumPy resampling / engine: {med[ref] / med[now]:.1f} x; "
          f"augmentation / products: {med[now] / med[gemm]:.2f} (fastest {low[now] / low[gemm]:.2f})")

if __name__ == "__main__":
    main()
