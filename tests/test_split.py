"""validation_rows: the held-out rows of fit's validation_split and the estimators' early stopping."""

from __future__ import annotations

import numpy as np
import pytest

import numpynn as nn
from numpynn.training.split import validation_rows


@pytest.mark.parametrize("n, fraction, seed", [(10, 0.1, 0), (10, 0.25, 3), (150, 0.2, 5), (7, 0.5, 2),
                                               (1001, 0.333, 42), (3, 0.01, 1)])
def test_rows_are_disjoint_sorted_cover_everything_and_match_the_old_formula(n, fraction, seed):
    train, val = validation_rows(n, fraction, seed)
    assert train.dtype == val.dtype == np.int64
    assert len(val) == max(1, round(n * fraction))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    assert not set(train.tolist()) & set(val.tolist())
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    # the rule fit and the estimators used before they shared this helper
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * fraction)))
    assert np.array_equal(val, np.sort(order[:n_val])) and np.array_equal(train, np.sort(order[n_val:]))


def test_the_same_seed_gives_the_same_rows_and_another_seed_others():
    a, b, c = validation_rows(200, 0.3, 7), validation_rows(200, 0.3, 7), validation_rows(200, 0.3, 8)
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[1], c[1])


def test_fit_holds_out_the_same_rows(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 3)], seed=5)
    model.fit(X, y, validation_split=0.2, epochs=1, verbose=0, metrics=["accuracy"])
    _, val = validation_rows(len(X), 0.2, model.seed)
    assert model.history["val_loss"][-1] == pytest.approx(model.evaluate(X[val], y[val])["loss"], rel=1e-6)


@pytest.mark.parametrize("n, fraction", [(1, 0.1), (2, 0.9), (0, 0.5)])
def test_nothing_left_to_train_on_is_a_data_error(n, fraction):
    with pytest.raises(nn.DataError, match=f"of {n} samples .* leaves none to train on"):
        validation_rows(n, fraction, 0)


@pytest.mark.parametrize("n, fraction, match", [(10, 0.0, "in \\(0, 1\\), got 0.0"), (10, 1.0, "got 1.0"),
                                                (10, float("nan"), "got nan"), (10, True, "got True"),
                                                (-1, 0.5, "integer >= 0\\), got -1"), (2.5, 0.5, "got 2.5")])
def test_bad_arguments_say_what_was_expected(n, fraction, match):
    with pytest.raises(ValueError, match=match):
        validation_rows(n, fraction, 0)


def test_early_stopping_with_nothing_left_to_train_on_raises_scikit_learns_error():
    pytest.importorskip("sklearn")
    from numpynn.sklearn import NumpynnClassifier

    X, y = np.array([[0.0], [1.0]]), np.array([0, 1])
    with pytest.raises(ValueError, match="With n_samples=2, test_size=0.9 .* the resulting train set will be empty"):
        NumpynnClassifier((4,), early_stopping=True, validation_fraction=0.9, random_state=0).fit(X, y)
