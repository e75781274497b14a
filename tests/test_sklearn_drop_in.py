"""The estimators as drop-ins for MLPClassifier/MLPRegressor: the same numbers step for step, an exact L-BFGS
gradient, sparse input that is never densified, from_sklearn, and conversion to ONNX run by onnxruntime."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
scipy_sparse = pytest.importorskip("scipy.sparse")

from sklearn.datasets import load_digits, make_multilabel_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402

from numpynn.sklearn import NumpynnClassifier, NumpynnRegressor, from_sklearn  # noqa: E402


def _digits(n_class=10, n=300):
    X, y = load_digits(n_class=n_class, return_X_y=True)
    return X[:n] / 16, y[:n]


def _multilabel():
    return make_multilabel_classification(n_samples=120, n_features=12, n_classes=4, random_state=0)


def _regression(n_targets=2):
    X, y = make_regression(n_samples=150, n_features=8, n_targets=n_targets, noise=1.0, random_state=0)
    return X, y / 100


def _counts():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(150, 3))
    return X, rng.poisson(np.exp(X @ [1.0, -0.5, 0.3]))


# (name, estimator pair, data, parameters): each solver and schedule, each output, weights, early stopping
CASES = [
    ("adam-multiclass", "clf", _digits, {"solver": "adam", "max_iter": 12, "alpha": 1e-3, "batch_size": 64}),
    ("adam-early-stopping", "clf", _digits, {"solver": "adam", "max_iter": 12, "early_stopping": True,
                                             "n_iter_no_change": 3}),
    ("sgd-nesterov-invscaling", "clf", _digits, {"solver": "sgd", "learning_rate": "invscaling", "power_t": 0.3,
                                                 "learning_rate_init": 0.5, "max_iter": 12, "batch_size": 50}),
    ("sgd-adaptive", "clf", lambda: _digits(2), {"solver": "sgd", "learning_rate": "adaptive", "tol": 0.05,
                                                 "n_iter_no_change": 2, "max_iter": 40, "momentum": 0.5,
                                                 "nesterovs_momentum": False, "learning_rate_init": 0.3}),
    ("lbfgs-binary-logistic", "clf", lambda: _digits(2), {"solver": "lbfgs", "activation": "logistic",
                                                          "max_iter": 40}),
    ("lbfgs-multilabel-tanh", "clf", _multilabel, {"solver": "lbfgs", "activation": "tanh", "max_iter": 40}),
    ("sgd-multilabel", "clf", _multilabel, {"solver": "sgd", "max_iter": 10, "learning_rate_init": 0.1}),
    ("adam-regression-weights", "reg", _regression, {"solver": "adam", "max_iter": 12, "learning_rate_init": 0.01,
                                                     "sample_weight": True}),
    ("sgd-regression-identity", "reg", lambda: _regression(1), {"solver": "sgd", "activation": "identity",
                                                                "max_iter": 12, "learning_rate_init": 0.01,
                                                                "shuffle": False}),
    ("lbfgs-regression-weights", "reg", _regression, {"solver": "lbfgs", "max_iter": 40, "sample_weight": True}),
    ("lbfgs-poisson", "reg", _counts, {"solver": "lbfgs", "loss": "poisson", "max_iter": 40}),
]


@pytest.mark.parametrize("name,kind,data,params", CASES, ids=[c[0] for c in CASES])
def test_the_same_numbers_as_scikit_learn_step_for_step(name, kind, data, params):
    """Same random_state: the same initial weights, batches and updates, so scikit-learn's and numpynn's fits
    agree to float64 rounding: every epoch's loss, the weights, the iteration count, the validation scores."""
    X, y = data()
    params = {"hidden_layer_sizes": (12,), "random_state": 0, **params}
    weights = params.pop("sample_weight", False)
    fit_kw = {"sample_weight": np.random.default_rng(1).uniform(0.2, 2.0, len(X))} if weights else {}
    ours, theirs = (NumpynnClassifier, MLPClassifier) if kind == "clf" else (NumpynnRegressor, MLPRegressor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = ours(**params).fit(X, y, **fit_kw)
        b = theirs(**params).fit(X, y, **fit_kw)
    assert a.n_iter_ == b.n_iter_ and a.n_layers_ == b.n_layers_ and a.out_activation_ == b.out_activation_
    np.testing.assert_allclose(a.loss_, b.loss_, rtol=1e-7)
    for attr in ("loss_curve_", "validation_scores_"):
        if hasattr(b, attr) and getattr(b, attr) is not None:
            np.testing.assert_allclose(getattr(a, attr), getattr(b, attr), rtol=1e-7, err_msg=attr)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(ca, cb, rtol=1e-5, atol=1e-8)
    if kind == "clf":
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(a.predict(X[:50]).round(6), b.predict(X[:50]).round(6))
    if "early_stopping" in params:
        assert a.best_loss_ is None and a.best_validation_score_ == b.best_validation_score_


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "squared_error", "poisson"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_lbfgs_objective_gradient_is_exact(kind, activation):
    """The loss L-BFGS minimises (with the alpha term and sample weights) against central differences. (With
    several outputs scikit-learn's squared error is the mean over them and its gradient that of their sum;
    numpynn follows it, so one output here.)"""
    rs = np.random.RandomState(42)
    X = rs.rand(6, 5)
    w = rs.uniform(0.5, 2.0, 6)
    y = {"binary": np.arange(6) % 2, "multiclass": np.arange(6) % 3, "multilabel": rs.rand(6, 3) > 0.5,
         "squared_error": rs.randn(6), "poisson": rs.poisson(2.0, size=6)}[kind]
    if kind in ("squared_error", "poisson"):
        est = NumpynnRegressor(loss=kind, hidden_layer_sizes=(4,), activation=activation, solver="lbfgs",
                               alpha=0.3, max_iter=1, random_state=1)
    else:
        est = NumpynnClassifier(hidden_layer_sizes=(4,), activation=activation, solver="lbfgs", alpha=0.3,
                                max_iter=1, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y, sample_weight=w)
    model = est.model_
    Y = est._validate_input(X, y, incremental=True, reset=False)[1] if kind != "poisson" else y.astype(float)
    targets = est._targets(Y.reshape(len(X), -1), model.dtype)
    values = model.flat.values
    theta = values.copy()

    def loss(t):
        values[...] = t
        return est._loss_and_gradient(model, X, targets, w)

    loss(theta)
    grad = model.flat.grads.copy()
    numeric = np.zeros_like(theta)
    for i in range(len(theta)):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric[i] = (loss(theta + step) - loss(theta - step)) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_sparse_input_is_never_densified_and_gives_the_dense_result(monkeypatch):
    X, y = _digits(3, 200)
    dense = {solver: NumpynnClassifier((10,), solver=solver, max_iter=15, random_state=0, batch_size=32).fit(X, y)
             for solver in ("sgd", "lbfgs")}

    def refuse(self, *args, **kwargs):  # X (64 columns) must stay sparse; scikit-learn's label matrices may not
        if self.shape[1] == X.shape[1]:
            raise AssertionError("the sparse X was densified")
        return original[type(self)](self, *args, **kwargs)

    original = {cls: cls.toarray for cls in (scipy_sparse.csr_matrix, scipy_sparse.csc_matrix,
                                            scipy_sparse.csr_array)}

    for cls in (scipy_sparse.csr_matrix, scipy_sparse.csc_matrix, scipy_sparse.csr_array):
        monkeypatch.setattr(cls, "toarray", refuse)
    with pytest.raises(AssertionError, match="densified"):  # the guard itself works
        scipy_sparse.csr_matrix(X).todense()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for make in (scipy_sparse.csr_matrix, scipy_sparse.csc_matrix, scipy_sparse.csr_array):
            Xs = make(X)
            for solver, ref in dense.items():
                est = NumpynnClassifier((10,), solver=solver, max_iter=15, random_state=0, batch_size=32).fit(Xs, y)
                for a, b in zip(est.coefs_, ref.coefs_, strict=True):
                    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
                np.testing.assert_allclose(est.predict_proba(Xs), ref.predict_proba(X), rtol=1e-6, atol=1e-9)
                np.testing.assert_array_equal(est.predict(Xs), ref.predict(X))


def test_float32_sparse_regression_predicts_float32():
    X, y = _regression(1)
    Xs = scipy_sparse.csr_matrix(X.astype(np.float32))
    reg = NumpynnRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(Xs, y)
    assert reg.model_.dtype == np.float32 and reg.coefs_[0].dtype == np.float32
    assert reg.predict(Xs).dtype == np.float32 and reg.predict(X).dtype == np.float64


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression"])
def test_from_sklearn_builds_a_model_with_the_same_predictions(kind):
    X, y = {"binary": lambda: _digits(2), "multiclass": _digits, "multilabel": _multilabel,
            "regression": _regression}[kind]()
    Estimator = MLPRegressor if kind == "regression" else MLPClassifier
    mlp = Estimator(hidden_layer_sizes=(16, 8), activation="tanh", solver="lbfgs", max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    model = from_sklearn(mlp)
    assert model.dtype == np.float64 and [ly.describe() for ly in model.layers][0] == "Dense(64\u219216, tanh)" \
        if X.shape[1] == 64 else True
    if kind == "regression":
        np.testing.assert_allclose(model.predict(X), mlp.predict(X), rtol=1e-10, atol=1e-12)
        return
    np.testing.assert_allclose(model.predict_proba(X), mlp.predict_proba(X), rtol=1e-10, atol=1e-12)
    if kind != "multilabel":
        np.testing.assert_array_equal(mlp.classes_[model.predict(X)], mlp.predict(X))
    with pytest.raises(ValueError, match="needs a fitted MLPClassifier or MLPRegressor"):
        from_sklearn(MLPClassifier())


@pytest.fixture
def onnxruntime():
    pytest.importorskip("onnx")
    pytest.importorskip("skl2onnx")
    return pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_skl2onnx_converts_the_estimators_and_onnxruntime_agrees(kind, onnxruntime):
    import skl2onnx

    X, y = {"binary": lambda: _digits(2), "multiclass": _digits, "regression": _regression}[kind]()
    X = X.astype(np.float32)
    est = (NumpynnRegressor(hidden_layer_sizes=(16,), activation="tanh", solver="lbfgs", max_iter=30, random_state=0)
           if kind == "regression" else
           NumpynnClassifier((16, 8), solver="lbfgs", max_iter=30, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    options = None if kind == "regression" else {"zipmap": False}
    onx = skl2onnx.to_onnx(est, X[:1], options=options)
    session = onnxruntime.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {session.get_inputs()[0].name: X})
    if kind == "regression":
        np.testing.assert_allclose(outputs[0].reshape(est.predict(X).shape), est.predict(X), rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_array_equal(outputs[0], est.predict(X))
        np.testing.assert_allclose(outputs[1], est.predict_proba(X), rtol=1e-4, atol=1e-6)


def test_skl2onnx_refuses_what_its_converter_does_not_compute(onnxruntime):
    import skl2onnx

    X, y = _digits(3, 100)
    X = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bn = NumpynnClassifier((8,), batchnorm=True, max_iter=2, random_state=0).fit(X, y)
        gelu = NumpynnClassifier((8,), activation="gelu", max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="no batch normalisation"):
        skl2onnx.to_onnx(bn, X[:1])
    with pytest.raises(ValueError, match="knows the activations"):
        skl2onnx.to_onnx(gelu, X[:1])


def test_importing_the_estimators_does_not_import_skl2onnx_but_registers_with_it(onnxruntime, engine):
    import subprocess
    import sys

    if engine == "c":
        pytest.skip("registration does not depend on the engine; one run is enough")
    code = ("import sys, numpynn.sklearn as s; assert 'skl2onnx' not in sys.modules; "
            "from skl2onnx._supported_operators import sklearn_operator_name_map as m; "
            "print(m[s.NumpynnClassifier], m[s.NumpynnRegressor])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["NumpynnMLPClassifier", "NumpynnMLPRegressor"]
