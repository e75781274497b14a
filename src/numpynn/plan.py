"""The Plan: one description of what a prediction does, read by everything that predicts.

A model's prediction runs its steps (`Sequential.steps`: an activation layer after a Dense runs inside it, the
loss's output activation is taken out) without Dropout, each by its layer's `infer` (BatchNorm with its
running statistics), then the output rule: softmax or sigmoid probabilities, or the values themselves (expm1
of them for a model trained on log1p of its targets). The
model's predict/evaluate (and the engine's predictor, for a stack of Dense layers), both exporters, the serve
page and saliency all read this plan, so none of them can disagree on what a model computes.

A plan holds the layers themselves, not copies: weights set or trained later are the plan's too. The model
makes a new plan when its layers or steps change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .layers import ActivationLayer, BatchNorm, Dense, Dropout, Embedding, Flatten, Layer, PeriodicEmbedding
from .ops import Activation

# what the model's last output becomes: the loss's output activation and predict_proba's columns
OUTPUTS = {
    "cross_entropy": "softmax",            # probabilities = softmax(z), label = argmax(z)
    "binary_cross_entropy": "sigmoid",     # probabilities = sigmoid(z) per column (one-vs-rest), label = argmax(z)
    "mse": None,                           # values = z (or expm1(z): the plan's target_transform)
    "mae": None,
    "huber": None,
    "quantile": None,                      # values = z, one column per quantile and target
}


ELEMENTWISE = ("activation", "batchnorm")  # a new array, or in place on an input the plan owns
ALLOCATING = ("dense", "embedding", "periodic", "exp", "expm1")  # always a new array
TARGET_TRANSFORMS = {"exp": np.exp, "expm1": np.expm1}  # a regression's values from its outputs


@dataclass(frozen=True)
class Step:
    """One step of a prediction. `op` is "dense", "batchnorm", "activation", "flatten", "embedding", "periodic"
    (a PeriodicEmbedding), "exp" (a Poisson regressor's log link) or "expm1" (a model trained with log_target),
    both added by the exporters from the plan's `target_transform`, or "layer" (a layer of another kind, run by
    its `infer`, which the exporters cannot write); `activation` is what a dense or activation step applies;
    `name` is the layer's index in `model.layers`."""

    op: str
    name: str
    layer: Layer | None = None
    activation: Activation | None = None

    @property
    def tensors(self) -> dict[str, np.ndarray]:
        """The numbers an exporter writes: dense W, b; batchnorm mean, scale, beta (y = (x - mean) * scale +
        beta, with the float operations of BatchNorm.infer); embedding "plain" (the ordinary columns' positions,
        int64) and the tables E0, E1, ... (the code columns are `layer.columns`); periodic "freqs" (2 pi times the
        frequencies, in the model's dtype, as PeriodicEmbedding multiplies x by them), W and b."""
        layer = self.layer
        if self.op == "dense":
            return {"W": layer.params["W"], "b": layer.params["b"]}
        if self.op == "batchnorm":
            return {"mean": layer.buffers["running_mean"], "scale": layer.scale(), "beta": layer.params["beta"]}
        if self.op == "embedding":
            return {"plain": layer.plain.astype(np.int64), **{f"E{i}": layer.params[f"E{i}"]
                                                               for i in range(len(layer.columns))}}
        if self.op == "periodic":
            return {"freqs": layer.frequencies(), "W": layer.params["W"], "b": layer.params["b"]}
        return {}

    def run(self, x: np.ndarray, inplace: bool = False) -> np.ndarray:
        """This step's output for x; `inplace`: x is the plan's own, and an elementwise step may overwrite it."""
        if self.op in ELEMENTWISE:
            return self.layer.infer(x, inplace=inplace)
        if self.op in TARGET_TRANSFORMS:
            return TARGET_TRANSFORMS[self.op](x)
        return self.layer.infer(x)


@dataclass(frozen=True)
class Plan:
    """A model's prediction: `steps` from its input (per-sample `input_shape`, None where a first Flatten()
    was given none) to its logits, then `output`: "softmax", "sigmoid", "sigmoid_binary" (one output:
    predict_proba's [1 - p, p]) or None (regression: the values, after `target_transform`: None, or "expm1"
    for a model trained with log_target). `squeeze` drops the values' column axis (a one-target regressor);
    `class_names` are the exporters' (empty for a model's own plan)."""

    dtype: np.dtype
    input_shape: tuple[int, ...] | None
    steps: tuple[Step, ...]
    output: str | None
    n_outputs: int
    preprocessing: dict[str, Any]
    class_names: tuple[str, ...] = ()
    squeeze: bool = False
    target_transform: str | None = None

    @property
    def is_classifier(self) -> bool:
        return self.output is not None

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The last step's output for a batch x; reentrant: the caller's x is never written, and each step
        writes only arrays of this call (an elementwise step overwrites the output of the step before it)."""
        owned = False  # x is the caller's (or a view of it, after a Flatten)
        for step in self.steps:
            x = step.run(x, inplace=owned)
            # a flatten is a view of its input; another kind of layer may hand back its input itself
            owned = owned if step.op == "flatten" else step.op in ALLOCATING + ELEMENTWISE
        return x if owned else x.copy()  # no step made an array (a lone Softmax, a Flatten): the caller's own

    def trace(self, x: np.ndarray) -> list[tuple[Step, np.ndarray]]:
        """Every step with its output for x, in order (the last output is the logits)."""
        out = []
        for step in self.steps:
            x = step.run(x)
            out.append((step, x))
        return out

    def values(self, logits: np.ndarray) -> np.ndarray:
        """predict's values (n, k) of a regression's logits (n, k): the target transform of them, if any."""
        return logits if self.target_transform is None else TARGET_TRANSFORMS[self.target_transform](logits)

    def labels(self, logits: np.ndarray) -> np.ndarray:
        """predict's class labels (n,) for a classifier's logits (n, k): a one-output binary model's z > 0."""
        if self.output == "sigmoid_binary":
            return (logits[:, 0] > 0).astype(np.int64)
        return logits.argmax(axis=1)

    @staticmethod
    def probability_columns(scores: np.ndarray) -> np.ndarray:
        """predict_proba's layout of the output activation's scores (n, k): a one-output binary model's
        (n, 2) [P(0), P(1)]."""
        return np.hstack([1 - scores, scores]) if scores.shape[1] == 1 else scores

    def dense_stack(self) -> list[tuple[np.ndarray, np.ndarray, Activation | None]] | None:
        """(W, b, activation) of each step when every step is a Dense layer (the engine's predictors run such
        a stack in place), else None."""
        if not self.steps or any(s.op != "dense" for s in self.steps):
            return None
        return [(s.layer.params["W"], s.layer.params["b"], s.activation) for s in self.steps]


def plan_of_model(model: Any) -> Plan:
    """The plan of a numpynn Sequential (with its loss set)."""
    index = {id(layer): i for i, layer in enumerate(model.layers)}
    steps = tuple(s for layer in model.steps if (s := _step(layer, str(index[id(layer)]))) is not None)
    output = OUTPUTS.get(model.loss.name, "unknown") if model.loss is not None else None
    if output == "sigmoid" and model.n_outputs == 1:
        output = "sigmoid_binary"
    shape = tuple(int(d) for d in model.input_shape) if model.input_shape is not None else None
    transform = model.loss.target_transform if model.loss is not None else None
    return Plan(model.dtype, shape, steps, output, model.n_outputs, dict(model.preprocessing),
                target_transform=transform)


def _step(layer: Layer, name: str) -> Step | None:
    if isinstance(layer, Dense):
        return Step("dense", name, layer, layer.applied)
    if isinstance(layer, Dropout):
        return None  # the identity at prediction
    if isinstance(layer, BatchNorm):
        return Step("batchnorm", name, layer)
    if isinstance(layer, Flatten):
        return Step("flatten", name, layer)
    if isinstance(layer, Embedding):
        return Step("embedding", name, layer)
    if isinstance(layer, PeriodicEmbedding):
        return Step("periodic", name, layer)
    if isinstance(layer, ActivationLayer) and type(layer).__module__ == "numpynn.layers.activations":
        return None if layer.act.name in ("identity", "linear") else Step("activation", name, layer, layer.act)
    return Step("layer", name, layer)
