"""The thread count of each epoch (numpynn.ops.threads): one thread for small products and on a machine whose
other processes take the cores, the BLAS setting restored after, and the same weights whatever was chosen."""

from __future__ import annotations

import os

import numpy as np
import pytest

import numpynn as nn
from numpynn.ops import threads

found = threads._found()
needs_openblas = pytest.mark.skipif(found is None, reason="NumPy's BLAS is not an OpenBLAS whose threads can be set")


def test_usable_cpus_is_within_the_affinity_mask():
    assert 1 <= threads.usable_cpus() <= len(os.sched_getaffinity(0))


def test_small_products_and_busy_machines_get_one_thread(monkeypatch):
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    t = threads.EpochThreads(threads.SMALL_PRODUCT * 4)
    t.setting = 2
    monkeypatch.setattr(threads, "others_load", lambda own: 0.0)
    assert t.for_epoch() == 2
    monkeypatch.setattr(threads, "others_load", lambda own: 1.0)  # a neighbour on one core of two
    assert t.for_epoch() == 1
    small = threads.EpochThreads(threads.SMALL_PRODUCT - 1)
    small.setting = 2
    monkeypatch.setattr(threads, "others_load", lambda own: 0.0)
    assert small.for_epoch() == 1


def test_the_largest_product_is_the_batch_times_the_largest_weight_matrix():
    model = nn.Sequential([nn.Dense(32, 512, "relu"), nn.Dense(512, 256, "relu"), nn.Dense(256, 2)], seed=0)
    assert threads.largest_product(model, 128) == 128 * 512 * 256


def _fit(monkeypatch, load: float, callbacks=()):
    monkeypatch.setattr(threads, "others_load", lambda own: load)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(512, 64)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential([nn.Dense(64, 512, "relu"), nn.Dense(512, 2)], seed=0)
    model.fit(X, y, optimizer=nn.Adam(1e-3), epochs=2, batch_size=256, verbose=0, callbacks=list(callbacks))
    return model


@needs_openblas
def test_the_setting_is_restored_and_the_weights_do_not_depend_on_the_choice(monkeypatch):
    from numpynn.training.callbacks import Callback

    class Seen(Callback):
        def __init__(self):
            self.counts = []

        def on_batch_end(self, step, logs):
            self.counts.append(found[0]())

    before = found[0]()
    if before < 2:
        found[1](2)
    try:
        monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
        busy, quiet = Seen(), Seen()
        a = _fit(monkeypatch, 5.0, [busy])
        assert found[0]() == 2  # restored after the fit
        b = _fit(monkeypatch, 0.0, [quiet])
        assert set(busy.counts) == {1} and set(quiet.counts) == {2}
        for k, w in a.get_weights().items():
            np.testing.assert_array_equal(w, b.get_weights()[k])
    finally:
        found[1](before)
