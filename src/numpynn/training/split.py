"""The held-out validation rows of a training set: the same rows for the same seed, every time."""

from __future__ import annotations

import numpy as np

from ..checks import in_range
from ..errors import DataError


def validation_rows(n: int, fraction: float, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx): sorted int64 row indices of n rows, with max(1, round(n * fraction)) held out.

    The held-out rows are the first of `np.random.default_rng(seed).permutation(n)`, so a model's seed
    fixes them. Raises DataError when nothing would be left to train on.
    """
    if not in_range(n, 0, integer=True):
        raise ValueError(f"n must be a number of rows (an integer >= 0), got {n!r}")
    if not in_range(fraction, 0, 1, open_lo=True, open_hi=True):
        raise ValueError(f"the validation fraction must be in (0, 1), got {fraction!r}")
    n_val = max(1, int(round(n * fraction)))
    if n_val >= n:
        raise DataError(f"holding out {fraction} of {n} samples for validation ({n_val}) leaves none to train on")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])
