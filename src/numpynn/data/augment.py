"""On-the-fly image augmentation for training batches: random shifts, small rotations, scaling, elastic
distortion, horizontal flips (for symmetric objects such as clothing, not for digits) and noise.

An Augmenter is a callable `(batch, rng) -> batch` that `fit(..., augment=...)` applies to each training batch
with the run's own Generator, so augmented runs stay reproducible and resumable. Batches may be flat
(n, h*w) or images (n, h, w); the result has the input's shape and dtype. All samples are transformed at
once: one inverse map per sample (affine part plus elastic displacement), then one bilinear gather for the whole
batch with zeros outside the image. With neither rotation nor elastic distortion, shifts are whole pixels and
done by slicing, one group of samples per shift.

The elastic distortion is Simard et al. (2003)'s: a random displacement field, smoothed at scale sigma and scaled
by alpha. Instead of convolving a per-pixel random field with a Gaussian, the field is drawn on a coarse grid
(one value every sigma pixels) and spread to every pixel by Gaussian weights: two small matrix products per
sample instead of a convolution, with the same smoothness and, by the choice of scale, the same per-pixel size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from ..ops.warp import bilinear_sample, warp

__all__ = ["Augmenter", "bilinear_sample", "elastic_displacement", "shift_whole_pixels", "warp"]


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian of standard deviation `sigma`, 3 sigma each side."""
    r = max(1, int(round(3 * sigma)))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


@lru_cache(maxsize=16)
def _spread_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, g) Gaussian weights from g coarse knots (spaced sigma apart, one beyond each edge) to each pixel.

    Each row has unit L2 norm, so a field of independent knot values has the same variance at every pixel; the
    scale then matches the per-pixel standard deviation of a Gaussian-smoothed per-pixel field (Simard's), whose
    interior std is std(u) * sum(k**2) for the normalised 1-D kernel k (sqrt(sum(k**2)) per axis).
    """
    step = max(sigma, 1.0)
    knots = np.arange(-step, size - 1 + 2 * step, step)
    w = np.exp(-0.5 * ((np.arange(size)[:, None] - knots[None, :]) / sigma) ** 2)
    w /= np.sqrt((w ** 2).sum(axis=1, keepdims=True))
    w *= np.sqrt((gaussian_kernel(sigma) ** 2).sum())
    return np.ascontiguousarray(w, dtype=np.float32)


def elastic_displacement(n: int, shape: tuple[int, int], alpha: float, sigma: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Smooth random displacements (2, n, h, w) in pixels (rows, then columns), float32; zero when alpha is 0."""
    h, w = shape
    a_r, a_c = _spread_matrix(h, float(sigma)), _spread_matrix(w, float(sigma))
    knots = rng.uniform(-alpha, alpha, (2 * n, a_r.shape[1], a_c.shape[1])).astype(np.float32)
    return (a_r @ knots @ a_c.T).reshape(2, n, h, w)


def shift_whole_pixels(images: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Translate each image (n, h, w) by integer (dy[i], dx[i]) pixels, filling with zeros."""
    n, h, w = images.shape
    out = np.zeros_like(images)
    for sy, sx in set(zip(dy.tolist(), dx.tolist(), strict=True)):
        idx = np.flatnonzero((dy == sy) & (dx == sx))
        out[idx, max(sy, 0):h + min(sy, 0), max(sx, 0):w + min(sx, 0)] = \
            images[idx, max(-sy, 0):h - max(sy, 0), max(-sx, 0):w - max(sx, 0)]
    return out


@dataclass
class Augmenter:
    """Random transforms of (n, h, w) or flattened images.

    shift: max translation in pixels; rotate: max rotation in degrees; elastic_alpha / elastic_sigma: strength
    and smoothness of elastic distortion (0 disables; ~8 and ~3 suit 28x28 digits); noise: std of added
    Gaussian noise; flip: chance of a left-right mirror; clip: value range kept after noise; probability:
    chance each sample is transformed; scale: max relative change of size, drawn for height and width
    independently (0.15: each between 85 % and 115 %), so it also varies the aspect ratio as handwriting does.
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
    scale: float = 0.0
    engine: Any = dataclasses.field(default=None, repr=False, compare=False)  # runs `warp`; None: warp() above

    def __post_init__(self) -> None:
        if not 0 <= self.scale < 1:
            raise ValueError(f"Augmenter scale must be in [0, 1), got {self.scale!r}")
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
        if self.rotate == 0 and self.elastic_alpha == 0 and self.scale == 0:  # whole-pixel shifts: exact and cheap
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
        """Sub-pixel shift, scaling, rotation and elastic distortion through one inverse map per sample."""
        n, h, w = images.shape
        cr, cc = (h - 1) / 2, (w - 1) / 2
        theta = np.deg2rad(rng.uniform(-self.rotate, self.rotate, n))
        dy, dx = rng.uniform(-self.shift, self.shift, (2, n))
        sy, sx = rng.uniform(1 - self.scale, 1 + self.scale, (2, n)) if self.scale else (1.0, 1.0)
        # inverse map, output pixel -> source: undo the shift, then the scaling, then the rotation about the centre:
        # source = R(theta) @ ((pixel - centre - shift) / size) + centre
        cos, sin = np.cos(theta), np.sin(theta)
        affine = np.empty((n, 2, 3))
        affine[:, 0, 0], affine[:, 0, 1] = cos / sy, -sin / sx
        affine[:, 1, 0], affine[:, 1, 1] = sin / sy, cos / sx
        affine[:, 0, 2] = cr - affine[:, 0, 0] * (cr + dy) - affine[:, 0, 1] * (cc + dx)
        affine[:, 1, 2] = cc - affine[:, 1, 0] * (cr + dy) - affine[:, 1, 1] * (cc + dx)
        field = None
        if self.elastic_alpha:
            field = elastic_displacement(n, (h, w), self.elastic_alpha, self.elastic_sigma, rng)
            field = field.astype(images.dtype, copy=False)
        return self.engine.warp(images, affine, field) if self.engine is not None else warp(images, affine, field)

    def on_engine(self, engine) -> Augmenter:
        """This augmenter with its resampling done by `engine.warp` (a numpynn.ops engine, whose compiled
        loop is many times faster than NumPy's gathers): `fit` hands over the model's engine this way."""
        return replace(self, engine=engine)

    def get_config(self) -> dict:
        return {"image_shape": list(self.image_shape), "shift": self.shift, "rotate": self.rotate,
                "elastic_alpha": self.elastic_alpha, "elastic_sigma": self.elastic_sigma, "noise": self.noise,
                "flip": self.flip, "clip": list(self.clip) if self.clip else None, "probability": self.probability,
                "scale": self.scale}
