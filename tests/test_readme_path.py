"""A newcomer's first path through README.md, run end to end: the quick start and its next steps, `--help` of
every command, and the From Python block.

The README's own text is read, so a command added to it is run here or fails this test. The rules that make the
path fit a test, all of them:

- it runs in a temporary folder holding a copy of examples/, so runs/ and model files land in tmp_path;
- `numpynn ...` runs as `sys.executable -m numpynn ...` (this interpreter, this checkout);
- `make demo` runs the `numpynn train` line of the Makefile's demo target (creating .venv and installing is
  `make demo` from a fresh clone in tests/test_demo.py);
- every `numpynn train` gets `--epochs 1` appended (argparse keeps the last one), the From Python block
  `epochs=1` for `epochs=10`; nothing else is changed: the data is the bundled sample, already small;
- only the commands in SKIPPED are not run: they open a browser or change the shell, and the test checks that
  what they point at exists.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_demo import check_report

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# the only README commands not run, each with the path that must exist once the commands before it have run
SKIPPED = {"source .venv/bin/activate": None, "xdg-open runs/demo/report.html": "runs/demo/report.html"}
SHORTER_TRAINING = ["--epochs", "1"]


def section(title: str) -> str:
    """The README's text under `## title`, up to the next `## ` heading."""
    assert f"\n## {title}\n" in README, f"README.md has no section '## {title}'"
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def bash_commands(text: str) -> list[str]:
    """Each command of the ```bash blocks in text, in order, without its comment."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(shlex.join(words))
    return commands


def make_demo_command() -> list[str]:
    """The `numpynn train` line the Makefile's demo target runs, as numpynn's arguments."""
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), flags=re.M)
    assert recipe, "the Makefile has no demo target"
    lines = [line.strip() for line in recipe.group(1).splitlines() if "bin/numpynn " in line]
    assert len(lines) == 1, lines
    words = shlex.split(lines[0])
    assert words[0] == "$(VENV)/bin/numpynn", words
    return words[1:]


def numpynn(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "numpynn", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_the_quick_start_and_its_next_steps_run_in_order(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    commands = bash_commands(section("Quick start"))
    assert commands[0] == "make demo", commands
    ran, skipped = [], []
    for command in commands:
        if command in SKIPPED:
            skipped.append(command)
            if SKIPPED[command]:
                assert (tmp_path / SKIPPED[command]).exists(), f"{command!r}: nothing at {SKIPPED[command]}"
            continue
        words = shlex.split(command)
        if command == "make demo":
            args = make_demo_command()
        else:
            assert words[0] == "numpynn", f"README quick start runs {command!r}: run it here or add it to SKIPPED"
            args = words[1:]
        if args[0] == "train":
            args = [*args, *SHORTER_TRAINING]
        r = numpynn(*args, cwd=tmp_path)
        assert r.returncode == 0, f"{command}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        ran.append((command, r))
    assert skipped == list(SKIPPED), "SKIPPED names only commands the README has, each once"
    outputs = dict(ran)
    assert list(outputs) == ["make demo", "numpynn predict runs/demo/model.safetensors examples/digits/",
                             "numpynn evaluate runs/demo/model.safetensors --data mnist-sample",
                             "numpynn train --epochs 10 --out runs/mine"], "a new command: check what it produces"

    # make demo: runs/demo/ with the model, its config, the history, the figures and report.html
    demo = tmp_path / "runs" / "demo"
    for name in ("model.safetensors", "config.toml", "history.json", "curves.png", "report.html"):
        assert (demo / name).is_file(), name
    assert check_report(demo / "report.html") > 0

    # predict: one row per shipped digit image, each read as the digit its file is named after
    rows = outputs["numpynn predict runs/demo/model.safetensors examples/digits/"].stdout.strip().splitlines()
    images = sorted(p.name for p in (tmp_path / "examples" / "digits").glob("*.png"))
    assert rows[0] == "file,row,class,probability" and len(rows) == 1 + len(images) >= 3, rows
    for row in rows[1:]:
        file, _, label, _ = row.split(",")
        assert Path(file).name in images and re.search(r"-(\d)\.png$", file).group(1) == label, row

    # evaluate: loss, accuracy and a line of figures per class
    report = outputs["numpynn evaluate runs/demo/model.safetensors --data mnist-sample"].stdout
    accuracy = float(re.search(r"accuracy: ([\d.]+)%", report).group(1))
    assert "loss:" in report and accuracy > 50, report
    assert all(re.search(rf"^\s+{digit}\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+$", report, flags=re.M) for digit in range(10))

    # train: a run of one's own, in runs/mine, with the one epoch the rule above gives it
    import numpynn as nn

    mine = tmp_path / "runs" / "mine"
    first = nn.load(mine / "model.safetensors").layers[0]
    assert (first.in_features, first.out_features) == (784, 512)  # the train defaults: 784-512-256-10
    assert "epochs = 1\n" in (mine / "config.toml").read_text()


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every subcommand path the parser registers, nested ones too."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += [(*path, name), *subcommands(child, (*path, name))]
    return found


def test_every_command_has_a_help_that_exits_0_with_its_usage(tmp_path, engine):
    if engine != "numpy":
        pytest.skip("--help is the argument parser's, which does not depend on the engine; run once")
    from numpynn.cli import COMMANDS, build_parser

    paths = subcommands(build_parser())
    assert {p[0] for p in paths} == set(COMMANDS)
    for path in [(), *paths]:
        r = numpynn(*path, "--help", cwd=tmp_path)
        assert r.returncode == 0 and not r.stderr, (path, r.stderr)
        assert r.stdout.startswith(f"usage: {' '.join(('numpynn', *path))} "), (path, r.stdout[:200])
    top = numpynn("--help", cwd=tmp_path).stdout
    assert all(name in top for name in COMMANDS)


def test_the_from_python_block_runs_with_one_epoch(tmp_path, monkeypatch, capsys):
    (block,) = re.findall(r"```python\n(.*?)```", section("From Python"), flags=re.S)
    assert block.count("epochs=10,") == 1
    monkeypatch.chdir(tmp_path)  # the block saves model.safetensors in the current folder
    namespace: dict = {}
    exec(compile(block.replace("epochs=10,", "epochs=1,"), "README From Python", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "model.safetensors").is_file()
    assert len(namespace["history"].history["loss"]) == 1 and "val_accuracy" in namespace["history"].history
    model, X_test, y_test = namespace["model"], namespace["X_test"], namespace["y_test"]
    assert model.evaluate(X_test, y_test)["accuracy"] > 0.8
    assert np.mean(model.predict(X_test) == y_test) > 0.8
    assert "Dense" in capsys.readouterr().out  # the summary
