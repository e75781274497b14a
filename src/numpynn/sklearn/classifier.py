"""NumpynnClassifier: scikit-learn's MLPClassifier, same parameters and behaviour, trained by numpynn."""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .base import BaseMLP

PARAMETERS_DOC = """
    Parameters (scikit-learn's, with its defaults and meaning)
    ----------------------------------------------------------
    hidden_layer_sizes : array-like of shape(n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation function for the hidden layer. numpynn adds its own ('sigmoid', 'gelu', 'elu',
        'leaky_relu') and a list of one name per hidden layer.
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization: 'lbfgs' is an optimizer in the family of quasi-Newton methods,
        'sgd' refers to stochastic gradient descent, 'adam' to the stochastic gradient-based optimizer of
        Kingma and Ba. numpynn adds 'adamw', 'rmsprop' and 'adagrad'.
    alpha : float, default=0.0001
        Strength of the L2 regularization term. The L2 regularization term is divided by the sample size
        when added to the loss.
    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers. When set to "auto", `batch_size=min(200, n_samples)`.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for weight updates (only used when solver='sgd'): 'constant' keeps
        learning_rate_init; 'invscaling' gradually decreases it at each time step t using an inverse scaling
        exponent of power_t, effective_learning_rate = learning_rate_init / pow(t, power_t); 'adaptive' keeps
        it constant as long as training loss keeps decreasing, and divides it by 5 each time two consecutive
        epochs fail to decrease the training loss by at least tol (or fail to increase the validation score
        by at least tol if early_stopping is on). numpynn adds 'cosine': cosine decay over max_iter epochs,
        for every stochastic solver. (numpynn 0.2 took the rate itself here: that is learning_rate_init now.)
    learning_rate_init : float, default=0.001
        The initial learning rate used. It controls the step-size in updating the weights. Only used when
        solver='sgd' or 'adam'.
    power_t : float, default=0.5
        The exponent for inverse scaling learning rate. Used when learning_rate is 'invscaling' and solver
        is 'sgd'.
    max_iter : int, default=200
        Maximum number of iterations. The solver iterates until convergence (determined by 'tol') or this
        number of iterations. For stochastic solvers this is the number of epochs, not of gradient steps.
    shuffle : bool, default=True
        Whether to shuffle samples in each iteration. Only used when solver='sgd' or 'adam'.
    random_state : int, RandomState instance, default=None
        Determines random number generation for weights and bias initialization, train-test split if early
        stopping is used, and batch sampling when solver='sgd' or 'adam'.
    tol : float, default=1e-4
        Tolerance for the optimization. When the loss or score is not improving by at least tol for
        n_iter_no_change consecutive iterations, unless learning_rate is set to 'adaptive', convergence is
        considered to be reached and training stops.
    verbose : bool, default=False
        Whether to print progress messages to stdout.
    warm_start : bool, default=False
        When set to True, reuse the solution of the previous call to fit as initialization, otherwise, just
        erase the previous solution.
    momentum : float, default=0.9
        Momentum for gradient descent update. Should be between 0 and 1 (1 itself is refused). Only used
        when solver='sgd'.
    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum. Only used when solver='sgd' and momentum > 0.
    early_stopping : bool, default=False
        Whether to use early stopping to terminate training when validation score is not improving. If set
        to true, it will automatically set aside validation_fraction of training data (stratified for
        single-label classification) as validation and terminate training when validation score is not
        improving by at least tol for n_iter_no_change consecutive epochs. Only effective when solver='sgd'
        or 'adam'.
    validation_fraction : float, default=0.1
        The proportion of training data to set aside as validation set for early stopping.
    beta_1 : float, default=0.9
        Exponential decay rate for estimates of first moment vector in adam, should be in [0, 1).
    beta_2 : float, default=0.999
        Exponential decay rate for estimates of second moment vector in adam, should be in [0, 1).
    epsilon : float, default=1e-8
        Value for numerical stability in adam. Only used when solver='adam'.
    n_iter_no_change : int, default=10
        Maximum number of epochs to not meet tol improvement (np.inf: never stop for that). Only effective
        when solver='sgd' or 'adam'.
    max_fun : int, default=15000
        Only used when solver='lbfgs'. Maximum number of loss function calls.

    numpynn's own
    -------------
    init : str, default='auto'
        'auto' is scikit-learn's initialization (uniform weights and biases in +-sqrt(6 / (fan_in +
        fan_out)), 2 instead of 6 for 'logistic'); or a numpynn initializer name ('he_normal', ...).
    dropout : float, default=0.0
        Dropout after each hidden layer (stochastic solvers).
    batchnorm : bool, default=False
        Batch normalisation before each hidden activation.
    weight_decay : float, default=0.0
        The optimizer's weight decay (0: its default, 0.01 for 'adamw').
    precision : {'float32', 'bf16'}, default='float32'
        The matrix products while training: 'bf16' rounds their inputs to bfloat16 and sums in float32 (float32
        data, CPUs with AMX-BF16/AVX512-BF16 and numpynn[bf16]); weights and predictions stay float32.
    preprocess : {'auto', 'table', 'none'}, default='auto'
        How X becomes the network's inputs. 'auto': a DataFrame (pandas, polars, or a pyarrow Table) with a
        text, categorical or date column or a missing cell goes through numpynn's table preprocessing (as
        `numpynn train` on a file: median imputation with missing flags, robust scaling, one-hot or embedded
        categories, learned from the rows given to fit and kept in `model_.preprocessing`); anything else
        (arrays, sparse matrices, numeric DataFrames without missing cells) is taken as scikit-learn takes it,
        with MLPClassifier's numbers. 'table': every X through the table preprocessing; 'none': never.
"""


class NumpynnClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer Perceptron classifier: scikit-learn's MLPClassifier, trained and run by numpynn.

    It optimizes the log-loss function using LBFGS or stochastic gradient descent: softmax outputs for
    multiclass targets, one sigmoid output for binary targets, one per label for multilabel (indicator
    matrix) targets. X may be dense or SciPy CSR/CSC; float32 data trains in float32.
    {parameters}
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the loss (numpynn's; single-label targets).

    Attributes are scikit-learn's: classes_, loss_, best_loss_, loss_curve_, validation_scores_,
    best_validation_score_, t_, coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_, n_layers_,
    n_outputs_, out_activation_; and model_, the numpynn Sequential (coefs_ and intercepts_ are views of it).
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, init="auto", dropout=0.0, batchnorm=False,
                 weight_decay=0.0, class_weight=None, precision="float32", preprocess="auto"):
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
        self.class_weight = class_weight
        self.preprocess = preprocess

    # --- targets ------------------------------------------------------------------------------------------
    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_X_y(X, y, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(f"warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        # bool, not float: no upcast of float32 data
        return X, self._label_binarizer.transform(y).astype(bool)

    def _with_class_weight(self, y, sample_weight):
        cw = self.class_weight
        if cw is None:
            return sample_weight
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is for single-label targets; y is a multilabel indicator matrix")
        index = y[:, 0].astype(np.int64) if y.shape[1] == 1 else y.argmax(axis=1)
        k = len(self.classes_)
        if cw == "balanced":
            counts = np.bincount(index, minlength=k).astype(np.float64)
            per_class = np.where(counts > 0, len(index) / (k * np.maximum(counts, 1)), 0.0)
        else:
            per_class = np.ones(k)
            for label, w in cw.items():
                hit = np.flatnonzero(self.classes_ == label)
                if not len(hit):
                    raise ValueError(f"class_weight names class {label!r}, which is not in classes_ "
                                     f"{self.classes_.tolist()}")
                per_class[hit[0]] = w
        w = per_class[index]
        return w if sample_weight is None else w * sample_weight

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _targets(self, y, dtype):
        # softmax cross-entropy takes class indices; sigmoid outputs take the 0/1 matrix
        return y.argmax(axis=1) if self.out_activation_ == "softmax" else np.ascontiguousarray(y, dtype=dtype)

    def _output_loss(self, model, logits, targets, sample_weight):
        return model.loss(logits, targets, sample_weight)

    def _output(self, model, logits):
        if self.out_activation_ == "logistic":  # expit keeps tiny probabilities > 0, as scikit-learn's do
            return expit(logits)
        return model.loss.output(logits)

    # --- scikit-learn's API ---------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y (labels, or a label indicator matrix)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data; `classes` is required on the first
        call (the labels of every later call must be among them)."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier: labels (n,), or the indicator matrix."""
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight=sample_weight, score_function=accuracy_score)

    def predict_proba(self, X):
        """Probability estimates (n, n_classes); per label for multilabel targets."""
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X):
        """The log of predict_proba."""
        y_prob = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


NumpynnClassifier.__doc__ = NumpynnClassifier.__doc__.replace("{parameters}", PARAMETERS_DOC)
