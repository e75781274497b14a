"""The tutorial notebooks run top to bottom on a real Jupyter kernel (nbclient + ipykernel) and draw the figures
they promise; models and histories show as HTML tables and the progress bar is tqdm's notebook widget."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (the test extra has it)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (the test extra has it)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (the test extra has it)")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "docs" / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def kernel(tmp_path, monkeypatch) -> str:
    """A kernelspec for this very interpreter, so the kernel imports the numpynn under test (and nothing that a
    user-wide 'python3' kernel would point at)."""
    spec = tmp_path / "kernels" / "numpynn-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "numpynn test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return "numpynn-test"


def run_notebook(name: str, kernel: str):
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(book, kernel_name=kernel, timeout=300, resources={"metadata": {
        "path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    return [c for c in book.cells if c.cell_type == "code"]


def outputs_of(cell, kind: str) -> list:
    return [o for o in cell.outputs if kind in o.get("data", {})]


def cell_with(cells, text: str):
    return next(c for c in cells if text in c.source)


def test_one_neuron_xor_mnist(kernel):
    cells = run_notebook("01-one-neuron-xor-mnist.ipynb", kernel)
    for marker in ('"one neuron learns OR")', "no line separates XOR", 'cmap="gray_r"', "unit {i}", "history.plot()"):
        assert outputs_of(cell_with(cells, marker), "image/png"), f"no figure from the cell with {marker!r}"
    assert "one neuron: 0.5" in cell_with(cells, "lonely = ").outputs[0]["text"] or \
        "one neuron: 0.75" in cell_with(cells, "lonely = ").outputs[0]["text"]
    assert "2-3-1: 1.0" in cell_with(cells, "lonely = ").outputs[0]["text"]
    assert len(outputs_of(cell_with(cells, "history.plot()"), "image/png")) == 1  # shown once, not twice
    summary = outputs_of(cell_with(cells, "hidden  #"), "text/html")[0]["data"]["text/html"]
    assert "<table>" in summary and "Dense(2\u21923, sigmoid)" in summary
    fit_cell = cell_with(cells, "history = model.fit")
    assert outputs_of(fit_cell, WIDGET), "the progress bar is not the notebook widget"
    table = outputs_of(fit_cell, "text/html")[0]["data"]["text/html"]
    assert "val_accuracy" in table and table.count("<tr>") == 1 + 3  # header and the three epochs


def test_write_your_own_layer_and_training_loop(kernel):
    cells = run_notebook("02-your-own-layer-and-training-loop.ipynb", kernel)
    check = cell_with(cells, "nn.gradcheck(")
    assert "TutorialDense" in outputs_of(check, "text/html")[0]["data"]["text/html"]
    assert "test accuracy" in cell_with(cells, "for epoch in range(3)").outputs[-1]["text"]
    for marker in ("the hand-written loop", "history.plot()"):
        assert outputs_of(cell_with(cells, marker), "image/png"), f"no figure from the cell with {marker!r}"
    table = outputs_of(cell_with(cells, "again.fit"), "text/html")[0]["data"]["text/html"]
    assert "val_loss" in table and "2 epochs" in table


# --- what the notebooks rely on, checked directly (fast) ------------------------------------------------------

def test_model_and_history_show_as_html_tables(blobs):
    import numpynn as nn

    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    page = model._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") == 3  # header and two layers
    assert "Dense(4\u21928, relu)" in page and "<td style=\"text-align:right\">40</td>" in page
    assert "parameters: 67" in page
    history = model.fit(X, y, epochs=25, batch_size=32, validation_split=0.2, metrics=["accuracy"], verbose=0)
    table = history._repr_html_()
    assert "<th style=\"text-align:right\">val_accuracy</th>" in table and "25 epochs" in table
    assert table.count("<tr>") == 1 + 5 + 1 + 10  # header, the first 5 epochs, an ellipsis row, the last 10
    assert f"<td style=\"text-align:right\">{history['loss'][-1]:.4f}</td>" in table
    assert "<script" not in nn.Sequential([nn.Dense(2, 1)])._repr_html_()


def test_history_plot_draws_both_panels(blobs, tmp_path):
    pytest.importorskip("matplotlib")
    import numpynn as nn

    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    history = model.fit(X, y, epochs=3, batch_size=32, validation_split=0.2, metrics=["accuracy"], verbose=0)
    fig = history.plot()
    loss_ax, acc_ax = fig.axes
    assert [ln.get_label() for ln in loss_ax.lines] == ["train (per batch)", "train", "validation"]
    assert list(acc_ax.lines[0].get_ydata()) == pytest.approx([100 * a for a in history["accuracy"]])
    fig.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_plot_is_pyplots_current_figure(blobs, tmp_path):
    """`history.plot()` then `plt.savefig(path)` writes the curves (pyplot tracks the figure), not a blank page."""
    pytest.importorskip("matplotlib")
    import matplotlib.image
    import matplotlib.pyplot as plt

    import numpynn as nn

    X, y = blobs
    history = nn.Sequential([nn.Dense(4, 3)], seed=0).fit(X, y, epochs=3, metrics=["accuracy"], verbose=0)
    fig = history.plot()
    try:
        assert plt.gcf() is fig and len(fig.axes) == 2
        plt.savefig(tmp_path / "pyplot.png")
        fig.savefig(tmp_path / "figure.png")
    finally:
        plt.close(fig)
    by_pyplot, by_figure = (matplotlib.image.imread(tmp_path / n) for n in ("pyplot.png", "figure.png"))
    assert by_pyplot.shape == by_figure.shape and (by_pyplot == by_figure).all()
    assert len(np.unique(by_pyplot.reshape(-1, by_pyplot.shape[-1]), axis=0)) > 10  # lines and text, not blank


def test_history_plot_saves_headless(tmp_path):
    """With no display and no backend chosen, a script's `history.plot(); plt.savefig(...)` draws on Agg."""
    pytest.importorskip("matplotlib")
    import os
    import subprocess

    script = ("import numpy as np, numpynn as nn, matplotlib.pyplot as plt, matplotlib\n"
              "X = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)\n"
              "h = nn.Sequential([nn.Dense(3, 2)], seed=0).fit(X, (X[:, 0] > 0).astype(int), epochs=2, verbose=0)\n"
              "h.plot()\nplt.savefig('curves.png')\nprint(matplotlib.get_backend())\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().lower() == "agg"
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_plot_shows_once_in_a_kernel(kernel, tmp_path):
    """On the inline backend the figure is shown once (pyplot shows it; the cell's value adds nothing), and on
    Agg, where pyplot shows nothing, the value is the PNG; plt.savefig in the cell writes the curves."""
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(src) for src in (
        "import numpy as np, numpynn as nn, matplotlib.pyplot as plt\n"
        "X = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)\n"
        "history = nn.Sequential([nn.Dense(3, 2)], seed=0).fit(X, (X[:, 0] > 0).astype(int), epochs=2, "
        "verbose=0)",
        "history.plot()",
        "fig = history.plot()\nplt.savefig('saved.png')\nprint(plt.gcf() is fig)",
        "plt.switch_backend('agg')\nhistory.plot()")]
    nbclient.NotebookClient(book, kernel_name=kernel, timeout=120, resources={"metadata": {
        "path": str(tmp_path)}}).execute()
    saved = (tmp_path / "saved.png").read_bytes()
    _, inline, savefig, agg = book.cells
    assert len(outputs_of(inline, "image/png")) == 1
    assert "True" in savefig.outputs[0]["text"] and saved[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(outputs_of(agg, "image/png")) == 1


def test_progress_is_plain_lines_outside_a_notebook(blobs):
    import io

    import numpynn as nn
    from numpynn.training.callbacks import in_notebook

    assert not in_notebook()
    stream = io.StringIO()
    X, y = blobs
    nn.Sequential([nn.Dense(4, 3)], seed=0).fit(X, y, epochs=2, callbacks=[nn.ProgressBar(stream)], verbose=0)
    assert stream.getvalue().count("epoch ") == 2
