"""The engines (numpynn.ops): the compiled one-pass loops of FusedOps against the NumPy reference, the choice
between them, and the model fusing a Dense layer with the activation layer after it."""

from __future__ import annotations

import platform
import sys
import threading

import numpy as np
import pytest

import numpynn as nn
from numpynn import ops
from numpynn.ops import NumpyOps
from numpynn.ops.activations import relu, relu_grad, softmax
from numpynn.ops.fused_ops import FEW_ROWS

FLOATS = (np.float32, np.float64)


@pytest.fixture
def use(engine):
    """use("numpy") / use("c") / use("auto"): switch the engine within one test (models made before keep theirs)."""
    yield ops.use
    ops.use(engine)


@pytest.fixture
def fused(use):
    """The compiled loops themselves (module numpynn.ops._fused)."""
    return use("c")._c


def test_the_extension_is_built_where_numpynn_is_installed_with_a_compiler(use):
    # `make test` installs numpynn with a C compiler present: a missing extension is a broken build
    engine = use("auto")
    assert engine.name == "c", "numpynn.ops._fused did not build; see the pip install output"
    assert "C extension" in ops.describe()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("weight_decay,decoupled", [(0.0, False), (0.01, False), (0.05, True)])
def test_adam_agrees_with_the_textbook_reference(use, rng, dtype, weight_decay, decoupled):
    # the reference is Kingma & Ba's Algorithm 1; the C loop folds the bias corrections into the step size and
    # eps (their section 2), so the weights agree to a few units in the last place. The moments are the same
    # operations in the same order: bit-identical.
    n = 1001
    p0 = rng.standard_normal(n).astype(dtype)
    m0, v0 = 0.1 * rng.standard_normal(n).astype(dtype), 0.01 * rng.random(n).astype(dtype)
    results = {}
    for name in ("numpy", "c"):
        engine = use(name)
        p, m, v = p0.copy(), m0.copy(), v0.copy()
        for t in range(1, 21):
            g = np.random.default_rng(t).standard_normal(n).astype(dtype)
            engine.adam(p, g, m, v, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, t=t, weight_decay=weight_decay,
                        decoupled=decoupled)
        results[name] = p, m, v
    (p_ref, m_ref, v_ref), (p, m, v) = results["numpy"], results["c"]
    tol = 1e-6 if dtype == np.float32 else 1e-14  # relative to the weights' size, after 20 steps
    np.testing.assert_allclose(p, p_ref, rtol=tol, atol=tol)
    if not weight_decay:  # with decay the gradient depends on p, and so carries p's last bits over
        np.testing.assert_array_equal(m, m_ref)
        np.testing.assert_array_equal(v, v_ref)
    np.testing.assert_allclose(m, m_ref, rtol=tol, atol=tol)
    assert (p != p0).all()  # every weight moved: the comparison is not of untouched arrays


@pytest.mark.parametrize("dtype", FLOATS)
def test_adam_reference_takes_the_papers_first_step(rng, dtype):
    # at t = 1 from zero moments, m_hat = g and v_hat = g^2: every weight moves by lr * g / (|g| + eps)
    p0, g = rng.standard_normal(50).astype(dtype), rng.standard_normal(50).astype(dtype)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    NumpyOps().adam(p, g.copy(), m, v, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, t=1)
    np.testing.assert_allclose(p, p0 - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(m, 0.1 * g, rtol=1e-6)
    np.testing.assert_allclose(v, 0.001 * g * g, rtol=1e-5)


@pytest.mark.parametrize("dtype", FLOATS)
def test_bias_relu_and_its_backward_are_bit_identical(fused, rng, dtype):
    z0 = rng.standard_normal((37, 19)).astype(dtype)
    b = rng.standard_normal(19).astype(dtype)
    z0[0, 0] = np.nan  # NaN must survive, as with np.maximum, so divergence is still caught
    ref = relu(z0 + b, np.empty_like(z0))
    z = z0.copy()
    fused.bias_relu(z, b)
    np.testing.assert_array_equal(z, ref)

    dy = rng.standard_normal(z.shape).astype(dtype)
    ref_dz = relu_grad(None, ref, dy, np.empty_like(dy))
    dz, gb = np.empty_like(dy), np.empty(19, dtype)
    fused.relu_backward(dy, ref, dz, gb)
    np.testing.assert_array_equal(dz, ref_dz)
    np.testing.assert_array_equal(gb, ref_dz.sum(axis=0))
    fused.sum_rows(dy, gb)  # the bias gradient of a layer without ReLU
    np.testing.assert_array_equal(gb, dy.sum(axis=0))
    fused.sum_rows(dy[:0], gb)
    np.testing.assert_array_equal(gb, np.zeros(19, dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_softmax_cross_entropy_matches_the_reference(use, rng, dtype, smoothing):
    logits = (5 * rng.standard_normal((64, 10))).astype(dtype)
    labels = rng.integers(0, 10, 64)
    loss = nn.CrossEntropy(label_smoothing=smoothing)
    use("numpy")
    ref_value, ref_grad = loss(logits, labels)
    use("c")
    value, grad = loss(logits, labels)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    assert value == pytest.approx(ref_value, rel=tol)
    np.testing.assert_allclose(grad, ref_grad, rtol=10 * tol, atol=tol / 64)
    assert grad.dtype == dtype


def test_softmax_and_take_rows(fused, rng):
    z = (10 * rng.standard_normal((5, 7))).astype(np.float32)
    out = np.empty_like(z)
    fused.softmax(z, out)
    np.testing.assert_allclose(out, softmax(z, np.empty_like(z)), rtol=1e-6)
    X = rng.standard_normal((50, 3, 4)).astype(np.float32)
    idx = rng.permutation(50)[:13]
    rows = np.empty((13, 3, 4), np.float32)
    fused.take_rows(X, idx, rows)
    np.testing.assert_array_equal(rows, X[idx])


@pytest.mark.parametrize("dtype", FLOATS)
# widths over 1024 take the nonzero inputs in more than one block (and carry a few over between blocks)
@pytest.mark.parametrize("rows,n_in,n_out",
                         [(1, 784, 256), (2, 37, 13), (1, 5, 1), (2, 300, 1030), (2, 2500, 7), (1, 1027, 3)])
def test_dense_rows_is_the_product_plus_bias_and_relu(fused, rng, dtype, rows, n_in, n_out):
    # inputs that are zero in about half the places, as an image's background is: those rows of W are skipped
    x = (rng.standard_normal((rows, n_in)) * (rng.random((rows, n_in)) < 0.5)).astype(dtype)
    W, b = rng.standard_normal((n_in, n_out)).astype(dtype), rng.standard_normal(n_out).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for apply_relu in (False, True):
        out = np.full((rows, n_out), np.nan, dtype)
        fused.dense_rows(x, [(W, b, out, apply_relu)])
        want = x.astype(np.float64) @ W + b
        np.testing.assert_allclose(out, relu(want, want) if apply_relu else want, rtol=tol, atol=tol * n_in)
    fused.dense_rows(np.zeros_like(x), [(W, b, out, False)])  # every input zero: the bias alone
    np.testing.assert_array_equal(out, np.broadcast_to(b, out.shape))


@pytest.mark.parametrize("dtype", FLOATS)
def test_dense_rows_runs_a_stack_of_layers_in_one_call(fused, rng, dtype):
    sizes, rows = [40, 33, 20, 6], 2
    x = (rng.standard_normal((rows, sizes[0])) * (rng.random((rows, sizes[0])) < 0.5)).astype(dtype)
    layers = [(rng.standard_normal((a, b)).astype(dtype), rng.standard_normal(b).astype(dtype),
               np.full((rows, b), np.nan, dtype), i < 2) for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:],
                                                                                        strict=True))]
    fused.dense_rows(x, layers)
    want = x.astype(np.float64)
    for W, b, out, apply_relu in layers:
        want = want @ W + b
        want = relu(want, want) if apply_relu else want
        np.testing.assert_allclose(out, want, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)


@pytest.mark.parametrize("dtype", FLOATS)
def test_all_finite_finds_any_nan_or_inf(fused, rng, dtype):
    a = rng.uniform(-1, 1, 10_000).astype(dtype) * np.finfo(dtype).max  # huge but finite values pass
    assert fused.all_finite(a) and fused.all_finite(a[:0])
    for where in (0, 4095, 4096, 9999):
        for bad in (np.nan, np.inf, -np.inf):
            b = a.copy()
            b[where] = bad
            assert not fused.all_finite(b), (where, bad)
            assert not fused.all_finite(b.reshape(100, 100))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("with_field", [False, True])
def test_warp_agrees_with_the_numpy_reference(fused, rng, dtype, with_field):
    from numpynn.data.augment import warp

    images = rng.random((37, 28, 28)).astype(dtype)
    # rotations, scalings and shifts, some reading far outside the image, one the identity
    affine = np.zeros((37, 2, 3))
    theta, size = rng.uniform(-0.4, 0.4, 37), rng.uniform(0.7, 1.3, (2, 37))
    affine[:, 0, 0], affine[:, 0, 1] = np.cos(theta) / size[0], -np.sin(theta) / size[1]
    affine[:, 1, 0], affine[:, 1, 1] = np.sin(theta) / size[0], np.cos(theta) / size[1]
    affine[:, :, 2] = rng.uniform(-6, 6, (37, 2))
    affine[0] = [[1, 0, 0], [0, 1, 0]]
    affine[1, :, 2] = [-40, 90]
    field = rng.uniform(-3, 3, (2, 37, 28, 28)).astype(dtype) if with_field else None
    out = np.empty_like(images)
    fused.warp(images, affine, field, out)
    np.testing.assert_allclose(out, warp(images, affine, field), atol=1e-5 if dtype == np.float32 else 1e-12)
    if not with_field:
        np.testing.assert_array_equal(out[0], images[0])
        assert not out[1].any()
    assert ops.get_ops().warp(images, affine, field).dtype == dtype


def test_bad_arguments_are_refused_with_what_was_expected(fused):
    f32 = np.zeros((4, 3), np.float32)
    with pytest.raises(TypeError, match="b must have the dtype of z \\(float32\\)"):
        fused.bias_relu(f32, np.zeros(3))
    with pytest.raises(ValueError, match="z must be 2-D with 5 columns"):
        fused.bias_relu(f32, np.zeros(5, np.float32))
    with pytest.raises(TypeError, match="C-contiguous writable"):
        fused.bias_relu(np.zeros((3, 4), np.float32).T, np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        fused.adam(np.zeros(3, np.int64), *[np.zeros(3)] * 3, 1, 1, 1, 1, 1, 0)
    with pytest.raises(ValueError, match="v has 2 elements, p has 3"):
        fused.adam(*[np.zeros(3)] * 3, np.zeros(2), 1, 1, 1, 1, 1, 0)
    with pytest.raises(IndexError, match="outside 0..2"):
        fused.softmax_cross_entropy(f32, np.array([0, 1, 3, 0]), 0.0, 0.25, np.empty_like(f32))
    with pytest.raises(TypeError, match="4 int64 class indices"):
        fused.softmax_cross_entropy(f32, np.array([0, 1, 2]), 0.0, 0.25, np.empty_like(f32))
    with pytest.raises(IndexError, match="row index 9 is outside 0..3"):
        fused.take_rows(f32, np.array([0, 9]), np.empty((2, 3), np.float32))
    W, b, out = np.zeros((3, 5), np.float32), np.zeros(5, np.float32), np.empty((1, 5), np.float32)
    with pytest.raises(ValueError, match="layer 0: W must be \\(4, 5\\) for an input of 4 and b of 5"):
        fused.dense_rows(np.zeros((1, 4), np.float32), [(W, b, out, True)])
    with pytest.raises(ValueError, match="layer 1: W must be \\(5, 5\\) for an input of 5"):
        fused.dense_rows(np.zeros((1, 3), np.float32), [(W, b, out, True), (W, b, out, True)])
    with pytest.raises(ValueError, match="layer 0: out must be \\(2, 5\\)"):
        fused.dense_rows(np.zeros((2, 3), np.float32), [(W, b, out, True)])
    with pytest.raises(TypeError, match="W must have the dtype of x"):
        fused.dense_rows(np.zeros((1, 3)), [(W, b, np.empty((1, 5)), True)])
    with pytest.raises(ValueError, match="at least one"):
        fused.dense_rows(np.zeros((1, 3), np.float32), [])
    with pytest.raises(TypeError, match="4 arguments"):
        fused.dense_rows(np.zeros((1, 3), np.float32), [(W, b, out)])
    with pytest.raises(TypeError, match="float32 or float64"):
        fused.all_finite(np.zeros(3, np.int32))
    images, affine = np.zeros((2, 5, 5), np.float32), np.zeros((2, 2, 3))
    with pytest.raises(TypeError, match="field must have the dtype of images"):
        fused.warp(images, affine, np.zeros((2, 2, 5, 5)), np.empty_like(images))
    with pytest.raises(ValueError, match="6 affine values an image"):
        fused.warp(images, affine[:1], None, np.empty_like(images))
    with pytest.raises(TypeError, match="float64 affine"):
        fused.warp(images, affine.astype(np.float32), None, np.empty_like(images))


def test_numpynn_kernels_setting(use, monkeypatch):
    monkeypatch.setenv("NUMPYNN_KERNELS", "numpy")
    assert use(None).name == "numpy" and type(ops.get_ops()) is NumpyOps
    assert "NUMPYNN_KERNELS=numpy" in ops.describe()
    monkeypatch.setenv("NUMPYNN_KERNELS", "sometimes")
    with pytest.raises(ValueError, match="NUMPYNN_KERNELS must be one of"):
        use(None)
    with pytest.raises(ValueError, match="the engine must be one of"):
        use("fast")
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "numpynn.ops._fused", None)  # as if the extension had not been built
        assert use("auto").name == "numpy" and "not built" in ops.describe()
        with pytest.raises(ImportError, match="was not built"):
            use("c")


def test_a_model_takes_the_engine_chosen_when_it_is_made_and_binds_its_parts(use, blobs):
    use("numpy")
    model, optimizer = nn.Sequential([nn.Dense(4, 3)]), nn.Adam()
    use("c")
    assert model.ops.name == "numpy" and model.layers[0].ops is model.ops
    assert model.loss.ops is model.ops  # the model hands its engine to its loss
    assert optimizer.ops.name == "c"  # on its own, an optimizer computes with the process's engine
    model.optimizer = optimizer
    assert optimizer.ops is model.ops  # held by the model, with the model's
    assert nn.Sequential([nn.Dense(4, 3)]).ops.name == "c"
    # a pickled model runs on the engine of the process that unpickles it
    import pickle

    assert pickle.loads(pickle.dumps(model)).ops is ops.get_ops()


def _train(setting, use, blobs, **fit):
    use(setting)
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 32, "relu"), nn.Dense(32, 16, "relu"), nn.Dense(16, 3)], seed=3)
    model.fit(X, y, optimizer=nn.AdamW(1e-2, weight_decay=0.01), epochs=5, batch_size=16, verbose=0, **fit)
    return model


def test_training_with_either_kernels_agrees(use, blobs):
    ref, got = _train("numpy", use, blobs), _train("c", use, blobs)
    for key, value in ref.get_weights().items():
        np.testing.assert_allclose(got.get_weights()[key], value, rtol=1e-4, atol=1e-5, err_msg=key)
    assert got.history["loss"] == pytest.approx(ref.history["loss"], rel=1e-4)


@pytest.mark.parametrize("setting", ["c", "numpy"])
def test_gradients_are_right_with_either_kernels(use, rng, setting):
    use(setting)
    model = nn.Sequential([nn.Dense(5, 7, "relu"), nn.Dense(7, 6, "relu"), nn.Dense(6, 4)], seed=1, dtype="float64")
    model.set_loss(nn.CrossEntropy(label_smoothing=0.1))
    X = rng.standard_normal((9, 5))
    result = nn.gradcheck(model, X, rng.integers(0, 4, 9), max_per_tensor=None)
    assert result.ok, result


@pytest.mark.parametrize("setting", ["c", "numpy"])
def test_resume_is_bit_identical_with_either_kernels(use, blobs, tmp_path, setting):
    straight = _train(setting, use, blobs)
    first = _train(setting, use, blobs, callbacks=[nn.ModelCheckpoint(tmp_path / "e{epoch}.safetensors")])
    resumed = nn.load(tmp_path / "e3.safetensors")
    resumed.fit(*blobs, epochs=5, batch_size=16, verbose=0, resume=True)
    for key, value in straight.get_weights().items():
        np.testing.assert_array_equal(resumed.get_weights()[key], value, err_msg=key)
    assert first.history.batch_loss == straight.history.batch_loss


def pickle_roundtrip(model):
    """The same model, on the engine chosen now (a pickled model takes the engine of the process it lands in)."""
    import pickle

    return pickle.loads(pickle.dumps(model))


def _mlp(layers_and_dropout, dtype="float32"):
    return nn.Sequential(layers_and_dropout, seed=5, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_prediction_of_a_few_rows_agrees_with_the_batched_products(use, rng, dtype):
    # sparse inputs, ReLU and no activation, Dropout between (it does nothing at prediction), softmax fused
    model = _mlp([nn.Dense(30, 24, "relu"), nn.Dropout(0.3), nn.Dense(24, 16, "relu"), nn.Dense(16, 5)], dtype)
    X = (rng.random((40, 30)) * (rng.random((40, 30)) < 0.5)).astype(dtype)
    use("numpy")
    batched = model.predict_proba(X)
    use("c")
    model = pickle_roundtrip(model)  # the same weights, now on the C engine
    assert hasattr(model._predictor, "buffers")  # the C engine's few-row call takes this stack
    tol = 1e-5 if dtype == "float32" else 1e-12
    for i in range(0, 6, 2):
        for rows in range(1, FEW_ROWS + 1):
            np.testing.assert_allclose(model.predict_proba(X[i:i + rows]), batched[i:i + rows], rtol=tol, atol=tol)
    for predict in (model.predict_logits, model.predict_proba):
        first = predict(X[:1])
        second = predict(X[1:2])  # the result is the caller's own array, not a reused buffer
        assert not np.array_equal(first, second)
    np.testing.assert_allclose(model.predict_proba(X[:3]).sum(axis=1), 1.0, rtol=1e-6)  # softmax in the C call
    first = model.predict_logits(X[:1])
    np.testing.assert_allclose(first, model.predict_logits(X[:8])[:1], rtol=tol, atol=tol)  # BLAS path
    assert model.predict(X[3:4])[0] == batched[3].argmax()


def test_few_row_prediction_follows_weights_set_after_copies_and_loads(use, rng, tmp_path):
    import copy
    import pickle

    use("c")
    X = (rng.random((6, 12)) * (rng.random((6, 12)) < 0.5)).astype(np.float32)
    model = _mlp([nn.Dense(12, 9, "relu"), nn.Dense(9, 4)])
    model.predict_proba(X[:1])  # the model being copied has its loop's plan already
    model.save(tmp_path / "m.safetensors")
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model), nn.load(tmp_path / "m.safetensors")):
        other.predict_proba(X[:1])  # the loop's buffers exist before the weights change
        other.set_weights({k: v * 1.5 + 0.1 for k, v in model.get_weights().items()})
        np.testing.assert_allclose(other.predict_proba(X[:1]), other.predict_proba(X)[:1], rtol=1e-5, atol=1e-6)
        assert not np.allclose(other.predict_proba(X[:1]), model.predict_proba(X[:1]), atol=1e-4)


def test_models_the_few_row_loop_does_not_cover_predict_as_before(use, rng):
    use("c")
    X = rng.random((8, 6)).astype(np.float32)
    for layers in ([nn.Dense(6, 4, "tanh"), nn.Dense(4, 3)], [nn.Dense(6, 4), nn.BatchNorm(4), nn.Dense(4, 3)]):
        model = _mlp(layers)
        assert not hasattr(model._predictor, "buffers")  # no few-row C call for this stack
        np.testing.assert_allclose(model.predict_proba(X[:1]), model.predict_proba(X)[:1], rtol=1e-6)
    model = _mlp([nn.Dense(6, 4, "relu"), nn.Dense(4, 3)])
    column = np.asfortranarray(X[:2, ::2].repeat(2, axis=1))  # not C-contiguous: the NumPy path
    np.testing.assert_allclose(model.predict_proba(column), model.predict_proba(np.ascontiguousarray(column)),
                               rtol=1e-6)
    with pytest.raises(nn.DataError, match="NaN"):
        model.predict(np.full((1, 6), np.nan, np.float32))


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64", "aarch64", "arm64"),
                    reason="the flush-to-zero switch is written for x86-64 and AArch64")
def test_flush_subnormals_holds_inside_the_block_only(use):
    use("c")
    tiny = np.array([1e-38], np.float32)  # just above float32's smallest normal number (1.18e-38)
    assert (tiny * np.float32(0.5))[0] > 0  # IEEE: a subnormal result
    engine = ops.get_ops()
    with engine.flush_subnormals():
        assert (tiny * np.float32(0.5))[0] == 0
        with engine.flush_subnormals():
            pass
        assert (tiny * np.float32(0.5))[0] == 0  # an inner block gives back the outer block's mode
    assert (tiny * np.float32(0.5))[0] > 0
    with use("numpy").flush_subnormals():  # the NumPy reference is left as IEEE makes it
        assert (tiny * np.float32(0.5))[0] > 0


@pytest.mark.parametrize("setting", ["c", "numpy"])
def test_optimizer_state_of_dead_inputs_does_not_stay_subnormal(use, rng, setting):
    # a pixel that is used, then always background: its weights' gradients are zero from then on, and Adam's
    # m decays by 0.9 a step; after ~850 steps it would be subnormal (slow on x86) but for flushing
    use(setting)
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    X, y = rng.random((64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    model.fit(X, y, optimizer=nn.Adam(1e-3), epochs=2, batch_size=8, verbose=0)
    X[:, 0] = 0
    model.fit(X, y, epochs=110, batch_size=8, verbose=0)  # 880 more steps: m of ~0.05 is subnormal by ~810
    m = model.optimizer.state["0.W"]["m"]
    subnormal = (m != 0) & (np.abs(m) < np.finfo(np.float32).tiny)
    if setting == "c":
        assert not subnormal.any() and (m[0] == 0).all()
    else:  # IEEE arithmetic keeps them: what the flush saves
        assert subnormal[0].any()


# --- loops shared with OpenBLAS's worker threads ----------------------------------------------------------------
def _openblas_found() -> bool:
    try:
        return ops.use("c").blas_threads() is not None
    except ImportError:
        return False
    finally:
        ops.use(None)


needs_shared_threads = pytest.mark.skipif(not _openblas_found(),
                                          reason="NumPy's BLAS here is not an OpenBLAS numpynn can share threads with")


@pytest.fixture
def two_blas_threads():
    """The BLAS library set to two threads, so every long loop is cut in two parts (one on its worker)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        yield


def _shared_loops(fast, rng, dtype, share: bool):
    """Run each shared loop on inputs long enough to be cut, with sharing on or off; return every output."""
    ops.blas_threads(share)
    n = 70_001  # an odd length: the last part is shorter than the others
    p, g, m, v = (rng.standard_normal(n).astype(dtype) for _ in range(4))
    v = np.abs(v)
    fast.adam(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.999, 0.01)
    z, b = rng.standard_normal((601, 83)).astype(dtype), rng.standard_normal(83).astype(dtype)
    fast.bias_relu(z, b)
    dy = rng.standard_normal(z.shape).astype(dtype)
    dz, gb = np.empty_like(dy), np.empty(83, dtype)
    fast.relu_backward(dy, z, dz, gb)
    X, idx = rng.standard_normal((500, 97)).astype(dtype), rng.integers(0, 500, 777)
    rows = np.empty((777, 97), dtype)
    fast.take_rows(X, idx, rows)
    np.testing.assert_array_equal(rows, X[idx])
    return p, m, v, z, dz, gb, rows


@needs_shared_threads
@pytest.mark.parametrize("dtype", FLOATS)
def test_shared_loops_give_the_same_numbers_as_one_thread(fused, two_blas_threads, dtype):
    try:
        alone = _shared_loops(fused, np.random.default_rng(5), dtype, share=False)
        shared = _shared_loops(fused, np.random.default_rng(5), dtype, share=True)
    finally:
        ops.blas_threads(True)
    for a, s in zip(alone, shared, strict=True):
        np.testing.assert_array_equal(s, a)


@needs_shared_threads
@pytest.mark.parametrize("where", [0, 1, -1])
def test_all_finite_finds_a_nan_in_any_part(fused, two_blas_threads, where):
    a = np.ones(5_000_001, np.float32)
    assert fused.all_finite(a)
    a[where if where >= 0 else len(a) - 1] = np.nan if where else np.inf
    assert not fused.all_finite(a)
    a[len(a) // 2 + 17] = 1.0  # a part boundary's neighbourhood stays clean; the bad value is still found
    assert not fused.all_finite(a)


@needs_shared_threads
@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64", "aarch64", "arm64"),
                    reason="the flush-to-zero switch is written for x86-64 and AArch64")
def test_shared_parts_run_in_the_callers_flush_to_zero_mode(fused, two_blas_threads):
    # a moment sum just above the smallest normal float decays below it; flushed, every element is 0, also those
    # computed on the BLAS worker thread, whose own mode is IEEE
    n = 100_000
    p, g = np.ones(n, np.float32), np.zeros(n, np.float32)
    m, v = np.full(n, 1.5e-38, np.float32), np.ones(n, np.float32)
    with ops.get_ops().flush_subnormals():
        fused.adam(p, g, m, v, 1e-3, 0.5, 0.999, 1e-8, 1.0, 0.0)
    assert (m == 0).all(), f"{np.count_nonzero(m)} of {n} stayed subnormal"
    m[:] = 1.5e-38
    fused.adam(p, g, m, v, 1e-3, 0.5, 0.999, 1e-8, 1.0, 0.0)  # outside the block: IEEE subnormals everywhere
    assert (m > 0).all()


@needs_shared_threads
def test_training_with_shared_loops_is_bit_identical(use, two_blas_threads, rng):
    use("c")
    X, y = rng.standard_normal((600, 300)).astype(np.float32), rng.integers(0, 5, 600)
    weights = []
    try:
        for share in (False, True):
            ops.blas_threads(share)
            model = nn.Sequential([nn.Dense(300, 200, "relu"), nn.Dense(200, 100, "relu"), nn.Dense(100, 5)], seed=2)
            model.fit(X, y, optimizer=nn.Adam(1e-3), epochs=2, batch_size=200, verbose=0)
            weights.append(model.get_weights())
    finally:
        ops.blas_threads(True)
    for key, value in weights[0].items():
        np.testing.assert_array_equal(weights[1][key], value, err_msg=key)


@needs_shared_threads
def test_models_trained_in_several_threads_at_once_share_the_workers_safely(use, two_blas_threads, rng):
    # each fit hands its loops to the same OpenBLAS workers; they must neither deadlock nor mix up the parts
    use("c")
    X, y = rng.standard_normal((1500, 300)).astype(np.float32), rng.integers(0, 5, 1500)
    weights: dict = {}

    def train(key):
        model = nn.Sequential([nn.Dense(300, 256, "relu"), nn.Dense(256, 5)], seed=0)
        model.fit(X, y, epochs=2, batch_size=256, verbose=0)
        weights[key] = model.get_weights()["0.W"]

    train("alone")
    threads = [threading.Thread(target=train, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a training thread hung"
    for i in range(3):
        np.testing.assert_array_equal(weights[i], weights["alone"])


@needs_shared_threads
def test_the_shared_threads_are_those_of_numpys_own_openblas(use):
    # SciPy's wheels bring a second OpenBLAS; handing the loops to its (sleeping) threads made an epoch 20 x slower
    pytest.importorskip("scipy.linalg")  # loads SciPy's copy
    use("c")
    found = ops.blas_threads()
    assert "scipy.libs" not in found and "scipy" not in found.rsplit("/", 2)[-2], found


def test_blas_threads_names_the_library_or_none(use):
    use("numpy")
    assert ops.blas_threads() is None and "shared" not in ops.describe()
    use("c")
    found = ops.blas_threads()
    assert found is None or ("openblas" in found.lower() and "shared with OpenBLAS" in ops.describe())
    assert ops.blas_threads(False) is None and "shared" not in ops.describe()
    assert ops.blas_threads(True) == found


def test_the_vectorized_exp_of_softmax_is_within_a_few_ulp(fused):
    # rows [0, x]: out[1] = e^x / (1 + e^x); every x <= 0 reaches exp (shifted by the row's top, 0)
    x = np.concatenate([-np.logspace(-9, np.log10(87.3), 100_000), np.linspace(-87.3, 0, 100_001)])
    x = x.astype(np.float32)
    z = np.stack([np.zeros_like(x), x], axis=1)
    out = np.empty_like(z)
    fused.softmax(z, out)
    e = np.exp(x.astype(np.float64))
    ulp = 2.0**-23  # float32's spacing relative to a number's size (at most)
    np.testing.assert_allclose(out[:, 1], e / (1 + e), rtol=2 * ulp, atol=0)
    np.testing.assert_allclose(out[:, 0], 1 / (1 + e), rtol=2 * ulp, atol=0)
    alone = x < -17  # 1 + e^x rounds to 1: out[:, 1] is the exponential itself
    np.testing.assert_allclose(out[alone, 1], e[alone], rtol=1.5 * ulp, atol=0)
    below = np.array([[0, -87.4], [0, -200], [0, -np.inf]], np.float32)  # under float32's smallest normal: 0
    fused.softmax(below, out[:3])
    np.testing.assert_array_equal(out[:3], [[1, 0]] * 3)
    fused.softmax(np.array([[0, np.nan], [np.nan, 0]], np.float32), out[:2])  # NaN spreads, as in NumPy
    assert np.isnan(out[:2]).all()


def test_the_model_hands_its_engine_to_its_optimizer_and_clones_keep_their_own(use, blobs):
    use("numpy")
    optimizer = nn.Adam(1e-2)
    use("c")
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    model.fit(*blobs, optimizer=optimizer, epochs=1, verbose=0)
    assert optimizer.ops is model.ops and model.ops.name == "c"  # one engine runs the whole step
    use("numpy")
    clone = model.astype("float64")
    assert clone.loss.ops.name == "numpy" and model.loss.ops.name == "c"  # the clone's loss is its own


def test_a_model_whose_only_layer_the_loss_takes_trains_and_backpropagates(rng):
    model = nn.Sequential([nn.Softmax()], input_shape=(3,))
    assert model.steps == ()
    X, y = rng.standard_normal((12, 3)).astype(np.float32), rng.integers(0, 3, 12)
    model.fit(X, y, epochs=1, batch_size=4, verbose=0)  # nothing to train, and no error
    d = rng.standard_normal((2, 3)).astype(np.float32)
    assert model.backward(d, input_grad=True) is d and model.backward(d) is None
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)
