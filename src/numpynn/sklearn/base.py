"""What NumpynnClassifier and NumpynnRegressor share: scikit-learn's MLP parameters and their checks, the
first network, the loss and gradient of a batch, fitting with either solver, and prediction.

The network is `model_`, a numpynn Sequential. `coefs_` and `intercepts_` are views of its Dense weights in
scikit-learn's (in, out) layout: writing into them changes the model, and arrays assigned to them are copied
into it before the next fit or prediction.
"""

from __future__ import annotations

import math
from itertools import pairwise
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, _check_y, check_consistent_length, validate_data

from .. import memory
from ..checks import is_int
from ..errors import ArgumentError, TrainingDivergedError
from ..initializers import INITIALIZERS
from ..layers import ACTIVATION_LAYERS
from ..model import PREDICT_BATCH, Sequential
from ..ops import training_engine
from ..tables import embedding_spec
from ..validation import astype_finite
from .convert import build_network, dense_layers, network_from_weights, set_dense_weights
from .frames import (
    PREPROCESS,
    class_names_of,
    embedded_width,
    learn_inputs,
    model_preprocessing,
    replay_inputs,
    takes_table,
)
from .lbfgs import fit_lbfgs
from .solvers import STOCHASTIC_SOLVERS
from .stochastic import fit_stochastic

SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
ACTIVATIONS = set(SKLEARN_ACTIVATIONS) | (set(ACTIVATION_LAYERS) - {"softmax"})
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large values and need "
              "to be preprocessed.")


class BaseMLP(BaseEstimator):
    """Base class of the numpynn estimators; use NumpynnClassifier or NumpynnRegressor."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(ACTIVATIONS), list, tuple],
        "solver": [StrOptions({"lbfgs", *STOCHASTIC_SOLVERS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        # numpynn's own
        "init": [StrOptions({"auto", *INITIALIZERS})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batchnorm": ["boolean"],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "precision": [StrOptions({"float32", "bf16"})],
        "preprocess": [StrOptions(set(PREPROCESS))],
    }

    # --- the network --------------------------------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") and not isinstance(sizes, str) else [sizes]
        bad = next((s for s in sizes if not is_int(s)), None)
        if bad is not None:  # 2.5 would become 2 units, True 1
            raise ArgumentError(f"hidden_layer_sizes must be integers (numbers of units), got {bad!r:.40} "
                                f"({type(bad).__name__}) in {self.hidden_layer_sizes!r:.80}")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _check_memory(self, layer_units: list[int], n_rows: int, itemsize: int) -> None:
        """Refuse a network that cannot be trained in the memory there is, with both figures, before it is built."""
        if self.solver == "lbfgs":  # full batch; SciPy keeps float64 copies: the point, its gradient, 10 pairs
            batch, states = n_rows, 24 * 8 // itemsize
        else:
            batch = min(200 if self.batch_size == "auto" else int(self.batch_size), n_rows)
            states = {"sgd": 1 if self.momentum else 0, "rmsprop": 1, "adagrad": 1}.get(self.solver, 2)
        need = memory.training_bytes(layer_units, batch, itemsize, states)
        have = memory.available_bytes()
        if have is not None and need > have:
            raise ArgumentError(f"a {'-'.join(map(str, layer_units))} network needs about {memory.gib(need)} of "
                                f"memory to train (solver {self.solver!r}, batch {batch}) but {memory.gib(have)} is "
                                f"available; choose smaller hidden_layer_sizes")

    def _hidden_activations(self, n_hidden: int) -> list[str]:
        if isinstance(self.activation, str):
            return [self.activation] * n_hidden
        acts = list(self.activation)
        if len(acts) != n_hidden or any(a not in ACTIVATIONS for a in acts):
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or a list of one per hidden layer "
                             f"({n_hidden}), got {self.activation!r}")
        return acts

    def _initialize(self, y: np.ndarray, layer_units: list[int], dtype, n_inputs: int | None = None) -> None:
        """The first network and the fitted attributes of a new fit (scikit-learn's `_initialize`); layer_units
        are the Dense layers' ([n_inputs, ...] unless a table's Embedding comes first)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        acts = self._hidden_activations(len(layer_units) - 2)
        rs = self._random_state
        if self.init == "auto":  # scikit-learn's: Glorot's uniform bound for weights and biases alike
            factor = 2.0 if self.activation == "logistic" else 6.0
            weights = []
            for fan_in, fan_out in pairwise(layer_units):
                bound = np.sqrt(factor / (fan_in + fan_out))
                weights.append((rs.uniform(-bound, bound, (fan_in, fan_out)), rs.uniform(-bound, bound, fan_out)))
        embedding = self._embedding_spec()
        drawn = self.dropout or self.init != "auto" or embedding is not None  # layers that draw from the seed
        seed = int(rs.randint(np.iinfo(np.int32).max)) if drawn else 0
        model = build_network(layer_units, acts, self.out_activation_,
                              init="glorot_uniform" if self.init == "auto" else self.init, dropout=self.dropout,
                              batchnorm=self.batchnorm, seed=seed, dtype=dtype, embedding=embedding,
                              n_inputs=n_inputs)
        self._set_model_loss(model)
        self._record_inputs(model)
        if self.init == "auto":
            set_dense_weights(model, [W for W, _ in weights], [b for _, b in weights])
        self.model_ = model
        self._point_at(model)
        self._best_weights = model.get_weights()
        self.__dict__.pop("_optimizer", None)
        if self.solver in STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _point_at(self, model: Sequential) -> None:
        dense = dense_layers(model)
        self.coefs_ = [layer.params["W"] for layer in dense]
        self.intercepts_ = [layer.params["b"] for layer in dense]

    def _network(self) -> Sequential:
        """model_, holding whatever was assigned to coefs_ / intercepts_ (a network is built from them when
        there is no model_ of their shapes, as after setting them by hand)."""
        model = self.__dict__.get("model_")
        coefs, intercepts = self.coefs_, self.intercepts_
        dense = dense_layers(model) if model is not None else []
        if len(dense) != len(coefs) or any(np.shape(W) != ly.params["W"].shape for W, ly in zip(coefs, dense,
                                                                                                strict=False)):
            if self._embedding_spec() is not None:
                raise ValueError(f"coefs_ of shapes {[np.shape(W) for W in coefs]} do not fit the network, whose "
                                 "first layer embeds the table's categories; fit again rather than set them")
            model = self.model_ = network_from_weights(coefs, intercepts, self.activation, self.out_activation_)
            self._set_model_loss(model)
            self._record_inputs(model)
            self._point_at(model)
            return model
        same = all(W is ly.params["W"] and b is ly.params["b"] for W, b, ly in zip(coefs, intercepts, dense,
                                                                                   strict=False))
        if not same:
            set_dense_weights(model, coefs, intercepts)
            self._point_at(model)
        return model

    # --- training ---------------------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental: bool = False):
        hidden = self._hidden_sizes()
        self._hidden_activations(len(hidden))
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        # the network's dtype (a new one takes the data's): values it cannot hold are refused before training
        dtype = X.dtype if first_pass else self._network().dtype
        X = _as_model_input(X, dtype)
        if y.dtype.kind == "f":
            astype_finite(y, dtype, "y")  # a check only: the targets are cast where the loss takes them
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        sample_weight = self._with_class_weight(y, sample_weight)
        self.n_outputs_ = y.shape[1]
        n_in = embedded_width(self._embedding_spec(), X.shape[1])
        layer_units = [n_in, *hidden, self._network_outputs(self.n_outputs_)]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._check_memory(layer_units, X.shape[0], X.dtype.itemsize)
            self._initialize(y, layer_units, X.dtype, n_inputs=X.shape[1])
        model = self._network()
        if [ly.params["W"].shape for ly in dense_layers(model)] != list(pairwise(layer_units)):
            raise ValueError(f"the network has layers {[c.shape for c in self.coefs_]}, but the data and "
                             f"hidden_layer_sizes ask for {list(pairwise(layer_units))}; fit without warm_start")
        self._set_model_loss(model)  # a warm start trains with the loss the parameters name now
        if sample_weight is not None:
            sample_weight = sample_weight.astype(model.dtype, copy=False)
        with model.training_engine(self._engine(model)):
            if self.solver in STOCHASTIC_SOLVERS:
                fit_stochastic(self, model, X, y, sample_weight, incremental)
            else:
                fit_lbfgs(self, model, X, y, sample_weight)
        # early stopping has put back the best weights, whatever the last epoch's loss was
        kept_best = self.solver in STOCHASTIC_SOLVERS and self.early_stopping
        finite_loss = kept_best or math.isfinite(getattr(self, "loss_", 0.0))
        if not model.ops.all_finite(model.flat.values) or not finite_loss:
            where = next((f"The weights of layer {i} {ly.describe()} became non-finite." for i, ly
                          in enumerate(model.layers) if any(not np.isfinite(p).all() for p in ly.params.values())),
                         f"The training loss became {self.loss_}.")
            for attr in ("model_", "coefs_", "intercepts_", "_optimizer"):  # nothing non-finite stays behind
                self.__dict__.pop(attr, None)
            raise TrainingDivergedError(f"{NON_FINITE} ({where})")
        return self

    def _validate_X_y(self, X, y, reset: bool, y_numeric: bool = False):
        """(X, y) checked by scikit-learn's validate_data, or, for a table (numpynn.sklearn.frames), X as the model
        inputs of the table preprocessing (learned from X when `reset`, else the one fit learned) and y checked
        as validate_data checks it."""
        if reset:
            self.__dict__.pop("_table_preprocessing", None)
            table = takes_table(X, self.preprocess)
        else:
            table = "_table_preprocessing" in self.__dict__
        if not table:
            return validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                                 dtype=(np.float64, np.float32), y_numeric=y_numeric, reset=reset)
        X = learn_inputs(self, X, y) if reset else replay_inputs(self, X, self._network().dtype)
        y_checked = _check_y(y, multi_output=True, y_numeric=y_numeric, estimator=self)
        check_consistent_length(X, y_checked)
        return X, y_checked

    def _embedding_spec(self) -> dict[str, list[int]] | None:
        """The Embedding a table's many-valued categories need first in the network, or None."""
        prep = self.__dict__.get("_table_preprocessing")
        return embedding_spec(prep["table"]) if prep else None

    def _record_inputs(self, model: Sequential) -> None:
        """A table's preprocessing onto the model, so that its file, `numpynn predict` and the exports replay it;
        a classifier's classes_ as the model's class names, so that its file names them too."""
        if "_table_preprocessing" in self.__dict__:
            model.preprocessing = model_preprocessing(self)
        elif (names := class_names_of(self)) is not None:
            model.preprocessing = {**model.preprocessing, "class_names": names}

    def _engine(self, model: Sequential):
        """The engine of the matrix products while training: the model's own, or the bf16 one (numpynn.ops)."""
        return training_engine(self.precision, model.dtype, model.ops, hint="pass float32 X")

    def _loss_and_gradient(self, model: Sequential, X, targets: np.ndarray, sample_weight) -> float:
        """The loss of a batch with scikit-learn's L2 term alpha / (2 sum(w)) * sum ||W||^2 (weights only),
        its gradient left in model.flat.grads."""
        loss, _ = model.gradient(X, targets, sample_weight, **self._step_terms(model, X, sample_weight))
        return float(loss)

    def _step_terms(self, model: Sequential, X, sample_weight) -> dict[str, Any]:
        """The loss and penalty of a batch as scikit-learn defines them, for Sequential.gradient/train_step."""

        def alpha_penalty() -> float:
            sw_sum = X.shape[0] if sample_weight is None else float(sample_weight.sum())
            scale, squares = self.alpha / sw_sum, 0.0
            for layer in dense_layers(model):
                W = layer.params["W"]
                squares += float(np.dot(W.ravel(), W.ravel()))
                layer.grads["W"] += scale * W
            return 0.5 * scale * squares

        return {"loss": lambda logits, y, w: self._output_loss(model, logits, y, w),
                "penalty": alpha_penalty if self.alpha else None}

    # --- prediction --------------------------------------------------------------------------------------
    def _forward_pass_fast(self, X, check_input: bool = True) -> np.ndarray:
        """The network's outputs after the output activation, (n, n_outputs_), in the input's float dtype."""
        if check_input:
            X = replay_inputs(self, X, self._network().dtype) if "_table_preprocessing" in self.__dict__ \
                else validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        model = self._network()
        out_dtype = np.result_type(X.dtype, model.dtype) if X.dtype.kind == "f" else model.dtype
        X = _as_model_input(X, model.dtype)
        if sparse.issparse(X):
            logits = np.empty((X.shape[0], model.n_outputs), dtype=model.dtype)
            for s in range(0, X.shape[0], PREDICT_BATCH):
                logits[s:s + PREDICT_BATCH] = model.forward(X[s:s + PREDICT_BATCH])
        else:
            logits = model.predict_logits(X)
        return self._output(model, logits).astype(out_dtype, copy=False)

    def _score_with_function(self, X, y, sample_weight, score_function) -> float:
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return float(score_function(y, y_pred, sample_weight=sample_weight))

    def _check_solver(self) -> bool:
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. {self.solver} is not "
                                 f"stochastic.")
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.preprocess != "table"
        if self.preprocess == "table":  # any table: text, categories and missing cells
            tags.input_tags.allow_nan = tags.input_tags.string = tags.input_tags.categorical = True
        return tags

    # --- for subclasses ------------------------------------------------------------------------------------
    def _with_class_weight(self, y: np.ndarray, sample_weight):
        return sample_weight

    def _network_outputs(self, n_targets: int) -> int:
        """The network's outputs for n_targets target columns (binarized labels or values)."""
        return n_targets

    def _set_model_loss(self, model: Sequential) -> None:
        """Give the network the numpynn loss the parameters name, where it is not the one its output implies."""

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        raise NotImplementedError

    def _output_activation(self) -> str:
        raise NotImplementedError

    def _targets(self, y: np.ndarray, dtype) -> np.ndarray:
        raise NotImplementedError

    def _output_loss(self, model, logits, targets, sample_weight):
        raise NotImplementedError

    def _output(self, model, logits) -> np.ndarray:
        raise NotImplementedError

    def _predict(self, X, check_input: bool = True):
        raise NotImplementedError


def _as_model_input(X, dtype):
    """X in the model's dtype: dense and C-ordered, or sparse CSR (rows are what batches take); values the
    dtype cannot hold (1e300 in float32) are refused, not turned into inf."""
    if sparse.issparse(X):
        X = X.tocsr()
        if X.dtype != dtype:
            astype_finite(X.data, dtype, "X (its stored values)")
        return X.astype(dtype, copy=False)
    X = np.asarray(X)
    return np.ascontiguousarray(X if X.dtype == dtype else astype_finite(X, dtype, "X"))
