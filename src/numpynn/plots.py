"""Figures of a run: learning curves, confusion matrix, answers on test images, first-layer weights.

matplotlib (the `plots` extra) is imported only when a figure is drawn, with the non-interactive Agg backend.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .data.views import _pyplot, save_grid
from .errors import NumpynnError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def curves_figure(history: Any) -> Figure:
    """Loss (per batch, light, and per epoch) and accuracy per epoch, training and validation, of a History.

    A Figure of its own (not pyplot's), so a notebook shows it once, as the value of `history.plot()`."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise NumpynnError("drawing the curves needs matplotlib: pip install 'numpynn[plots]'") from None
    fig = Figure(figsize=(10, 3.8))
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = np.asarray(history.epochs.get("epoch", []))
    if history.batch_loss and len(epochs):
        steps = np.arange(1, len(history.batch_loss) + 1) * (epochs[-1] / len(history.batch_loss))
        ax_loss.plot(steps, history.batch_loss, color="#9ecae1", lw=0.6, label="train (per batch)")
    for key, style, label in (("loss", "-o", "train"), ("val_loss", "-s", "validation")):
        if key in history.epochs:
            ax_loss.plot(epochs, history.epochs[key], style, ms=3, label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    if history.batch_loss and min(history.batch_loss) > 0:
        ax_loss.set_yscale("log")
    for key, style, label in (("accuracy", "-o", "train"), ("val_accuracy", "-s", "validation")):
        if key in history.epochs:
            ax_acc.plot(epochs, 100 * np.asarray(history.epochs[key]), style, ms=3, label=label)
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_curves(history: Any, path: str | os.PathLike) -> None:
    """The curves of `curves_figure`, saved as an image file."""
    curves_figure(history).savefig(path, dpi=100)


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], path: str | os.PathLike) -> None:
    """Confusion matrix with counts; rows are true classes, columns predictions."""
    plt = _pyplot()
    cm = np.asarray(cm)
    k = len(cm)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.8 + 0.5 * k))
    ax.imshow(np.log1p(cm), cmap="Blues")
    hi = np.log1p(cm).max() or 1
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if np.log1p(cm[i, j]) > hi / 2 else "black")
    ax.set_xticks(range(k), class_names, rotation=45 if max(map(len, class_names)) > 2 else 0, ha="right",
                  fontsize=7)
    ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix (test)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_predictions(images: np.ndarray, y: np.ndarray, proba: np.ndarray, path: str | os.PathLike, *,
                     class_names: Sequence[str], image_shape, n: int = 40) -> None:
    """The first `n` test images with the model's answers; mistakes captioned in red with the true class."""
    pred = proba.argmax(1)
    save_grid(path, images[:n], y[:n], pred[:n], class_names=class_names, image_shape=image_shape,
              confidences=proba[np.arange(min(n, len(pred))), pred[:n]], title="test images: answer and confidence")


def plot_confident_mistakes(images: np.ndarray, y: np.ndarray, proba: np.ndarray, path: str | os.PathLike, *,
                            class_names: Sequence[str], image_shape, n: int = 20) -> int:
    """The mistakes the model was surest of; returns how many mistakes there were in all."""
    pred = proba.argmax(1)
    wrong = np.flatnonzero(pred != y)
    conf = proba[wrong, pred[wrong]]
    top = wrong[np.argsort(-conf)][:n]
    if len(top):
        save_grid(path, images[top], y[top], pred[top], class_names=class_names, image_shape=image_shape,
                  confidences=proba[top, pred[top]], title="most confidently wrong")
    return len(wrong)


def plot_first_layer(W: np.ndarray, path: str | os.PathLike, image_shape=(28, 28), n: int = 64) -> None:
    """Each first-layer unit's incoming weights drawn as an image: what that unit looks for."""
    plt = _pyplot()
    units = min(n, W.shape[1])
    cols = min(16, units)
    rows = int(np.ceil(units / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(0.8 * cols, 0.8 * rows + 0.3), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < units:
            w = W[:, i].reshape(image_shape)
            lim = float(np.abs(w).max()) or 1.0
            ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    fig.suptitle(f"first-layer weights ({units} of {W.shape[1]} units; red positive, blue negative)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
