"""`numpynn predict`: classify one digit image or the samples of a .npy, .csv or IDX file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import NumpynnError
from .common import load_model


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify an image of a digit (PNG/JPEG) or samples in .npy/.csv/IDX")
    p.add_argument("model", type=Path)
    p.add_argument("input", type=Path)
    p.add_argument("--top", type=int, default=3, help="how many classes to list for one image")
    p.add_argument("--json", action="store_true")


def read_inputs(path: Path) -> np.ndarray:
    """Raw samples from an image (one digit), .npy, .csv or IDX file."""
    from ..data import read_idx
    from ..data.formats import read_csv_matrix
    from ..data.images import load_digit_image

    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    if suffix in (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"):
        return load_digit_image(path)[None]
    if suffix == ".npy":
        try:
            a = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise NumpynnError(f"{path}: not a readable .npy array ({exc})") from None
        return a[None] if a.ndim == 1 or (a.ndim == 2 and a.shape == (28, 28)) else a
    if suffix == ".csv":
        return read_csv_matrix(path)[1]
    if "idx" in path.name or "ubyte" in path.name:
        a = read_idx(path)
        return a[None] if a.ndim == 1 else a
    raise NumpynnError(f"{path}: unknown input kind; expected a PNG/JPEG image, .npy, .csv or IDX file")


def run(args) -> int:
    from ..data import apply_preprocessing

    model = load_model(args.model)
    raw = read_inputs(args.input)
    X = apply_preprocessing(raw, model.preprocessing)
    proba = model.predict_proba(X)
    pred = proba.argmax(1)
    if args.json:
        print(json.dumps({"predictions": pred.tolist(), "probabilities": np.round(proba, 6).tolist()}))
        return 0
    if len(X) == 1:
        print(f"class: {pred[0]}   (probability {100 * proba[0, pred[0]]:.1f}%)")
        order = np.argsort(-proba[0])[: args.top]
        for c in order:
            print(f"  {c:>3}  {100 * proba[0, c]:6.2f}%  {'#' * int(round(40 * proba[0, c]))}")
    else:
        for i, (p, row) in enumerate(zip(pred, proba, strict=True)):
            print(f"{i}\t{p}\t{100 * row[p]:.1f}%")
    return 0
