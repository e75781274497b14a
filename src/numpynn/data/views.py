"""Looking at the data: a grid of images with labels (and predictions), and one image with its pixel values.

matplotlib is imported only here, and only when a picture is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _as_images(X: np.ndarray, image_shape: tuple[int, int] | None) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 3:
        return X
    side = image_shape or (int(round(np.sqrt(X.shape[1]))),) * 2
    return X.reshape(len(X), *side)


def save_grid(path: str | os.PathLike, images: np.ndarray, labels: Sequence[int] | None = None,
              predictions: Sequence[int] | None = None, *, class_names: Sequence[str] | None = None,
              ncols: int = 10, title: str | None = None, image_shape: tuple[int, int] | None = None,
              confidences: Sequence[float] | None = None) -> None:
    """A PNG grid of images captioned with their labels; with predictions, mistakes are captioned in red."""
    plt = _pyplot()
    imgs = _as_images(images, image_shape)
    n = len(imgs)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.15 * ncols, 1.35 * nrows + (0.4 if title else 0)),
                             squeeze=False)
    name = (lambda c: class_names[int(c)]) if class_names else (lambda c: str(int(c)))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(imgs[i], cmap="gray_r", interpolation="nearest")
        caption, color = "", "black"
        if labels is not None and predictions is not None:
            wrong = int(labels[i]) != int(predictions[i])
            caption = f"{name(predictions[i])}" + (f" (true {name(labels[i])})" if wrong else "")
            color = "#c0392b" if wrong else "#1e7b34"
            if wrong:
                for side in ax.spines.values():
                    side.set_visible(True)
        elif labels is not None:
            caption = name(labels[i])
        elif predictions is not None:
            caption = name(predictions[i])
        if confidences is not None:
            caption += f" {100 * confidences[i]:.0f}%"
        ax.set_title(caption, fontsize=7, color=color, pad=2)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def pixel_table(image: np.ndarray, image_shape: tuple[int, int] | None = None) -> str:
    """The pixel values of one image as a text grid (values 0-255 for uint8, else 3 decimals)."""
    img = _as_images(np.asarray(image)[None], image_shape)[0]
    fmt = "{:3d}" if img.dtype.kind in "iu" else "{:.2f}"
    return "\n".join(" ".join(fmt.format(v) for v in row) for row in img)


def save_pixels(path: str | os.PathLike, image: np.ndarray, *, label: str | None = None,
                image_shape: tuple[int, int] | None = None) -> None:
    """A PNG of one image, enlarged, with each pixel's value written on it."""
    plt = _pyplot()
    img = _as_images(np.asarray(image)[None], image_shape)[0]
    h, w = img.shape
    fig, ax = plt.subplots(figsize=(w * 0.38, h * 0.38))
    ax.imshow(img, cmap="gray_r", interpolation="nearest")
    hi = float(img.max()) or 1.0
    for r in range(h):
        for c in range(w):
            v = img[r, c]
            text = f"{int(v)}" if img.dtype.kind in "iu" else f"{v:.1f}"
            ax.text(c, r, text, ha="center", va="center", fontsize=5, color="white" if v > hi / 2 else "#555")
    ax.set_xticks([])
    ax.set_yticks([])
    if label is not None:
        ax.set_title(label)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
