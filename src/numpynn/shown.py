"""Paths as the pages one sends show them: relative to the run folder, or by name, never this machine's absolute
paths (home and temp folders say whose machine it was and nothing about the run)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path


def shown_path(path: str | os.PathLike, folder: str | os.PathLike | None = None) -> str:
    """`path` relative to `folder` when it lies inside it; a relative path without '..' as it was written;
    anything else by its name alone. A registered dataset's name comes back unchanged (it is no path)."""
    text = os.fspath(path)
    p = Path(text).expanduser()
    if folder is not None and p.is_absolute():
        try:
            return Path(os.path.abspath(p)).relative_to(os.path.abspath(folder)).as_posix()
        except ValueError:
            pass
    if not p.is_absolute() and not text.startswith("~") and ".." not in p.parts:
        return text
    return p.name or text


def sendable_config(config, folder: str | os.PathLike | None = None):
    """A copy of the TrainConfig `config` whose dataset reads as `shown_path` shows it (for reports; the run's
    own config.toml keeps the path that repeats the run)."""
    return dataclasses.replace(config, dataset=shown_path(config.dataset, folder))
