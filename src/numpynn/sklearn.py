"""scikit-learn estimators backed by numpynn: NumpynnClassifier and NumpynnRegressor.

They follow scikit-learn's conventions (parameters stored untouched by __init__, validation in fit, fitted
attributes ending in "_", `classes_` of any label type, float32 kept when given float32, float64 otherwise)
and pass `sklearn.utils.estimator_checks.check_estimator`. They work in Pipeline, cross_val_score,
GridSearchCV and RandomizedSearchCV, locally or on a Dask cluster through joblib's Dask backend.

Training is numpynn's `fit`: minibatches of `batch_size` ("auto" = min(200, n_samples)), `max_iter` epochs,
stopping when the training loss (or, with early_stopping, the validation score) has not improved by `tol`
for `n_iter_no_change` epochs. The fitted network is `model_`, a numpynn Sequential you can save.
This module needs scikit-learn (`pip install 'numpynn[sklearn]'`); the core never imports it.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from .layers import ACTIVATION_LAYERS
from .mlp import build_mlp
from .model import Sequential
from .optim import OPTIMIZERS, Optimizer, build_optimizer
from .training.callbacks import EarlyStopping
from .training.fit import fit as train
from .training.split import validation_rows


class _NumpynnEstimator(BaseEstimator):
    """Parameters, validation and the training loop shared by the classifier and the regressor."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, init="auto", optimizer="adam",
                 learning_rate=1e-3, schedule="constant", batch_size="auto", max_iter=200, tol=1e-4,
                 n_iter_no_change=10, early_stopping=False, validation_fraction=0.1, dropout=0.0,
                 batchnorm=False, weight_decay=0.0, random_state=None, shuffle=True, verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.init = init
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.shuffle = shuffle
        self.verbose = verbose

    # --- checks ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(s, Integral) and s > 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        acts = [self.activation] if isinstance(self.activation, str) else list(self.activation)
        if any(a not in ACTIVATION_LAYERS for a in acts):
            raise ValueError(f"activation must be one of {sorted(ACTIVATION_LAYERS)} (or one per layer), "
                             f"got {self.activation!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if not (isinstance(self.learning_rate, Real) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if not (self.batch_size == "auto" or (isinstance(self.batch_size, Integral) and self.batch_size > 0)):
            raise ValueError(f"batch_size must be 'auto' or a positive integer, got {self.batch_size!r}")
        for name, value, lo in (("max_iter", self.max_iter, 1), ("n_iter_no_change", self.n_iter_no_change, 1)):
            if not (isinstance(value, Integral) and value >= lo):
                raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
        if not (isinstance(self.tol, Real) and self.tol >= 0):
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")

    def _validate_X_y(self, X, y, *, reset: bool):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32), multi_output=self._multi_output,
                             y_numeric=not self._is_classifier)
        return X, y

    def _seed(self) -> int:
        rs = self.random_state
        if rs is None:
            return int(np.random.default_rng().integers(2**31))
        if isinstance(rs, Integral):
            return int(rs)
        return int(rs.randint(2**31)) if hasattr(rs, "randint") else int(rs.integers(2**31))

    # --- training --------------------------------------------------------------------------
    def _build(self, n_features: int, n_outputs: int, dtype) -> Sequential:
        sizes = self.hidden_layer_sizes
        sizes = [int(sizes)] if isinstance(sizes, Integral) else [int(s) for s in sizes]
        act = self.activation if isinstance(self.activation, str) else list(self.activation)
        model = build_mlp(n_features, sizes, n_outputs, activation=act, init=self.init, dropout=self.dropout,
                          batchnorm=self.batchnorm, seed=self._seed(), dtype=np.dtype(dtype).name)
        model.set_loss(self._loss_name)
        return model

    def _optimizer(self, n_samples: int) -> Optimizer:
        # weight_decay=0 asks for the optimizer's default (0.01 for AdamW), as MLPClassifier users expect
        return build_optimizer(self.optimizer, float(self.learning_rate),
                               schedule="cosine" if self.schedule == "cosine" else "none", epochs=self.max_iter,
                               steps_per_epoch=math.ceil(n_samples / self._batch(n_samples)),
                               weight_decay=float(self.weight_decay) or None)

    def _batch(self, n_samples: int) -> int:
        return min(200, n_samples) if self.batch_size == "auto" else min(int(self.batch_size), n_samples)

    def _train(self, X, targets, sample_weight, *, epochs: int, first: bool, early_stopping: bool):
        n = len(X)
        callbacks = []
        fit_kw: dict[str, Any] = {}
        if early_stopping:
            ti, vi = validation_rows(n, self.validation_fraction, self.model_.seed)
            fit_kw["validation_data"] = (X[vi], targets[vi])
            X, targets = X[ti], targets[ti]
            sample_weight = None if sample_weight is None else sample_weight[ti]
            callbacks.append(EarlyStopping(self._val_metric, patience=self.n_iter_no_change - 1, min_delta=self.tol,
                                           restore_best_weights=True))
        else:
            callbacks.append(EarlyStopping("loss", patience=self.n_iter_no_change - 1, min_delta=self.tol,
                                           restore_best_weights=False))
        if first:
            self.model_.optimizer = self._optimizer(len(X))
        history = train(self.model_, X, targets, epochs=epochs, batch_size=self._batch(len(X)),
                        metrics=[self._metric] if early_stopping else [], callbacks=callbacks,
                        shuffle=self.shuffle, verbose=2 if self.verbose else 0, sample_weight=sample_weight, **fit_kw)
        self.loss_curve_ = list(history["loss"])
        self.n_iter_ = len(self.loss_curve_)
        self.validation_scores_ = list(history[f"val_{self._metric}"]) if early_stopping else None
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else math.inf
        return self

    def _weights(self, X, sample_weight):
        if sample_weight is None:
            return None
        return _check_sample_weight(sample_weight, X, dtype=X.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags


class NumpynnClassifier(ClassifierMixin, _NumpynnEstimator):
    """A multilayer perceptron classifier trained with numpynn (softmax cross-entropy).

    Beyond scikit-learn's MLPClassifier: dropout, batch norm, per-layer activations (a list), class weights,
    a cosine schedule, the validation score per epoch, and float32 training when given float32 data.

    Fitted attributes: classes_, n_features_in_, feature_names_in_ (from DataFrames), model_, loss_curve_,
    validation_scores_ (with early_stopping), n_iter_, best_loss_.
    """

    _is_classifier = True
    _multi_output = False
    _loss_name = "cross_entropy"
    _metric = "accuracy"
    _val_metric = "val_accuracy"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, init="auto", optimizer="adam",
                 learning_rate=1e-3, schedule="constant", batch_size="auto", max_iter=200, tol=1e-4,
                 n_iter_no_change=10, early_stopping=False, validation_fraction=0.1, dropout=0.0,
                 batchnorm=False, weight_decay=0.0, class_weight=None, random_state=None, shuffle=True,
                 verbose=0):
        super().__init__(hidden_layer_sizes, activation, init=init, optimizer=optimizer,
                         learning_rate=learning_rate, schedule=schedule, batch_size=batch_size, max_iter=max_iter,
                         tol=tol, n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, dropout=dropout, batchnorm=batchnorm,
                         weight_decay=weight_decay, random_state=random_state, shuffle=shuffle, verbose=verbose)
        self.class_weight = class_weight

    def _encode(self, y) -> np.ndarray:
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if unknown.any():
            raise ValueError(f"y contains labels {np.unique(y[unknown])[:5].tolist()} that are not in classes_ "
                             f"{self.classes_.tolist()}")
        return index

    def _class_weights(self, y_enc: np.ndarray, sample_weight):
        cw = self.class_weight
        if cw is None:
            return sample_weight
        k = len(self.classes_)
        if cw == "balanced":
            counts = np.bincount(y_enc, minlength=k).astype(np.float64)
            per_class = np.where(counts > 0, len(y_enc) / (k * np.maximum(counts, 1)), 0.0)
        elif isinstance(cw, dict):
            per_class = np.ones(k)
            for label, w in cw.items():
                hit = np.flatnonzero(self.classes_ == label)
                if not len(hit):
                    raise ValueError(f"class_weight names class {label!r}, which is not in classes_ "
                                     f"{self.classes_.tolist()}")
                per_class[hit[0]] = w
        else:
            raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {cw!r}")
        w = per_class[y_enc]
        return w if sample_weight is None else w * sample_weight

    def _fit(self, X, y, sample_weight, classes, *, partial: bool):
        self._check_params()
        first = not (partial and hasattr(self, "model_"))
        X, y = self._validate_X_y(X, y, reset=first)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(labels) < 2:
                raise ValueError(f"NumpynnClassifier needs samples of at least 2 classes; got 1 class: {labels}")
            self.classes_ = labels
            self.model_ = self._build(X.shape[1], len(labels), X.dtype)
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"partial_fit got classes {np.unique(classes).tolist()}, but the model was fitted "
                             f"with classes {self.classes_.tolist()}; the classes cannot change")
        y_enc = self._encode(y)
        sw = self._class_weights(y_enc, self._weights(X, sample_weight))
        if sw is not None:
            sw = np.asarray(sw, dtype=X.dtype)
        return self._train(X, y_enc, sw, epochs=1 if partial else self.max_iter, first=first,
                           early_stopping=self.early_stopping and not partial)

    def fit(self, X, y, sample_weight=None):
        """Train a new network on (X, y); `sample_weight` scales each sample's loss."""
        for attr in ("model_", "classes_"):
            self.__dict__.pop(attr, None)
        return self._fit(X, y, sample_weight, None, partial=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch on this chunk, continuing the network and optimizer state of earlier calls.
        The first call fixes the classes (pass `classes` when a chunk may lack some) and the feature count."""
        return self._fit(X, y, sample_weight, classes, partial=True)

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.model_.predict_proba(X.astype(self.model_.dtype, copy=False)).astype(np.float64)

    def predict_log_proba(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


class NumpynnRegressor(RegressorMixin, _NumpynnEstimator):
    """A multilayer perceptron regressor trained with numpynn (mean squared error).

    Targets are standardised internally (and predictions mapped back), so the default learning rate suits
    targets of any scale. Supports several outputs (y of shape (n, k)).
    """

    _is_classifier = False
    _multi_output = True
    _loss_name = "mse"
    _metric = "r2"
    _val_metric = "val_r2"

    def _fit(self, X, y, sample_weight, *, partial: bool):
        self._check_params()
        first = not (partial and hasattr(self, "model_"))
        X, y = self._validate_X_y(X, y, reset=first)
        y = np.asarray(y, dtype=X.dtype)
        self._y_1d = y.ndim == 1 if first else self._y_1d
        Y = y.reshape(len(y), -1)
        sw = self._weights(X, sample_weight)
        if first:  # weighted statistics: weight k means the same as k copies of the sample
            w = np.ones(len(Y)) if sw is None else np.asarray(sw, dtype=np.float64)
            self._y_mean = np.average(Y, axis=0, weights=w).astype(X.dtype)
            std = np.sqrt(np.average((Y - self._y_mean) ** 2, axis=0, weights=w))
            self._y_scale = np.where(std > 0, std, 1.0).astype(X.dtype)
            self.model_ = self._build(X.shape[1], Y.shape[1], X.dtype)
        elif Y.shape[1] != self.model_.n_outputs:
            raise ValueError(f"partial_fit got {Y.shape[1]} target column(s); the model has {self.model_.n_outputs}")
        targets = ((Y - self._y_mean) / self._y_scale).astype(X.dtype)
        return self._train(X, targets, sw, epochs=1 if partial else self.max_iter,
                           first=first, early_stopping=self.early_stopping and not partial)

    def fit(self, X, y, sample_weight=None):
        """Train a new network on (X, y); y of shape (n,) or (n, k)."""
        self.__dict__.pop("model_", None)
        return self._fit(X, y, sample_weight, partial=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on this chunk, continuing earlier calls; the feature and target counts cannot change."""
        return self._fit(X, y, sample_weight, partial=True)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        out = self.model_.predict(X.astype(self.model_.dtype, copy=False)) * self._y_scale + self._y_mean
        out = out.astype(np.float64)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
