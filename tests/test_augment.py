"""The elastic distortion is a proper one: label-preserving in size, smooth, Simard-sized, seeded, exact at zero."""

from __future__ import annotations

import numpy as np
import pytest

import numpynn as nn
from numpynn import data
from numpynn.data.augment import Augmenter, bilinear_sample, elastic_displacement


@pytest.fixture(scope="module")
def sample():
    (X, y), _ = data.load("mnist-sample")
    return X, y


def _simard_field(n: int, alpha: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """The reference: a uniform(-1, 1) value per pixel, convolved with a Gaussian (zero padding), times alpha."""
    r = max(1, int(round(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    u = rng.uniform(-1, 1, (n, 28, 28))
    for axis in (1, 2):
        u = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), axis, u)
    return alpha * u


def test_field_has_simards_size_and_smoothness():
    rng = np.random.default_rng(0)
    field = elastic_displacement(1000, (28, 28), 6.0, 3.0, rng)
    assert field.shape == (2, 1000, 28, 28) and field.dtype == np.float32
    ref = _simard_field(500, 6.0, 3.0, rng)
    inner = (slice(None), slice(6, 22), slice(6, 22))
    assert field[0][inner].std() == pytest.approx(ref[inner].std(), rel=0.1)
    assert field[1][inner].std() == pytest.approx(ref[inner].std(), rel=0.1)
    assert abs(field.mean()) < 0.02  # no drift: the field distorts, it does not translate on average
    # smooth: neighbouring pixels move almost together, as in the Gaussian-smoothed reference
    for f in (field[0], ref):
        step = np.diff(f, axis=2).std() / f.std()
        assert step < 0.35, step
    # the same size at the border as inside, so strokes near the edge are distorted as much as the rest
    assert field[0][:, 0, :].std() == pytest.approx(field[0][inner].std(), rel=0.15)
    # a label-preserving magnitude: well under a stroke's width nearly everywhere
    assert np.quantile(np.abs(field), 0.999) < 1.5


def test_field_scales_with_alpha_and_sigma():
    def std(alpha, sigma):
        return elastic_displacement(400, (28, 28), alpha, sigma, np.random.default_rng(1)).std()

    assert std(12.0, 3.0) == pytest.approx(2 * std(6.0, 3.0), rel=1e-5)
    assert std(6.0, 5.0) < std(6.0, 3.0) < std(6.0, 1.5)  # Simard: a wider Gaussian, a smaller field
    np.testing.assert_array_equal(elastic_displacement(3, (28, 28), 0.0, 3.0, np.random.default_rng(0)), 0)


def test_bilinear_sampling_is_exact_on_the_grid_and_zero_outside(sample):
    X, _ = sample
    images = X[:16].reshape(16, 28, 28)
    rows, cols = np.meshgrid(np.arange(28, dtype=np.float32), np.arange(28, dtype=np.float32), indexing="ij")
    def grid(r, c):
        return np.broadcast_to(r, images.shape).copy(), np.broadcast_to(c, images.shape).copy()

    np.testing.assert_array_equal(bilinear_sample(images, *grid(rows, cols)), images)
    # half a pixel to the right: the mean of each pixel and its right neighbour; far outside: zero
    half = bilinear_sample(images, *grid(rows, cols + 0.5))
    np.testing.assert_allclose(half[:, :, :27], (images[:, :, :27] + images[:, :, 1:]) / 2, atol=1e-6)
    np.testing.assert_allclose(half[:, :, 27], images[:, :, 27] / 2, atol=1e-6)
    far = bilinear_sample(images, np.full(images.shape, -40.0, np.float32), np.full(images.shape, 99.0, np.float32))
    assert not far.any()


def test_elastic_augmentation_is_seeded_and_identity_at_zero_strength(sample):
    X, _ = sample
    batch = X[:64].copy()
    aug = Augmenter(shift=0, rotate=0, elastic_alpha=6.0)
    a, b = aug(batch, np.random.default_rng(3)), aug(batch, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - aug(batch, np.random.default_rng(4))).mean() > 0.01
    np.testing.assert_array_equal(batch, X[:64])  # the caller's batch is untouched
    assert a.dtype == np.float32 and aug(batch.astype(np.float64), np.random.default_rng(3)).dtype == np.float64
    # strength to zero: the warp path itself (a rotation of 0 degrees drawn, a zero field) gives the input back
    faint = Augmenter(shift=0, rotate=1e-9, elastic_alpha=1e-9)
    np.testing.assert_allclose(faint(batch, np.random.default_rng(0)), batch, atol=1e-5)


def test_distorted_digits_keep_their_ink_and_their_class(sample):
    X, y = sample
    centroids = np.stack([X[y == k].mean(axis=0) for k in range(10)])
    test = X[:1000]

    def centroid_accuracy(images):
        d = ((images[:, None, :] - centroids[None]) ** 2).sum(axis=2)
        return (d.argmin(axis=1) == y[:1000]).mean()

    out = Augmenter(shift=2, rotate=12, elastic_alpha=6.0)(test, np.random.default_rng(0))
    changed = np.abs(out - test).mean(axis=1)
    assert (changed > 0.01).mean() > 0.95  # nearly every digit is moved ...
    ink = out.sum(axis=1) / test.sum(axis=1)
    assert np.median(ink) == pytest.approx(1.0, abs=0.05) and ink.min() > 0.7  # ... none is wiped out ...
    # ... and the distortion alone keeps the class: a classifier that knows only the undistorted class means
    # (and is thrown by a one-pixel shift) reads elastically distorted digits nearly as well as the originals
    elastic = Augmenter(shift=0, rotate=0, elastic_alpha=6.0)(test, np.random.default_rng(0))
    assert centroid_accuracy(elastic) > centroid_accuracy(test) - 0.03
    heavy = Augmenter(shift=0, rotate=0, elastic_alpha=60.0)(test, np.random.default_rng(0))
    assert centroid_accuracy(heavy) < centroid_accuracy(test) - 0.3  # the test can tell a destructive distortion


def test_scaling_changes_height_and_width_independently_within_its_range():
    # a filled 12x12 square in the centre: its inked extent along each axis measures the drawn size
    images = np.zeros((400, 28, 28), np.float32)
    images[:, 8:20, 8:20] = 1.0
    out = Augmenter(shift=0, rotate=0, scale=0.25)(images, np.random.default_rng(0))
    height = (out > 0.5).any(axis=2).sum(axis=1)
    width = (out > 0.5).any(axis=1).sum(axis=1)
    assert height.min() >= 12 * 0.75 - 1 and height.max() <= 12 * 1.25 + 1
    assert width.min() >= 12 * 0.75 - 1 and width.max() <= 12 * 1.25 + 1
    assert height.max() - height.min() >= 4 and width.max() - width.min() >= 4  # the range is used ...
    assert abs(np.corrcoef(height, width)[0, 1]) < 0.3  # ... and the two axes are drawn on their own
    ink = out.sum(axis=(1, 2)) / 144
    np.testing.assert_allclose(ink, height * width / 144, rtol=0.25)  # area follows height x width
    np.testing.assert_array_equal(Augmenter(shift=0, rotate=0, scale=0.25)(images, np.random.default_rng(0)), out)
    with pytest.raises(ValueError, match="scale must be in"):
        Augmenter(scale=1.0)


def test_the_engine_resamples_as_the_numpy_code_does(sample):
    X, _ = sample
    batch = X[:128].copy()
    aug = Augmenter(shift=2, rotate=12, elastic_alpha=20.0, elastic_sigma=4.0, scale=0.15)
    on_engine = aug.on_engine(nn.ops.get_ops())
    assert on_engine.engine is nn.ops.get_ops() and aug.engine is None and on_engine == aug  # a copy, same settings
    np.testing.assert_allclose(on_engine(batch, np.random.default_rng(2)), aug(batch, np.random.default_rng(2)),
                               atol=1e-5)


def test_fit_hands_the_training_engine_to_an_augmenter(monkeypatch, sample):
    X, y = sample
    seen = []
    real = type(nn.ops.get_ops()).warp

    def spy(self, images, affine, field=None):
        seen.append(self)
        return real(self, images, affine, field)

    monkeypatch.setattr(type(nn.ops.get_ops()), "warp", spy)
    model = nn.Sequential([nn.Dense(784, 10)], seed=0)
    aug = Augmenter(shift=1, rotate=5, elastic_alpha=4.0)
    model.fit(X[:256], y[:256], epochs=1, batch_size=128, verbose=0, augment=aug)
    assert len(seen) == 2 and all(e is model.ops for e in seen)
    assert aug.engine is None  # the caller's augmenter is left as it was
