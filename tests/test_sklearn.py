"""The scikit-learn estimators: scikit-learn's own checks, model selection, partial_fit, and a Dask cluster."""

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


@pytest.mark.parametrize("estimator", [NumpynnClassifier(), NumpynnRegressor()], ids=lambda e: type(e).__name__)
def test_check_estimator_passes_every_check(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    not_passed = [(r["check_name"], r["status"], str(r["exception"])[:200]) for r in results if r["status"] != "passed"]
    assert len(results) >= 60 and not_passed == []


@pytest.fixture
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32) / 16, y


def test_classifier_on_digits_with_string_labels_and_dataframes(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    clf = NumpynnClassifier((64,), learning_rate=1e-2, max_iter=60, random_state=0, dropout=0.1, early_stopping=True)
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
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
    y = y * 1000 + 5e4  # targets far from unit scale are standardised internally
    pipe = make_pipeline(StandardScaler(), NumpynnRegressor((32,), learning_rate=1e-2, max_iter=200, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.min() > 0.9, scores
    multi = NumpynnRegressor((16,), max_iter=100, random_state=0).fit(X, np.column_stack([y, -y]))
    assert multi.predict(X[:3]).shape == (3, 2)


def test_grid_and_randomized_search_with_n_jobs(digits):
    X, y = digits
    grid = GridSearchCV(NumpynnClassifier(max_iter=30, random_state=0),
                        {"hidden_layer_sizes": [(16,), (48,)], "learning_rate": [3e-3, 1e-2]}, cv=3, n_jobs=2)
    grid.fit(X[:900], y[:900])
    assert grid.best_score_ > 0.85 and len(grid.cv_results_["params"]) == 4
    search = RandomizedSearchCV(NumpynnClassifier(max_iter=20, learning_rate=1e-2, random_state=0),
                                {"hidden_layer_sizes": [(16,), (32,), (64,)], "dropout": [0.0, 0.1]},
                                n_iter=3, cv=2, n_jobs=2, random_state=0)
    search.fit(X[:600], y[:600])
    assert search.best_score_ > 0.8


def test_partial_fit_continues_and_rejects_changes(digits):
    X, y = digits
    clf = NumpynnClassifier((32,), learning_rate=1e-2, random_state=0)
    chunks = np.array_split(np.arange(1500), 5)
    losses = []
    for _ in range(4):
        for idx in chunks:
            clf.partial_fit(X[idx], y[idx], classes=np.arange(10))
        losses.append(np.mean(clf.loss_curve_[-5:]))
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.6 * losses[0]
    with pytest.raises(ValueError, match="the classes cannot change"):
        clf.partial_fit(X[:10], y[:10], classes=np.arange(11))
    with pytest.raises(ValueError, match="X has 63 features, but NumpynnClassifier is expecting 64"):
        clf.partial_fit(X[:10, :63], y[:10])
    with pytest.raises(ValueError, match=r"labels \[42\] that are not in classes_"):
        clf.partial_fit(X[:2], np.array([1, 42]))
    reg = NumpynnRegressor((8,), random_state=0).partial_fit(X[:50], y[:50].astype(float))
    with pytest.raises(ValueError, match="target column"):
        reg.partial_fit(X[:50], np.column_stack([y[:50], y[:50]]).astype(float))


def test_grid_search_on_a_dask_cluster_matches_the_local_search(digits):
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_backend

    X, y = digits
    X, y = X[:600], y[:600]
    params = {"hidden_layer_sizes": [(16,), (32,)], "learning_rate": [1e-3, 1e-2]}

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
