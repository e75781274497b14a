"""Fuzz target for the export writers: hostile names must reach the exported files as data, never as code.

An input is text (UTF-8, undecodable bytes kept as surrogate escapes) of fields split by the record separator
0x1E: the model file's name, then its class names. The target exports a small model so named, as
`numpynn export --format python` would, and checks that the generated file is the same program as the export of
a plainly named model (its abstract syntax tree, once the string literals that hold the names are set aside),
that those literals equal the names, and that the file, imported, predicts what numpynn does. With the onnx
package it also exports ONNX and reads the names back from its metadata. `python fuzz/targets_export.py`
rewrites the seed corpus in `fuzz/corpus/export_python/`.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

SEPARATOR = "\x1e"
N_FEATURES, N_CLASSES = 4, 3
MAX_NAME_BYTES = 200  # below every file system's limit on one name (255 bytes), with room for "predict_"


def _fields(path: Path) -> tuple[str, list[str]]:
    """(file stem, class names) of an input, the stem made a name a file can have."""
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    stem, *names = text.split(SEPARATOR)
    stem = "predict_" + stem.replace("/", "_").replace("\0", "_")
    while len(os.fsencode(stem)) > MAX_NAME_BYTES:
        stem = stem[:-1]
    names = (names + [stem, stem[::-1], stem + "\n"])[:N_CLASSES]
    return stem, names


def _model(names: list[str]):
    import numpynn as nn

    model = nn.Sequential([nn.Dense(N_FEATURES, 5, "elu"), nn.Dense(5, N_CLASSES)], seed=0)
    model.preprocessing = {"normalize": "standardize", "mean": [0.5, -1.0, 2.0, 0.0], "std": [1.0, 2.0, 0.5, 3.0],
                           "input_shape": [N_FEATURES], "class_names": names, "feature_names": [*names, names[0]],
                           "label_column": names[0]}
    return model


def _set_aside(tree: ast.Module, names: list[str], npz: str) -> str:
    """The tree's dump with the docstring, CLASS_NAMES and the .npz name blanked, once each is checked."""
    body = tree.body
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)):
        raise AssertionError("the exported file does not start with its docstring")
    body[0].value.value = ""
    found = set()
    for stmt in body:
        if isinstance(stmt, ast.Assign) and [ast.unparse(t) for t in stmt.targets] == ["CLASS_NAMES"]:
            if ast.literal_eval(stmt.value) != names:
                raise AssertionError(f"CLASS_NAMES holds {ast.unparse(stmt.value)[:200]}, not {names!r:.200}")
            stmt.value = ast.List([], ast.Load())
            found.add("CLASS_NAMES")
        if isinstance(stmt, ast.Assign) and [ast.unparse(t) for t in stmt.targets] == ["W"]:
            texts = [n for n in ast.walk(stmt.value) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            if [n.value for n in texts] != [npz]:
                raise AssertionError(f"W is read from {[n.value for n in texts]!r:.200}, not {npz!r:.200}")
            texts[0].value = ""
            found.add("W")
    if found != {"CLASS_NAMES", "W"}:
        raise AssertionError(f"the exported file lacks {sorted({'CLASS_NAMES', 'W'} - found)}")
    return ast.dump(tree)


def export_python(path: Path) -> None:
    """Export a model named by the input; its file must be the plain model's program, with the names as data."""
    from numpynn.data import apply_preprocessing
    from numpynn.export import export_python as export
    from numpynn.export import plan_of
    from numpynn.export.python import python_source

    stem, names = _fields(path)
    model = _model(names)
    work = Path(tempfile.mkdtemp(prefix="numpynn-fuzz-export-"))
    try:
        py, npz = export(model, work / f"{stem}.py")
        source = py.read_text(encoding="utf-8")
        plain_names = [f"class {i}" for i in range(N_CLASSES)]
        plain = python_source(plan_of(_model(plain_names)), "predict_plain.npz")
        if _set_aside(ast.parse(source), names, npz.name) != _set_aside(ast.parse(plain), plain_names,
                                                                         "predict_plain.npz"):
            raise AssertionError(f"the file exported as {stem!r:.200} is not the plain export's program")
        before = _files(work)
        spec = importlib.util.spec_from_file_location("numpynn_fuzz_exported", py)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        raw = np.linspace(-3, 3, 2 * N_FEATURES).reshape(2, N_FEATURES)
        want = model.predict_proba(apply_preprocessing(raw, model.preprocessing))
        np.testing.assert_allclose(module.predict_proba(module.preprocess(raw)), want, rtol=1e-5, atol=1e-5)
        if _files(work) != before:
            raise AssertionError(f"importing the exported file wrote {sorted(_files(work) - before)}")
        _onnx_metadata(model, names)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _files(folder: Path) -> set[str]:
    """The files in `folder`, less the bytecode cache Python may write on import."""
    return {p.name for p in folder.iterdir() if p.name != "__pycache__"}


def _onnx_metadata(model, names: list[str]) -> None:
    if importlib.util.find_spec("onnx") is None:
        return
    from numpynn.export import to_onnx

    meta = {p.key: p.value for p in to_onnx(model, raw_input="float32").metadata_props}
    if json.loads(meta["class_names"]) != names or json.loads(meta["preprocessing"]) != model.preprocessing:
        raise AssertionError("the ONNX metadata does not give the names back")


TARGETS = {"export_python": export_python}

# one file per kind of hostile name: closing a literal, a docstring or a line; escapes; text of every kind
SEEDS = {
    "plain": "model",
    "double-quote-payload": 'm")))if 0 else __import__("os").system("touch PWNED")#',
    "single-quote-payload": "m'+__import__('os').system('touch PWNED')+'",
    "triple-quotes": f'a"""b{SEPARATOR}c\'\'\'d{SEPARATOR}"""',
    "backslashes": f"back\\slash\\{SEPARATOR}\\N{{BULLET}}\\x41\\{SEPARATOR}\\",
    "newlines": f"new\nline\r\n#{SEPARATOR}a\nimport os{SEPARATOR}\u2028\u2029\x0c\x0b",
    "non-ascii": f"ünïcødé ✓ \u202edlrow{SEPARATOR}日本語{SEPARATOR}\ufeff\U0001f600",
    "braces": f"{{W}}{{__file__}}%s{SEPARATOR}{{0}}{SEPARATOR}$(touch PWNED)",
    "slash-and-nul": f"a/b\0c{SEPARATOR}\0{SEPARATOR}/",
    "long": "x" * 300 + SEPARATOR + "é" * 300,
    "empty": "",
}
RAW_SEEDS = {"undecodable": b"\xff\xfe\x80" + SEPARATOR.encode() + b"\xed\xa0\x80" + SEPARATOR.encode() + b"\xc3"}


if __name__ == "__main__":
    folder = Path(__file__).resolve().parent / "corpus" / "export_python"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SEEDS.items():
        (folder / f"{name}.txt").write_bytes(text.encode("utf-8"))
    for name, data in RAW_SEEDS.items():
        (folder / f"{name}.txt").write_bytes(data)
