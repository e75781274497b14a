"""On-the-fly image augmentation for training batches: random shifts, small rotations, elastic distortion,
horizontal flips (for symmetric objects such as clothing, not for digits) and noise.

An Augmenter is a callable `(batch, rng) -> batch` that `fit(..., augment=...)` applies to each training batch
with the run's own Generator, so augmented runs stay reproducible and resumable. Batches may be flat
(n, h*w) or images (n, h, w); the result has the input's shape and dtype. All samples are transformed at
once: one inverse map per sample, then bilinear sampling with zeros outside the image. With neither rotation
nor elastic distortion, shifts are whole pixels and done by slicing, one group of samples per shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _gaussian_kernel(sigma: float) -> np.ndarray:
    r = max(1, int(round(3 * sigma)))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur over the last two axes (zero padding)."""
    k = _gaussian_kernel(sigma)
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


def shift_whole_pixels(images: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Translate each image (n, h, w) by integer (dy[i], dx[i]) pixels, filling with zeros."""
    n, h, w = images.shape
    out = np.zeros_like(images)
    for sy, sx in set(zip(dy.tolist(), dx.tolist(), strict=True)):
        idx = np.flatnonzero((dy == sy) & (dx == sx))
        out[idx, max(sy, 0):h + min(sy, 0), max(sx, 0):w + min(sx, 0)] = \
            images[idx, max(-sy, 0):h - max(sy, 0), max(-sx, 0):w - max(sx, 0)]
    return out


def bilinear_sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """images (n, h, w) sampled at fractional (rows, cols) of shape (n, h, w); zero outside."""
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


@dataclass
class Augmenter:
    """Random transforms of (n, h, w) or flattened images.

    shift: max translation in pixels; rotate: max rotation in degrees; elastic_alpha / elastic_sigma: strength
    and smoothness of elastic distortion (0 disables; ~8 and ~3 suit 28x28 digits); noise: std of added
    Gaussian noise; flip: chance of a left-right mirror; clip: value range kept after noise; probability:
    chance each sample is transformed.
    """

    image_shape: tuple[int, int] = (28, 28)
    shift: float = 2.0
    rotate: float = 10.0
    elastic_alpha: float = 0.0
    elastic_sigma: float = 3.0
    noise: float = 0.0
    flip: float = 0.0
    clip: tuple[float, float] | None = (0.0, 1.0)
    probability: float = 1.0

    def __post_init__(self) -> None:
        for name in ("shift", "rotate", "elastic_alpha", "noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"Augmenter {name} must be >= 0, got {getattr(self, name)!r}")
        if self.elastic_sigma <= 0:
            raise ValueError(f"Augmenter elastic_sigma must be > 0, got {self.elastic_sigma!r}")
        for name in ("probability", "flip"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"Augmenter {name} must be in [0, 1], got {getattr(self, name)!r}")
        self.image_shape = tuple(int(d) for d in self.image_shape)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        shape = batch.shape
        h, w = self.image_shape
        if batch[0].size != h * w:
            raise ValueError(f"Augmenter expects images of {h}x{w} = {h * w} values per sample, got {shape[1:]}")
        n = shape[0]
        images = batch.reshape(n, h, w)
        dtype = batch.dtype
        if self.rotate == 0 and self.elastic_alpha == 0:  # whole-pixel shifts: exact and cheap
            s = int(self.shift)
            dy, dx = rng.integers(-s, s + 1, (2, n))
            out = shift_whole_pixels(images.astype(dtype, copy=False), dy, dx)
        else:
            out = self._warp(images.astype(dtype, copy=False), rng)
        if self.flip:
            mirror = rng.random(n) < self.flip
            out[mirror] = out[mirror, :, ::-1]
        if self.noise:
            out += rng.normal(0, self.noise, out.shape).astype(dtype)
        if self.clip is not None:
            np.clip(out, *self.clip, out=out)
        if self.probability < 1:
            keep = rng.random(n) >= self.probability
            out[keep] = images[keep]
        return out.reshape(shape).astype(dtype, copy=False)

    def _warp(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Sub-pixel shift, rotation and elastic distortion through one inverse map per sample."""
        n, h, w = images.shape
        rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
        cr, cc = (h - 1) / 2, (w - 1) / 2
        theta = np.deg2rad(rng.uniform(-self.rotate, self.rotate, n))[:, None, None]
        dy, dx = (rng.uniform(-self.shift, self.shift, (2, n))[..., None, None])
        # inverse map: where in the source each output pixel comes from
        r, c = rows - cr - dy, cols - cc - dx
        cos, sin = np.cos(theta), np.sin(theta)
        src_r = cos * r - sin * c + cr
        src_c = sin * r + cos * c + cc
        if self.elastic_alpha:
            field = _smooth(rng.uniform(-1, 1, (2, n, h, w)), self.elastic_sigma) * self.elastic_alpha
            src_r, src_c = src_r + field[0], src_c + field[1]
        return bilinear_sample(images, src_r, src_c)

    def get_config(self) -> dict:
        return {"image_shape": list(self.image_shape), "shift": self.shift, "rotate": self.rotate,
                "elastic_alpha": self.elastic_alpha, "elastic_sigma": self.elastic_sigma, "noise": self.noise,
                "flip": self.flip, "clip": list(self.clip) if self.clip else None, "probability": self.probability}
