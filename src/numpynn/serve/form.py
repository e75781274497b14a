"""The form page's model: a model trained on a table, its columns as the fields of a form, and rows -> answers.

The fields come from the preprocessing record in the model file (the columns the model needs, in its order; what
training saw in each). Rows are read by rows.py and prepared by `numpynn.tables.prepare`, as `numpynn predict`
prepares a CSV of the same rows, and the answer for a list of rows is what `numpynn predict --json` prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..model import Sequential
from .draw import DrawModel, ServeError, locate_model
from .rows import Field, frame_of, rows_of

MAX_DAYS = 2_900_000  # a median day beyond year 9999 is shown as none


def _median_day(fill: float, time: bool) -> str | None:
    """The ISO date (and time, with `time`) of a date column's median, in days since 1970."""
    if not abs(fill) < MAX_DAYS:
        return None
    text = str(np.datetime64(int(round(fill * 86400)), "s"))
    return text[:16] if time else text[:10]


def fields_of(record: dict[str, Any]) -> list[Field]:
    """One field per column the record needs, in the record's order (a date's parts are one field)."""
    entries: dict[str, list[dict[str, Any]]] = {}
    for e in record["columns"]:
        entries.setdefault(e["name"], []).append(e)
    fields = []
    for name, parts in entries.items():
        first = parts[0]
        if first["kind"] == "numeric":
            fields.append(Field(name, "number", float(first["fill"]), missing_seen=bool(first["indicator"])))
        elif first["kind"] == "datetime":
            time = any(p.get("part") == "hour" for p in parts)
            days = next((p for p in parts if p.get("part") == "days"), None)
            fields.append(Field(name, "date", _median_day(days["fill"], time) if days else None,
                                missing_seen=any(p["indicator"] for p in parts), time=time))
        else:
            fields.append(Field(name, "category", categories=tuple(first["categories"]),
                                missing_seen=bool(first["missing"])))
    return fields


def _value_names(model: Sequential, label: Any) -> list[str]:
    """A regression's output names as `numpynn predict` heads its CSV: the label column, one per output, or per
    target and quantile for a quantile loss."""
    target, k = str(label) if isinstance(label, str) else "prediction", model.n_outputs
    quantiles = getattr(model.loss, "quantiles", None)
    if quantiles:
        targets = [target] if k == len(quantiles) else [f"output_{j}" for j in range(k // len(quantiles))]
        return [f"{t}_q{q:g}" for t in targets for q in quantiles]
    return [target] if k == 1 else [f"output_{j}" for j in range(k)]


class FormModel:
    """A model trained on a table, served through the form page. `predict` is safe to call from several request
    threads (prediction is reentrant: no lock)."""

    def __init__(self, model: Sequential, class_names: tuple[str, ...] | None = None, name: str = "model") -> None:
        prep = model.preprocessing or {}
        if not isinstance(prep.get("table"), dict):
            raise ServeError("the model was not trained on a table; the form page is for table models")
        self.model, self.name, self.prep = model, name, prep
        self.fields = fields_of(prep["table"])
        label = prep.get("label_column")
        dropped = [d["name"] for d in prep["table"].get("dropped", [])]
        self.ignored = tuple(dict.fromkeys(([label] if isinstance(label, str) else []) + dropped))
        self.classifier = model.loss is not None and model.loss.is_classification
        k = model.n_outputs if model.n_outputs > 1 else 2
        names = (class_names or prep.get("class_names")) if self.classifier else None
        if names is not None and (len(names) != k or not all(isinstance(n, str) for n in names)):
            raise ServeError(f"{k} class names expected for the model, got {list(names)[:8]!r:.200}")
        self.class_names = (list(names) if names else [str(i) for i in range(k)]) if self.classifier else []
        self.outputs = self.class_names if self.classifier else _value_names(model, label)

    @classmethod
    def load(cls, path: str | Path, class_names: tuple[str, ...] | None = None) -> FormModel:
        src = locate_model(path)
        return cls(Sequential.load(src.model_path), class_names, name=str(src.model_path))

    def info(self) -> dict[str, Any]:
        """The model, as /api/info gives it: the draw page's keys (it says it cannot read drawings) and the form."""
        m = self.model
        return {"name": Path(self.name).name, "layers": [ly.describe() for ly in m.layers],
                "parameters": m.n_params(), "class_names": self.class_names,
                "drawable": False, "reason": "the model was trained on a table; its page is the form (/form)",
                "input_shape": list(m.input_shape) if m.input_shape else None,
                "form": {"task": "classification" if self.classifier else "regression",
                         "label_column": self.prep.get("label_column"), "outputs": self.outputs,
                         "columns": [f.describe() for f in self.fields], "ignored": list(self.ignored)}}

    def predict(self, body: Any) -> dict[str, Any]:
        """The answer for one row (an object) or a list of rows; for a list, what `numpynn predict --json` prints
        for a CSV of those rows. Raises ApiError (400) for a body that is not rows of this model's columns."""
        from ..tables import prepare

        rows, single = rows_of(body)
        X = prepare(frame_of(rows, self.fields, self.ignored, single), self.prep)
        if not self.classifier:
            values = self.model.predict(X).tolist()
            return {"prediction": values[0]} if single else {"predictions": values}
        proba = self.model.predict_proba(X)
        pred = proba.argmax(1)
        out = {"predictions": pred.tolist(), "labels": [self.class_names[p] for p in pred],
               "classes": self.class_names, "probabilities": np.round(proba, 6).tolist()}
        if single:
            return {"prediction": out["predictions"][0], "label": out["labels"][0], "classes": self.class_names,
                    "probabilities": out["probabilities"][0]}
        return out


def load_served(path: str | Path, class_names: tuple[str, ...] | None = None) -> DrawModel | FormModel:
    """The model file or run folder at `path`, for the page its inputs call for: the form for a model trained on
    a table, else the draw page (which says so when the model cannot read 28x28 drawings)."""
    src = locate_model(path)
    model = Sequential.load(src.model_path)
    if isinstance((model.preprocessing or {}).get("table"), dict):
        return FormModel(model, class_names, name=str(src.model_path))
    return DrawModel(model, class_names or model.class_names or src.class_names, name=str(src.model_path))
