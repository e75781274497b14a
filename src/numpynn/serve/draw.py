"""The draw page's model: a drawing -> the model's 28x28 input -> probabilities, hidden activations, weights.

The drawing is prepared by `data.images.mnist_style` and the model's own preprocessing, exactly as
`numpynn predict` prepares a PNG, so the page shows what the command line would answer.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NumpynnError
from ..layers import Dense
from ..model import Sequential

IMAGE_SIDE = 28
TOP_UNITS = 8  # first-layer units whose weights the page draws


class ServeError(NumpynnError):
    """What `numpynn serve` cannot start with (not a model, no such file)."""


@dataclass(frozen=True)
class ModelSource:
    """Where the served model came from: the model file and, for a run folder, its dataset's class names."""

    model_path: Path
    class_names: tuple[str, ...] | None
    dataset: str | None


def locate_model(path: str | Path) -> ModelSource:
    """A model file, or a run folder holding model.safetensors (and config.toml naming its dataset)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    model_path = path / "model.safetensors" if path.is_dir() else path
    if not model_path.is_file():
        where = f"{path} has no model.safetensors" if path.is_dir() else f"{path}: no such model file"
        raise ServeError(f"{where}; expected a .safetensors model written by numpynn or a run folder")
    dataset = _run_dataset(folder / "config.toml") if (folder / "config.toml").is_file() else None
    names = None
    if dataset is not None:
        from ..data import DATASETS

        spec = DATASETS.get(dataset)
        names = tuple(spec.class_names) if spec is not None and spec.class_names else None
    return ModelSource(model_path, names, dataset)


def _run_dataset(config_path: Path) -> str | None:
    """The dataset a run's config.toml names, or None when the file does not say (or cannot be read)."""
    try:
        raw = tomllib.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    for value in (raw, *[v for v in raw.values() if isinstance(v, dict)]):
        if isinstance(value.get("dataset"), str):
            return value["dataset"]
    return None


class DrawModel:
    """The one model `numpynn serve` serves; `predict` is safe to call from several request threads (prediction
    is reentrant: no lock)."""

    def __init__(self, model: Sequential, class_names: tuple[str, ...] | None = None, name: str = "model") -> None:
        self.model, self.name = model, name
        k = model.n_outputs if model.n_outputs > 1 else 2
        if class_names is not None and len(class_names) != k:
            raise ServeError(f"{len(class_names)} class names given for a model with {k} classes")
        self.class_names = tuple(class_names) if class_names else tuple(str(i) for i in range(k))
        self.drawable, self.reason = self._check_drawable()

    @classmethod
    def load(cls, path: str | Path, class_names: tuple[str, ...] | None = None) -> DrawModel:
        src = locate_model(path)
        model = Sequential.load(src.model_path)  # names: given, else the model file's, else its run's dataset's
        return cls(model, class_names or model.class_names or src.class_names, name=str(src.model_path))

    def _check_drawable(self) -> tuple[bool, str]:
        m = self.model
        if m.loss is None or not m.loss.is_classification:
            return False, "the model is not a classifier"
        if m.input_shape is None or int(np.prod(m.input_shape)) != IMAGE_SIDE * IMAGE_SIDE:
            return False, f"the model takes inputs of shape {m.input_shape}, not 28x28 images"
        return True, ""

    def info(self) -> dict[str, Any]:
        m = self.model
        return {"name": Path(self.name).name, "layers": [ly.describe() for ly in m.layers],
                "parameters": m.n_params(), "class_names": list(self.class_names), "drawable": self.drawable,
                "reason": self.reason, "input_shape": list(m.input_shape) if m.input_shape else None}

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """A greyscale drawing (h, w) in [0, 1] -> the MNIST-style (28, 28) uint8 image the model sees."""
        from ..data.images import mnist_style

        return mnist_style(image)

    def predict(self, image: np.ndarray) -> dict[str, Any]:
        """Everything the draw page shows for a drawing (h, w) in [0, 1]."""
        from ..data import apply_preprocessing

        if not self.drawable:
            raise NumpynnError(f"this model cannot read drawings: {self.reason}")
        digit = self.prepare(image)
        x = apply_preprocessing(digit[None], self.model.preprocessing, self.model.dtype.type)
        plan = self.model.plan  # one pass: the hidden layers' outputs and the logits
        trace = plan.trace(x)
        logits = trace[-1][1] if trace else x
        proba = plan.probability_columns(self.model.loss.output(logits))[0]
        hidden = self._hidden_activations(trace)
        first = self._first_dense()
        top_units = []
        if first is not None and hidden:
            act = hidden[0]["values"]
            W = first.params["W"]
            for unit in np.argsort(-act)[:TOP_UNITS]:
                w = W[:, unit].astype(np.float64)
                lim = float(np.abs(w).max()) or 1.0
                top_units.append({"unit": int(unit), "activation": round(float(act[unit]), 4),
                                  "weights": np.round(w / lim, 3).tolist()})
        best = int(proba.argmax())
        return {"input": digit.tolist(), "probabilities": np.round(proba.astype(np.float64), 6).tolist(),
                "prediction": best, "label": self.class_names[best], "class_names": list(self.class_names),
                "hidden": [{"name": h["name"], "values": np.round(h["values"], 4).tolist()} for h in hidden],
                "top_units": top_units}

    def _first_dense(self) -> Dense | None:
        return next((s.layer for s in self.model.plan.steps if s.op == "dense"), None)

    @staticmethod
    def _hidden_activations(trace: list) -> list[dict[str, Any]]:
        """The input of every Dense after the first, i.e. each hidden layer's output after its activation
        (and any BatchNorm between), for one sample; named by the Dense that made it. `trace`: the plan's."""
        out, last_dense, act, before = [], None, "linear", None
        for step, y in trace:
            if step.op == "dense":
                if last_dense is not None:
                    out.append({"name": f"hidden {len(out) + 1}: {last_dense.out_features} units, {act}",
                                "values": before[0].astype(np.float64)})
                last_dense, act = step.layer, step.activation.name if step.activation is not None else "linear"
            elif step.op == "activation":  # an activation layer not fused (after a BatchNorm, say)
                act = step.activation.name
            before = y
        return out
