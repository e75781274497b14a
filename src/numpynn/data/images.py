"""A photo or drawing of a digit -> a 28x28 image prepared the way MNIST's digits were.

MNIST's digits were size-normalised to fit a 20x20 box (keeping their aspect ratio), anti-aliased, and
placed in a 28x28 field with their centre of mass at the centre. Light-background images are inverted so
that ink is bright, as in MNIST. Pillow (installed with matplotlib) reads the file.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import DatasetError


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A greyscale image as float values in [0, 1]."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise DatasetError("reading PNG/JPEG needs Pillow: pip install 'numpynn[plots]'") from None
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA") or "transparency" in im.info:
                # transparent drawings: composite on white so strokes stay visible
                background = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(background, im.convert("RGBA"))
            grey = im.convert("L")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable PNG or JPEG image ({exc})") from None
    return np.asarray(grey, dtype=np.float32) / 255.0


def mnist_style(image: np.ndarray, *, box: int = 20, size: int = 28) -> np.ndarray:
    """Centre and scale a greyscale digit (values in [0, 1]) the MNIST way; returns (size, size) uint8."""
    from PIL import Image

    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise DatasetError(f"expected a greyscale image (h, w), got shape {img.shape}")
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if np.median(border) > 0.5:  # dark ink on a light background: invert
        img, border = 1.0 - img, 1.0 - border
    img = np.clip(img - np.median(border), 0, 1)  # the background becomes 0
    ink = img > 0.1 * float(img.max(initial=0))
    if img.max(initial=0) < 0.05 or not ink.any():
        raise DatasetError("the image is blank: no digit strokes were found")
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(new, Image.LANCZOS),
                         dtype=np.float32)
    out = np.zeros((size, size), np.float32)
    top, left = (size - new[1]) // 2, (size - new[0]) // 2
    out[top:top + new[1], left:left + new[0]] = resized
    # move the centre of mass to the centre
    total = out.sum()
    r, c = np.indices(out.shape)
    dr = int(round((size - 1) / 2 - (r * out).sum() / total))
    dc = int(round((size - 1) / 2 - (c * out).sum() / total))
    out = np.roll(out, (dr, dc), axis=(0, 1))
    return np.clip(out, 0, 255).astype(np.uint8)


def load_digit_image(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG/JPEG digit and prepare it MNIST-style: (28, 28) uint8."""
    return mnist_style(read_image(path))
