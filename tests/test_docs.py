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


def test_architecture_examples_run_and_leave_the_registries_as_they_were(capsys):
    from numpynn.layers import LAYERS
    from numpynn.ops.activations import ACTIVATIONS
    from numpynn.optim import OPTIMIZERS

    text = (DOCS / "architecture.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    registries = (LAYERS, OPTIMIZERS, ACTIVATIONS)
    saved = [dict(r) for r in registries]
    namespace: dict = {}
    try:
        for i, block in enumerate(blocks):
            exec(compile(block, f"architecture.md block {i + 1}", "exec"), namespace)  # noqa: S102
        assert LAYERS["MyScale"] is namespace["MyScale"] and OPTIMIZERS["my_lion"] is namespace["MyLion"]
    finally:  # the examples register classes and an activation, as the package's own do; take them out again
        for registry, before in zip(registries, saved, strict=True):
            registry.clear()
            registry.update(before)
    printed = capsys.readouterr().out
    assert "[('Dense', 'relu'), ('Dense', None)]" in printed  # Dense + ReLU fused, the Softmax taken by the loss
    assert "[('Dense', 'my_softplus'), ('Dense', None)]" in printed
    assert namespace["check"].ok and "2.s" in namespace["check"].errors
    assert namespace["scale_accuracy"] > 0.9 and namespace["lion_accuracy"] > 0.9
    assert "MyScale" not in LAYERS and "my_lion" not in OPTIMIZERS and "my_softplus" not in ACTIVATIONS
