"""build_mlp: the usual multilayer perceptron as a Sequential, for CLI runs and the scikit-learn estimators."""

from __future__ import annotations

from collections.abc import Sequence

from .checks import lookup
from .initializers import auto_initializer
from .layers import ACTIVATION_LAYERS, BatchNorm, Dense, Dropout, Layer
from .model import Sequential


def build_mlp(n_inputs: int, hidden: Sequence[int], n_outputs: int, *, activation: str | Sequence[str] = "relu",
              init: str = "auto", dropout: float = 0.0, input_dropout: float = 0.0, batchnorm: bool = False,
              output: str | None = None, seed: int | None = 0, dtype: str = "float32",
              bias_init: str = "zeros") -> Sequential:
    """Dense hidden layers (each optionally followed by BatchNorm and Dropout), then a Dense output layer;
    `input_dropout` puts a Dropout on the inputs first (as in Srivastava et al. 2014, for wide MLPs).

    `activation` is one name for every hidden layer or one per layer; `output` an activation for the last layer
    (None: raw logits; a softmax or sigmoid there is fused into the matching loss anyway); `bias_init` names
    every Dense layer's bias initializer.
    """
    acts = [activation] * len(hidden) if isinstance(activation, str) else list(activation)
    if len(acts) != len(hidden):
        raise ValueError(f"give one activation per hidden layer: {len(hidden)} layers, {len(acts)} activations")
    layers: list[Layer] = [Dropout(input_dropout)] if input_dropout else []
    width = n_inputs
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
