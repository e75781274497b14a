"""The bf16 engine (fit's precision="bf16"): bfloat16 rounding, oneDNN's products within bfloat16's precision,
training that converges like float32 and resumes bit-identically, and clean refusals where it cannot run."""

from __future__ import annotations

import numpy as np
import pytest

import numpynn as nn
from numpynn import ops
from numpynn.ops import onednn
from numpynn.ops.onednn import Bf16Unavailable


def _bf16_or_skip():
    try:
        return ops.engine_for("bf16")
    except Bf16Unavailable as exc:
        pytest.skip(f"no bfloat16 products here: {exc}")


@pytest.fixture
def bf16():
    return _bf16_or_skip()


@pytest.fixture
def fused():
    try:
        from numpynn.ops import _fused
    except ImportError:
        pytest.skip("numpynn's C extension is not built here")
    return _fused


def bf16_reference(a: np.ndarray) -> np.ndarray:
    """Round-to-nearest-even to bfloat16, as float32 values, written out in NumPy."""
    u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    out = rounded.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(a), np.float32(np.nan), out)


def as_float(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def test_rounding_to_bfloat16_is_nearest_even_and_keeps_specials(fused, rng):
    values = np.concatenate([rng.standard_normal(100_000).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 100_000),
                             np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-45, 3.4e38, 1.0 + 2**-8,
                                       1.0 + 3 * 2**-8, 1.0 + 2**-8 + 2**-20], np.float32)]).astype(np.float32)
    bits = np.empty(values.shape, np.uint16)
    fused.to_bf16(values, bits)
    got, want = as_float(bits), bf16_reference(values)
    assert np.array_equal(np.isnan(got), np.isnan(values))
    finite = ~np.isnan(values)
    assert np.array_equal(got[finite].view(np.uint32), want[finite].view(np.uint32))
    # ties go to even: 1 + 2^-8 sits halfway between 1 and 1 + 2^-7 and rounds down; 1 + 3*2^-8 rounds up
    assert got[-3] == 1.0 and got[-2] == 1.0 + 2**-6 and got[-1] == 1.0 + 2**-7
    normal = finite & (np.abs(values) > 1e-37) & (np.abs(values) < 3e38)
    assert np.max(np.abs(got[normal] - values[normal]) / np.abs(values[normal])) <= 2.0**-8  # half an ulp


def test_rounding_refuses_the_wrong_arrays(fused):
    with pytest.raises(TypeError, match="float32 src"):
        fused.to_bf16(np.zeros(4, np.float64), np.zeros(4, np.uint16))
    with pytest.raises(TypeError, match="as many elements"):
        fused.to_bf16(np.zeros(4, np.float32), np.zeros(3, np.uint16))


@pytest.mark.parametrize("shape", [(128, 784, 256), (37, 5, 3), (1, 64, 10)])
def test_products_are_within_bfloat16_precision(bf16, rng, shape):
    m, k, n = shape
    A = rng.standard_normal((m, k)).astype(np.float32)
    B = rng.standard_normal((k, n)).astype(np.float32)
    Ab, Bb = np.empty(A.shape, np.uint16), np.empty(B.shape, np.uint16)
    bf16.to_product(A, Ab), bf16.to_product(B, Bb)
    exact = A.astype(np.float64) @ B.astype(np.float64)
    scale = np.abs(A).astype(np.float64) @ np.abs(B).astype(np.float64)  # what each entry's rounding acts on
    # each input carries a relative error of at most 2^-8, so each product term at most about 2^-7
    for got in (bf16.matmul(Ab, Bb, np.empty((m, n), np.float32)),
                bf16.matmul_tn(np.ascontiguousarray(Ab.T), Bb, np.empty((m, n), np.float32)),
                bf16.matmul_nt(Ab, np.ascontiguousarray(Bb.T), np.empty((m, n), np.float32))):
        assert np.all(np.abs(got - exact) <= 2.0**-7 * scale + 1e-5)
        # and it is the product of the rounded inputs, summed in float32
        rounded = as_float(Ab).astype(np.float64) @ as_float(Bb).astype(np.float64)
        assert np.allclose(got, rounded, rtol=1e-5, atol=1e-5 * scale.max())
    typical = np.median(np.abs(got - exact) / scale)
    assert typical < 2.0**-8  # errors of independent roundings mostly cancel


def test_float_operands_still_multiply_in_float32(bf16, rng):
    A, B = rng.standard_normal((8, 5)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    assert np.allclose(bf16.matmul(A, B, np.empty((8, 3), np.float32)), A @ B, rtol=1e-6)
    with pytest.raises(TypeError, match="both operands"):
        bf16.matmul(np.zeros((8, 5), np.uint16), B, np.empty((8, 3), np.float32))


def _mlp(seed=0):
    return nn.Sequential([nn.Dense(20, 32, "relu"), nn.Dense(32, 16), nn.Tanh(), nn.Dense(16, 3)], seed=seed)


def test_forward_and_backward_agree_with_float32(bf16, blobs):
    X, y = blobs
    X = np.tile(X, (1, 5))
    model = _mlp()
    model.set_loss("cross_entropy")

    def gradients():
        logits = model.forward(X, training=True)
        _, dlogits = model.loss(logits, y)
        model.backward(dlogits)
        return logits.copy(), model.flat.grads.copy()

    logits32, grads32 = gradients()
    with model.training_engine(bf16):
        logits16, grads16 = gradients()
    assert model.ops is ops.get_ops()  # the model's own engine again after the block
    assert np.linalg.norm(logits16 - logits32) / np.linalg.norm(logits32) < 2.0**-7
    assert np.linalg.norm(grads16 - grads32) / np.linalg.norm(grads32) < 2.0**-5
    assert not np.array_equal(grads16, grads32)  # the products really ran in bfloat16


def test_training_converges_like_float32_on_the_bundled_sample(bf16):
    (X, y), (Xt, yt) = nn.datasets.load("mnist-sample")
    X, y = X[:4000], y[:4000]
    accuracy = {}
    for precision in ("float32", "bf16"):
        model = nn.Sequential([nn.Dense(784, 128, "relu"), nn.Dense(128, 10)], seed=0)
        model.fit(X, y, epochs=3, batch_size=64, verbose=0, precision=precision)
        accuracy[precision] = float(np.mean(model.predict(Xt) == yt))
    assert accuracy["float32"] > 0.88
    assert abs(accuracy["bf16"] - accuracy["float32"]) <= 0.005


def test_resume_is_bit_identical_within_the_engine(bf16, blobs, tmp_path):
    X, y = blobs
    X = np.tile(X, (1, 5))
    straight = _mlp()
    straight.fit(X, y, epochs=4, batch_size=16, verbose=0, precision="bf16")
    first = _mlp()
    first.fit(X, y, epochs=2, batch_size=16, verbose=0, precision="bf16")
    first.save(tmp_path / "m.safetensors")
    resumed = nn.load(tmp_path / "m.safetensors")
    resumed.fit(X, y, epochs=4, batch_size=16, verbose=0, resume=True, precision="bf16")
    assert np.array_equal(resumed.flat.values, straight.flat.values)


def test_describe_names_the_library(bf16):
    assert "oneDNN" in ops.describe("bf16") and "bfloat16" in ops.describe("bf16")
    assert ops.bf16_status().startswith("oneDNN")


def test_precision_is_checked(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="precision must be one of"):
        _mlp().fit(X.repeat(5, 1), y, epochs=1, verbose=0, precision="fp16")
    model64 = nn.Sequential([nn.Dense(4, 3)], dtype="float64")
    with pytest.raises(ValueError, match="trains float32 models"):
        model64.fit(X, y, epochs=1, verbose=0, precision="bf16")


def test_missing_library_is_refused_with_the_remedy(monkeypatch, blobs):
    monkeypatch.setattr(ops, "_bf16", None)
    monkeypatch.setattr(onednn, "_loaded", None)
    monkeypatch.setenv("NUMPYNN_DNNL", "/nonexistent/libdnnl.so.3")
    X, y = blobs
    with pytest.raises(Bf16Unavailable, match=r"numpynn\[bf16\]|no bfloat16 dot products|Linux only"):
        nn.Sequential([nn.Dense(4, 3)]).fit(X, y, epochs=1, verbose=0, precision="bf16")
    assert ops.bf16_status().startswith("unavailable: ")


def test_a_cpu_without_bfloat16_is_refused(monkeypatch):
    monkeypatch.setattr(ops, "_bf16", None)
    monkeypatch.setattr(onednn, "_loaded", None)
    monkeypatch.setattr(onednn, "cpu_flags", lambda: {"sse2", "avx2"})
    with pytest.raises(Bf16Unavailable, match="no bfloat16 dot products"):
        ops.engine_for("bf16")


def test_the_estimators_train_in_bf16(bf16, blobs):
    pytest.importorskip("sklearn")
    from numpynn.sklearn import NumpynnClassifier

    X, y = blobs
    X = np.tile(X, (1, 5))
    clfs = {p: NumpynnClassifier((16,), max_iter=30, random_state=0, precision=p).fit(X, y)
            for p in ("float32", "bf16")}
    assert clfs["bf16"].score(X, y) >= clfs["float32"].score(X, y) - 0.02
    assert not np.array_equal(clfs["bf16"].coefs_[0], clfs["float32"].coefs_[0])  # it did train differently
    assert clfs["bf16"].model_.ops is ops.get_ops()  # predictions on the model's own engine
    with pytest.raises(ValueError, match=r"trains float32 models; this one is float64 \(pass float32 X\)"):
        NumpynnClassifier((4,), max_iter=2, precision="bf16").fit(X.astype(np.float64), y)
