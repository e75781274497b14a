"""Class names travel with the model: fit on labels given as names (or names set first) and the estimators'
classes_ are kept in the model file, and predict, evaluate, serve and the exports say them."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import numpynn as nn
from numpynn.cli import main
from numpynn.errors import ArgumentError, DataError
from numpynn.export.plan import plan_of
from numpynn.serve import load_served

SPECIES = np.array(["Adelie", "Chinstrap", "Gentoo"])


def test_fit_on_names_keeps_them_in_the_file_and_every_reader_says_them(tmp_path, blobs, capsys):
    X, y = blobs
    model = nn.build_mlp(4, [8], 3, seed=0)
    model.fit(X, SPECIES[y], epochs=3, verbose=0, validation_data=(X[:10], list(SPECIES[y[:10]])))
    assert model.class_names == tuple(SPECIES)  # sorted, as scikit-learn sorts classes_
    model.save(tmp_path / "m.safetensors")
    loaded = nn.Sequential.load(tmp_path / "m.safetensors")
    assert loaded.class_names == tuple(SPECIES)
    np.save(tmp_path / "x.npy", X[:4])
    assert main(["predict", str(tmp_path / "m.safetensors"), str(tmp_path / "x.npy"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["classes"] == list(SPECIES) and out["labels"] == [SPECIES[p] for p in loaded.predict(X[:4])]
    assert load_served(tmp_path / "m.safetensors").info()["class_names"] == list(SPECIES)  # the draw page's
    assert plan_of(loaded).class_names == tuple(SPECIES)  # both exporters read the plan's


def test_names_set_first_give_the_order_and_unknown_or_missing_names_are_refused(blobs):
    X, y = blobs
    model = nn.build_mlp(4, [8], 3, seed=0)
    model.class_names = ["Gentoo", "Adelie", "Chinstrap"]
    model.fit(X, SPECIES[y], epochs=1, verbose=0)
    assert model.class_names == ("Gentoo", "Adelie", "Chinstrap")
    with pytest.raises(DataError, match=r"labels \['Emperor'\] that are not among the model's class_names"):
        model.fit(X[:3], ["Emperor", "Adelie", "Gentoo"], epochs=1, verbose=0)
    with pytest.raises(DataError, match=r"y names 2 classes \['a', 'b'\] for a model with 3 classes; set "
                                        r"model.class_names"):
        nn.build_mlp(4, [8], 3, seed=0).fit(X, np.array(["a", "b"])[y % 2], epochs=1, verbose=0)
    with pytest.raises(ArgumentError, match="class_names must be 3 different names"):
        model.class_names = ["a", "a", "b"]
    with pytest.raises(ArgumentError, match="class_names must be 3 different names"):
        model.class_names = "abc"


def test_an_estimators_classes_are_its_model_files_class_names(tmp_path, blobs):
    pytest.importorskip("sklearn")
    from numpynn.sklearn import NumpynnClassifier

    X, y = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = NumpynnClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, SPECIES[y])
    est.model_.save(tmp_path / "est.safetensors")
    assert nn.Sequential.load(tmp_path / "est.safetensors").class_names == tuple(est.classes_)
    assert load_served(tmp_path / "est.safetensors").info()["class_names"] == list(SPECIES)


def fit_recording_warnings(est, X, y):
    """The warnings est.fit(X, y) raised, and the line of this file that called it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return caught, fit_recording_warnings.__code__.co_firstlineno + 4


def test_convergence_warnings_point_at_the_callers_line(blobs):
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning

    from numpynn.sklearn import NumpynnClassifier

    X, y = blobs
    for solver in ("adam", "lbfgs"):
        caught, line = fit_recording_warnings(NumpynnClassifier(hidden_layer_sizes=(4,), max_iter=2, solver=solver),
                                              X, y)
        hits = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        assert hits and all((w.filename, w.lineno) == (__file__, line) for w in hits), \
            [(w.filename, w.lineno) for w in hits]


def test_the_sklearn_guide_names_the_version_it_speaks_of():
    from pathlib import Path

    from numpynn.version import __version__

    doc = (Path(__file__).parent.parent / "docs" / "sklearn.md").read_text()
    assert f"## Changes to the estimators since the numpynn {__version__} release" in doc
    assert f"its version still reads\n{__version__}" in doc and "changes from numpynn 0.2" not in doc.lower()
