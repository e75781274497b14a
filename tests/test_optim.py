"""Optimizers: first steps against hand-computed values, validation, state round trips; schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

import numpynn as nn


def run_steps(opt, grads, p0=1.0, dtype=np.float64):
    """Apply one step per gradient to a one-element parameter; return the parameter after each step."""
    p = np.array([p0], dtype=dtype)
    g = np.empty_like(p)
    out = []
    for gv in grads:
        g[...] = gv
        opt.step([("w", p, g)])
        out.append(float(p[0]))
    return out


def test_sgd_plain_momentum_nesterov_weight_decay():
    assert run_steps(nn.SGD(0.1), [0.5, 0.5]) == pytest.approx([0.95, 0.90])
    # v1 = 0.5, p1 = 0.95; v2 = 0.9*0.5 + 0.5 = 0.95, p2 = 0.95 - 0.095
    assert run_steps(nn.SGD(0.1, momentum=0.9), [0.5, 0.5]) == pytest.approx([0.95, 0.855])
    # p1 = 1 - 0.1*(0.5 + 0.9*0.5)
    assert run_steps(nn.SGD(0.1, momentum=0.9, nesterov=True), [0.5]) == pytest.approx([0.905])
    # g' = 0.5 + 0.1*1.0
    assert run_steps(nn.SGD(0.1, weight_decay=0.1), [0.5]) == pytest.approx([0.94])


def test_adam_first_steps():
    # step 1: m=0.05, v=0.00025 -> m^=0.5, v^=0.25 -> p = 1 - 0.1*0.5/0.5 = 0.9
    # step 2 (g=-0.25): m=0.02, v=0.00031225 -> m^=0.02/0.19, v^=0.00031225/0.001999
    expected1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
    m_hat, v_hat = 0.02 / 0.19, 0.00031225 / (1 - 0.999**2)
    expected2 = expected1 - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8)
    assert run_steps(nn.Adam(0.1), [0.5, -0.25]) == pytest.approx([expected1, expected2], rel=1e-12)
    assert expected2 == pytest.approx(0.873366, abs=1e-6)


def test_adamw_decouples_weight_decay_and_adam_couples_it():
    assert run_steps(nn.AdamW(0.1, weight_decay=0.1), [0.5]) == pytest.approx([0.99 - 0.1])
    # coupled: g = 0.5 + 0.1*1 = 0.6; first Adam step is still lr * sign
    assert run_steps(nn.Adam(0.1, weight_decay=0.1), [0.5]) == pytest.approx([0.9])


def test_rmsprop_and_adagrad_first_steps():
    # RMSprop: sq = 0.1 * 0.25 = 0.025 -> p = 1 - 0.01*0.5/sqrt(0.025)
    assert run_steps(nn.RMSprop(0.01), [0.5]) == pytest.approx([1 - 0.01 * 0.5 / math.sqrt(0.025)])
    # Adagrad: total = 0.25, 0.5 -> p1 = 1 - 0.1*0.5/0.5; p2 = p1 - 0.1*0.5/sqrt(0.5)
    assert run_steps(nn.Adagrad(0.1), [0.5, 0.5]) == pytest.approx([0.9, 0.9 - 0.05 / math.sqrt(0.5)])


def test_clip_by_global_norm():
    a, b = np.array([0.0]), np.array([0.0])
    ga, gb = np.array([3.0]), np.array([4.0])  # global norm 5
    opt = nn.SGD(1.0, clip_norm=1.0)
    opt.step([("a", a, ga), ("b", b, gb)])
    assert opt.last_grad_norm == pytest.approx(5.0)
    np.testing.assert_allclose([a[0], b[0]], [-0.6, -0.8])


@pytest.mark.parametrize("make, arg", [
    (lambda: nn.SGD(0), "lr"), (lambda: nn.SGD(-1.0), "lr"), (lambda: nn.Adam(float("nan")), "lr"),
    (lambda: nn.Adam(beta1=1.0), "beta1"), (lambda: nn.Adam(beta2=-0.1), "beta2"),
    (lambda: nn.AdamW(beta2=1.5), "beta2"), (lambda: nn.SGD(0.1, momentum=1.0), "momentum"),
    (lambda: nn.RMSprop(rho=1.0), "rho"), (lambda: nn.Adam(eps=0), "eps"),
    (lambda: nn.SGD(0.1, weight_decay=-1), "weight_decay"), (lambda: nn.Adam(clip_norm=0), "clip_norm"),
    (lambda: nn.SGD(0.1, nesterov=True), "nesterov"),
])
def test_invalid_hyper_parameters_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


@pytest.mark.parametrize("make", [lambda: nn.SGD(0.05, momentum=0.9, nesterov=True), lambda: nn.Adam(1e-2),
                                  lambda: nn.AdamW(1e-2), lambda: nn.RMSprop(1e-3), lambda: nn.Adagrad(0.05)])
def test_state_saved_and_restored_mid_run_gives_identical_steps(make, rng):
    p = rng.standard_normal((3, 4)).astype(np.float32)
    grads = rng.standard_normal((8, 3, 4)).astype(np.float32)
    opt = make()
    g = np.empty_like(p)
    for i in range(4):
        g[...] = grads[i]
        opt.step([("w", p, g)])
    scalars, arrays = opt.state_dict()
    p_saved = p.copy()
    restored = nn.optim.optimizer_from_config(scalars)
    restored.load_state_dict(scalars, {k: v.copy() for k, v in arrays.items()})
    q = p_saved.copy()
    for i in range(4, 8):
        g[...] = grads[i]
        opt.step([("w", p, g)])
        g[...] = grads[i]
        restored.step([("w", q, g)])
    np.testing.assert_array_equal(p, q)
    assert all(a.dtype == np.float32 for st in opt.state.values() for a in st.values())


def test_schedules():
    assert [nn.StepDecay(1.0, 2, 0.5)(s) for s in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert nn.ExponentialDecay(1.0, 0.5, 10)(20) == pytest.approx(0.25)
    cos = nn.CosineDecay(1.0, total_steps=110, warmup_steps=10, min_lr=0.0)
    assert cos(0) == pytest.approx(0.1) and cos(9) == pytest.approx(1.0)
    assert cos(60) == pytest.approx(0.5) and cos(110) == pytest.approx(0.0)
    one = nn.OneCycle(1.0, total_steps=100, pct_start=0.3)
    assert one(0) == pytest.approx(1 / 25) and one(30) == pytest.approx(1.0)
    assert one(100) == pytest.approx(1 / 25 / 1e4)
    opt = nn.SGD(nn.StepDecay(0.1, 1, 0.5))
    assert run_steps(opt, [1.0, 1.0]) == pytest.approx([0.9, 0.85])
    with pytest.raises(ValueError, match="warmup_steps"):
        nn.CosineDecay(1.0, total_steps=5, warmup_steps=5)
