"""ONNX export: onnxruntime runs the exported file and predicts what numpynn predicts."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import numpynn as nn
from numpynn.cli import main
from numpynn.data import apply_preprocessing
from numpynn.errors import ExportError
from numpynn.export import export_onnx
from numpynn.layers import Layer
from tests.export_grid import TOLERANCE, case_id, cases, expected, inputs, make_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def session(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run(path, x) -> dict[str, np.ndarray]:
    s = session(path)
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, {s.get_inputs()[0].name: x}), strict=True))


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_onnxruntime_predicts_what_numpynn_predicts(case, tmp_path):
    act, output, dtype, norm = case
    model = make_model(*case)
    path = model.export_onnx(tmp_path / "m.onnx")
    onnx.checker.check_model(onnx.load(path), full_check=True)
    s = session(path)
    tol = TOLERANCE[dtype]
    for n in (1, 1000):  # one session: the batch dimension is dynamic
        X = inputs(n, dtype)
        got = dict(zip([o.name for o in s.get_outputs()], s.run(None, {"x": X}), strict=True))
        want = model.predict_proba(X) if model.loss.is_classification else model.predict(X)
        assert got[expected(model)].dtype == np.dtype(dtype)
        np.testing.assert_allclose(got[expected(model)], want, rtol=tol, atol=tol)
        if model.loss.is_classification:
            np.testing.assert_array_equal(got["label"], model.predict(X))


def test_the_graph_has_a_dynamic_batch_opset_17_and_the_metadata(tmp_path):
    model = make_model("relu", "multiclass", "float32", True)
    model.preprocessing = {"normalize": "scale", "max_value": 255.0}
    proto = onnx.load(export_onnx(model, tmp_path / "m.onnx", class_names=["cat", "dog", "bird"]))
    assert proto.opset_import[0].version >= 17
    newer = onnx.load(export_onnx(model, tmp_path / "m21.onnx", opset=21))  # a later opset, run as well
    assert newer.opset_import[0].version == 21
    np.testing.assert_allclose(run(tmp_path / "m21.onnx", inputs(5, "float32"))["probabilities"],
                               model.predict_proba(inputs(5, "float32")), atol=1e-5)
    (x,) = proto.graph.input
    assert [d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim] == ["batch", 6]
    assert [o.name for o in proto.graph.output] == ["probabilities", "label"]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["class_names"]) == ["cat", "dog", "bird"]
    assert json.loads(meta["preprocessing"]) == model.preprocessing
    ops = {node.op_type for node in proto.graph.node}
    assert "Dropout" not in ops and {"Gemm", "Relu", "Softmax", "ArgMax"} <= ops


def test_raw_pixels_go_through_the_recorded_preprocessing(tmp_path):
    (raw, _), _ = nn.data.load_raw("mnist-sample")
    raw = raw[:300]
    model = nn.Sequential([nn.Dense(784, 16, "relu"), nn.Dense(16, 10)], seed=0)
    model.preprocessing = {"normalize": "scale", "max_value": 255.0, "input_shape": [28, 28]}
    path = export_onnx(model, tmp_path / "raw.onnx", raw_input=True)
    got = run(path, raw)
    want = model.predict_proba(apply_preprocessing(raw, model.preprocessing))
    np.testing.assert_allclose(got["probabilities"], want, rtol=1e-5, atol=1e-5)
    # standardised float inputs, a float64 model, a first Flatten layer with a 2-D input shape
    m64 = nn.Sequential([nn.Flatten((2, 3)), nn.Dense(6, 4, "tanh"), nn.Dense(4, 2)], seed=0, dtype="float64")
    m64.preprocessing = {"normalize": "standardize", "mean": 3.5, "std": 2.25}
    X = np.random.default_rng(0).uniform(0, 9, (50, 2, 3)).astype(np.float32)
    got = run(export_onnx(m64, tmp_path / "std.onnx", raw_input="float32"), X)
    prepared = apply_preprocessing(X, m64.preprocessing).reshape(50, 2, 3)
    np.testing.assert_allclose(got["probabilities"], m64.predict_proba(prepared), rtol=1e-12, atol=1e-12)


def test_separate_activation_layers_and_a_last_softmax_layer(tmp_path):
    model = nn.Sequential([nn.Flatten((3, 2)), nn.Dense(6, 5), nn.GELU(), nn.Dense(5, 4), nn.Softmax()], seed=2)
    X = np.random.default_rng(3).normal(size=(20, 3, 2)).astype(np.float32)
    got = run(model.export_onnx(tmp_path / "m.onnx"), X)
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(X), atol=1e-5)


class _Doubling(Layer):  # a layer of the user's own: not in the registry (its name starts with "_")
    def forward(self, x, *, training=False):
        return 2 * x


def test_what_cannot_be_exported_gets_a_clear_error_and_no_file(tmp_path):
    model = nn.Sequential([nn.Dense(4, 3), _Doubling(), nn.Dense(3, 2)], seed=0)
    with pytest.raises(ExportError, match=r"layer 1 \(_Doubling\) cannot be exported"):
        model.export_onnx(tmp_path / "a.onnx")
    bad = make_model("relu", "multiclass", "float32", False)
    bad.layers[1].params["W"][0, 0] = np.nan
    with pytest.raises(ExportError, match="layer 1's W has NaN or inf"):
        bad.export_onnx(tmp_path / "b.onnx")
    with pytest.raises(ExportError, match="3 classes, got 2 class names"):
        make_model("relu", "multiclass", "float32", False).export_onnx(tmp_path / "c.onnx", class_names=["a", "b"])
    for opset in (13, 999, "17"):
        with pytest.raises(ExportError, match="opset must be an integer from 17 to"):
            make_model("relu", "multiclass", "float32", False).export_onnx(tmp_path / "d.onnx", opset=opset)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_without_the_onnx_package_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    with pytest.raises(ExportError, match=r"pip install 'numpynn\[onnx\]'"):
        make_model("relu", "multiclass", "float32", False).export_onnx(tmp_path / "m.onnx")


def test_scikit_learn_estimators_export_through_the_same_code(tmp_path):
    pytest.importorskip("sklearn")
    from numpynn.sklearn import NumpynnClassifier, NumpynnRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = np.array(["no", "yes", "maybe"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    clf = NumpynnClassifier((8,), max_iter=5, batchnorm=True, dropout=0.1, random_state=0).fit(X, y)
    got = run(export_onnx(clf, tmp_path / "clf.onnx"), X)
    np.testing.assert_allclose(got["probabilities"], clf.predict_proba(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(clf.classes_[got["label"]], clf.predict(X))
    raw = run(export_onnx(clf, tmp_path / "raw.onnx", raw_input="float64"), X)  # no preprocessing recorded
    np.testing.assert_allclose(raw["probabilities"], clf.predict_proba(X), rtol=1e-12, atol=1e-12)
    meta = {p.key: p.value for p in onnx.load(tmp_path / "clf.onnx").metadata_props}
    assert json.loads(meta["class_names"]) == clf.classes_.tolist()
    for target in (X[:, 0] * 3 + 10, np.c_[X[:, 0], -X[:, 1] * 100]):  # (n,) and (n, 2)
        reg = NumpynnRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X.astype(np.float32), target)
        got = run(export_onnx(reg, tmp_path / "reg.onnx"), X.astype(np.float32))
        assert got["values"].shape == reg.predict(X).shape
        np.testing.assert_allclose(got["values"], reg.predict(X.astype(np.float32)), rtol=1e-5, atol=1e-5)
    counts = rng.poisson(np.exp(X[:, 0]))
    reg = NumpynnRegressor(loss="poisson", hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, counts)
    got = run(export_onnx(reg, tmp_path / "poisson.onnx"), X)
    np.testing.assert_allclose(got["values"], reg.predict(X), rtol=1e-12, atol=1e-12)
    with pytest.raises(ExportError, match="not fitted"):
        export_onnx(NumpynnClassifier(), tmp_path / "unfitted.onnx")


def test_the_export_command_writes_both_formats(tmp_path, capsys):
    model = nn.Sequential([nn.Dense(784, 8, "relu"), nn.Dense(8, 10)], seed=0)
    model.preprocessing = {"normalize": "scale", "max_value": 255.0, "input_shape": [28, 28]}
    model.save(tmp_path / "model.safetensors")
    assert main(["export", str(tmp_path / "model.safetensors"), "--raw-input"]) == 0
    assert "model.onnx" in capsys.readouterr().out
    (raw, _), _ = nn.data.load_raw("mnist-sample")
    got = run(tmp_path / "model.onnx", raw[:5])
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(apply_preprocessing(raw[:5],
                                                                                         model.preprocessing)),
                               atol=1e-5)
    assert main(["export", str(tmp_path / "model.safetensors"), "--format", "python", "--out",
                 str(tmp_path / "p.py"), "--class-names", ",".join("abcdefghij")]) == 0
    assert (tmp_path / "p.npz").is_file() and "CLASS_NAMES = ['a', 'b'," in (tmp_path / "p.py").read_text()
    assert main(["export", str(tmp_path / "model.safetensors"), "--format", "python", "--raw-input"]) == 2
    assert "--raw-input, --prepared-input and --opset apply to --format onnx" in capsys.readouterr().err


def test_the_readme_deploy_commands_and_snippet_work(tmp_path, monkeypatch, capsys):
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].split() for line in re.findall(r"```bash\n(.*?)```", section, re.S)[0].splitlines()
                if line.startswith("numpynn export")]
    (snippet,) = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(commands) == 2 and len(snippet.strip().splitlines()) == 5
    model = nn.Sequential([nn.Dense(784, 8, "relu"), nn.Dense(8, 10)], seed=0)
    model.preprocessing = {"normalize": "scale", "max_value": 255.0, "input_shape": [28, 28]}
    (tmp_path / "runs" / "demo").mkdir(parents=True)
    model.save(tmp_path / "runs" / "demo" / "model.safetensors")
    monkeypatch.chdir(tmp_path)
    for command in commands:
        assert main(shlex.split(" ".join(command[1:]))) == 0
    assert (tmp_path / "predict_model.npz").is_file()
    exec(compile(snippet, "README Deploy", "exec"), {})  # noqa: S102
    want = model.predict_proba(np.zeros((1, 784), np.float32))
    assert f"[{want.argmax()}]" in capsys.readouterr().out


def test_a_model_trained_with_per_column_standardisation_exports_in_both_formats(tmp_path, capsys):
    import importlib.util

    rng = np.random.default_rng(0)
    rows = np.c_[rng.normal(0, 1, 90), rng.normal(50_000, 15_000, 90), rng.uniform(-300, 0, 90)].round(3)
    labels = (rows[:, 0] > 0).astype(np.int64)
    np.savez(tmp_path / "table.npz", X=rows, y=labels)  # arrays: per-column statistics (tables: tests/test_tables)
    run_dir = tmp_path / "run"
    assert main(["train", "--dataset", str(tmp_path / "table.npz"), "--normalize",
                 "standardize", "--hidden", "8", "--epochs", "2", "--batch-size", "32", "--no-augment",
                 "--out", str(run_dir), "--quiet", "--no-report"]) == 0
    model = nn.load(run_dir / "model.safetensors")
    assert isinstance(model.preprocessing["mean"], list) and len(model.preprocessing["std"]) == 3
    want = model.predict_proba(apply_preprocessing(rows, model.preprocessing))  # as `numpynn predict` does
    assert main(["export", str(run_dir / "model.safetensors"), "--format", "python"]) == 0
    spec = importlib.util.spec_from_file_location("predict_model", run_dir / "predict_model.py")
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    np.testing.assert_allclose(exported.predict_proba(exported.preprocess(rows)), want, rtol=1e-5, atol=1e-5)
    assert exported.CLASS_NAMES == model.preprocessing["class_names"]
    for raw_type in ("float32", "float64"):
        out = tmp_path / f"raw_{raw_type}.onnx"
        assert main(["export", str(run_dir / "model.safetensors"), "--raw-input", raw_type, "--out", str(out)]) == 0
        got = run(out, rows.astype(raw_type))
        np.testing.assert_allclose(got["probabilities"], want, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(got["label"], want.argmax(1))
    # the default takes the raw rows too (it took standardised ones, and raw rows came out wrong at probability 1)
    assert main(["export", str(run_dir / "model.safetensors"), "--out", str(tmp_path / "model.onnx")]) == 0
    (raw,) = session(tmp_path / "model.onnx").get_inputs()
    assert (raw.name, raw.type) == ("raw", "tensor(float)")
    np.testing.assert_allclose(run(tmp_path / "model.onnx", rows.astype(np.float32))["probabilities"], want,
                               rtol=1e-5, atol=1e-5)
    out = tmp_path / "prepared.onnx"
    assert main(["export", str(run_dir / "model.safetensors"), "--prepared-input", "--out", str(out)]) == 0
    prepared = apply_preprocessing(rows, model.preprocessing)
    np.testing.assert_allclose(run(out, prepared)["probabilities"], want, rtol=1e-5, atol=1e-5)


def test_a_scaled_model_of_rows_takes_float32_rows_that_no_uint8_could_hold(tmp_path):
    # as numpynn trained on rows of numbers with --normalize scale: the largest |value| (a body mass in g)
    rng = np.random.default_rng(0)
    rows = np.c_[rng.uniform(2700, 6300, 40), rng.uniform(30, 60, 40)].astype(np.float32)
    model = nn.Sequential([nn.Dense(2, 4, "tanh"), nn.Dense(4, 3)], seed=0)
    model.preprocessing = {"normalize": "scale", "max_value": 6300.0, "input_shape": [2], "label_column": "species",
                           "feature_names": ["body_mass_g", "bill_length_mm"]}
    want = model.predict_proba(apply_preprocessing(rows, model.preprocessing))
    for raw_input in (True, None):  # --raw-input, and the default
        path = export_onnx(model, tmp_path / "m.onnx", raw_input=raw_input)
        (raw,) = session(path).get_inputs()
        assert raw.type == "tensor(float)"  # was uint8, which wraps 4,000 g around
        np.testing.assert_allclose(run(path, rows)["probabilities"], want, rtol=1e-5, atol=1e-5)
    image = nn.Sequential([nn.Dense(784, 4), nn.Dense(4, 3)], seed=0)
    image.preprocessing = {"normalize": "scale", "max_value": 255.0, "input_shape": [28, 28]}
    assert session(export_onnx(image, tmp_path / "i.onnx", raw_input=True)).get_inputs()[0].type == "tensor(uint8)"
    assert session(export_onnx(image, tmp_path / "i.onnx")).get_inputs()[0].name == "x"  # images: as before


def test_a_preprocessing_record_that_would_not_load_is_refused_by_both_formats(tmp_path):
    from numpynn.export import export_python

    model = make_model("relu", "multiclass", "float32", False)
    model.preprocessing = {"normalize": "standardize", "mean": [1.0, 2.0], "std": 1.0}
    with pytest.raises(ExportError, match="preprocessing.mean lists 2 values for a model of 6 inputs"):
        export_python(model, tmp_path / "m.py")
    with pytest.raises(ExportError, match="preprocessing.mean lists 2 values for a model of 6 inputs"):
        export_onnx(model, tmp_path / "m.onnx", raw_input="float32")
    model.preprocessing = {"normalize": "scale", "max_value": 2.0, "note": float("nan")}
    with pytest.raises(ExportError, match="JSON data with finite numbers"):
        export_onnx(model, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
