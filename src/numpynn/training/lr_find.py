"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks", sec. 3.3).

A short run whose rate grows exponentially from `start_lr` to `end_lr`, one minibatch per rate, recording the
loss; it stops early once the smoothed loss exceeds `stop_factor` times its best. The suggested rate is the rule
`SUGGESTION_RULE`: the rate at the lowest smoothed loss divided by ten (the loss still falls fast there and
is well short of where it blows up; fastai calls it `lr_min`). The model's weights, buffers and random state
are put back afterwards; its own optimizer is not used.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import in_range
from ..optim import get_optimizer
from ..validation import check_lengths, check_X

SUGGESTION_RULE = "the rate at the lowest smoothed loss, divided by 10"


@dataclass
class LRFindResult:
    """lrs (steps,), losses (raw, per step), smoothed (exponentially smoothed, bias-corrected) and the suggestion."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float
    rule: str = SUGGESTION_RULE

    def to_dict(self) -> dict[str, Any]:
        return {"lrs": self.lrs.tolist(), "losses": [v if math.isfinite(v) else None for v in self.losses.tolist()],
                "smoothed": [v if math.isfinite(v) else None for v in self.smoothed.tolist()],
                "suggestion": self.suggestion, "rule": self.rule}

    def plot(self, path: str | os.PathLike) -> None:
        from ..plots import plot_lr_find

        plot_lr_find(self, path)


MAX_STEPS = 1_000_000  # the curve is held in memory, a value a step


def lr_find(model, X: Any, y: Any, *, optimizer: str = "adam", start_lr: float = 1e-6, end_lr: float = 1.0,
            steps: int = 100, batch_size: int = 128, smoothing: float = 0.9, stop_factor: float = 4.0,
            seed: int = 0) -> LRFindResult:
    """Run the range test on (X, y) (batch-first, as for fit) and return its curve and suggested rate.

    The model needs a loss (else the one fit would choose is set). Batches are drawn by a Generator seeded
    with `seed`; the model's weights, BatchNorm statistics and random state are the same afterwards.
    """
    if not (in_range(start_lr, 0, open_lo=True) and in_range(end_lr, start_lr, open_lo=True)):
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}")
    if not in_range(steps, 5, MAX_STEPS, integer=True):
        raise ValueError(f"steps must be an integer from 5 to {MAX_STEPS:,}, got {steps!r:.40}")
    if not in_range(batch_size, 1, integer=True):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not in_range(smoothing, 0, 1, open_hi=True):
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}")
    if model.loss is None:
        model.set_loss(None)
    Xa = check_X(X, model.input_shape, model.dtype)
    ya = model.loss.check_targets(y, model.n_outputs, model.dtype)
    check_lengths(Xa, ya)
    if seed is not None and not in_range(seed, 0, integer=True):
        raise ValueError(f"seed must be an integer >= 0 or None, got {seed!r:.40}")
    opt = get_optimizer(optimizer)
    saved, rng_state, held = model.get_weights(), model.rng.bit_generator.state, model.optimizer
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))
    losses, smoothed = np.full(steps, np.nan), np.full(steps, np.nan)
    order = np.random.default_rng(seed).permutation(len(Xa))
    bs, pos, avg, best = min(batch_size, len(Xa)), 0, 0.0, math.inf
    try:
        model.optimizer = opt  # the test's own, for the test's steps only
        with np.errstate(all="ignore"):
            for i, lr in enumerate(lrs):
                if pos + bs > len(order):
                    pos = 0
                idx = order[pos:pos + bs]
                pos += bs
                opt.lr = float(lr)
                value, _ = model.train_step(Xa[idx], ya[idx])  # the loss before this step's update
                losses[i] = value
                if not math.isfinite(value):
                    break
                avg = smoothing * avg + (1 - smoothing) * value
                smoothed[i] = avg / (1 - smoothing ** (i + 1))
                best = min(best, smoothed[i])
                if smoothed[i] > stop_factor * best:
                    break
    finally:
        model.set_weights(saved)
        model.rng.bit_generator.state = rng_state
        model.optimizer = held
    done = int(np.sum(np.isfinite(losses)))
    lrs, losses, smoothed = lrs[:max(done, 1)], losses[:max(done, 1)], smoothed[:max(done, 1)]
    return LRFindResult(lrs, losses, smoothed, suggest(lrs, smoothed))


def suggest(lrs: np.ndarray, smoothed: np.ndarray) -> float:
    """SUGGESTION_RULE applied to a range test's curve; never below the first rate tried."""
    finite = np.isfinite(smoothed)
    if not finite.any():
        return float(lrs[0])
    i = int(np.nanargmin(np.where(finite, smoothed, np.inf)))
    return float(max(lrs[i] / 10, lrs[0]))
