"""build_mlp: the usual multilayer perceptron as a Sequential, for CLI runs and the scikit-learn estimators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .checks import lookup
from .initializers import auto_initializer
from .layers import ACTIVATION_LAYERS, BatchNorm, Dense, Dropout, Embedding, Layer, PeriodicEmbedding
from .model import Sequential


def build_mlp(n_inputs: int, hidden: Sequence[int], n_outputs: int, *, activation: str | Sequence[str] = "relu",
              init: str = "auto", dropout: float = 0.0, input_dropout: float = 0.0, batchnorm: bool = False,
              output: str | None = None, seed: int | None = 0, dtype: str = "float32",
              bias_init: str = "zeros", embedding: Mapping[str, Any] | None = None,
              numeric_embedding: Mapping[str, Any] | None = None) -> Sequential:
    """Dense hidden layers (each optionally followed by BatchNorm and Dropout), then a Dense output layer;
    `input_dropout` puts a Dropout on the inputs first (as in Srivastava et al. 2014, for wide MLPs).

    `activation` is one name for every hidden layer or one per layer; `output` an activation for the last layer
    (None: raw logits; a softmax or sigmoid there is fused into the matching loss anyway); `bias_init` names
    every Dense layer's bias initializer; `embedding` (None, or {"columns": [...], "cardinalities": [...],
    "dims": [...]}) puts an Embedding of those categorical input columns first (before any input dropout), and
    the first Dense takes its output width; `numeric_embedding` (None, or a dict of PeriodicEmbedding's k, d,
    sigma and lite, e.g. {"k": 16, "d": 16, "sigma": 0.1}) puts a PeriodicEmbedding of every input column
    first in the same way (not together with `embedding`, whose codes are no numbers to embed).
    """
    acts = [activation] * len(hidden) if isinstance(activation, str) else list(activation)
    if len(acts) != len(hidden):
        raise ValueError(f"give one activation per hidden layer: {len(hidden)} layers, {len(acts)} activations")
    if embedding is not None and numeric_embedding is not None:
        raise ValueError("give embedding or numeric_embedding, not both: a PeriodicEmbedding embeds every input "
                         "column, and category codes are no numbers to embed periodically")
    layers: list[Layer] = [] if embedding is None else [_embedding(embedding)]
    width = n_inputs if embedding is None else layers[0].out_features(n_inputs)
    if numeric_embedding is not None:
        layers.append(_numeric_embedding(numeric_embedding, n_inputs))
        width = layers[0].out_features(n_inputs)
    if input_dropout:
        layers.append(Dropout(input_dropout))
    for units, act in zip(hidden, acts, strict=True):
        lookup(ACTIVATION_LAYERS, act, "activation")
        if batchnorm:  # Dense -> BatchNorm -> activation: normalise the pre-activations
            layer_init = init if init != "auto" else auto_initializer(act)
            layers += [Dense(width, units, init=layer_init, bias_init=bias_init), BatchNorm(),
                       ACTIVATION_LAYERS[act]()]
        else:
            layers.append(Dense(width, units, act, init=init, bias_init=bias_init))
        if dropout:
            layers.append(Dropout(dropout))
        width = units
    out_init = "glorot_uniform" if init == "auto" else init
    layers.append(Dense(width, n_outputs, output, init=out_init, bias_init=bias_init))
    return Sequential(layers, seed=seed, dtype=dtype, input_shape=(n_inputs,))


def _embedding(spec: Any) -> Embedding:
    """build_mlp's `embedding=` as a layer: a mapping of exactly columns, cardinalities and dims."""
    keys = ("columns", "cardinalities", "dims")
    if not isinstance(spec, Mapping) or set(spec) != set(keys):
        got = sorted(map(str, spec)) if isinstance(spec, Mapping) else type(spec).__name__
        raise ValueError(f"embedding must be None or a dict with the keys {list(keys)}, got {got}")
    return Embedding(**{k: spec[k] for k in keys})


def _numeric_embedding(spec: Any, n_inputs: int) -> PeriodicEmbedding:
    """build_mlp's `numeric_embedding=` as a layer: a mapping of some of k, d, sigma and lite."""
    keys = ("k", "d", "sigma", "lite")
    if not isinstance(spec, Mapping) or not set(spec) <= set(keys):
        got = sorted(map(str, spec)) if isinstance(spec, Mapping) else type(spec).__name__
        raise ValueError(f"numeric_embedding must be None or a dict of some of the keys {list(keys)}, got {got}")
    return PeriodicEmbedding(n_inputs, **spec)
