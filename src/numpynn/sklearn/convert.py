"""Between scikit-learn's MLP weights and numpynn networks: the network the estimators train, and from_sklearn.

scikit-learn keeps an MLP as `coefs_` (each of shape (in, out)) and `intercepts_`; numpynn's Dense keeps W of
shape (in, out) and b, so a Dense layer takes them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..layers import Dense
from ..mlp import build_mlp
from ..model import Sequential

# scikit-learn's activation names -> numpynn's (numpynn's own names pass through)
ACTIVATION_NAMES = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
# scikit-learn's output activation -> the numpynn loss that takes it in (exp: the network outputs log-means)
OUTPUT_LOSSES = {"softmax": "cross_entropy", "logistic": "binary_cross_entropy", "identity": "mse", "exp": "mse"}


def numpynn_activation(name: str) -> str:
    return ACTIVATION_NAMES.get(name, name)


def build_network(layer_units: Sequence[int], activations: Sequence[str], out_activation: str, *,
                  init: str = "glorot_uniform", dropout: float = 0.0, batchnorm: bool = False, seed: int = 0,
                  dtype: Any = "float64", embedding: dict[str, list[int]] | None = None,
                  n_inputs: int | None = None) -> Sequential:
    """A Sequential for layer_units [n_in, hidden..., n_out]: Dense layers with the hidden `activations`
    (scikit-learn's or numpynn's names), raw logits out, and the loss that matches `out_activation`.
    With `embedding` (numpynn.tables.embedding_spec) an Embedding of the model's `n_inputs` columns comes
    first, and n_in is the width it gives the first Dense."""
    units = [int(u) for u in layer_units]
    extra = {} if embedding is None else {"embedding": embedding}
    model = build_mlp(units[0] if embedding is None else int(n_inputs), units[1:-1], units[-1],
                      activation=[numpynn_activation(a) for a in activations], init=init, dropout=dropout,
                      batchnorm=batchnorm, seed=seed, dtype=np.dtype(dtype).name, **extra)
    model.set_loss(OUTPUT_LOSSES[out_activation])
    return model


def dense_layers(model: Sequential) -> list[Dense]:
    return [layer for layer in model.layers if isinstance(layer, Dense)]


def set_dense_weights(model: Sequential, coefs: Sequence[Any], intercepts: Sequence[Any]) -> None:
    """Copy scikit-learn-style coefs (in, out) and intercepts (out,) into the model's Dense layers."""
    dense = dense_layers(model)
    if not len(coefs) == len(intercepts) == len(dense):
        raise ValueError(f"expected {len(dense)} coefs_ and intercepts_ (one per Dense layer), got {len(coefs)} "
                         f"and {len(intercepts)}")
    for i, (layer, W, b) in enumerate(zip(dense, coefs, intercepts, strict=True)):
        W, b = np.asarray(W), np.asarray(b).reshape(-1)
        if W.shape != layer.params["W"].shape or b.shape != layer.params["b"].shape:
            raise ValueError(f"layer {i}: expected coefs_ of shape {layer.params['W'].shape} and intercepts_ of "
                             f"shape {layer.params['b'].shape}, got {W.shape} and {b.shape}")
        layer.params["W"][...] = W
        layer.params["b"][...] = b


def network_from_weights(coefs: Sequence[Any], intercepts: Sequence[Any], activation: str | Sequence[str],
                         out_activation: str, dtype: Any = None) -> Sequential:
    """The numpynn network computing what an MLP with these weights computes (before its output activation)."""
    if not coefs:
        raise ValueError("expected at least one layer of coefs_, got none")
    shapes = [np.shape(W) for W in coefs]
    if any(len(s) != 2 for s in shapes) or any(a[1] != b[0] for a, b in zip(shapes, shapes[1:], strict=False)):
        raise ValueError(f"coefs_ must be matrices of shapes (in, out) that chain, got {shapes}")
    if out_activation not in OUTPUT_LOSSES:
        raise ValueError(f"out_activation_ must be one of {sorted(OUTPUT_LOSSES)}, got {out_activation!r}")
    hidden = len(coefs) - 1
    acts = [activation] * hidden if isinstance(activation, str) else list(activation)
    dtype = np.dtype(dtype or np.asarray(coefs[0]).dtype)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    model = build_network([shapes[0][0]] + [s[1] for s in shapes], acts, out_activation, dtype=dtype)
    set_dense_weights(model, coefs, intercepts)
    return model


def from_sklearn(mlp: Any) -> Sequential:
    """A numpynn Sequential with the weights of a fitted scikit-learn MLPClassifier or MLPRegressor.

    Its `predict_proba` (classifiers) and `predict` (regressors) give the estimator's predictions; a
    classifier's `predict` gives indices into `mlp.classes_` (binary and multiclass). The loss matches the
    output: softmax cross-entropy (multiclass), sigmoid binary cross-entropy (binary, multilabel), mean squared
    error (regression). A Poisson regressor's network outputs the log of the predicted mean.
    """
    for attr in ("coefs_", "intercepts_", "out_activation_", "activation"):
        if not hasattr(mlp, attr):
            raise ValueError(f"from_sklearn needs a fitted MLPClassifier or MLPRegressor; "
                             f"{type(mlp).__name__} has no {attr!r}")
    return network_from_weights(mlp.coefs_, mlp.intercepts_, mlp.activation, mlp.out_activation_)
