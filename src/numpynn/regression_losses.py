"""The maths of the regression losses, as pure functions of the outputs z (n, k) and the targets t.

Each returns (per-sample loss summed over the outputs (n,), dL/dz elementwise (n, k), a new array), in one pass
that cannot overflow where the residual itself does not; numpynn.losses adds the weights, the mean and the
log-target option.

- squared: (z - t)^2; gradient 2 (z - t).
- absolute: |z - t|; gradient sign(z - t) (0 where z = t).
- huber: with a = |z - t|, a^2 / 2 for a <= delta, else delta (a - delta / 2); gradient clip(z - t, -delta, delta).
  Written as m (a - m / 2) with m = min(a, delta), one formula for both sides.
- pinball (quantile q): with r = t - z, max(q r, (q - 1) r); gradient 1[z > t] - q. Its minimiser over a
  constant is the q-quantile of t. Targets (n, m) meet outputs (n, m * len(q)), target-major: output
  j * len(q) + i is target j's quantile q[i].
"""

from __future__ import annotations

import numpy as np


def squared(z: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diff = z - t
    return np.einsum("ij,ij->i", diff, diff), diff * 2


def absolute(z: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diff = z - t
    return np.abs(diff).sum(axis=1), np.sign(diff)


def huber(z: np.ndarray, t: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    diff = z - t
    a = np.abs(diff)
    m = np.minimum(a, delta)
    return (m * (a - 0.5 * m)).sum(axis=1), np.clip(diff, -delta, delta, out=diff)


def pinball(z: np.ndarray, t: np.ndarray, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z (n, m * len(quantiles)), t (n, m), quantiles (len,) in z's dtype."""
    n, q = len(z), len(quantiles)
    r = t.reshape(n, -1, 1) - z.reshape(n, -1, q)  # (n, m, q): each target against each of its quantiles
    over = r < 0  # the prediction is above the target
    loss = np.where(over, (quantiles - 1) * r, quantiles * r)
    return loss.reshape(n, -1).sum(axis=1), (over - quantiles).reshape(z.shape)
