"""Fuzz target for numpynn's CSV reader: every input ends in a result or a numpynn error, never another exception.

TARGETS maps a name to a callable taking a pathlib.Path; the harness replays `corpus/csv/` through it.
"""

from __future__ import annotations

from pathlib import Path

from numpynn.data.csv import read_csv
from numpynn.data.labels import choose_task, class_labels, regression_targets


def read_table(path: Path):
    """Read the file as a training table would be: columns, the label column split off, the labels checked."""
    table = read_csv(path)
    X, y, _ = table.split()
    task = choose_task(y)
    targets = regression_targets(y, str(path)) if task == "regression" else class_labels(y, str(path))[0]
    return X.shape, task, len(targets)


TARGETS = {"csv": read_table}
