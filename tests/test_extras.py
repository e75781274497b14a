"""What `pip install 'numpynn[notebook]'` installs is what the notebooks need: Jupyter to open them, a kernel and
nbclient to run them (as tests/test_notebooks.py does), and every package their cells import."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))
# the module a distribution installs, where the two names differ
MODULE_OF = {"scikit-learn": "sklearn", "pillow": "PIL"}


def _names(requirements: list[str]) -> set[str]:
    """The distribution names of requirement strings ("matplotlib>=3.8" -> "matplotlib")."""
    return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower().replace("_", "-") for r in requirements}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _imported_by(book: Path) -> set[str]:
    """The top-level modules the code cells of a notebook import (IPython's %magics left out)."""
    modules: set[str] = set()
    for cell in json.loads(book.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.partition(".")[0])
    return modules


def test_the_notebook_extra_installs_jupyter_and_what_the_notebooks_run_with():
    extra = _names(_project()["optional-dependencies"]["notebook"])
    assert "notebook" in extra  # Jupyter Notebook: `jupyter notebook docs/notebooks/` opens them
    runner = set(re.findall(r'importorskip\("(\w+)"', (ROOT / "tests" / "test_notebooks.py").read_text()))
    assert runner >= {"nbformat", "nbclient", "ipykernel"} and runner <= extra, runner - extra
    assert {"matplotlib", "tqdm", "ipywidgets"} <= extra  # history.plot() and the progress widget


def test_every_module_a_notebook_imports_comes_with_numpynn_or_the_extra():
    project = _project()
    installed = {MODULE_OF.get(n, n) for n in _names(project["dependencies"])
                 | _names(project["optional-dependencies"]["notebook"])}
    assert len(NOTEBOOKS) == 2
    for book in NOTEBOOKS:
        imported = _imported_by(book)
        assert "numpynn" in imported and "matplotlib" in imported, book.name
        missing = {m for m in imported - installed - {"numpynn"} if m not in sys.stdlib_module_names}
        assert not missing, f"{book.name} imports {sorted(missing)}: neither numpynn nor its notebook extra has it"
