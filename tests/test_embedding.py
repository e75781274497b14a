"""Embedding: categorical columns as learned vectors; its layout, its refusals, its gradients, its model files,
its prediction through every path, and that it learns what only a category tells."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import numpynn as nn
from numpynn.errors import ArgumentError, DataError, ShapeError

COLUMNS, CARDS, DIMS = [1, 4], [7, 3], [4, 2]  # 6 inputs: 1 and 4 hold codes, 0, 2, 3, 5 are ordinary
N_IN = 6


def table(n: int, seed: int = 0, dtype="float32") -> np.ndarray:
    """n rows of 6 columns: standard-normal features, codes 0..6 in column 1 and 0..2 in column 4."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_IN))
    X[:, 1], X[:, 4] = rng.integers(0, 7, n), rng.integers(0, 3, n)
    return X.astype(dtype)


def model(dtype="float32", hidden=(8,), n_out=3, seed=0) -> nn.Sequential:
    spec = {"columns": COLUMNS, "cardinalities": CARDS, "dims": DIMS}
    return nn.build_mlp(N_IN, list(hidden), n_out, embedding=spec, seed=seed, dtype=dtype)


def by_hand(layer: nn.Embedding, X: np.ndarray) -> np.ndarray:
    """The layout of the docstring, row by row: the ordinary columns, then each code column's vector."""
    rows = []
    for x in X:
        plain = [x[j] for j in range(N_IN) if j not in COLUMNS]
        vectors = [layer.params[f"E{i}"][int(x[c])] for i, c in enumerate(COLUMNS)]
        rows.append(np.concatenate([plain, *vectors]))
    return np.array(rows, dtype=X.dtype)


def test_the_output_is_the_ordinary_columns_then_each_code_columns_vector():
    m = model()
    layer, X = m.layers[0], table(20)
    assert layer.output_shape == (N_IN - 2 + 6,) and m.layers[1].in_features == 10
    want = by_hand(layer, X)
    np.testing.assert_array_equal(layer.infer(X), want)
    np.testing.assert_array_equal(layer.forward(X, training=True), want)
    assert {k for k, _, _ in m.parameters()} >= {"0.E0", "0.E1"}
    assert m.layers[0].params["E0"].shape == (7, 4) and m.layers[0].params["E1"].shape == (3, 2)
    # the tables are views into the model's one parameter vector, as Dense's W and b are
    assert np.shares_memory(layer.params["E0"], m.flat.values) and np.shares_memory(layer.grads["E1"], m.flat.grads)


def test_the_initial_tables_are_uniform_within_one_over_sqrt_dim():
    layer = nn.Sequential([nn.Embedding([0], [5000], [16]), nn.Dense(16, 1)], input_shape=(1,), seed=3).layers[0]
    E = layer.params["E0"]
    assert np.abs(E).max() <= 0.25 and np.abs(E).max() > 0.249  # 1/sqrt(16), reached by 80,000 draws
    assert abs(float(E.std()) - 0.25 / np.sqrt(3)) < 0.005


@pytest.mark.parametrize("bad, column, row", [(np.nan, 1, 2), (2.5, 4, 3), (-1.0, 1, 0), (7.0, 1, 5), (3.0, 4, 1),
                                              (np.inf, 4, 4), (-0.5, 4, 0)])
def test_a_code_that_is_not_a_whole_number_in_range_is_refused_naming_column_value_and_range(bad, column, row):
    m = model()
    layer, X = m.layers[0], table(6)
    X[row, column] = bad
    top = CARDS[COLUMNS.index(column)] - 1
    match = rf"input column {column} holds category codes .* 0\.\.{top}; row {row} has {float(bad)!r}"
    for call in (layer.infer, lambda x: layer.forward(x, training=True), m.forward):
        with pytest.raises(DataError, match=match):
            call(X)
    if np.isfinite(bad):  # predict refuses NaN and inf itself, before any layer sees them
        with pytest.raises(DataError, match=match):
            m.predict(X)
        with pytest.raises(DataError, match=match):
            m.fit(X, np.zeros(6, np.int64), epochs=1, verbose=0)


def test_every_bad_code_is_counted_in_one_pass():
    layer, X = model().layers[0], table(50)
    X[[3, 9, 20], 1] = [7, 1.5, -2]
    X[40, 4] = 9
    with pytest.raises(DataError, match=r"row 3 has 7\.0 \(4 such value\(s\) in the code columns\)"):
        layer.infer(X)


def test_backward_adds_up_the_rows_that_share_a_code_and_passes_the_ordinary_columns_through():
    m = model(dtype="float64")
    layer, X = m.layers[0], table(40, dtype="float64")
    X[:10, 1] = 3  # many rows share a code
    layer.forward(X, training=True)
    dy = np.random.default_rng(5).standard_normal((40, 10))
    dx = layer.backward(dy)
    for i, (c, card, dim) in enumerate(zip(COLUMNS, CARDS, DIMS, strict=True)):
        start = 4 + sum(DIMS[:i])
        want = np.zeros((card, dim))
        for r in range(40):
            want[int(X[r, c])] += dy[r, start:start + dim]
        np.testing.assert_allclose(layer.grads[f"E{i}"], want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(dx[:, COLUMNS], 0)
    np.testing.assert_array_equal(dx[:, [0, 2, 3, 5]], dy[:, :4])
    layer.forward(X[:5], training=True)  # a smaller batch next: gradients are the new batch's only
    layer.backward(dy[:5])
    assert layer.grads["E0"].sum() == pytest.approx(dy[:5, 4:8].sum())


@pytest.mark.parametrize("args, match", [
    (([1, 2], [3], [2]), "2 columns, 1 cardinalities and 1 dims"),
    (([2, 1], [3, 3], [2, 2]), "sorted and unique"),
    (([1, 1], [3, 3], [2, 2]), "sorted and unique"),
    (([-1], [3], [2]), r"columns must be integers in \[0, "),
    (([0], [0], [2]), r"cardinalities must be integers in \[1, "),
    (([0], [-4], [2]), "cardinalities must be integers"),
    (([0], [3], [0]), "dims must be integers"),
    (([0], [3], [True]), "dims must be integers"),
    (([0.0], [3], [2]), "columns must be integers"),
    (([0], [2**40], [2]), "cardinalities must be integers"),
    (([0], [2**20], [2**12]), r"1048576 x 4096 = 4,294,967,296 values; at most 2,147,483,648"),
    (([], [], []), "non-empty list"),
    (("0", [3], [2]), "non-empty list of integers"),
    ((None, [3], [2]), "non-empty list of integers"),
])
def test_the_constructor_refuses_what_builds_no_table(args, match):
    with pytest.raises(ValueError, match=match):
        nn.Embedding(*args)


def test_numpy_integers_and_tuples_are_taken():
    layer = nn.Embedding(np.array([0, 2]), (np.int64(4), 5), [np.int32(2), 3])
    assert layer.get_config() == {"columns": [0, 2], "cardinalities": [4, 5], "dims": [2, 3]}
    assert all(type(v) is int for v in layer.get_config()["cardinalities"])


def test_building_refuses_columns_outside_the_input_an_unknown_width_and_codes_float32_cannot_hold():
    with pytest.raises(ShapeError, match=r"positions 0\.\.5 of the 6 input columns, got 6"):
        nn.Sequential([nn.Embedding([6], [3], [2]), nn.Dense(7, 1)], input_shape=(6,))
    with pytest.raises(ShapeError, match="give the model its input shape"):
        nn.Sequential([nn.Embedding([0], [3], [2]), nn.Dense(2, 1)])
    with pytest.raises(ArgumentError, match=r"float32 model holds category codes exactly only up to 16,777,216"):
        nn.Sequential([nn.Embedding([0], [2**24 + 1], [1]), nn.Dense(1, 1)], input_shape=(1,))
    with pytest.raises(ShapeError, match=r"Dense\(9\u21921\) cannot follow"):  # 6 - 2 + 6 = 10 columns come out
        nn.Sequential([nn.Embedding(COLUMNS, CARDS, DIMS), nn.Dense(9, 1)], input_shape=(6,))
    with pytest.raises(ShapeError, match=r"expected a dense input array \(batch, 6\), got \(4, 5\)"):
        model().layers[0].infer(np.zeros((4, 5), np.float32))


def test_build_mlp_puts_the_embedding_first_and_sizes_the_first_dense():
    m = nn.build_mlp(N_IN, [8], 2, input_dropout=0.2, embedding={"columns": COLUMNS, "cardinalities": CARDS,
                                                                  "dims": DIMS})
    assert [type(ly).__name__ for ly in m.layers] == ["Embedding", "Dropout", "Dense", "Dense"]
    assert m.layers[2].in_features == 10 and m.input_shape == (N_IN,)
    m.fit(table(64), np.arange(64) % 2, epochs=1, verbose=0)  # the dropout never touches a code
    plain = nn.build_mlp(N_IN, [8], 2)
    assert plain.layers[0].in_features == N_IN
    for bad in ({"columns": [1]}, {"columns": [1], "cardinalities": [3], "dims": [2], "extra": 1}, [1, 2]):
        with pytest.raises(ValueError, match="embedding must be None or a dict with the keys"):
            nn.build_mlp(N_IN, [8], 2, embedding=bad)


@pytest.mark.parametrize("rows", [1, 3, 5000])
def test_predict_and_predict_proba_agree_with_the_layers_for_1_3_and_5000_rows(rows):
    m = model(hidden=(16, 8))
    X = table(rows, seed=rows)
    h = by_hand(m.layers[0], X).astype(np.float64)
    for dense in m.layers[1:]:
        h = h @ dense.params["W"].astype(np.float64) + dense.params["b"]
        if dense.activation == "relu":
            h = np.maximum(h, 0)
    e = np.exp(h - h.max(axis=1, keepdims=True))
    want = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(m.predict_proba(X), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(m.predict(X), m.predict_proba(X).argmax(axis=1))
    np.testing.assert_allclose(m.predict_logits(X, batch_size=2), h, rtol=1e-5, atol=1e-5)


def test_the_embedding_learns_what_only_the_category_tells():
    """The label is a fixed map of a 40-category column; the ordinary columns are noise."""
    rng = np.random.default_rng(11)
    n, card = 2000, 40
    X = rng.standard_normal((n, 3)).astype(np.float32)
    X[:, 2] = rng.integers(0, card, n)
    label_of = rng.integers(0, 4, card)
    y = label_of[X[:, 2].astype(int)]
    m = nn.build_mlp(3, [16], 4, embedding={"columns": [2], "cardinalities": [card], "dims": [4]}, seed=0)
    before = m.layers[0].params["E0"].copy()
    start = m.evaluate(X, y)
    m.fit(X, y, epochs=15, batch_size=64, optimizer=nn.Adam(1e-2), verbose=0)
    end = m.evaluate(X, y)
    assert end["loss"] < 0.25 * start["loss"] and end["accuracy"] > 0.95, (start, end)
    assert np.abs(m.layers[0].params["E0"] - before).max() > 0.1  # the tables themselves were trained
    shuffled = X.copy()
    shuffled[:, 2] = rng.permutation(shuffled[:, 2])
    assert m.evaluate(shuffled, y)["accuracy"] < 0.6  # it is the category, not the noise, that it learned


def test_a_model_file_round_trip_keeps_tables_optimizer_state_and_predictions(tmp_path):
    m = model()
    X, y = table(128), np.arange(128) % 3
    m.fit(X, y, epochs=2, batch_size=32, optimizer="adam", verbose=0)
    m.save(tmp_path / "m.safetensors")
    back = nn.load(tmp_path / "m.safetensors")
    assert back.get_config() == m.get_config()
    assert isinstance(back.layers[0], nn.Embedding) and back.layers[0].get_config() == m.layers[0].get_config()
    for key, a in m.get_weights().items():
        np.testing.assert_array_equal(back.get_weights()[key], a, err_msg=key)
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    m.fit(X, y, epochs=1, batch_size=32, verbose=0)
    back.fit(X, y, epochs=1, batch_size=32, verbose=0)  # resumed: the same Adam moments, order and step
    np.testing.assert_array_equal(back.flat.values, m.flat.values)


def test_saving_probes_with_valid_codes_and_copies_predict_alike(tmp_path):
    m = nn.Sequential([nn.Embedding([0], [2], [3]), nn.Dense(3, 2)], input_shape=(1,), seed=0)  # codes only
    m.save(tmp_path / "codes.safetensors")  # its overflow probe must not be refused as bad codes
    X = np.array([[0], [1], [1]], np.float32)
    np.testing.assert_array_equal(nn.load(tmp_path / "codes.safetensors").predict_logits(X), m.predict_logits(X))
    np.testing.assert_array_equal(copy.deepcopy(m).predict_logits(X), m.predict_logits(X))
    np.testing.assert_array_equal(copy.copy(m).predict_logits(X), m.predict_logits(X))
    assert "Embedding(1\u21923, 1 table)" in m.summary(print_fn=None)


def test_saliency_is_zero_in_the_code_columns():
    m = model()
    X = table(10)
    g = m.input_gradients(X, 1)
    np.testing.assert_array_equal(g[:, COLUMNS], 0)
    assert np.abs(g[:, [0, 2, 3, 5]]).max() > 0
