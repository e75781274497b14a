"""The tutorial's code blocks run, in order, in one namespace: a learner can trust every step."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_tutorial_code_runs_in_order(capsys):
    text = (DOCS / "tutorial.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 8
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"tutorial.md block {i + 1}", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "2-3-1 network: 1.0" in printed and "(8000, 784) float32" in printed


def test_dask_how_to_local_sweep_runs(capsys):
    import pytest

    pytest.importorskip("dask.distributed")
    text = (DOCS / "dask.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "LocalCluster" in b]
    assert len(blocks) == 1
    exec(compile(blocks[0], "dask.md local sweep", "exec"), {})  # noqa: S102
    assert "'hidden_layer_sizes'" in capsys.readouterr().out
