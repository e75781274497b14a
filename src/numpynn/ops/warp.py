"""Augmentation's resampling, the NumPy reference of the engines' `warp`: each output pixel of each image reads
its source through the image's own affine map plus an optional displacement field, bilinearly, zero outside.
(The random maps and fields are drawn by numpynn.data.augment; this is only the arithmetic.)"""

from __future__ import annotations

import numpy as np


def bilinear_sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """images (n, h, w) sampled at fractional (rows, cols) of shape (n, h, w); zero outside.

    One gather for the whole batch: the images are padded with zeros (1 before, 2 after each axis) and the
    coordinates clipped to the padding, where every sample reads only zeros, so no index needs a mask.
    `rows` and `cols` are overwritten (they become the fractional parts).
    """
    n, h, w = images.shape
    dtype = images.dtype
    padded = np.zeros((n, h + 3, w + 3), dtype)
    padded[:, 1:h + 1, 1:w + 1] = images
    flat = padded.reshape(-1)
    # in padded coordinates, clipped to [0, size + 1]: non-negative, so truncation is the floor
    rows += 1
    cols += 1
    np.clip(rows, 0, h + 1, out=rows)
    np.clip(cols, 0, w + 1, out=cols)
    index = np.int32 if flat.size < 2**31 - 2 * (w + 3) else np.int64
    r0, c0 = rows.astype(index), cols.astype(index)
    rows -= r0  # now the fractional parts
    cols -= c0
    stride = w + 3
    r0 *= stride
    r0 += c0
    r0 += (np.arange(n, dtype=index) * index(padded[0].size))[:, None, None]
    base = r0
    fr, fc = rows.astype(dtype, copy=False), cols.astype(dtype, copy=False)
    top, right = flat[base], flat[base + 1]
    right -= top  # along the top row: left + fc * (right - left)
    right *= fc
    top += right
    base += stride
    bottom, right = flat[base], flat[base + 1]
    right -= bottom
    right *= fc
    bottom += right
    bottom -= top  # then between the rows: top + fr * (bottom - top)
    bottom *= fr
    top += bottom
    return top


def warp(images: np.ndarray, affine: np.ndarray, field: np.ndarray | None = None) -> np.ndarray:
    """images (n, h, w) resampled: output pixel (r, c) of image i reads the source at affine[i] @ (r, c, 1),
    plus field[:, i, r, c] (rows, then columns) when a field (2, n, h, w) is given; bilinear, zero outside."""
    n, h, w = images.shape
    # float32 coordinates: a 28-pixel image needs no more, and the arrays are half the size
    coord = np.float64 if images.dtype == np.float64 else np.float32
    r = np.arange(h, dtype=coord)[None, :, None]
    c = np.arange(w, dtype=coord)[None, None, :]
    a = affine.astype(coord)[:, :, :, None, None]
    rows = a[:, 0, 0] * r + a[:, 0, 1] * c + a[:, 0, 2]
    cols = a[:, 1, 0] * r + a[:, 1, 1] * c + a[:, 1, 2]
    if field is not None:
        rows += field[0]
        cols += field[1]
    return bilinear_sample(images, rows, cols)
