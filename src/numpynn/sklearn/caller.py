"""Warnings from the estimators point at the caller's line (their `fit(...)`), not into numpynn or scikit-learn,
however many frames of either lie between (fit, partial_fit, scikit-learn's fit wrapper, a Pipeline)."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import sklearn

T = TypeVar("T")

# the folders whose frames a warning passes over: numpynn's package (this file's parent's) and scikit-learn's
LIBRARY_PREFIXES = tuple(os.path.dirname(os.path.abspath(path)) + os.sep
                         for path in (os.path.dirname(os.path.abspath(__file__)), sklearn.__file__))


def warn_at_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """warnings.warn, attributed to the first frame outside numpynn and scikit-learn."""
    if sys.version_info >= (3, 12):
        warnings.warn(message, category, skip_file_prefixes=LIBRARY_PREFIXES)
        return
    level, frame = 2, sys._getframe(1)  # Python 3.11: count the library's frames by hand
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(LIBRARY_PREFIXES):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def rewarned(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """call(*args, **kwargs), the warnings it raises (scikit-learn's own check of a result) raised again at the
    caller's line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(*args, **kwargs)
    for w in caught:
        warn_at_caller(str(w.message), w.category)
    return result
