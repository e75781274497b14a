"""The engines that run the array operations of a training step: `NumpyOps`, plain NumPy written as the maths
reads (the version to read), and `FusedOps`, the same methods in compiled one-pass loops.

The engine is chosen once per process, from the environment variable NUMPYNN_KERNELS: "auto" (default: the C
loops when numpynn's extension was built, else NumPy), "numpy" (always the reference) or "c" (the C loops, and
an error if the extension was not built). A model takes `get_ops()` when it is made and binds its layers, loss
and optimizer to it (`Sequential.bind`, the one place an engine is handed out); a part used on its own computes
with the process's engine (`EngineSlot`). Nothing above this package asks which engine runs.

`engine_for("bf16")` is a third engine, for training with bfloat16 matrix products (`fit(precision="bf16")`):
the C loops with oneDNN's products, where the CPU has bfloat16 dot products and `numpynn[bf16]` is installed.

    >>> import numpynn as nn
    >>> nn.ops.describe()
    'numpynn C extension (one pass per job, long loops shared with OpenBLAS's threads)'
"""

from __future__ import annotations

import copyreg
import importlib
import os

import numpy as np

from .activations import Activation
from .numpy_ops import NumpyOps

__all__ = ["CHOICES", "PRECISIONS", "Activation", "EngineSlot", "NumpyOps", "bf16_status", "blas_threads", "choice",
           "describe", "engine_for", "get_ops", "training_engine", "use"]

CHOICES = ("auto", "numpy", "c")
PRECISIONS = ("float32", "bf16")  # of the matrix products while training
_engine: NumpyOps | None = None
_bf16: NumpyOps | None = None
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


class EngineSlot:
    """The `ops` of a layer, loss or optimizer: the engine its model bound it to (an attribute of its own, set by
    `Sequential.bind`), else, for a part used on its own, the process's engine at the time of the call."""

    def __get__(self, obj: object, owner: type | None = None) -> NumpyOps | EngineSlot:
        return self if obj is None else get_ops()


def use(name: str | None = None) -> NumpyOps:
    """Choose the engine again: "auto", "numpy" or "c", or None to read NUMPYNN_KERNELS anew. Objects made
    before keep the engine they took (tests switch engines this way)."""
    global _engine
    if name is not None and name not in CHOICES:
        raise ValueError(f"the engine must be one of {CHOICES}, got {name!r}")
    _engine = _make(name or choice())
    return _engine


def engine_for(precision: str) -> NumpyOps:
    """The engine that trains with matrix products in `precision`: "float32" (the process's engine, which also
    runs float64 models) or "bf16"; for "bf16" a Bf16Unavailable error says why where it cannot run."""
    global _bf16
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "float32":
        return get_ops()
    if _bf16 is None:
        from . import onednn

        dnnl = onednn.load()
        try:
            fused = importlib.import_module("numpynn.ops._fused")
        except ImportError:
            raise onednn.Bf16Unavailable("precision='bf16' needs numpynn's C extension (it rounds to bfloat16), "
                                         "which was not built; reinstall numpynn where a C compiler is "
                                         "available") from None
        from .bf16_ops import Bf16Ops

        copyreg.pickle(Bf16Ops, _reduce)
        _bf16 = Bf16Ops(fused, dnnl)
    return _bf16


def training_engine(precision: str, dtype, own: NumpyOps, hint: str = "") -> NumpyOps:
    """The engine of a fit at `precision` for a model of `dtype` whose engine is `own`: `own` for "float32",
    else engine_for(precision), which trains float32 models only (`hint` ends the refusal, e.g. what to pass)."""
    if precision == "float32":
        return own
    if np.dtype(dtype) != np.float32:
        raise ValueError(f"precision={precision!r} trains float32 models; this one is {np.dtype(dtype)}"
                         + (f" ({hint})" if hint else ""))
    return engine_for(precision)


def describe(precision: str = "float32") -> str:
    """One line for reports: which engine runs the elementwise loops, and why; with precision="bf16", the
    engine that trains in bfloat16 (or why there is none)."""
    if precision != "float32":
        return engine_for(precision).describe()
    engine = get_ops()
    return engine.describe() + (_why_numpy if type(engine) is NumpyOps else "")


def bf16_status() -> str:
    """Whether precision="bf16" can run here: the library and CPU feature it would use, or why not."""
    from .onednn import Bf16Unavailable, bf16_flags

    try:
        engine = engine_for("bf16")
    except Bf16Unavailable as exc:
        return f"unavailable: {exc}"
    return f"oneDNN {engine._dnnl.version} on {', '.join(bf16_flags())}"


def blas_threads(on: bool | None = None) -> str | None:
    """The OpenBLAS library whose worker threads share the C loops, or None where they run on the calling thread
    alone (or the NumPy engine runs). `on=False` stops the sharing, `on=True` looks for the library again."""
    return get_ops().blas_threads(on)
