"""A photo or drawing of a digit -> a 28x28 image prepared the way MNIST's digits were.

MNIST's digits were size-normalised to fit a 20x20 box (keeping their aspect ratio), anti-aliased, and
placed in a 28x28 field with their centre of mass at the centre, light ink on black. A photo is inverted
when its ink is darker than its paper: the paper's level is estimated from the border and the histogram,
and the ink is the pixels furthest from it (so grey paper, at any level, is handled). Pillow (installed with
matplotlib) reads the file, opened only if it is a regular file (a FIFO is refused, never waited on); an image
larger than MAX_PIXELS is refused before it is decoded.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ..errors import DatasetError
from .files import open_regular

MAX_PIXELS = 50_000_000  # a 50-megapixel photo decodes to 200 MB of RGBA; more is refused before decoding


class BlankImageError(DatasetError):
    """No digit strokes were found. `inverted`: whether the image had been inverted (read as dark ink on light
    paper); the caller says what its user can change (a flag, a drawing), this module knows neither."""

    def __init__(self, message: str, inverted: bool) -> None:
        super().__init__(message)
        self.inverted = inverted


def _imaging():
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise DatasetError("reading PNG/JPEG needs Pillow: pip install 'numpynn[plots]'") from None
    return Image, UnidentifiedImageError


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A greyscale image as float values in [0, 1]; a transparent drawing is laid on a background that
    contrasts with its strokes (a white digit on nothing must not vanish on white)."""
    Image, UnidentifiedImageError = _imaging()
    try:
        with open_regular(path, "image file") as f:  # a FIFO would block Pillow's open forever
            with warnings.catch_warnings():  # our own size check below says it better than Pillow's warning
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(f)
            return _decode(im, path)
    except DatasetError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own check, at twice its limit, came first
        raise DatasetError(f"{path}: refused before decoding, a possible decompression bomb: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DatasetError(f"{path}: not a readable PNG or JPEG image ({exc})") from None


def _decode(im, path: str | os.PathLike) -> np.ndarray:
    """The pixels of an opened image as read_image returns them, its size checked before it is decoded."""
    with im:
        w, h = im.size
        if w * h > MAX_PIXELS:  # checked from the header, before a decompression bomb is inflated
            raise DatasetError(f"{path}: {w}x{h} = {w * h:,} pixels is more than the {MAX_PIXELS:,} "
                               "numpynn decodes (is it a decompression bomb?); scale the image down")
        im.load()
        if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
            return _on_contrasting_background(rgba)
        grey = im.convert("L")
    return np.asarray(grey, dtype=np.float32) / 255.0


def _on_contrasting_background(rgba: np.ndarray) -> np.ndarray:
    """Greyscale (h, w) of an RGBA image composited on black or white, whichever the opaque strokes stand out on."""
    luma = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    alpha = rgba[..., 3]
    if alpha.max() - alpha.min() < 0.5:  # no real transparency: the colours are the picture
        return luma
    stroke = float((luma * alpha).sum() / max(alpha.sum(), 1e-6))
    background = 1.0 if stroke < 0.5 else 0.0
    return luma * alpha + background * (1 - alpha)


def paper_level(img: np.ndarray) -> float:
    """The background's grey level: the median of the border, unless the histogram's most common level (the
    paper fills most of a photo of a digit) disagrees, as when a stroke or a shadow runs along the edge."""
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    counts, edges = np.histogram(img, bins=32, range=(0.0, 1.0))
    mode = float((edges[np.argmax(counts)] + edges[np.argmax(counts) + 1]) / 2)
    level = float(np.median(border))
    return level if abs(level - mode) <= 0.15 else mode


def ink_is_dark(img: np.ndarray, paper: float) -> bool:
    """True when the strokes are darker than the paper: the pixels furthest from the paper's level decide."""
    diff = img - paper
    far = np.abs(diff) >= 0.5 * float(np.abs(diff).max(initial=0))
    return float(np.median(diff[far])) < 0 if far.any() else False


def mnist_style(image: np.ndarray, *, invert: bool | None = None, box: int = 20, size: int = 28) -> np.ndarray:
    """Centre and scale a greyscale digit (values in [0, 1]) the MNIST way; returns (size, size) uint8.

    invert: True / False to force it; None decides from the image (dark ink on lighter paper is inverted).
    The paper becomes 0 and the strongest stroke 255, so faint pencil on grey paper reads like MNIST's ink.
    """
    from PIL import Image

    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2 or min(img.shape) < 1:
        raise DatasetError(f"expected a greyscale image (h, w), got shape {img.shape}")
    paper = paper_level(img)
    if invert is None:
        invert = ink_is_dark(img, paper)
    if invert:
        img, paper = 1.0 - img, 1.0 - paper
    img = np.clip(img - paper, 0, 1)  # the paper becomes 0
    top = float(img.max(initial=0))
    if top < 0.05:
        raise BlankImageError("the image is blank: no digit strokes were found", bool(invert))
    # the paper's grain: a few standard deviations of the border's noise (or a tenth of the ink) become 0
    grain = max(0.1, 4 * float(np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).std()) / top)
    img = np.clip((img / top - grain) / (1 - grain), 0, 1) if grain < 0.9 else img / top
    ink = img > 0.2  # the box is drawn around the strokes, not around a stray speck of grain
    if not ink.any():
        raise BlankImageError("the image is blank: no digit strokes stand out from the paper's grain", bool(invert))
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(new, Image.LANCZOS),
                         dtype=np.float32)
    out = np.zeros((size, size), np.float32)
    top, left = (size - new[1]) // 2, (size - new[0]) // 2
    out[top:top + new[1], left:left + new[0]] = np.clip(resized, 0, None)
    if out.max() <= 0:
        raise DatasetError("the image is blank: no digit strokes were left after scaling it down")
    out *= 255.0 / out.max()  # shrinking thins the strokes' peak; MNIST's strokes are saturated
    # move the centre of mass to the centre
    total = out.sum()
    r, c = np.indices(out.shape)
    dr = int(round((size - 1) / 2 - (r * out).sum() / total))
    dc = int(round((size - 1) / 2 - (c * out).sum() / total))
    # ... as far as the field allows: the strokes keep a blank pixel to every edge, nothing wraps around
    dr = min(max(dr, 1 - top), size - 1 - (top + new[1]))
    dc = min(max(dc, 1 - left), size - 1 - (left + new[0]))
    out = np.roll(out, (dr, dc), axis=(0, 1))
    return np.clip(out, 0, 255).astype(np.uint8)


def load_digit_image(path: str | os.PathLike, *, invert: bool | None = None) -> np.ndarray:
    """Read a PNG/JPEG digit and prepare it MNIST-style: (28, 28) uint8 (see `mnist_style` for `invert`)."""
    return mnist_style(read_image(path), invert=invert)


def write_png(image: np.ndarray, path: str | os.PathLike) -> None:
    """Write a (h, w) uint8 image as a greyscale PNG, atomically."""
    import io

    from ..atomic import atomic_write_bytes

    Image, _ = _imaging()
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8), mode="L").save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
