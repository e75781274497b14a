"""The exported Python file: NumPy alone, in a process that cannot import numpynn, predicts what numpynn does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import numpynn as nn
from numpynn.data import apply_preprocessing
from numpynn.errors import ExportError
from numpynn.export import export_python
from tests.export_grid import TOLERANCE, case_id, cases, expected, inputs, make_model

# run in the child: numpynn must be out of reach, and each exported module's outputs are saved for the parent
DRIVER = """
import importlib, importlib.util, json, sys
sys.path[:0] = [sys.argv[1], "."]      # NumPy alone (a folder that links to it), and the exported files
import numpy as np
print(json.dumps({"numpynn": importlib.util.find_spec("numpynn") is not None}))
for name in json.loads(sys.argv[2]):
    m = importlib.import_module(name)
    x = np.load(name + "_x.npy")
    out = m.predict_proba(x) if hasattr(m, "predict_proba") else m.predict(x)
    np.save(name + "_out.npy", out)
    np.save(name + "_label.npy", m.predict(x))
"""


@pytest.fixture(scope="module")
def numpy_only(tmp_path_factory) -> Path:
    """A folder holding NumPy (links to it) and nothing else, for `python -I -S` children."""
    site = tmp_path_factory.mktemp("numpy_only")
    here = Path(np.__file__).resolve().parent
    for entry in (here, here.with_name("numpy.libs")):
        if entry.exists():
            (site / entry.name).symlink_to(entry)
    return site


def run_isolated(numpy_only: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """A Python child in isolated mode without site-packages (-I -S): the standard library, plus only what
    the driver puts on sys.path."""
    return subprocess.run([sys.executable, "-I", "-S", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_file_reproduces_predict_proba_without_numpynn(tmp_path, numpy_only):
    grid = cases()
    names, models = [], {}
    for i, case in enumerate(grid):
        name = f"m{i}"
        model = models[name] = make_model(*case)
        export_python(model, tmp_path / f"{name}.py")
        np.save(tmp_path / f"{name}_x.npy", inputs(1000 if i % 2 else 1, case[2]))
        names.append(name)
    done = run_isolated(numpy_only, tmp_path, "-c", DRIVER, str(numpy_only), json.dumps(names))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0]) == {"numpynn": False}  # numpynn was out of reach
    for name, case in zip(names, grid, strict=True):
        model, x = models[name], np.load(tmp_path / f"{name}_x.npy")
        want = model.predict_proba(x) if expected(model) == "probabilities" else model.predict(x)
        got = np.load(tmp_path / f"{name}_out.npy")
        assert got.dtype == want.dtype, case_id(case)
        np.testing.assert_allclose(got, want, rtol=TOLERANCE[case[2]], atol=TOLERANCE[case[2]],
                                   err_msg=case_id(case))
        if model.loss.is_classification:
            np.testing.assert_array_equal(np.load(tmp_path / f"{name}_label.npy"), model.predict(x), case_id(case))


def test_run_as_a_script_it_prepares_raw_pixels_and_prints_class_names(tmp_path, numpy_only):
    (raw, _), _ = nn.data.load_raw("mnist-sample")
    model = nn.Sequential([nn.Dense(784, 256, "relu"), nn.Dense(256, 128, "relu"), nn.Dense(128, 10)], seed=0)
    model.preprocessing = {"normalize": "scale", "max_value": 255.0, "input_shape": [28, 28]}
    names = [f"digit {d}" for d in range(10)]
    py, npz = export_python(model, tmp_path / "predict_model.py", class_names=names)
    assert npz == tmp_path / "predict_model.npz" and np.load(npz, allow_pickle=False)["0.W"].shape == (784, 256)
    text = py.read_text()
    assert len(text.splitlines()) < 80  # read in a minute: the forward pass, the preprocessing, the names, argv
    for part in ("def preprocess(raw):", "def forward(x):", "def predict_proba(x):", "CLASS_NAMES = ['digit 0'"):
        assert part in text
    np.save(tmp_path / "samples.npy", raw[:40])
    script = f"import sys, runpy; sys.path.insert(0, {str(numpy_only)!r}); sys.argv = ['predict_model.py', " \
             f"'samples.npy']; runpy.run_path('predict_model.py', run_name='__main__')"
    done = run_isolated(numpy_only, tmp_path, "-c", script)
    assert done.returncode == 0, done.stderr
    want = model.predict(apply_preprocessing(raw[:40], model.preprocessing))
    assert done.stdout.splitlines() == [names[c] for c in want]
    (tmp_path / "digit.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for args, says in (([], "usage: python predict_model.py samples.npy"),
                       (["digit.png"], "digit.png: not a .npy file; give samples saved with np.save"),
                       (["missing.npy"], "missing.npy: [Errno 2] No such file")):
        run = script.replace("'samples.npy']", "".join(f"'{a}', " for a in args) + "]")
        done = run_isolated(numpy_only, tmp_path, "-c", run)
        assert done.returncode == 1 and done.stderr.startswith(says), done.stderr
        assert "Traceback" not in done.stderr and "pickled" not in done.stderr


def test_standardised_inputs_a_first_flatten_and_a_regressor(tmp_path, numpy_only):
    model = nn.Sequential([nn.Flatten((2, 3)), nn.Dense(6, 4, "elu"), nn.Dense(4, 2)], seed=0, dtype="float64")
    model.set_loss("mse")
    model.preprocessing = {"normalize": "standardize", "mean": 3.5, "std": 2.25}
    export_python(model, tmp_path / "reg.py")
    raw = np.random.default_rng(0).uniform(0, 9, (30, 2, 3))
    np.save(tmp_path / "raw.npy", raw)
    script = f"import sys; sys.path[:0] = [{str(numpy_only)!r}, '.']; import numpy as np, reg; " \
             "np.save('out.npy', reg.predict(reg.preprocess(np.load('raw.npy'))))"
    done = run_isolated(numpy_only, tmp_path, "-c", script)
    assert done.returncode == 0, done.stderr
    want = model.predict(apply_preprocessing(raw, model.preprocessing).reshape(30, 2, 3))
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), want, rtol=1e-12, atol=1e-12)


def test_a_bad_name_or_an_unexportable_model_writes_nothing(tmp_path):
    model = make_model("relu", "multiclass", "float32", False)
    with pytest.raises(ExportError, match="must end in .py"):
        export_python(model, tmp_path / "model.txt")
    model.layers[0].params["b"][0] = np.inf
    with pytest.raises(ExportError, match="NaN or inf"):
        export_python(model, tmp_path / "model.py")
    assert list(tmp_path.iterdir()) == []


def test_without_a_preprocessing_record_inputs_are_taken_as_they_are(tmp_path):
    import importlib.util

    model = make_model("tanh", "regression", "float64", False)
    export_python(model, tmp_path / "plain.py")
    spec = importlib.util.spec_from_file_location("plain", tmp_path / "plain.py")
    plain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plain)
    x = inputs(7, "float64")
    np.testing.assert_array_equal(plain.preprocess(x), x)  # no float32 detour
    np.testing.assert_allclose(plain.predict(plain.preprocess(x)), model.predict(x), rtol=1e-12, atol=1e-12)


# file and class names that would be code if they were pasted into a string literal
HOSTILE = ['m")))if 0 else __import__("os").system("touch PWNED")#', "m'+__import__('os').system('touch PWNED')+'",
           'tri"""ple', "tri'''ple", "back\\slash\\", "new\nline\r\n#", "ünïcødé ✓ \u202edlrow\u2028",
           "\\N{BULLET}\\x41", "{W}{__file__}"]

# run in the child: each exported file imported by its path, from a folder that is its own
HOSTILE_DRIVER = """
import importlib.util, json, sys
sys.path[:0] = [sys.argv[1]]
import numpy as np
for i, path in enumerate(json.loads(sys.argv[2])):
    spec = importlib.util.spec_from_file_location(f"exported_{i}", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    np.save(f"{sys.argv[3]}/{i}.npy", m.predict_proba(m.preprocess(np.load(f"{sys.argv[3]}/raw.npy"))))
    print(json.dumps(m.CLASS_NAMES))
"""


def test_hostile_file_and_class_names_stay_strings_and_run_nothing(tmp_path, numpy_only, capsys):
    from numpynn.cli import main

    models = tmp_path / "models"
    models.mkdir()
    model = nn.Sequential([nn.Dense(6, 5, "tanh"), nn.Dense(5, 3)], seed=0)
    names = HOSTILE[:3]
    model.preprocessing = {"normalize": "scale", "max_value": 4.0, "class_names": names}
    exported = []
    for name in HOSTILE:
        model.save(models / f"{name}.safetensors")
        assert main(["export", str(models / f"{name}.safetensors"), "--format", "python"]) == 0
        exported.append(str(models / f"predict_{name}.py"))
        assert (models / f"predict_{name}.npz").is_file()
    # the API as well, with the class names given: every name written as a literal of itself
    for i, name in enumerate(HOSTILE):
        py, _ = export_python(model, models / f"api_{i}.py", class_names=[name, name * 2, "x" + name])
        exported.append(str(py))
    before = sorted(p.name for p in models.iterdir())
    out = tmp_path / "out"
    out.mkdir()
    raw = inputs(9, "float32")
    np.save(out / "raw.npy", raw)
    done = run_isolated(numpy_only, models, "-B", "-c", HOSTILE_DRIVER, str(numpy_only), json.dumps(exported), str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in models.iterdir()) == before  # nothing written beside the files
    assert sorted(p.name for p in out.iterdir()) == sorted(["raw.npy", *(f"{i}.npy" for i in range(len(exported)))])
    assert not list(tmp_path.rglob("PWNED"))
    want_names = [names] * len(HOSTILE) + [[n, n * 2, "x" + n] for n in HOSTILE]
    assert [json.loads(line) for line in done.stdout.splitlines()] == want_names
    want = model.predict_proba(apply_preprocessing(raw, model.preprocessing))
    for i in range(len(exported)):
        np.testing.assert_allclose(np.load(out / f"{i}.npy"), want, rtol=1e-5, atol=1e-5)


def test_a_file_name_no_file_can_have_is_refused(tmp_path):
    model = make_model("relu", "multiclass", "float32", False)
    for bad in ("nul\0.py", "surrogate\ud800.py"):
        with pytest.raises(ExportError, match="cannot be a file's name"):
            export_python(model, tmp_path / bad)
    assert list(tmp_path.iterdir()) == []
