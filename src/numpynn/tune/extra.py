"""Optuna, the `tune` extra: imported only when a search runs, with a clear message when it is missing."""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import NumpynnError


def optuna() -> Any:
    """The optuna module, quiet (numpynn prints its own line per trial); NumpynnError when not installed."""
    try:
        import optuna as module
    except ImportError:
        raise NumpynnError("numpynn tune needs Optuna: pip install 'numpynn[tune]'") from None
    module.logging.set_verbosity(module.logging.ERROR)
    # heartbeats and fail_stale_trials are marked experimental; numpynn relies on them on purpose
    warnings.filterwarnings("ignore", category=module.exceptions.ExperimentalWarning)
    return module
