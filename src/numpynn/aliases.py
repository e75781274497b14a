"""The names Keras, PyTorch and scikit-learn give losses, metrics and optimizers, each taken in numpynn's own
meaning; and the names numpynn has no counterpart for, with what to use instead.

Names are matched without regard to case ("MSE", "CrossEntropyLoss"). numpynn's losses always take the network's
logits: a softmax or sigmoid last layer, as a Keras model ends, is taken into the loss (Sequential fuses it), so
Keras' default from_logits=False and PyTorch's logits both mean what they meant there.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import ArgumentError

LOSS_ALIASES: Mapping[str, str] = {
    # Keras
    "sparse_categorical_crossentropy": "cross_entropy",  # integer labels
    "categorical_crossentropy": "cross_entropy",  # one-hot rows: cross_entropy takes those too
    "binary_crossentropy": "binary_cross_entropy",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "huber_loss": "huber",
    # PyTorch's classes, by name
    "crossentropyloss": "cross_entropy",
    "bcewithlogitsloss": "binary_cross_entropy",
    "bceloss": "binary_cross_entropy",  # on a Sigmoid last layer, which the loss takes in
    "mseloss": "mse",
    "l1loss": "mae",
    "huberloss": "huber",
    "smoothl1loss": "huber",  # equal to Huber for its default beta = delta = 1
    # scikit-learn
    "log_loss": "auto",  # binary or multinomial by the output size, as scikit-learn decides by the classes
    "squared_error": "mse",
    "absolute_error": "mae",
    "pinball_loss": "quantile",
}

LOSSES_WITHOUT_COUNTERPART: Mapping[str, str] = {
    "kl_divergence": "cross_entropy with probability rows as targets (the same gradient)",
    "kld": "cross_entropy with probability rows as targets (the same gradient)",
    "kldivloss": "cross_entropy with probability rows as targets (the same gradient)",
    "nllloss": "cross_entropy on the logits (drop the LogSoftmax: numpynn's losses take logits)",
    "poisson": "mse with log_target (MeanSquaredError(log_target=True)) for counts",
    "poissonnllloss": "mse with log_target (MeanSquaredError(log_target=True)) for counts",
    "mean_squared_logarithmic_error": "MeanSquaredError(log_target=True): the squared error of log1p(y)",
    "msle": "MeanSquaredError(log_target=True): the squared error of log1p(y)",
    "mean_absolute_percentage_error": "MeanAbsoluteError(log_target=True), relative errors for targets > 0",
    "mape": "MeanAbsoluteError(log_target=True), relative errors for targets > 0",
    "log_cosh": "huber (alike: squared near 0, absolute far from it)",
    "hinge": "binary_cross_entropy",
    "squared_hinge": "binary_cross_entropy",
    "categorical_hinge": "cross_entropy",
    "multilabelsoftmarginloss": "binary_cross_entropy over k outputs (multi-label)",
}

METRIC_ALIASES: Mapping[str, str] = {
    "acc": "accuracy",
    "sparse_categorical_accuracy": "accuracy",
    "categorical_accuracy": "accuracy",
    "binary_accuracy": "accuracy",
    "top_k_categorical_accuracy": "top5_accuracy",  # Keras' k is 5
    "sparse_top_k_categorical_accuracy": "top5_accuracy",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "r2_score": "r2",
}

OPTIMIZERS_WITHOUT_COUNTERPART = ("adadelta", "adafactor", "adamax", "asgd", "ftrl", "lamb", "lbfgs", "lion",
                                  "nadam", "radam", "rprop", "sparseadam")


def loss_name(name: str, known: Mapping[str, object]) -> str:
    """numpynn's name ("cross_entropy", "auto", ...) for a loss named `name` here or in another library."""
    key = name.lower()
    if key in known or key == "auto":
        return key
    if key in LOSS_ALIASES:
        return LOSS_ALIASES[key]
    if key in LOSSES_WITHOUT_COUNTERPART:
        raise ArgumentError(f"unknown loss {name!r}: numpynn has no counterpart; the nearest is "
                            f"{LOSSES_WITHOUT_COUNTERPART[key]}. Its losses: {', '.join(sorted(known))} (and the "
                            f"Keras, PyTorch and scikit-learn names of these)")
    return name  # unknown: the caller's lookup says what is known


def metric_name(name: str) -> str:
    """numpynn's name for a metric named `name` here or in another library (others are left to get_metric)."""
    return METRIC_ALIASES.get(name.lower(), name.lower()) if isinstance(name, str) else name


def optimizer_name(name: str, known: Mapping[str, object]) -> str:
    """numpynn's name for an optimizer ("Adam", "SGD", "RMSprop" are "adam", "sgd", "rmsprop")."""
    key = name.lower()
    if key in known:
        return key
    if key in OPTIMIZERS_WITHOUT_COUNTERPART:
        raise ArgumentError(f"unknown optimizer {name!r}: numpynn has no counterpart; its optimizers: "
                            f"{', '.join(sorted(known))} (Adam is the usual first choice)")
    return name
