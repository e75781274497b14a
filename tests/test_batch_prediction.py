"""Prediction of many rows (ops/batch_rows.py): the same numbers as the layers' forward passes, in chunks or not."""

from __future__ import annotations

import numpy as np
import pytest

import numpynn as nn
from numpynn.ops import batch_rows
from numpynn.ops.activations import softmax

ACTS = ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ACTS)
def test_many_rows_agree_with_the_forward_pass_in_any_chunking(act, dtype, rng):
    model = nn.Sequential([nn.Dense(9, 12, act), nn.Dropout(0.2), nn.Dense(12, 7), nn.LeakyReLU(0.3),
                           nn.Dense(7, 4)], seed=3, dtype=dtype)
    X = rng.normal(size=(37, 9)).astype(dtype)
    assert model._predictor is not None
    logits = model.forward(X).copy()
    want = softmax(logits, np.empty_like(logits))
    tol = 1e-6 if dtype == "float32" else 1e-13
    for batch_size in (None, 10, 36, 1):  # one chunk; equal chunks of 10, 10, 10, 7; of 19 and 18; row by row
        proba = model.predict_proba(X, batch_size=batch_size)
        assert proba.dtype == np.dtype(dtype) and proba.flags.c_contiguous
        np.testing.assert_allclose(proba, want, rtol=tol, atol=tol)
        np.testing.assert_allclose(model.predict_logits(X, batch_size=batch_size), logits, rtol=tol, atol=tol)
    np.testing.assert_array_equal(model.predict(X), logits.argmax(axis=1))


def test_each_call_hands_back_an_array_of_its_own(rng):
    model = nn.build_mlp(8, [16], 3, seed=0)
    X = rng.normal(size=(50, 8)).astype(np.float32)
    first = model.predict_proba(X)
    kept = first.copy()
    model.predict_proba(X[::-1].copy())
    model.predict_logits(X * 2)
    np.testing.assert_array_equal(first, kept)


def test_the_memory_bound_splits_large_inputs(rng, monkeypatch):
    model = nn.build_mlp(5, [64], 2, seed=0, dtype="float64")
    X = rng.normal(size=(1000, 5))
    whole = model.predict_proba(X)
    monkeypatch.setattr(batch_rows, "CHUNK_BYTES", 64 * 8 * 30)  # 30 rows of the hidden layer at a time
    model._index_parameters()  # a new predictor, made under the new bound
    run = model._predictor
    assert getattr(run, "_batch", run)._max_rows == 30  # the C engine's predictor keeps its batch path apart
    np.testing.assert_allclose(model.predict_proba(X), whole, rtol=1e-13, atol=1e-13)


def test_models_that_are_not_a_dense_stack_use_the_forward_pass(rng):
    model = nn.Sequential([nn.Dense(6, 5), nn.BatchNorm(), nn.ReLU(), nn.Dense(5, 3)], seed=0)
    assert model._predictor is None
    X = rng.normal(size=(20, 6)).astype(np.float32)
    logits = model.forward(X).copy()
    np.testing.assert_allclose(model.predict_proba(X), softmax(logits, np.empty_like(logits)), rtol=1e-6)


def test_bias_relu_on_the_calling_thread_alone_is_the_shared_one_bit_for_bit(engine, rng):
    if engine != "c":
        pytest.skip("a switch of the C engine")
    from numpynn.ops import _fused

    for dtype in (np.float32, np.float64):
        z = rng.normal(size=(3000, 64)).astype(dtype)  # long enough to be split when shared
        b = rng.normal(size=64).astype(dtype)
        shared, alone = z.copy(), z.copy()
        _fused.bias_relu(shared, b)
        _fused.bias_relu(alone, b, False)
        np.testing.assert_array_equal(alone, shared)
        np.testing.assert_array_equal(alone, np.maximum(z + b, 0))
