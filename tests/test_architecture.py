"""The package's shape: no import circle, and the engines' details stay inside numpynn/ops."""

from __future__ import annotations

import ast
from pathlib import Path

import numpynn as nn

PACKAGE = Path(nn.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The numpynn modules `name` imports, at module level or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        out |= {c for c in candidates if c in modules and c not in (name, "numpynn")}
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the list of modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state and (found := visit(w)):
                return found
        state[v] = 2
        path.pop()
        return None

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_no_import_circle_in_the_package():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert "numpynn.io" in graph["numpynn.model_file"]  # the walk sees imports at all
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_circle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_only_ops_knows_the_c_extension():
    for name, path in _modules().items():
        if name.startswith("numpynn.ops"):
            continue
        text = path.read_text()
        for word in ("_fused", "FusedOps", "fused_ops", "NUMPYNN_KERNELS"):
            assert word not in text, f"{name} mentions {word}: engine details belong in numpynn/ops"


BELOW_THE_ENGINES = {"numpynn.errors", "numpynn.checks"}  # the vocabulary of failure and the value checks


def test_the_engines_import_nothing_above_them():
    """ops/ is the bottom room: it may name numpynn's errors and checks, nothing else (DESIGN.md's layers)."""
    modules = _modules()
    for name, path in modules.items():
        if name.startswith("numpynn.ops"):
            outside = {m for m in _imports(name, path, modules)
                       if not m.startswith("numpynn.ops") and m not in BELOW_THE_ENGINES}
            assert not outside, f"{name} imports {sorted(outside)}"
        if name in BELOW_THE_ENGINES:
            assert not _imports(name, path, modules) - BELOW_THE_ENGINES, f"{name} imports the package"


def _engine_assignments() -> list[str]:
    """Every `<something>.ops = ...` in the package outside ops/, as 'module.function'."""
    found = []
    for name, path in _modules().items():
        if name.startswith("numpynn.ops"):
            continue
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
                if any(isinstance(t, ast.Attribute) and t.attr == "ops" for t in targets):
                    found.append(f"{name}.{func.name}")
    return found


def test_the_engine_is_handed_out_in_one_place():
    """Sequential.bind gives the model's parts their engine; nothing else assigns one (DESIGN.md)."""
    assert sorted(set(_engine_assignments())) == ["numpynn.model.bind"]
