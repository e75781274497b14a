"""The plan (numpynn.plan) is the one description of prediction: the model predicts with it, the exporters
write it, saliency walks it; each agrees with the others on a grid of models (every activation, BatchNorm,
Dropout, activation layers fused and not, every output kind, float32 and float64)."""

from __future__ import annotations

import numpy as np
import pytest

import numpynn as nn
from numpynn.export.plan import plan_of
from numpynn.ops.activations import sigmoid, softmax
from tests.export_grid import TOLERANCE, case_id, cases, inputs, make_model


def _from_plan(plan, x):
    """predict_proba or predict, computed from the plan alone."""
    z = plan.logits(x)
    if plan.output == "softmax":
        return softmax(z, np.empty_like(z))
    if plan.output in ("sigmoid", "sigmoid_binary"):
        return plan.probability_columns(sigmoid(z, np.empty_like(z)))
    return z


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_the_model_predicts_what_its_plan_says_and_the_exporters_write_that_plan(case):
    act, output, dtype, norm = case
    model = make_model(*case)
    x = inputs(40, dtype)
    predict = model.predict_proba if model.loss.is_classification else model.predict
    tol = TOLERANCE[dtype]
    for rows in (1, 3, 40):  # the engine's few-row and batch predictors where the plan is a Dense stack
        np.testing.assert_allclose(predict(x[:rows]), _from_plan(model.plan, x[:rows]), rtol=tol, atol=tol)
    exported = plan_of(model)
    assert [(s.op, s.layer, s.activation) for s in exported.steps] == \
        [(s.op, s.layer, s.activation) for s in model.plan.steps]
    assert exported.output == model.plan.output
    assert not any(isinstance(s.layer, nn.Dropout) for s in model.plan.steps)
    if model.loss.is_classification:
        np.testing.assert_array_equal(model.predict(x), model.plan.labels(model.predict_logits(x)))


def test_the_plan_follows_weights_set_later_and_is_made_anew_when_the_model_changes():
    model = make_model("tanh", "multiclass", "float64", True)
    x = inputs(5, "float64")
    before = model.predict_proba(x)
    plan = model.plan
    model.set_weights({k: v * 0.5 for k, v in model.get_weights().items()})  # the plan holds the layers
    assert model.plan is plan and not np.allclose(model.predict_proba(x), before)
    model.set_loss("binary_cross_entropy")
    assert model.plan is not plan and model.plan.output == "sigmoid"
    plan = model.plan
    model.preprocessing = {"normalize": "none"}
    assert model.plan is not plan and model.plan.preprocessing == {"normalize": "none"}


def test_a_layer_the_plan_does_not_know_runs_by_its_own_infer_and_is_not_exported(tmp_path):
    class Doubler(nn.Layer):
        def forward(self, x, *, training=False):
            return np.multiply(x, 2, out=self._buffer("y", x.shape))

    model = nn.Sequential([nn.Dense(4, 3), Doubler(), nn.Dense(3, 2)], seed=0)
    x = np.ones((2, 4), np.float32)
    assert [s.op for s in model.plan.steps] == ["dense", "layer", "dense"]
    W, b = model.layers[0].params["W"], model.layers[0].params["b"]
    h = 2 * (x @ W + b)
    np.testing.assert_allclose(model.predict_logits(x), h @ model.layers[2].params["W"] + model.layers[2].params["b"],
                               rtol=1e-6)
    with pytest.raises(nn.NumpynnError, match=r"layer 1 \(Doubler\) cannot be exported"):
        plan_of(model)


def test_the_plan_traces_every_step_in_one_pass():
    model = make_model("relu", "multiclass", "float32", True)
    x = inputs(3, "float32")
    trace = model.plan.trace(x)
    assert [s for s, _ in trace] == list(model.plan.steps)
    np.testing.assert_array_equal(trace[-1][1], model.plan.logits(x))


def test_prediction_never_writes_the_callers_array_even_when_steps_work_in_place():
    model = nn.Sequential([nn.Flatten((2, 3)), nn.Tanh(), nn.BatchNorm(), nn.Dense(6, 4), nn.BatchNorm(), nn.ReLU(),
                           nn.Dense(4, 2)], seed=0)
    x = inputs(5, "float32").reshape(5, 2, 3)
    kept = x.copy()
    out = model.predict_logits(x)
    np.testing.assert_array_equal(x, kept)
    trace = model.plan.trace(x)  # each step's output kept as it was made
    np.testing.assert_array_equal(trace[-1][1], out)
    np.testing.assert_allclose(trace[1][1], np.tanh(kept.reshape(5, 6)), rtol=1e-6)


@pytest.mark.parametrize("layers", [
    lambda: [nn.Dense(784, 16, "relu"), nn.Dense(16, 10)],
    lambda: [nn.Dense(784, 16), nn.BatchNorm(), nn.Tanh(), nn.Dropout(0.2), nn.Dense(16, 8), nn.ELU(0.5),
             nn.Dense(8, 10)],
], ids=["dense-stack", "batchnorm-separate-activations"])
def test_the_serve_page_shows_what_the_model_predicts(layers):
    pytest.importorskip("PIL")
    from numpynn.data import apply_preprocessing
    from numpynn.serve.draw import DrawModel

    model = nn.Sequential(layers(), seed=3)
    model.preprocessing = {"normalize": "scale", "max_value": 255.0, "input_shape": [28, 28]}
    image = np.zeros((200, 200), np.float32)
    image[40:160, 90:110] = 1.0  # a stroke: a "1"
    page = DrawModel(model).predict(image)
    x = apply_preprocessing(np.asarray(page["input"], np.uint8)[None], model.preprocessing)
    np.testing.assert_allclose(page["probabilities"], model.predict_proba(x)[0], atol=2e-6)
    hidden_inputs = [y for step, y in model.plan.trace(x)][:-1]
    dense_inputs = [y for step, y in zip(model.plan.steps[1:], hidden_inputs, strict=True) if step.op == "dense"]
    assert len(page["hidden"]) == len(dense_inputs)
    for shown, want in zip(page["hidden"], dense_inputs, strict=True):
        np.testing.assert_allclose(shown["values"], want[0], atol=1e-4)


@pytest.mark.parametrize("layers", [lambda: [nn.Softmax()], lambda: [nn.Flatten((2, 3))], lambda: [nn.Identity()]],
                         ids=["lone-softmax", "flatten", "identity"])
def test_a_model_with_no_step_that_makes_an_array_still_hands_back_one_of_its_own(layers):
    shape = (2, 3) if isinstance(layers()[0], nn.Flatten) else (6,)
    model = nn.Sequential(layers(), input_shape=shape, seed=0)
    x = inputs(4, "float32").reshape(4, *shape)
    out = model.predict_logits(x)
    assert not np.shares_memory(out, x)


def test_a_copy_of_a_model_is_a_model_of_its_own():
    import copy

    model = make_model("relu", "multiclass", "float32", False)
    x = inputs(3, "float32")
    twin = copy.copy(model)
    twin.flat.values[:] = 0.5
    assert not np.allclose(model.predict_logits(x), twin.predict_logits(x))
    model.flat.values[:] = 0.5  # the original's vector still drives its own layers
    np.testing.assert_allclose(model.predict_logits(x), twin.predict_logits(x), rtol=1e-6)


def test_a_foreign_layer_may_predict_with_another_model_inside_its_forward():
    class Inner(nn.Layer):
        def forward(self, x, *, training=False):
            return x * 1.0

    inner = nn.Sequential([nn.Dense(3, 3), Inner()], seed=0)

    class Wrap(nn.Layer):
        def forward(self, x, *, training=False):
            return inner.predict_logits(x)

    outer = nn.Sequential([nn.Dense(3, 3), Wrap(), nn.Dense(3, 2)], seed=1)
    assert outer.predict_logits(np.ones((2, 3), np.float32)).shape == (2, 2)  # the lock is reentrant
