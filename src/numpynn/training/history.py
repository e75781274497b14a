"""History: what happened in training, per epoch and per batch, saved as JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any


class History:
    """`epochs[name]` lists one value per epoch ('loss', 'val_loss', 'accuracy', 'lr', 'time', ...);
    `batch_loss` one value per training step. `stopped_early` / `interrupted` say why training ended.

    A model keeps one History, the record of all its training (saved in its file): a second `fit` appends its
    epochs, numbered on from the first. Every list has one entry per epoch: a figure an epoch did not record
    (val_loss in a fit without validation data, or before the first fit that had some) is NaN there."""

    def __init__(self) -> None:
        self.epochs: dict[str, list[float]] = {}
        self.batch_loss: list[float] = []
        self.stopped_early = False
        self.interrupted = False

    @property
    def history(self) -> dict[str, list[float]]:  # Keras-style alias
        return self.epochs

    def __getitem__(self, name: str) -> list[float]:
        return self.epochs[name]

    def __len__(self) -> int:
        return len(self.epochs.get("epoch", []))

    def record_epoch(self, logs: dict[str, float]) -> None:
        """Append one epoch's figures; a figure new in this epoch gets NaN for the earlier ones, a figure this
        epoch lacks gets NaN, so every list stays one entry per epoch."""
        done = max(map(len, self.epochs.values()), default=0)
        for k, v in logs.items():
            column = self.epochs.setdefault(k, [])
            column.extend([math.nan] * (done - len(column)))
            column.append(float(v))
        for k, column in self.epochs.items():
            if k not in logs:
                column.append(math.nan)

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "batch_loss": self.batch_loss,
                "stopped_early": self.stopped_early, "interrupted": self.interrupted}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        h = cls()
        h.epochs = {str(k): [float(x) for x in v] for k, v in d.get("epochs", {}).items()}
        h.batch_loss = [float(x) for x in d.get("batch_loss", [])]
        h.stopped_early = bool(d.get("stopped_early", False))
        h.interrupted = bool(d.get("interrupted", False))
        return h

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=True)

    def to_csv(self) -> str:
        """One row per epoch, one column per recorded figure."""
        names = list(self.epochs)
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(names)
        for i in range(len(self)):
            w.writerow([repr(self.epochs[n][i]) if i < len(self.epochs[n]) else "" for n in names])
        return out.getvalue()

    def __repr__(self) -> str:
        last = {k: round(v[-1], 5) for k, v in self.epochs.items() if v and not math.isnan(v[-1])}  # the last epoch's
        return f"History({len(self)} epochs, last={last})"

    def _repr_html_(self) -> str:
        """The epochs as an HTML table in Jupyter (the first and last ones when there are many)."""
        from ..summary import html_table

        names = list(self.epochs)
        n = len(self)
        shown = list(range(n)) if n <= 20 else [*range(5), -1, *range(n - 10, n)]
        rows = [tuple("…" for _ in names) if i < 0 else
                tuple(_cell(k, self.epochs[k][i] if i < len(self.epochs[k]) else None) for k in names)
                for i in shown]
        why = "; stopped early" if self.stopped_early else "; interrupted" if self.interrupted else ""
        return html_table(tuple(names), rows, 0, f"{n} epochs{why}")

    def plot(self) -> Any:
        """The loss and accuracy curves on a new pyplot figure, returned: a notebook shows it (once), and
        `plt.savefig(path)` or `fig.savefig(path)` saves it."""
        from ..plots import pyplot_curves

        return pyplot_curves(self)


def _cell(name: str, value: float | None) -> str:
    if value is None or math.isnan(value):  # not recorded in that epoch
        return ""
    if name == "epoch":
        return str(int(value))
    if name == "time":
        return f"{value:.2f} s"
    return f"{value:.3g}" if name == "lr" else f"{value:.4f}"
