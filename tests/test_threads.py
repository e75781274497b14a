"""Prediction is reentrant: many threads predicting with one model each get the answer of a serial call.

Every layer kind (Dense with its own activation, separate activation layers, BatchNorm, Dropout, Flatten) and
the row counts that take each path (the few-row C predictor, the batch predictor, the layers' own passes)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import numpynn as nn

THREADS = 8
ROWS = (1, 2, 3, 64, 5000)
REPEATS = 12


def _models() -> dict[str, nn.Sequential]:
    return {
        "dense stack": nn.Sequential([nn.Dense(20, 32, "relu"), nn.Dense(32, 16, "relu"), nn.Dense(16, 4)], seed=1),
        "separate activations": nn.Sequential([nn.Dense(20, 32), nn.Tanh(), nn.Dense(32, 16), nn.ReLU(),
                                               nn.Dense(16, 4), nn.Softmax()], seed=2),
        "batchnorm and dropout": nn.Sequential([nn.Dense(20, 32), nn.BatchNorm(), nn.ReLU(), nn.Dropout(0.3),
                                                nn.Dense(32, 16, "elu"), nn.BatchNorm(), nn.Dense(16, 4)], seed=3),
        "flatten first": nn.Sequential([nn.Flatten((4, 5)), nn.Dense(20, 16, "gelu"), nn.LeakyReLU(0.1),
                                        nn.Dense(16, 4)], seed=4),
    }


def _trained(model: nn.Sequential, X: np.ndarray, y: np.ndarray) -> nn.Sequential:
    """A few epochs give BatchNorm running statistics unlike its initial ones."""
    model.fit(X.reshape((len(X), *model.input_shape)), y, epochs=2, batch_size=64, verbose=0)
    return model


def _concurrently(call, inputs: list, expected: list) -> list[str]:
    """Run call(x) for every input from THREADS threads at once, REPEATS times each; the mismatches."""
    start, wrong = threading.Barrier(THREADS), []

    def work(t: int) -> None:
        start.wait()
        for r in range(REPEATS):
            for k in range(len(inputs)):
                k = (k + t + r) % len(inputs)  # threads interleave different row counts
                got = call(inputs[k])
                same = got == expected[k] if isinstance(got, dict) else np.array_equal(got, expected[k])
                if not same:
                    wrong.append(f"thread {t}, input {k}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return wrong


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((6000, 20)).astype(np.float32)
    y = (X[:, :4].argmax(axis=1)).astype(np.int64)
    return X, y


@pytest.mark.parametrize("name", list(_models()))
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_logits"])
def test_threads_predicting_with_one_model_get_the_serial_answer(table, name, method):
    X, y = table
    model = _trained(_models()[name], X[:512], y[:512])
    shape = model.input_shape
    inputs = [np.ascontiguousarray(X[100:100 + n].reshape((n, *shape))) for n in ROWS]
    call = getattr(model, method)
    expected = [call(x) for x in inputs]
    assert _concurrently(call, inputs, expected) == []


@pytest.mark.parametrize("name", list(_models()))
def test_threads_evaluating_with_one_model_get_the_serial_figures(table, name):
    X, y = table
    model = _trained(_models()[name], X[:512], y[:512])
    shape = model.input_shape
    pairs = [(X[:n].reshape((n, *shape)), y[:n]) for n in ROWS]
    expected = [model.evaluate(x, t, metrics=["accuracy"]) for x, t in pairs]
    wrong = _concurrently(lambda k: model.evaluate(*pairs[k], metrics=["accuracy"]), list(range(len(ROWS))),
                          expected)
    assert wrong == []


def test_threads_predicting_one_row_of_a_digit_model_get_the_serial_answer():
    """The model size numpynn serves: one-, two- and three-row inputs take the few-row predictor."""
    model = nn.build_mlp(784, [256, 128], 10, seed=0)
    rng = np.random.default_rng(3)
    inputs = [rng.random((n, 784), dtype=np.float32) * (rng.random((n, 784)) < 0.3) for n in (1, 2, 3, 2, 1, 3)]
    for method in ("predict", "predict_proba"):
        call = getattr(model, method)
        expected = [call(x) for x in inputs]
        assert _concurrently(call, inputs, expected) == []


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")
@pytest.mark.parametrize("batchnorm", [False, True])
def test_threads_predicting_with_one_estimator_get_the_serial_answer(table, batchnorm):
    pytest.importorskip("sklearn")
    from numpynn.sklearn import NumpynnClassifier, NumpynnRegressor

    X, y = table
    clf = NumpynnClassifier(hidden_layer_sizes=(32, 16), batchnorm=batchnorm, max_iter=3, random_state=0)
    clf.fit(X[:800], y[:800])
    reg = NumpynnRegressor(hidden_layer_sizes=(16,), batchnorm=batchnorm, max_iter=3, random_state=0)
    reg.fit(X[:800], X[:800, 0])
    inputs = [X[:n] for n in ROWS]
    for call in (clf.predict, clf.predict_proba, reg.predict):
        expected = [call(x) for x in inputs]
        assert _concurrently(call, inputs, expected) == []


def test_saliency_from_threads_matches_the_serial_answer_and_prediction_is_untouched(table):
    X, y = table
    model = _trained(_models()["batchnorm and dropout"], X[:512], y[:512])
    x = X[:16]
    expected_grad, expected_pred = model.input_gradients(x, 1), model.predict_proba(x)
    wrong = _concurrently(lambda k: model.input_gradients(x, 1) if k == 0 else model.predict_proba(x), [0, 1],
                          [expected_grad, expected_pred])
    assert wrong == []
