"""Figures of a run: learning curves, confusion matrix, answers on test images, first-layer weights; and a look
at the data: a grid of images with labels (and predictions), one image with its pixel values.

matplotlib (the `plots` extra) is imported only when a figure is drawn: with the non-interactive Agg backend for
the figures written to files; `history.plot()` draws with pyplot on the backend the user has.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import NumpynnError

if TYPE_CHECKING:
    from matplotlib.figure import Figure



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


CURVES_SIZE = (10, 3.8)  # inches


def curves_figure(history: Any, fig: Figure | None = None) -> Figure:
    """Loss (per batch, light, and per epoch) and accuracy per epoch, training and validation, of a History,
    drawn on `fig` or on a Figure of its own (not pyplot's: a run's files leave no figure open)."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise NumpynnError("drawing the curves needs matplotlib: pip install 'numpynn[plots]'") from None
    fig = Figure(figsize=CURVES_SIZE) if fig is None else fig
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


def pyplot_curves(history: Any) -> Figure:
    """The curves of `curves_figure` on a new pyplot figure, which becomes the current one: `plt.savefig` and
    `plt.show` then act on it, and a notebook shows it once. pyplot keeps the backend the user has (Agg where
    no display is); closing the figure is the caller's, as for any pyplot figure."""
    try:
        import matplotlib.pyplot as plt

        from .pyplot_figure import PyplotFigure
    except ImportError:
        raise NumpynnError("drawing the curves needs matplotlib: pip install 'numpynn[plots]'") from None
    return curves_figure(history, plt.figure(figsize=CURVES_SIZE, FigureClass=PyplotFigure))


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


def _finish(fig, plt, path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_lr_and_speed(history: Any, path: str | os.PathLike, n_train: int) -> None:
    """The learning rate of each epoch, and the training throughput (samples per second) of each epoch."""
    plt = _pyplot()
    fig, (ax_lr, ax_speed) = plt.subplots(1, 2, figsize=(10, 3.2))
    epochs = history.epochs.get("epoch", [])
    if "lr" in history.epochs:
        ax_lr.plot(epochs, history.epochs["lr"], "-o", ms=3, color="#2c7fb8")
    ax_lr.set(xlabel="epoch", ylabel="learning rate (epoch start)", title="learning rate")
    seconds = np.asarray(history.epochs.get("time", []), dtype=float)
    if len(seconds):
        ax_speed.bar(epochs, n_train / np.maximum(seconds, 1e-9), color="#74a9cf")
    ax_speed.set(xlabel="epoch", ylabel="samples / s", title="training throughput")
    for ax in (ax_lr, ax_speed):
        ax.grid(alpha=0.3)
    _integer_epochs((ax_lr, ax_speed))
    _finish(fig, plt, path)


def plot_doctor(records: list[dict], path: str | os.PathLike) -> None:
    """The doctor's per-layer figures per epoch: weight and gradient norms, update-to-weight ratio, and the
    activation health (dead ReLU / saturated sigmoid-tanh fraction) of each hidden layer."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.3))
    panels = (("weight_norm", "weight norm", True), ("grad_norm", "gradient norm (last step)", True),
              ("update_ratio", "update / weight (per step)", True), ("unhealthy", "dead or saturated units (%)", False))
    layers = sorted({r["layer"] for rec in records for r in rec["layers"]})
    for ax, (key, title, log) in zip(axes, panels, strict=True):
        for i in layers:
            xs, ys = [], []
            for rec in records:
                r = next((r for r in rec["layers"] if r["layer"] == i), None)
                if r is None:
                    continue
                v = (r.get("dead_fraction", r.get("saturated_fraction")) if key == "unhealthy" else r.get(key))
                if v is not None and np.isfinite(v):
                    xs.append(rec["epoch"])
                    ys.append(100 * v if key == "unhealthy" else v)
            if xs:
                ax.plot(xs, ys, "-o", ms=3, label=f"layer {i}")
        if log and any(line.get_ydata().size and np.all(line.get_ydata() > 0) for line in ax.lines):
            ax.set_yscale("log")
        ax.set(xlabel="epoch", title=title)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    _integer_epochs(axes)
    _finish(fig, plt, path)


def _integer_epochs(axes) -> None:
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_reliability(bins: dict, path: str | os.PathLike, ece: float) -> None:
    """Reliability diagram: accuracy against confidence per bin (the diagonal is perfect calibration), with
    the share of samples per bin below."""
    plt = _pyplot()
    fig, (ax, ax_n) = plt.subplots(2, 1, figsize=(4.8, 5.2), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    edges = np.asarray(bins["edges"])
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    acc = np.array([np.nan if a is None else a for a in bins["accuracy"]], dtype=float)
    conf = np.array([np.nan if c is None else c for c in bins["confidence"]], dtype=float)
    ax.bar(centres, np.nan_to_num(acc), width=width, edgecolor="#08519c", color="#6baed6", label="accuracy")
    ax.bar(centres, np.nan_to_num(np.abs(conf - acc)), bottom=np.nan_to_num(np.minimum(acc, conf)), width=width,
           color="none", edgecolor="#de2d26", hatch="//", lw=0.8, label="gap to the mean confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set(ylabel="accuracy", title=f"reliability (ECE {100 * ece:.2f} points)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7, loc="upper left")
    count = np.asarray(bins["count"], dtype=float)
    ax_n.bar(centres, 100 * count / max(count.sum(), 1), width=width, color="#969696")
    ax_n.set(xlabel="confidence (top probability)", ylabel="% of samples")
    _finish(fig, plt, path)


def plot_saliency(images: np.ndarray, saliency: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                  path: str | os.PathLike, *, class_names: Sequence[str], image_shape) -> None:
    """A row of test images above their saliency maps |d logit[predicted] / d pixel|: what made it say so."""
    plt = _pyplot()
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.2 * n, 2.9), squeeze=False)
    for k in range(n):
        top, bottom = axes[0, k], axes[1, k]
        top.imshow(images[k].reshape(image_shape), cmap="gray_r", interpolation="nearest")
        wrong = labels[k] != predictions[k]
        top.set_title(f"says {class_names[predictions[k]]}" + (f"\n(true {class_names[labels[k]]})" if wrong else ""),
                      fontsize=7, color="#c0392b" if wrong else "#1e7b34")
        s = np.abs(saliency[k]).reshape(image_shape)
        bottom.imshow(s, cmap="inferno", vmin=0, vmax=float(s.max()) or 1.0, interpolation="nearest")
        top.axis("off")
        bottom.axis("off")
    fig.suptitle("test images (top) and their saliency: which pixels moved the answer most (bright)", fontsize=9)
    _finish(fig, plt, path)


def plot_lr_find(result, path: str | os.PathLike) -> None:
    """The range test's loss against the learning rate (log scale), with the suggested rate marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(result.lrs, result.losses, color="#bdd7e7", lw=0.8, label="loss per batch")
    ax.plot(result.lrs, result.smoothed, color="#08519c", label="smoothed")
    ax.axvline(result.suggestion, color="#e6550d", ls="--", label=f"suggested {result.suggestion:.2g}")
    ax.set_xscale("log")
    finite = result.smoothed[np.isfinite(result.smoothed)]
    if len(finite):
        raw = result.losses[np.isfinite(result.losses)]
        ax.set_ylim(float(min(finite.min(), raw.min())) * 0.9, float(finite[0]) * 1.5 + 1e-12)
    ax.set(xlabel="learning rate", ylabel="training loss", title="learning-rate range test")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    _finish(fig, plt, path)


def plot_compare(histories: Sequence[tuple[str, Any]], path: str | os.PathLike) -> None:
    """Several runs' validation (or training) loss and accuracy per epoch, overlaid."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for name, h in histories:
        epochs = h.epochs.get("epoch", [])
        loss_key = "val_loss" if "val_loss" in h.epochs else "loss"
        acc_key = "val_accuracy" if "val_accuracy" in h.epochs else "accuracy"
        if loss_key in h.epochs:
            line, = ax_loss.plot(epochs, h.epochs[loss_key], "-o", ms=3, label=f"{name} ({loss_key})")
            if "loss" in h.epochs and loss_key != "loss":
                ax_loss.plot(epochs, h.epochs["loss"], ":", color=line.get_color(), lw=1)
        if acc_key in h.epochs:
            ax_acc.plot(epochs, 100 * np.asarray(h.epochs[acc_key]), "-o", ms=3, label=f"{name} ({acc_key})")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss (dotted: training)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    _integer_epochs((ax_loss, ax_acc))
    _finish(fig, plt, path)
