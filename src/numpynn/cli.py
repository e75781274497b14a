"""The `numpynn` command: train, evaluate, predict, info, gradcheck, datasets.

Every user error ends with one short line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import numpy as np

from .config import BOOL, ConfigError, TrainConfig
from .errors import NumpynnError


class _Parser(argparse.ArgumentParser):
    """Errors in one short line (plus where to look), not the whole usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n(see `{self.prog} --help`)\n")


_SETTINGS = {f.name: f for f in fields(TrainConfig)}


def _parse_value(name: str, text: str):
    """A flag's text as the value of setting `name`, read the way the setting's kind says."""
    try:
        return _SETTINGS[name].metadata["kind"].from_text(text)
    except ConfigError as exc:  # our own message; a plain ValueError gets argparse's "invalid ... value"
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a network and write a run folder with model, history, plots, report")
    p.add_argument("--config", type=Path, help="a TOML file (e.g. a run's config.toml); flags override it")
    p.add_argument("--out", type=Path, help="run folder (default runs/<dataset>-<time>)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch output")
    p.add_argument("--plain", action="store_true", help="plain lines instead of progress bars")
    p.add_argument("--no-report", action="store_true", help="skip figures and report.html")
    for f in fields(TrainConfig):
        flag, text = "--" + f.name.replace("_", "-"), f.metadata["help"]
        if f.metadata["kind"] is BOOL:
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            p.add_argument(flag, dest=f.name, default=None, help=text, type=lambda t, n=f.name: _parse_value(n, t))


def cmd_train(args) -> int:
    from .run import train_run

    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    config = TrainConfig.from_toml(args.config, overrides) if args.config else TrainConfig(**overrides)
    out = args.out or Path("runs") / f"{Path(config.dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    verbose = 0 if args.quiet else (2 if args.plain else 1)
    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    result = train_run(config, out, log=log, verbose=verbose, report=not args.no_report)
    print(result.report or result.out_dir)
    return 130 if result.interrupted else 0


def _load_model(path):
    from .model import Sequential

    return Sequential.load(path)


def cmd_evaluate(args) -> int:
    from .data import apply_preprocessing, load_raw
    from .run import evaluate_classifier

    model = _load_model(args.model)
    (Xtr, ytr), (Xte, yte) = load_raw(args.data)
    X, y = (Xte, yte) if args.split == "test" else (Xtr, ytr)
    X = apply_preprocessing(X, model.preprocessing)
    n_classes = model.n_outputs if model.n_outputs > 1 else 2
    result = evaluate_classifier(model, X, y.astype(np.int64), n_classes)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.split} samples: {len(X):,}   loss: {result['loss']:.4f}   accuracy: {100 * result['accuracy']:.2f}%")
    per = result["per_class"]
    print("class  precision  recall     F1  support")
    for i in range(n_classes):
        print(f"{i:>5}  {100 * per['precision'][i]:9.2f}  {100 * per['recall'][i]:6.2f}  {100 * per['f1'][i]:5.2f}"
              f"  {per['support'][i]:7d}")
    return 0


def read_inputs(path: Path) -> np.ndarray:
    """Raw samples from an image (one digit), .npy, .csv or IDX file."""
    from .data import read_idx
    from .data.formats import read_csv_matrix
    from .data.images import load_digit_image

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


def cmd_predict(args) -> int:
    from .data import apply_preprocessing

    model = _load_model(args.model)
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


def cmd_info(args) -> int:
    model = _load_model(args.model)
    model.summary()
    print(f"epochs trained: {model.epoch}")
    if model.optimizer is not None:
        print(f"optimizer: {model.optimizer!r} after {model.optimizer.iterations:,} steps")
    h = model.history.epochs
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if h.get(key):
            print(f"last {key}: {h[key][-1]:.4f}")
    if model.preprocessing:
        print(f"preprocessing: {json.dumps(model.preprocessing)}")
    return 0


def cmd_gradcheck(args) -> int:
    from . import Dense, Sequential, gradcheck

    rng = np.random.default_rng(args.seed)
    sizes = [args.features, *args.hidden, args.classes]
    layers = [Dense(a, b, args.activation if i < len(sizes) - 2 else None)
              for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))]
    model = Sequential(layers, seed=args.seed)
    X = rng.standard_normal((args.samples, args.features))
    y = rng.integers(0, args.classes, args.samples)
    result = gradcheck(model, X, y, tolerance=args.tolerance)
    print(f"network {'-'.join(map(str, sizes))} ({args.activation}), {args.samples} samples, float64 central "
          f"differences; relative error per tensor:")
    print(result)
    return 0 if result.ok else 1


def cmd_datasets(args) -> int:
    from . import data

    if args.action == "list":
        for name, spec in sorted(data.DATASETS.items()):
            print(f"{name:<15} {spec.description}")
        print(f"\ncache folder: {data.cache_dir()} (set NUMPYNN_DATA to change it)")
        return 0
    if not args.name:
        raise NumpynnError(f"`numpynn datasets {args.action}` needs a dataset name")
    spec = data.get_spec(args.name)
    if spec.loader is not None:
        print(f"{args.name} is bundled with numpynn: nothing to locate or download")
        return 0
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    files = data.locate(args.name, path=args.path, download_missing=args.action == "download", log=log)
    for split, path in files.items():
        ok = data.verify_file(path, spec.files[split])
        print(f"{split:<13} {path}  {'verified' if ok else 'CHECKSUM MISMATCH'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .version import __version__

    parser = _Parser(prog="numpynn", description="Multilayer perceptrons in NumPy.")
    parser.add_argument("--version", action="version", version=f"numpynn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    p = sub.add_parser("evaluate", help="loss, accuracy and per-class figures of a model on a dataset")
    p.add_argument("model", type=Path)
    p.add_argument("--data", required=True, help="dataset name or path")
    p.add_argument("--split", choices=("test", "train"), default="test")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("predict", help="classify an image of a digit (PNG/JPEG) or samples in .npy/.csv/IDX")
    p.add_argument("model", type=Path)
    p.add_argument("input", type=Path)
    p.add_argument("--top", type=int, default=3, help="how many classes to list for one image")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("info", help="a model file's layers, parameters and training state")
    p.add_argument("model", type=Path)
    p = sub.add_parser("gradcheck", help="check backpropagation against finite differences on a small network")
    p.add_argument("--features", type=int, default=6)
    p.add_argument("--hidden", type=lambda t: _parse_value("hidden", t), default=[5, 4])
    p.add_argument("--activation", default="tanh")
    p.add_argument("--classes", type=int, default=3)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--tolerance", type=float, default=1e-6)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("datasets", help="list, locate, download or verify datasets")
    p.add_argument("action", choices=("list", "locate", "download", "verify"))
    p.add_argument("name", nargs="?")
    p.add_argument("--path", help="a folder holding the files")
    return parser


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "info": cmd_info,
            "gradcheck": cmd_gradcheck, "datasets": cmd_datasets}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (NumpynnError, ValueError, OSError) as exc:
        print(f"numpynn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("numpynn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
