"""numpynn tune: hyper-parameter search over configs on Optuna (the `tune` extra), each trial an ordinary run.

Optuna is imported only when a search runs; the space is read and checked without it.
"""

from __future__ import annotations

from .search import TuneResult, tune
from .space import Param, Space, load_space, parse_space

__all__ = ["Param", "Space", "TuneResult", "load_space", "parse_space", "tune"]
