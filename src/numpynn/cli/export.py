"""`numpynn export`: a model file as ONNX (for onnxruntime and other runtimes) or as one NumPy-only Python file."""

from __future__ import annotations

from pathlib import Path

from ..errors import NumpynnError
from .common import load_model


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a model as ONNX or as a Python file that needs only NumPy")
    p.add_argument("model", type=Path)
    p.add_argument("--format", choices=("onnx", "python"), default="onnx")
    p.add_argument("--out", type=Path, default=None,
                   help="the file to write (default: MODEL.onnx, or predict_MODEL.py beside the model)")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--raw-input", nargs="?", const=True, default=None, choices=("uint8", "float32", "float64"),
                       help="ONNX: the graph takes raw samples (default: their natural type, uint8 pixels or float32 "
                            "rows) and prepares them as `numpynn predict` does; a table model and a model of rows "
                            "take their raw input without it")
    given.add_argument("--prepared-input", action="store_true",
                       help="ONNX: the graph takes the model's inputs already prepared (for a table model, the "
                            "matrix numpynn.tables.prepare makes)")
    p.add_argument("--class-names", default=None,
                   help="comma-separated names of the classes (default: those the model records, else 0..k-1)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17, the least allowed)")


def run(args) -> int:
    model = load_model(args.model)
    names = None if args.class_names is None else [n.strip() for n in args.class_names.split(",")]
    if args.format == "onnx":
        from ..export.onnx import DEFAULT_OPSET, export_onnx

        out = args.out or args.model.with_suffix(".onnx")
        raw = False if args.prepared_input else args.raw_input
        export_onnx(model, out, raw_input=raw, class_names=names,
                    opset=DEFAULT_OPSET if args.opset is None else args.opset)
        print(f"wrote {out}")
        return 0
    if args.raw_input or args.prepared_input or args.opset is not None:
        raise NumpynnError("--raw-input, --prepared-input and --opset apply to --format onnx; the Python file "
                           "always has preprocess(raw)")
    from ..export.python import export_python

    out = args.out or args.model.with_name(f"predict_{args.model.stem}.py")
    py, npz = export_python(model, out, class_names=names)
    print(f"wrote {py} and its weights {npz}")
    return 0
