"""build_optimizer: the one way runs and estimators make an optimizer and its schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest

import numpynn as nn
from numpynn.config import TrainConfig
from numpynn.optim import build_optimizer, build_schedule
from numpynn.run import optimizer_for


def rates(opt, steps):
    return [opt.lr(s) if callable(opt.lr) else opt.lr for s in steps]


def test_constant_rate_and_defaults():
    opt = build_optimizer("adam", 0.01)
    assert isinstance(opt, nn.Adam) and opt.lr == 0.01 and opt.weight_decay == 0.0 and opt.clip_norm is None
    # weight_decay=None is AdamW's own default; an explicit 0 is 0
    assert build_optimizer("adamw", 0.01).weight_decay == 0.01
    assert build_optimizer("adamw", 0.01, weight_decay=0.0).weight_decay == 0.0
    assert build_optimizer("adamw", 0.01, weight_decay=0.2).weight_decay == 0.2
    sgd = build_optimizer("sgd", 0.1, momentum=0.9, nesterov=True, clip_norm=1.5, weight_decay=1e-4)
    assert (sgd.momentum, sgd.nesterov, sgd.clip_norm, sgd.weight_decay) == (0.9, True, 1.5, 1e-4)
    # momentum belongs to SGD; the others have none and ignore it
    assert not hasattr(build_optimizer("rmsprop", 0.01, momentum=0.9), "momentum")


def test_cosine_with_warm_up_rates_at_chosen_steps():
    # 4 epochs x 5 steps = 20 steps; warm-up int(1.5 * 5) = 7 steps
    opt = build_optimizer("adam", 0.1, schedule="cosine", epochs=4, steps_per_epoch=5, warmup_epochs=1.5)
    assert (opt.lr.total_steps, opt.lr.warmup_steps) == (20, 7)
    assert rates(opt, [0, 6, 7, 20]) == pytest.approx([0.1 / 7, 0.1, 0.1, 0.0])
    assert opt.lr(7 + 13 / 2) == pytest.approx(0.05)  # half way through the decay
    # a warm-up longer than the run stops one step before its end
    long = build_schedule("cosine", 0.1, epochs=2, steps_per_epoch=3, warmup_epochs=10)
    assert (long.total_steps, long.warmup_steps) == (6, 5)


def test_step_exponential_and_one_cycle_rates():
    step = build_optimizer("sgd", 0.1, schedule="step", steps_per_epoch=4, step_epochs=2, gamma=0.5)
    assert rates(step, [0, 7, 8, 16]) == pytest.approx([0.1, 0.1, 0.05, 0.025])
    expo = build_optimizer("sgd", 0.1, schedule="exponential", steps_per_epoch=4, gamma=0.5)
    assert rates(expo, [0, 2, 4, 8]) == pytest.approx([0.1, 0.1 * 0.5**0.5, 0.05, 0.025])
    cyc = build_optimizer("adam", 0.1, schedule="one_cycle", epochs=2, steps_per_epoch=5)
    assert cyc.lr.total_steps == 10
    assert rates(cyc, [0, 3, 10]) == pytest.approx([0.1 / 25, 0.1, 0.1 / 25 / 1e4])


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "adamax"}, r"unknown optimizer 'adamax'; expected one of \['adagrad', 'adam'"),
    ({"schedule": "warm"}, r"unknown schedule 'warm'; expected one of \['none', 'cosine'"),
    ({"schedule": "cosine", "epochs": 3}, r"schedule 'cosine' needs steps_per_epoch as an integer >= 1, got None"),
    ({"schedule": "cosine", "steps_per_epoch": 2, "epochs": 0}, r"needs epochs as an integer >= 1, got 0"),
    ({"schedule": "step", "steps_per_epoch": 2, "gamma": 0.5}, r"needs step_epochs as an integer >= 1, got None"),
    ({"schedule": "exponential", "steps_per_epoch": 2}, r"schedule 'exponential' needs gamma"),
    ({"schedule": "cosine", "steps_per_epoch": 2, "epochs": 2, "warmup_epochs": -1},
     r"warmup_epochs must be a finite number >= 0, got -1"),
])
def test_errors_say_what_was_expected_and_what_came(kwargs, match):
    kwargs = {"name": "adam", **kwargs}
    with pytest.raises(ValueError, match=match):
        build_optimizer(kwargs.pop("name"), 0.01, **kwargs)


def test_a_runs_config_maps_onto_the_builder():
    cfg = TrainConfig(optimizer="sgd", lr=0.05, schedule="cosine", warmup_epochs=1, epochs=3, momentum=0.9,
                      nesterov=True, clip_norm=0.0, weight_decay=0.0)
    opt = optimizer_for(cfg, 10)
    assert (opt.momentum, opt.nesterov, opt.clip_norm, opt.weight_decay) == (0.9, True, None, 0.0)
    assert (opt.lr.total_steps, opt.lr.warmup_steps) == (30, 10)
    # plateau is a callback: the optimizer keeps a constant rate for ReduceLROnPlateau to scale
    assert optimizer_for(TrainConfig(schedule="plateau", lr=0.01), 10).lr == 0.01
    assert optimizer_for(TrainConfig(optimizer="adamw", schedule="none"), 10).weight_decay == 0.01


def test_an_estimators_parameters_map_onto_the_builder():
    pytest.importorskip("sklearn")
    from numpynn.sklearn import NumpynnClassifier

    X, y = np.random.default_rng(0).standard_normal((100, 3)), np.arange(100) % 2
    est = NumpynnClassifier((4,), solver="adamw", learning_rate_init=0.01, learning_rate="cosine", max_iter=7,
                            batch_size=30, n_iter_no_change=np.inf).fit(X, y)
    opt = est._optimizer.optimizer
    assert isinstance(opt, nn.AdamW) and opt.weight_decay == 0.01
    assert (opt.lr.total_steps, opt.lr.warmup_steps) == (7 * math.ceil(100 / 30), 0)
    sgd = NumpynnClassifier((4,), solver="sgd", weight_decay=0.1, max_iter=1).fit(X, y)._optimizer.optimizer
    assert isinstance(sgd, nn.SGD) and (sgd.lr, sgd.weight_decay, sgd.momentum, sgd.nesterov) == (0.001, 0.1, 0.9, True)
