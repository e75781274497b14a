"""Model files: bit-exact round trips, atomic saves, and numpynn's own error for every kind of damage."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import numpynn as nn
from numpynn import atomic

SRC = Path(nn.__file__).parent


@pytest.fixture
def trained(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 8, "relu", l2=1e-4), nn.BatchNorm(), nn.Dropout(0.1), nn.Dense(8, 3)], seed=2)
    model.fit(X, y, optimizer=nn.AdamW(1e-2), epochs=2, batch_size=32, verbose=0, metrics=["accuracy"])
    return model


def test_round_trip_is_bit_exact(trained, tmp_path, blobs):
    path = tmp_path / "m.safetensors"
    trained.save(path)
    loaded = nn.load(path)
    for key, value in trained.get_weights().items():
        got = loaded.get_weights()[key]
        assert got.dtype == value.dtype and got.tobytes() == value.tobytes(), key
    assert loaded.get_config() == trained.get_config()
    assert loaded.loss.name == "cross_entropy" and loaded.metrics == ["accuracy"]
    assert loaded.history.epochs == trained.history.epochs
    assert type(loaded.optimizer) is nn.AdamW and loaded.optimizer.iterations == trained.optimizer.iterations
    np.testing.assert_array_equal(loaded.predict_proba(blobs[0]), trained.predict_proba(blobs[0]))
    # a plain safetensors reader opens it too
    assert set(load_file(path)) >= {"0.W", "0.b", "1.gamma", "1.running_mean", "3.W", "optimizer/0.W/m"}


def test_weights_only_file(trained, tmp_path):
    path = tmp_path / "w.safetensors"
    trained.save(path, include_optimizer=False)
    loaded = nn.load(path)
    assert loaded.optimizer is None and loaded.epoch == 0
    assert not any(k.startswith("optimizer/") for k in load_file(path))


def test_a_crash_mid_save_leaves_the_previous_file_intact(trained, tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    trained.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(atomic.os, "replace", crash)
    trained.layers[0].params["W"] += 1
    with pytest.raises(OSError, match="disk full"):
        trained.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left behind


def _expect_model_error(path, data: bytes, match: str | None = None):
    path.write_bytes(data)
    with pytest.raises(nn.ModelFileError, match=match):
        nn.load(path)


def test_truncated_files_raise_model_file_error(trained, tmp_path):
    good = tmp_path / "m.safetensors"
    trained.save(good)
    data = good.read_bytes()
    bad = tmp_path / "bad.safetensors"
    for cut in sorted({0, 1, 7, 8, 9, 50, len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 1}):
        _expect_model_error(bad, data[:cut])


def test_every_flipped_byte_is_caught(trained, tmp_path):
    good = tmp_path / "m.safetensors"
    trained.save(good, include_optimizer=False)
    data = bytearray(good.read_bytes())
    bad = tmp_path / "bad.safetensors"
    rng = np.random.default_rng(0)
    (header_len,) = struct.unpack("<Q", data[:8])
    positions = list(rng.choice(np.arange(8, len(data)), 60, replace=False)) + [8 + header_len + 5, len(data) - 1]
    for pos in positions:
        flipped = bytearray(data)
        flipped[pos] ^= 0x10
        if bytes(flipped) == bytes(data):
            continue
        try:
            _expect_model_error(bad, bytes(flipped))
        except AssertionError:  # pragma: no cover - reported with the position
            pytest.fail(f"flipping byte {pos} went unnoticed")


def test_oversized_header_length_is_refused_before_allocating(tmp_path):
    _expect_model_error(tmp_path / "x", struct.pack("<Q", 2**62) + b"{}", "header length field says")
    _expect_model_error(tmp_path / "x", b"not a model file at all", "header length field says")


def _rewrite_metadata(path, edit):
    """Change the numpynn JSON inside a saved file (keeping its checksum consistent) to test semantic checks."""
    from safetensors.numpy import save

    from numpynn.io import _digest

    tensors = load_file(path)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    meta = json.loads(header["__metadata__"]["numpynn"])
    edit(meta, tensors)
    meta_json = json.dumps(meta)
    path.write_bytes(save(tensors, metadata={"numpynn": meta_json, "numpynn_sha256": _digest(meta_json, tensors)}))


def test_unknown_layer_names_and_shape_mismatches(trained, tmp_path):
    path = tmp_path / "m.safetensors"
    trained.save(path)

    def unknown_layer(meta, tensors):
        meta["model"]["layers"][1]["class"] = "os.system"

    _rewrite_metadata(path, unknown_layer)
    with pytest.raises(nn.ModelFileError, match="unknown layer 'os.system'"):
        nn.load(path)

    trained.save(path)

    def bigger_layer(meta, tensors):
        meta["model"]["layers"][0]["config"]["out_features"] = 10**7  # would be a 320 MB weight

    _rewrite_metadata(path, bigger_layer)
    with pytest.raises(nn.ModelFileError, match=r"tensor '0.W' has shape \(4, 8\), the architecture needs"):
        nn.load(path)

    trained.save(path)

    def float64_weight(meta, tensors):
        tensors["3.b"] = tensors["3.b"].astype(np.float64)

    _rewrite_metadata(path, float64_weight)
    with pytest.raises(nn.ModelFileError, match="'3.b' is float64, the model is float32"):
        nn.load(path)

    trained.save(path)

    def bad_rng(meta, tensors):
        meta["training"]["rng"] = {"bit_generator": "MT19937", "state": {}}

    _rewrite_metadata(path, bad_rng)
    with pytest.raises(nn.ModelFileError, match="PCG64"):
        nn.load(path)


def test_missing_file_and_foreign_safetensors(tmp_path):
    from safetensors.numpy import save_file

    with pytest.raises(nn.ModelFileError, match="cannot read model file"):
        nn.load(tmp_path / "nope.safetensors")
    save_file({"w": np.zeros(3, np.float32)}, tmp_path / "other.safetensors")
    with pytest.raises(nn.ModelFileError, match="not a numpynn model"):
        nn.load(tmp_path / "other.safetensors")


def test_no_pickle_anywhere_in_src():
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text.replace(" ", ""), path
        assert "np.random.seed(" not in text, path


def test_float64_models_round_trip(tmp_path, blobs):
    model = nn.Sequential([nn.Dense(4, 3)], dtype="float64", seed=1)
    model.save(tmp_path / "m64.safetensors")
    loaded = nn.load(tmp_path / "m64.safetensors")
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.layers[0].params["W"], model.layers[0].params["W"])
    assert os.path.getsize(tmp_path / "m64.safetensors") > 8 * 15


def test_a_model_file_written_by_numpynn_0_1_loads_and_resumes():
    # numpynn 0.1 kept Adam's state as moving sums (m_sum = b1*m_sum + g, so m = (1 - b1) * m_sum); the file in
    # tests/data was written by it after 3 epochs of 3 steps on this data, and it printed these probabilities
    path = Path(__file__).parent / "data" / "adam-numpynn-0.1.safetensors"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    model = nn.load(path)
    assert model.epoch == 3 and model.optimizer.iterations == 9
    np.testing.assert_allclose(model.predict_proba(X[:2]), [[0.3015917, 0.38281143, 0.31559685],
                                                            [0.32229602, 0.25053495, 0.42716908]], rtol=1e-6)
    raw = load_file(path)
    for key in ("0.W", "1.b"):
        np.testing.assert_allclose(model.optimizer.state[key]["m"], 0.1 * raw[f"optimizer/{key}/m_sum"], rtol=1e-6)
        np.testing.assert_allclose(model.optimizer.state[key]["v"], 0.001 * raw[f"optimizer/{key}/v_sum"],
                                   rtol=1e-6)
    before = model.evaluate(X, y)["loss"]
    model.fit(X, y, epochs=8, batch_size=20, verbose=0, resume=True)
    assert model.epoch == 8 and model.evaluate(X, y)["loss"] < before


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_model_with_non_finite_weights_or_outputs_is_not_saved(trained, tmp_path):
    path = tmp_path / "m.safetensors"
    trained.save(path)
    before = path.read_bytes()
    nan_model = nn.Sequential.load(path)
    nan_model.layers[0].params["W"][1, 2] = np.nan
    with pytest.raises(nn.NumpynnError, match=r"tensor '0.W' contains NaN or inf"):
        nan_model.save(path)
    overflowing = nn.Sequential.load(path)  # finite weights whose products overflow float32
    overflowing.layers[0].params["W"][...] = 1e30
    overflowing.layers[3].params["W"][...] = 1e30
    with pytest.raises(nn.NumpynnError, match="the model's outputs overflow to NaN or inf"):
        overflowing.save(path, include_optimizer=False)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["m.safetensors"]
