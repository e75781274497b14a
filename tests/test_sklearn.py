"""The scikit-learn estimators: scikit-learn's own checks for every solver, model selection, partial_fit, a Dask
cluster, and numpynn's additions. scikit-learn's own MLP tests run in test_sklearn_mlp.py; step-for-step agreement
with MLPClassifier/MLPRegressor, sparse input, from_sklearn and ONNX are in test_sklearn_drop_in.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")

from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import numpynn as nn  # noqa: E402
from numpynn.sklearn import NumpynnClassifier, NumpynnRegressor  # noqa: E402


def test_pinned_scikit_learn_version():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["optional-dependencies"]["test"] if d.startswith("scikit-learn==")]
    assert pins == [f"scikit-learn=={sklearn.__version__}"]


# scikit-learn skips this check itself for MLPClassifier too: a multilabel classifier without decision_function
SKIPPED_BY_SCIKIT_LEARN = {"check_classifiers_multilabel_output_format_decision_function"}
SOLVERS = [("adam", {}), ("lbfgs", {"max_iter": 100}), ("sgd", {"max_iter": 100})]


@pytest.mark.parametrize("Estimator", [NumpynnClassifier, NumpynnRegressor], ids=lambda e: e.__name__)
@pytest.mark.parametrize("solver,params", SOLVERS, ids=[s for s, _ in SOLVERS])
def test_check_estimator_passes_every_check(Estimator, solver, params, engine):
    if engine == "c" and solver != "adam":
        pytest.skip("the solvers are engine-independent glue; the C engine's maths is checked with adam here and "
                    "with every solver in test_sklearn_mlp.py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(Estimator(solver=solver, **params), on_fail=None)
    not_passed = [(r["check_name"], r["status"], str(r["exception"])[:200]) for r in results
                  if r["status"] != "passed" and r["check_name"] not in SKIPPED_BY_SCIKIT_LEARN]
    assert len(results) >= 60 and not_passed == []


def test_the_port_of_scikit_learns_mlp_tests_changes_only_the_class_names():
    from pathlib import Path

    from tests import test_sklearn_mlp as port

    original = (Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py").read_text()
    renamed = original.replace("from sklearn.neural_network import MLPClassifier, MLPRegressor",
                               "from numpynn.sklearn import NumpynnClassifier, NumpynnRegressor")
    renamed = renamed.replace("MLPClassifier", "NumpynnClassifier").replace("MLPRegressor", "NumpynnRegressor")
    text = Path(port.__file__).read_text()
    header_end = text.index("# ruff: noqa\n") + len("# ruff: noqa\n")
    trailer = text.index("\n\n# --- numpynn: not part of scikit-learn's module")
    assert text[header_end:trailer] == renamed
    assert set(port.SKIPPED) == {"test_gradient"}  # scikit-learn's private _loss_grad_lbfgs
    n_tests = sum(1 for name in vars(port) if name.startswith("test_"))
    assert n_tests == original.count("\ndef test_") and n_tests >= 40


@pytest.fixture
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32) / 16, y


def test_classifier_on_digits_with_string_labels_and_dataframes(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    clf = NumpynnClassifier((64,), learning_rate_init=1e-2, max_iter=60, random_state=0, dropout=0.1,
                            early_stopping=True)
    clf.fit(frame[:1400], names[:1400])
    assert clf.score(frame[1400:], names[1400:]) > 0.9
    assert set(clf.classes_) == set(names) and clf.n_features_in_ == 64
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert len(clf.loss_curve_) == clf.n_iter_ and len(clf.validation_scores_) == clf.n_iter_
    assert clf.model_.dtype == np.float32  # float32 in, float32 training
    assert isinstance(clf.predict(frame[1400:1405])[0], str)
    proba = clf.predict_proba(frame[1400:])
    assert proba.shape == (397, 10) and np.allclose(proba.sum(1), 1)


def test_fitted_model_saves_and_loads(digits, tmp_path):
    X, y = digits
    clf = NumpynnClassifier((32,), max_iter=10, random_state=0).fit(X, y)
    clf.model_.save(tmp_path / "clf.safetensors")
    again = nn.load(tmp_path / "clf.safetensors")
    np.testing.assert_array_equal(clf.classes_[again.predict(X)], clf.predict(X))


def test_class_weight_shifts_predictions():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 2)).astype(np.float32)
    y = (X[:, 0] + 0.8 * rng.standard_normal(400) > 1.0).astype(int)  # a rare, noisy class 1
    plain = NumpynnClassifier((16,), max_iter=60, random_state=0).fit(X, y)
    balanced = NumpynnClassifier((16,), max_iter=60, random_state=0, class_weight="balanced").fit(X, y)
    assert (balanced.predict(X) == 1).sum() > 1.5 * (plain.predict(X) == 1).sum()


def test_regressor_in_a_pipeline_with_cross_validation():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
    y = y * 1000 + 5e4  # targets far from unit scale: scaled around the estimator, as for MLPRegressor
    reg = TransformedTargetRegressor(NumpynnRegressor(hidden_layer_sizes=(32,), learning_rate_init=1e-2,
                                                      max_iter=200, random_state=0), transformer=StandardScaler())
    scores = cross_val_score(make_pipeline(StandardScaler(), reg), X, y, cv=3)
    assert scores.min() > 0.9, scores
    multi = NumpynnRegressor(hidden_layer_sizes=(16,), max_iter=100, random_state=0).fit(X, np.column_stack([y, -y]))
    assert multi.predict(X[:3]).shape == (3, 2) and multi.n_outputs_ == 2


def test_grid_and_randomized_search_with_n_jobs(digits):
    X, y = digits
    grid = GridSearchCV(NumpynnClassifier(max_iter=30, random_state=0),
                        {"hidden_layer_sizes": [(16,), (48,)], "learning_rate_init": [3e-3, 1e-2]}, cv=3, n_jobs=2)
    grid.fit(X[:900], y[:900])
    assert grid.best_score_ > 0.85 and len(grid.cv_results_["params"]) == 4
    search = RandomizedSearchCV(NumpynnClassifier(max_iter=20, learning_rate_init=1e-2, random_state=0),
                                {"hidden_layer_sizes": [(16,), (32,), (64,)], "dropout": [0.0, 0.1]},
                                n_iter=3, cv=2, n_jobs=2, random_state=0)
    search.fit(X[:600], y[:600])
    assert search.best_score_ > 0.8


def test_partial_fit_continues_and_rejects_changes(digits):
    X, y = digits
    clf = NumpynnClassifier((32,), learning_rate_init=1e-2, random_state=0)
    chunks = np.array_split(np.arange(1500), 5)
    losses = []
    for _ in range(4):
        for idx in chunks:
            clf.partial_fit(X[idx], y[idx], classes=np.arange(10))
        losses.append(np.mean(clf.loss_curve_[-5:]))
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.6 * losses[0]
    assert clf.n_iter_ == 1 and clf.t_ == 1500 * 4 and len(clf.loss_curve_) == 20
    with pytest.raises(ValueError, match="classes must be passed on the first call to partial_fit"):
        NumpynnClassifier().partial_fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="is not the same as on last call to partial_fit"):
        clf.partial_fit(X[:10], y[:10], classes=np.arange(11))
    with pytest.raises(ValueError, match="X has 63 features, but NumpynnClassifier is expecting 64"):
        clf.partial_fit(X[:10, :63], y[:10])
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
        clf.partial_fit(X[:2], np.array([1, 42]))
    reg = NumpynnRegressor(hidden_layer_sizes=(8,), random_state=0).partial_fit(X[:50], y[:50].astype(float))
    with pytest.raises(ValueError, match=r"the network has layers .* fit without warm_start"):
        reg.partial_fit(X[:50], np.column_stack([y[:50], y[:50]]).astype(float))
    assert not hasattr(NumpynnRegressor(solver="lbfgs"), "partial_fit")  # as for MLPClassifier's lbfgs


def test_grid_search_on_a_dask_cluster_matches_the_local_search(digits):
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_backend

    X, y = digits
    X, y = X[:600], y[:600]
    params = {"hidden_layer_sizes": [(16,), (32,)], "learning_rate_init": [1e-3, 1e-2]}

    def search():
        return GridSearchCV(NumpynnClassifier(max_iter=8, random_state=0), params, cv=3)

    local = search().fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with parallel_backend("dask"):
            remote = search().fit(X, y)
        worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(worker_pids) == 2
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])


def test_numpynn_additions_train_beside_scikit_learns_parameters(digits):
    X, y = digits
    clf = NumpynnClassifier((64, 32), activation=["relu", "gelu"], solver="adamw", learning_rate="cosine",
                            learning_rate_init=3e-3, dropout=0.1, batchnorm=True, max_iter=25, random_state=0,
                            class_weight="balanced", init="he_normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        clf.fit(X[:1400], y[:1400])
    assert clf.score(X[1400:], y[1400:]) > 0.85
    assert [type(ly).__name__ for ly in clf.model_.layers] == ["Dense", "BatchNorm", "ReLU", "Dropout", "Dense",
                                                                "BatchNorm", "GELU", "Dropout", "Dense"]
    assert [c.shape for c in clf.coefs_] == [(64, 64), (64, 32), (32, 10)] and clf.n_layers_ == 4
    assert clf._optimizer.optimizer.weight_decay == 0.01 and clf._optimizer.learning_rate < 3e-3
    with pytest.raises(ValueError, match="dropout=0.1 draws new masks"):
        NumpynnClassifier(solver="lbfgs", dropout=0.1).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="a list of one per hidden layer"):
        NumpynnClassifier((8, 8), activation=["relu"]).fit(X[:50], y[:50])


def test_verbose_prints_scikit_learns_lines_on_stdout(capsys, digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        NumpynnClassifier((8,), max_iter=2, verbose=True, early_stopping=True, random_state=0).fit(X[:300], y[:300])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and len(lines[0].split("= ")[1]) == 10
    assert lines[1].startswith("Validation score: ") and lines[2].startswith("Iteration 2, loss = ")
    assert err == ""


def test_divergence_is_a_value_error_and_leaves_no_non_finite_model():
    X = np.full((20, 2), 1e300)
    y = np.arange(20.0)
    reg = NumpynnRegressor(hidden_layer_sizes=(4,), random_state=0)
    with warnings.catch_warnings(), pytest.raises(ValueError, match="Solver produced non-finite parameter weights") \
            as caught:
        warnings.simplefilter("ignore")
        reg.fit(X, y)
    assert isinstance(caught.value, nn.TrainingDivergedError) and isinstance(caught.value, FloatingPointError)
    assert "layer 0 Dense" in str(caught.value)
    assert not hasattr(reg, "model_") and not hasattr(reg, "coefs_")
    assert reg.n_iter_ < 200  # stopped once the weights were non-finite, not after max_iter epochs


def test_coefs_are_views_of_the_model_and_assignments_reach_it(digits):
    X, y = digits
    clf = NumpynnClassifier((8,), solver="lbfgs", max_iter=20, random_state=0).fit(X, y)
    W = clf.model_.layers[0].params["W"]
    assert np.shares_memory(clf.coefs_[0], W) and clf.coefs_[0].dtype == np.float32
    clf.coefs_[1][...] = 0
    clf.intercepts_[1][...] = np.arange(10)
    assert (clf.predict(X[:5]) == 9).all()
    clf.coefs_ = [np.zeros_like(c) for c in clf.coefs_]  # a new list of new arrays: copied into the model
    clf.intercepts_ = [np.zeros_like(b) for b in clf.intercepts_[:-1]] + [np.eye(10, dtype=np.float32)[3]]
    assert (clf.predict(X[:5]) == 3).all() and (clf.model_.predict(X[:5]) == 3).all()


@pytest.mark.parametrize("sizes", [(2.5,), (True,), (8, 4.0), ("8",), np.array([8.0])], ids=repr)
def test_hidden_layer_sizes_must_be_integers(sizes):
    X, y = np.random.default_rng(0).standard_normal((20, 3)), np.arange(20) % 2
    clf = NumpynnClassifier(hidden_layer_sizes=sizes, max_iter=1)
    with pytest.raises(nn.ArgumentError, match=r"hidden_layer_sizes must be integers \(numbers of units\), got "):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def test_numpy_integer_layer_sizes_train():
    X, y = np.random.default_rng(0).standard_normal((20, 3)), np.arange(20) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = NumpynnClassifier(hidden_layer_sizes=(np.int64(5), np.int32(4)), max_iter=2).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(3, 5), (5, 4), (4, 1)]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_network_too_large_for_memory_is_refused_before_it_is_built(solver, monkeypatch):
    from numpynn import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 2**30)
    X, y = np.random.default_rng(0).standard_normal((20, 3)), np.arange(20) % 2
    clf = NumpynnClassifier(hidden_layer_sizes=(10**9,), solver=solver)
    with pytest.raises(nn.ArgumentError, match=r"a 3-1000000000-1 network needs about [\d.]+ GiB of memory to train "
                                               rf"\(solver '{solver}', batch 20\) but 1.0 GiB is available") as caught:
        clf.fit(X, y)
    need = float(str(caught.value).split("about ")[1].split(" GiB")[0])
    assert need > 100  # 4 * 10^9 float64 parameters, their gradients and the solver's state
    assert not hasattr(clf, "model_")


def test_values_too_large_for_the_networks_float32_are_refused(digits):
    X, y = digits
    clf = NumpynnClassifier((8,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)  # float32 X: a float32 network
    weights = clf.model_.get_weights()
    big = X[:50].astype(np.float64)
    big[3, 5] = 1e300
    message = r"X contains 1 value\(s\) too large for float32 .*the first 1e\+300 at index \(3, 5\)"
    for call in (lambda: clf.predict(big), lambda: clf.predict_proba(big), lambda: clf.partial_fit(big, y[:50]),
                 lambda: clf.score(big, y[:50])):
        with pytest.raises(nn.DataError, match=message):
            call()
    assert all(np.array_equal(a, weights[k]) for k, a in clf.model_.get_weights().items())  # nothing trained
    reg = NumpynnRegressor(hidden_layer_sizes=(4,), max_iter=2)
    target = X[:50, 0].astype(np.float64)
    target[9] = 1e39
    with pytest.raises(nn.DataError, match=r"y contains 1 value\(s\) too large for float32 .*the first 1e\+39 at "
                                           r"index \(9,\)"):
        reg.fit(X[:50], target)
    assert not hasattr(reg, "model_")


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_non_finite_training_loss_is_divergence(solver):
    X = np.random.default_rng(0).standard_normal((20, 2))
    y = np.full(20, 1e300)  # float64 holds it; its squared error does not
    reg = NumpynnRegressor(hidden_layer_sizes=(4,), solver=solver, max_iter=5, random_state=0)
    with warnings.catch_warnings(), pytest.raises(nn.TrainingDivergedError, match=r"Solver produced non-finite"):
        warnings.simplefilter("ignore")
        reg.fit(X, y)
    assert not hasattr(reg, "model_")
