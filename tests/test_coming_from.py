"""The reflexes Keras, PyTorch and scikit-learn users bring: Dense(64) with its input width from the data,
Sequential().add, compile then fit, and the other libraries' names of losses, metrics and optimizers, each in
numpynn's own meaning; and every snippet of docs/coming-from.md runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import numpynn as nn
from numpynn.aliases import LOSS_ALIASES, LOSSES_WITHOUT_COUNTERPART, METRIC_ALIASES, OPTIMIZERS_WITHOUT_COUNTERPART
from numpynn.errors import ArgumentError, NotBuiltError, NumpynnError, ShapeError
from numpynn.losses import get_loss

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _same_weights(a: nn.Sequential, b: nn.Sequential) -> None:
    wa, wb = a.get_weights(), b.get_weights()
    assert wa.keys() == wb.keys()
    for key, w in wa.items():
        assert w.tobytes() == wb[key].tobytes(), key


def _fit(model: nn.Sequential, X, y, **kw) -> nn.Sequential:
    model.fit(X, y, epochs=3, batch_size=32, verbose=0, **kw)
    return model


def test_dense_without_its_input_width_is_built_from_the_data_with_the_same_weights(blobs, tmp_path):
    X, y = blobs
    written = _fit(nn.Sequential([nn.Dense(4, 16, "relu"), nn.Dense(16, 3)], seed=2), X, y)
    for layers in ([nn.Dense(16, "relu"), nn.Dense(3)], [nn.Dense(16, activation="relu"), nn.Dense(None, 3)]):
        inferred = nn.Sequential(layers, seed=2)
        assert not inferred.built and not hasattr(inferred, "flat")
        with pytest.raises(NotBuiltError, match="not built yet"):
            inferred.n_params()
        _fit(inferred, X, y)
        assert inferred.built and inferred.layers[0].in_features == 4 and inferred.input_shape == (4,)
        _same_weights(written, inferred)
    inferred.save(tmp_path / "m.safetensors")  # its file names the widths, as any model's
    again = nn.load(tmp_path / "m.safetensors")
    assert again.get_config()["layers"] == written.get_config()["layers"]
    np.testing.assert_array_equal(again.predict_proba(X), written.predict_proba(X))


def test_a_dense_after_another_takes_its_width_at_once_and_a_call_builds_the_first():
    model = nn.Sequential([nn.Dense(5, 8), nn.ReLU(), nn.Dense(2)], seed=0)
    assert model.built and model.layers[2].in_features == 8 and model.n_params() == 5 * 8 + 8 + 8 * 2 + 2
    lazy = nn.Sequential([nn.Dense(8), nn.ReLU(), nn.Dense(2)], seed=0)
    x = np.ones((3, 5), np.float32)
    np.testing.assert_array_equal(lazy(x), model(x))  # model(x): the logits, as in PyTorch
    with pytest.raises(ShapeError, match=r"expects X of shape \(n, 5\), got \(3, 6\)"):
        lazy(np.ones((3, 6), np.float32))


def test_build_takes_keras_shapes_and_refuses_another_once_built():
    model = nn.Sequential([nn.Dense(8, "tanh"), nn.Dense(3)], seed=1)
    model.build((None, 6))  # Keras' shape with the batch axis
    assert model.input_shape == (6,) and model.n_params() == 6 * 8 + 8 + 8 * 3 + 3
    before = model.get_weights()
    model.build((6,))  # built already: nothing changes
    _same_weights_dict(before, model.get_weights())
    with pytest.raises(ShapeError, match="built for inputs of shape"):
        model.build((7,))


def _same_weights_dict(a: dict, b: dict) -> None:
    assert all(a[k].tobytes() == b[k].tobytes() for k in a) and a.keys() == b.keys()


def test_add_and_layers_one_by_one_build_the_model_a_list_builds(blobs):
    X, y = blobs
    listed = _fit(nn.Sequential([nn.Dense(4, 16, "relu"), nn.Dropout(0.1), nn.Dense(16, 3)], seed=4), X, y)
    added = nn.Sequential(seed=4)
    assert not added.built
    with pytest.raises(NotBuiltError, match="no layers"):
        added.fit(X, y, verbose=0)
    added.add(nn.Dense(4, 16, "relu"))  # built at once: its width is known
    assert added.built and added.n_params() == 4 * 16 + 16
    added.add(nn.Dropout(0.1))
    added.add(nn.Dense(3))
    _fit(added, X, y)
    _same_weights(listed, added)
    torch_style = _fit(nn.Sequential(nn.Dense(4, 16, "relu"), nn.Dropout(0.1), nn.Dense(16, 3), seed=4), X, y)
    _same_weights(listed, torch_style)
    with pytest.raises(NumpynnError, match="has trained 3 epochs"):
        added.add(nn.Dense(3))
    with pytest.raises(TypeError, match="add takes a numpynn Layer"):
        nn.Sequential().add("Dense(3)")


def test_compile_then_fit_trains_as_fit_with_the_same_arguments(blobs):
    X, y = blobs
    direct = _fit(nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0), X, y, loss="cross_entropy",
                  optimizer=nn.SGD(0.1, momentum=0.9), metrics=["accuracy"])
    compiled = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3, activation="softmax")], seed=0)
    compiled.compile(optimizer=nn.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy",
                     metrics=["sparse_categorical_accuracy"])
    _fit(compiled, X, y)
    assert compiled.loss.name == "cross_entropy" and compiled.metrics == ["accuracy"]
    assert compiled.layers[-1].applied is None  # the softmax a Keras model ends with is taken into the loss
    _same_weights(direct, compiled)
    assert compiled.history["accuracy"] == direct.history["accuracy"]
    by_name = nn.Sequential([nn.Dense(4, 3)], seed=0)
    by_name.compile(optimizer="Adam", loss="categorical_crossentropy", metrics=["acc"])
    by_name.fit(X, np.eye(3)[y], epochs=1, verbose=0)  # one-hot rows, as categorical_crossentropy takes
    assert isinstance(by_name.optimizer, nn.Adam) and "accuracy" in by_name.history.epochs
    with pytest.raises(ArgumentError, match="metric 'mae' is for regression"):
        nn.Sequential([nn.Dense(4, 3)]).compile(loss="sparse_categorical_crossentropy", metrics=["mean_absolute_error"])
    with pytest.raises(ArgumentError, match="metrics is a list of names"):
        nn.Sequential([nn.Dense(4, 3)]).compile(metrics="accuracy")


@pytest.mark.parametrize("alias", sorted(LOSS_ALIASES))
def test_each_loss_alias_means_numpynns_loss(alias):
    meaning = LOSS_ALIASES[alias]
    expected = {"auto": "cross_entropy"}.get(meaning, meaning)  # log_loss: by the output size, 3 outputs here
    assert get_loss(alias, 3 if meaning != "quantile" else 1).name == expected
    assert get_loss(alias.upper(), 3 if meaning != "quantile" else 1).name == expected


def test_loss_names_are_taken_in_any_case_and_the_binary_default_follows_the_output_size():
    assert get_loss("MSE", 1).name == "mse" and get_loss("CrossEntropyLoss", 4).name == "cross_entropy"
    assert get_loss("log_loss", 1).name == "binary_cross_entropy"
    assert get_loss("BCEWithLogitsLoss", 1).name == "binary_cross_entropy"


@pytest.mark.parametrize("name", sorted(LOSSES_WITHOUT_COUNTERPART))
def test_a_loss_without_counterpart_says_what_is_nearest(name):
    with pytest.raises(ArgumentError, match=f"unknown loss '{name}': numpynn has no counterpart; the nearest is "):
        get_loss(name, 3)


def test_an_unknown_loss_lists_the_known_ones():
    with pytest.raises(ArgumentError, match=r"unknown loss 'contrastive'; expected one of \[.*'cross_entropy'"):
        get_loss("contrastive", 3)


def test_metric_and_optimizer_names_as_other_libraries_write_them(blobs):
    X, y = blobs
    for alias, meaning in METRIC_ALIASES.items():
        regression = meaning in ("mse", "mae", "r2")
        model = nn.Sequential([nn.Dense(4, 1 if regression else 3)], seed=0)
        target = X[:, :1] if regression else y
        model.fit(X, target, loss="mse" if regression else None, metrics=[alias], epochs=1, verbose=0)
        assert list(model.history.epochs)[2] == meaning, alias
    for name, cls in (("adam", nn.Adam), ("Adam", nn.Adam), ("SGD", nn.SGD), ("RMSprop", nn.RMSprop),
                      ("AdamW", nn.AdamW), ("Adagrad", nn.Adagrad)):
        model = nn.Sequential([nn.Dense(4, 3)], seed=0)
        model.compile(optimizer=name)
        assert type(model.optimizer) is cls, name
    for name in OPTIMIZERS_WITHOUT_COUNTERPART:
        with pytest.raises(ArgumentError, match=f"unknown optimizer '{name}': numpynn has no counterpart"):
            nn.Sequential([nn.Dense(4, 3)]).compile(optimizer=name)

    class Adam:  # what a Keras or PyTorch optimizer object is to numpynn: not one of its own
        learning_rate = 1e-3

    with pytest.raises(ArgumentError, match=r"optimizer must be a name or a numpynn Optimizer, got a .*Adam: "
                                            r"write optimizer=\"adam\", or numpynn.Adam\(lr=0.001\)"):
        nn.Sequential([nn.Dense(4, 3)]).fit(X, y, optimizer=Adam(), verbose=0)


def test_a_model_built_from_the_data_passes_the_gradient_check(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(6, "tanh"), nn.Dense(3, activation="softmax")], seed=0)
    model.compile(loss="sparse_categorical_crossentropy")
    model.build((4,))
    result = nn.gradcheck(model, X[:16], y[:16], max_per_tensor=None)
    assert result.ok, result.errors


def test_coming_from_snippets_run_in_order(capsys, engine):
    if engine != "numpy":
        pytest.skip("the snippets show the API, which does not depend on the engine; run once")
    pytest.importorskip("sklearn", reason="the scikit-learn snippet needs scikit-learn (the test extra has it)")
    text = (DOCS / "coming-from.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"coming-from.md block {i + 1}", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    for line in ("keras-style accuracy", "pytorch-style accuracy", "scikit-learn-style accuracy"):
        assert line in printed, line
