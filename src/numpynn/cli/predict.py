"""`numpynn predict`: classify digit images, or predict the samples of .npy, .csv or IDX files.

A CSV may be the very file the model was trained on: its label column (and any column the model was not
trained on) is dropped by the names the model file records. Many samples come out as CSV, one row each; with
several inputs (files, or folders of images) each row also names its file.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import DatasetError, ModelFileError, NumpynnError
from .common import load_model

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify images of digits (PNG/JPEG) or samples in .npy/.csv/IDX")
    p.add_argument("model", type=Path)
    p.add_argument("inputs", type=Path, nargs="+", metavar="input",
                   help="files to predict, and folders: each image in a folder (e.g. examples/digits/)")
    p.add_argument("--top", type=int, default=3, help="how many classes to list for one image")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", type=Path, help="write the predictions as CSV to this file (default: stdout)")
    p.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                   help="an image's ink is dark on light paper (--no-invert: light on dark); default: decided "
                        "from the image")
    p.add_argument("--show", type=Path, metavar="PATH", help="write the 28x28 image the model saw as a PNG")


def class_names_of(model) -> list[str]:
    """The model's class names as its training data named them ("0".."k-1" for a file without them)."""
    k = model.n_outputs if model.n_outputs > 1 else 2
    names = model.preprocessing.get("class_names")
    if names is None:
        return [str(i) for i in range(k)]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(names) != k:
        raise ModelFileError(f"{k} class names expected in the model's preprocessing, got {names!r:.80}")
    return names


def csv_features(path: Path, prep: dict, n_features: int | None) -> np.ndarray:
    """The model's feature columns of a CSV: chosen by the recorded feature names when the file has a header,
    else all columns but the recorded label column when there is one column too many."""
    from ..data import read_csv
    from ..data.csv import LABEL_NAMES

    table = read_csv(path)
    cols = list(range(len(table.columns)))
    names, label = prep.get("feature_names"), prep.get("label_column")
    if table.header is not None and isinstance(names, list) and all(n in table.header for n in names):
        cols = [table.header.index(n) for n in names]
    elif table.header is not None and isinstance(label, str) and label in table.header:
        cols.remove(table.header.index(label))
    elif table.header is not None and n_features is not None and len(cols) == n_features + 1 and any(
            h.lower() in LABEL_NAMES for h in table.header):  # e.g. Kaggle's train.csv: label, pixel0, ...
        cols.remove(next(i for i, h in enumerate(table.header) if h.lower() in LABEL_NAMES))
    elif n_features is not None and len(cols) == n_features + 1:
        index = prep.get("label_index")
        cols.remove(index if isinstance(index, int) and 0 <= index < len(cols) else len(cols) - 1)
    for j in cols:
        if table.columns[j].dtype.kind == "U":
            raise DatasetError(f"{path}: {table._name(j)} holds text; the model's inputs are numbers")
    return np.column_stack([table.columns[j] for j in cols]).astype(np.float32, copy=False)


def read_inputs(path: Path, prep: dict | None = None, n_features: int | None = None, *,
                invert: bool | None = None) -> np.ndarray:
    """Raw samples from an image (one digit), .npy, .csv or IDX file; every reader refuses a FIFO or a device
    and checks the size a header declares against the memory available before reading."""
    from ..data import read_idx
    from ..data.images import BlankImageError, load_digit_image
    from ..data.npz import load_npy

    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        try:
            return load_digit_image(path, invert=invert)[None]
        except BlankImageError as exc:
            hint = "" if exc.inverted else " (dark ink on light paper? try --invert)"
            raise DatasetError(f"{path}: {exc}{hint}") from None
    if suffix == ".npy":
        a = load_npy(path)
        if a.ndim == 0:
            raise DatasetError(f"{path}: expected samples (one per row, or one image), got a single value "
                               f"(a 0-d array)")
        return a[None] if a.ndim == 1 or (a.ndim == 2 and a.shape == (28, 28)) else a
    if prep and "table" in prep:
        from ..data.table import TABLE_SUFFIXES, read_table

        if suffix not in TABLE_SUFFIXES:
            raise NumpynnError(f"{path}: the model was trained on a table and takes a CSV/TSV, Parquet or Feather "
                               "file of rows")
        return read_table(path)
    if suffix == ".csv":
        return csv_features(path, prep or {}, n_features)
    if "idx" in path.name or "ubyte" in path.name:
        a = read_idx(path)
        return a[None] if a.ndim == 1 else a
    raise NumpynnError(f"{path}: unknown input kind; expected a PNG/JPEG image, .npy, .csv or IDX file")


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    from ..atomic import atomic_write_bytes

    atomic_write_bytes(out, text.encode())
    print(f"predictions written to {out}", file=sys.stderr)


def _table(header: list[str], rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _value_names(model, label: str, k: int) -> list[str]:
    """The CSV header of a regression's k values: the label column, or one column per output (per quantile)."""
    quantiles = getattr(model.loss, "quantiles", None)
    if quantiles is not None:
        targets = [label] if k == len(quantiles) else [f"output_{j}" for j in range(k // len(quantiles))]
        return [f"{t}_q{q:g}" for t in targets for q in quantiles]
    return [label] if k == 1 else [f"output_{j}" for j in range(k)]


def input_files(paths: list[Path]) -> list[Path]:
    """The files named, a folder standing for the images in it (sorted by name, not descending further)."""
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not images:
            raise NumpynnError(f"{path}: a folder with no images in it; expected PNG/JPEG files "
                               f"({', '.join(IMAGE_SUFFIXES)})")
        files += images
    return files


def run(args) -> int:
    from ..tables import prepare

    model = load_model(args.model)
    prep = model.preprocessing
    n_features = int(np.prod(model.input_shape)) if model.input_shape else None
    files = input_files(args.inputs)
    if args.show is not None:
        if len(files) != 1 or files[0].suffix.lower() not in IMAGE_SUFFIXES:
            raise NumpynnError("--show writes the 28x28 image of one photo; give one image file")
    parts, sources = [], []
    for path in files:
        raw = read_inputs(path, prep, n_features, invert=args.invert)
        if args.show is not None:
            from ..data.images import write_png

            write_png(raw[0], args.show)
        parts.append(prepare(raw, prep))
        sources += [(str(path), j) for j in range(len(parts[-1]))]
    X = np.concatenate(parts) if len(parts) > 1 else parts[0]
    several = len(args.inputs) > 1 or args.inputs[0].is_dir()  # rows say their file
    named = {"files": [src for src, _ in sources]} if several else {}
    if not model.loss.is_classification:
        values = model.predict(X)
        if args.json:
            print(json.dumps({"predictions": values.tolist(), **named}))
            return 0
        header = ["row"] + _value_names(model, str(prep.get("label_column", "prediction")), values.shape[1])
        rows = ([i, *(f"{v:.7g}" for v in row)] for i, row in enumerate(values))
        _emit(_table(*_with_files(header, rows, sources, several)), args.out)
        return 0
    names = class_names_of(model)
    proba = model.predict_proba(X)
    pred = proba.argmax(1)
    if args.json:
        print(json.dumps({"predictions": pred.tolist(), "labels": [names[p] for p in pred],
                          "classes": names, "probabilities": np.round(proba, 6).tolist(),
                          **named}))
        return 0
    if len(X) == 1 and args.out is None and not several:
        print(f"class: {names[pred[0]]}   (probability {100 * proba[0, pred[0]]:.1f}%)")
        for c in np.argsort(-proba[0])[: args.top]:
            print(f"  {names[c]:>3}  {100 * proba[0, c]:6.2f}%  {'#' * int(round(40 * proba[0, c]))}")
        return 0
    rows = ([i, names[p], f"{row[p]:.6f}"] for i, (p, row) in enumerate(zip(pred, proba, strict=True)))
    header = ["row", str(prep.get("label_column", "class")), "probability"]
    _emit(_table(*_with_files(header, rows, sources, several)), args.out)
    return 0


def _with_files(header: list[str], rows, sources: list[tuple[str, int]], several: bool):
    """The CSV's header and rows, led by a "file" column when several inputs were given (the row then counts
    within its file)."""
    if not several:
        return header, rows
    return ["file", *header], ([src, j, *row[1:]] for (src, j), row in zip(sources, rows, strict=True))
