"""The small models the export tests run through onnxruntime and the exported Python file: each activation,
with and without BatchNorm/Dropout, each kind of output, float32 and float64."""

from __future__ import annotations

import itertools

import numpy as np

import numpynn as nn

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh")
# output kind -> (outputs, loss)
OUTPUTS = {"multiclass": (3, "cross_entropy"), "binary": (1, "binary_cross_entropy"),
           "one_vs_rest": (3, "binary_cross_entropy"), "regression": (2, "mse")}
DTYPES = ("float32", "float64")
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
N_FEATURES = 6


def cases() -> list[tuple[str, str, str, bool]]:
    """(activation, output, dtype, with BatchNorm and Dropout): every activation meets every output kind and
    dtype, half of them with BatchNorm/Dropout (each activation both with and without)."""
    grid = itertools.product(ACTIVATIONS, OUTPUTS, DTYPES)
    return [(act, out, dt, (i + j) % 2 == 0) for (act, out, dt), i, j in
            ((c, ACTIVATIONS.index(c[0]), list(OUTPUTS).index(c[1])) for c in grid)]


def case_id(case) -> str:
    act, out, dt, norm = case
    return f"{act}-{out}-{dt}{'-bn-dropout' if norm else ''}"


def make_model(act: str, output: str, dtype: str, norm: bool, seed: int = 0) -> nn.Sequential:
    """A 6-8-5-k network with random weights (and BatchNorm statistics far from 0 and 1)."""
    k, loss = OUTPUTS[output]
    alpha_layer = {"leaky_relu": nn.LeakyReLU(0.2), "elu": nn.ELU(0.7)}
    if norm:  # the activation as a layer after BatchNorm; the second one as a layer after Dense (fused)
        second = alpha_layer.get(act) or nn.layers.ACTIVATION_LAYERS[act]()
        layers = [nn.Dense(N_FEATURES, 8), nn.BatchNorm(), nn.layers.ACTIVATION_LAYERS[act](), nn.Dropout(0.3),
                  nn.Dense(8, 5), second, nn.Dropout(0.1), nn.Dense(5, k)]
    else:
        layers = [nn.Dense(N_FEATURES, 8, act), nn.Dense(8, 5, act), nn.Dense(5, k)]
    model = nn.Sequential(layers, seed=seed, dtype=dtype)
    model.set_loss(loss)
    rng = np.random.default_rng(seed + 7)
    weights = model.get_weights()
    for key, a in weights.items():
        a[...] = rng.uniform(0.5, 2.0, a.shape) if key.endswith("running_var") else rng.normal(0, 0.8, a.shape)
    model.set_weights(weights)
    return model


def inputs(n: int, dtype: str, seed: int = 1) -> np.ndarray:
    return (2 * np.random.default_rng(seed).standard_normal((n, N_FEATURES))).astype(dtype)


def expected(model: nn.Sequential) -> str:
    """The name of the output numpynn's prediction is compared with: probabilities or values."""
    return "probabilities" if model.loss.is_classification else "values"
