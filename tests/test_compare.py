"""The run report's new sections and `numpynn compare`: well-formed, self-contained pages whose every picture
decodes, checked in headless Chromium where it is installed (like test_demo's report check)."""

from __future__ import annotations

import re

import pytest

from numpynn.cli import main
from numpynn.compare import write_compare
from numpynn.config import TrainConfig
from numpynn.errors import NumpynnError
from numpynn.run import train_run

from .test_demo import CHROMIUM, browser_loaded_images, check_report

pytest.importorskip("matplotlib")
pytest.importorskip("PIL")


def run(tmp_path, tiny_npz, name, **settings):
    cfg = TrainConfig(dataset=str(tiny_npz), **{"epochs": 2, **settings})
    return train_run(cfg, tmp_path / name, log=lambda *a: None, verbose=0, report=True)


def test_the_report_shows_recipe_speed_calibration_saliency_doctor_and_glossary(tmp_path, tiny_npz):
    res = run(tmp_path, tiny_npz, "a")
    text = res.report.read_text()
    assert check_report(res.report) == 9
    for name in ("speed", "reliability", "saliency", "doctor"):
        assert f'alt="{name}"' in text, name
    first = re.search(r"</h1>\s*<p class='recipe'>([^<]*)</p>", text)
    assert first and first.group(1).startswith("MLP 784→512→256→10 (relu, dropout 0.1) · adam lr 0.002, cosine")
    for heading in ("Learning rate and speed", "Calibration", "What made it say so", "Training doctor", "Glossary",
                    "top-3 accuracy", "samples per second", "recall", "validation loss below training loss"):
        assert heading in text, heading
    assert "<th></th><th></th>" not in text  # the environment table has its header
    optimizer = text[text.index("<h3>Optimizer</h3>"):text.index("<h2>Configuration</h2>")]
    assert "{" not in optimizer and "cosine schedule from 0.002" in optimizer
    assert "each value divided by 255 (scaled to [0, 1]); 28×28 images flattened to 784 features" in text
    assert "No findings" in text
    if CHROMIUM:
        assert browser_loaded_images(res.report, tmp_path) == (9, 9)


def test_compare_overlays_runs_and_highlights_only_differing_settings(tmp_path, tiny_npz, capsys):
    run(tmp_path, tiny_npz, "small", hidden=[16], lr=0.01)
    run(tmp_path, tiny_npz, "large", hidden=[64])
    out = tmp_path / "compare.html"
    assert main(["compare", str(tmp_path / "small"), str(tmp_path / "large"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert check_report(out) == 1
    text = out.read_text()
    highlighted = re.findall(r"<tr class='diff'><td>([^<]+)</td>", text)
    assert highlighted == ["hidden", "lr"]
    assert re.search(r"<td>hidden</td><td>16</td><td>64</td>", text)
    assert "accuracy (%)" in text and "samples / s" in text and "calibration error" in text
    assert text.count("class='recipe'") == 2
    if CHROMIUM:
        assert browser_loaded_images(out, tmp_path) == (1, 1)


def test_compare_refuses_what_is_not_a_pair_of_run_folders(tmp_path, tiny_npz):
    run(tmp_path, tiny_npz, "a", hidden=[8], epochs=1, doctor=False)
    with pytest.raises(NumpynnError, match="at least two"):
        write_compare([tmp_path / "a"], tmp_path / "c.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NumpynnError, match=r"empty: not a complete run folder \(no config.toml\)"):
        write_compare([tmp_path / "a", tmp_path / "empty"], tmp_path / "c.html")
    (tmp_path / "a" / "metrics.json").write_text("[1")
    with pytest.raises(NumpynnError, match=r"a/metrics.json is not valid JSON"):
        write_compare([tmp_path / "a", tmp_path / "a"], tmp_path / "c.html")
    assert not (tmp_path / "c.html").exists()


def test_reports_name_files_by_name_never_by_this_machines_absolute_paths(tmp_path, tiny_npz, capsys):
    import shutil
    from pathlib import Path

    penguins = shutil.copy(Path(__file__).parent / "data" / "penguins.csv", tmp_path / "penguins.csv")
    runs = [run(tmp_path / "images", tiny_npz, "run", hidden=[8], epochs=1),
            run(tmp_path / "table", penguins, "run", hidden=[8], epochs=1, label_column="species")]
    out = tmp_path / "compare.html"
    assert main(["compare", str(runs[0].report.parent), str(runs[1].report.parent), "--out", str(out)]) == 0
    pages = {"compare.html": out.read_text()}
    for res in runs:
        pages[str(res.report.relative_to(tmp_path))] = res.report.read_text()
        capsys.readouterr()
        assert main(["doctor", str(res.report.parent)]) == 0 and main(["doctor", str(res.report.parent), "--json"]) == 0
        pages[f"doctor of {res.report.parent.parent.name}"] = capsys.readouterr().out
    forbidden = [str(tmp_path), str(tmp_path.resolve()), str(Path.home())]
    for name, text in pages.items():
        for path in forbidden:
            assert path not in text, (name, path)
    assert "<code>tiny.npz</code>" in pages["images/run/report.html"]
    assert "penguins.csv" in pages["table/run/report.html"]
    assert "<th>images/run</th><th>table/run</th>" in pages["compare.html"]  # same-named folders told apart
