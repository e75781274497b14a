"""The engines that run the array operations of a training step: `NumpyOps`, plain NumPy written as the maths
reads (the version to read), and `FusedOps`, the same methods in compiled one-pass loops.

The engine is chosen once per process, from the environment variable NUMPYNN_KERNELS: "auto" (default: the C
loops when numpynn's extension was built, else NumPy), "numpy" (always the reference) or "c" (the C loops, and
an error if the extension was not built). Models, losses and optimizers take `get_ops()` when they are made;
nothing above this package asks which engine runs.

    >>> import numpynn as nn
    >>> nn.ops.describe()
    'numpynn C extension (one pass per job, long loops shared with OpenBLAS's threads)'
"""

from __future__ import annotations

import copyreg
import importlib
import os

from .activations import Activation
from .numpy_ops import NumpyOps

__all__ = ["CHOICES", "Activation", "NumpyOps", "blas_threads", "choice", "describe", "get_ops", "use"]

CHOICES = ("auto", "numpy", "c")
_engine: NumpyOps | None = None
_why_numpy = ""


def choice() -> str:
    """The NUMPYNN_KERNELS setting, checked."""
    value = os.environ.get("NUMPYNN_KERNELS", "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise ValueError(f"NUMPYNN_KERNELS must be one of {CHOICES}, got {value!r}")
    return value


def _make(want: str) -> NumpyOps:
    global _why_numpy
    if want == "numpy":
        _why_numpy = " (NUMPYNN_KERNELS=numpy)"
        return NumpyOps()
    try:
        fused = importlib.import_module("numpynn.ops._fused")
    except ImportError as err:
        if want == "c":
            raise ImportError("NUMPYNN_KERNELS=c but numpynn's C extension was not built; reinstall numpynn "
                              "where a C compiler is available") from err
        _why_numpy = " (the C extension was not built)"
        return NumpyOps()
    from .fused_ops import FusedOps

    copyreg.pickle(FusedOps, _reduce)
    return FusedOps(fused)


def _reduce(engine: NumpyOps):
    # a model pickled in one process runs on the engine chosen in the process that unpickles it
    return get_ops, ()


copyreg.pickle(NumpyOps, _reduce)


def get_ops() -> NumpyOps:
    """The engine of this process, chosen at the first call."""
    global _engine
    if _engine is None:
        _engine = _make(choice())
    return _engine


def use(name: str | None = None) -> NumpyOps:
    """Choose the engine again: "auto", "numpy" or "c", or None to read NUMPYNN_KERNELS anew. Objects made
    before keep the engine they took (tests switch engines this way)."""
    global _engine
    if name is not None and name not in CHOICES:
        raise ValueError(f"the engine must be one of {CHOICES}, got {name!r}")
    _engine = _make(name or choice())
    return _engine


def describe() -> str:
    """One line for reports: which engine runs the elementwise loops, and why."""
    engine = get_ops()
    return engine.describe() + (_why_numpy if type(engine) is NumpyOps else "")


def blas_threads(on: bool | None = None) -> str | None:
    """The OpenBLAS library whose worker threads share the C loops, or None where they run on the calling thread
    alone (or the NumPy engine runs). `on=False` stops the sharing, `on=True` looks for the library again."""
    return get_ops().blas_threads(on)
