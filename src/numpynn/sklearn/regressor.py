"""NumpynnRegressor: scikit-learn's MLPRegressor, same parameters and behaviour, trained and run by numpynn."""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.special import xlogy
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..losses import Huber, Loss, MeanAbsoluteError, Quantile
from .base import BaseMLP
from .classifier import PARAMETERS_DOC


class NumpynnRegressor(RegressorMixin, BaseMLP):
    """Multi-layer Perceptron regressor: scikit-learn's MLPRegressor, trained and run by numpynn.

    It optimizes the squared error (or the Poisson deviance, with an exponential output; or numpynn's absolute
    error, Huber and quantile losses) using LBFGS or stochastic gradient descent; y of shape (n,) or
    (n, n_outputs). Predictions come in the input's float dtype. Targets are used as they are (scale them, e.g.
    with TransformedTargetRegressor, when they are large).

    loss : {'squared_error', 'poisson', 'absolute_error', 'huber', 'quantile'}, default='squared_error'
        The loss function to use when training the weights. Note that the "squared error" and "poisson"
        losses actually implement "half squares" and "half poisson deviance" to simplify the computation of
        the gradient. Furthermore, the "poisson" loss internally uses a log-link (exponential as the output
        activation function) and requires y >= 0. numpynn's own: "absolute_error" (the mean of |y - pred|: a
        prediction of the median, robust to outliers), "huber" (half squares for residuals up to `delta`,
        absolute beyond) and "quantile" (the pinball loss of `quantile`); each the mean over samples and outputs.
    {parameters}
    quantile : float or array-like of floats in (0, 1), default=None
        With loss='quantile' (which needs it), the quantile to predict, as HistGradientBoostingRegressor's
        `quantile`; several, e.g. (0.1, 0.5, 0.9), give one output per quantile and target: predict returns
        (n, n_outputs * len(quantile)), target-major (column j * len(quantile) + i is target j's quantile[i]).
    delta : float > 0, default=1.0
        With loss='huber', the size of residual beyond which it counts linearly, in y's units (scikit-learn's
        own HuberLoss calls it delta; `alpha` and `epsilon` are already the L2 penalty and Adam's epsilon).
    Attributes are scikit-learn's (loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_,
    t_, coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_, n_layers_, n_outputs_,
    out_activation_) and model_, the numpynn Sequential.
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber", "quantile"})],
        "quantile": [Interval(Real, 0, 1, closed="neither"), "array-like", None],
        "delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, init="auto", dropout=0.0,
                 batchnorm=False, weight_decay=0.0, precision="float32", quantile=None, delta=1.0,
                 preprocess="auto"):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.weight_decay = weight_decay
        self.precision = precision
        self.quantile = quantile
        self.delta = delta
        self.preprocess = preprocess

    def _numpynn_loss(self) -> Loss | None:
        """The numpynn loss of loss='absolute_error', 'huber' or 'quantile' (None for scikit-learn's two)."""
        if self.loss == "absolute_error":
            return MeanAbsoluteError()
        if self.loss == "huber":
            return Huber(self.delta)
        if self.loss == "quantile":
            if self.quantile is None:
                raise ValueError("loss='quantile' needs the quantile to predict: quantile=0.5 (the median), or "
                                 "several, e.g. quantile=(0.1, 0.5, 0.9)")
            return Quantile(self.quantile)
        return None

    def _network_outputs(self, n_targets: int) -> int:
        loss = self._numpynn_loss()
        return n_targets * len(loss.quantiles) if isinstance(loss, Quantile) else n_targets

    def _set_model_loss(self, model) -> None:
        loss = self._numpynn_loss()
        model.set_loss(loss if loss is not None else "mse")

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_X_y(X, y, reset, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("loss='poisson' needs y >= 0 (counts or rates); y has negative values")
        self._numpynn_loss()  # its parameters checked before any network is built
        return X, y

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _targets(self, y, dtype):
        return np.ascontiguousarray(y, dtype=dtype)

    def _output_loss(self, model, logits, targets, sample_weight):
        """scikit-learn's half squared error (mean over outputs) or half Poisson deviance (sum over outputs), and
        its gradient, which for both is (prediction - y) * w / sum(w) per output; numpynn's own losses are the
        model's (numpynn.losses)."""
        if self.loss in ("absolute_error", "huber", "quantile"):
            return model.loss(logits, targets, sample_weight)
        n = logits.shape[0]
        w = None if sample_weight is None else sample_weight.reshape(-1, 1)
        sw_sum = n if w is None else float(w.sum())
        if self.out_activation_ == "exp":
            pred = np.exp(logits)
            loss = np.average(xlogy(targets, targets / pred) - targets + pred, weights=sample_weight, axis=0).sum()
        else:
            pred = logits
            loss = 0.5 * np.average((targets - pred) ** 2, weights=sample_weight, axis=0).mean()
        delta = pred - targets
        if w is not None:
            delta *= w
        delta /= sw_sum
        return float(loss), delta

    def _output(self, model, logits):
        return np.exp(logits) if self.out_activation_ == "exp" else logits

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predict using the multi-layer perceptron model: (n,) or (n, n_outputs)."""
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight=sample_weight, score_function=r2_score)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


NumpynnRegressor.__doc__ = NumpynnRegressor.__doc__.replace("{parameters}", PARAMETERS_DOC)
