"""Which code runs the elementwise work of a training step: NumPy, or numpynn's compiled one-pass loops.

Every loop in `numpynn/_fused.c` has a NumPy reference next to the math it computes (`optim/adam.py`,
`layers/dense.py`, `losses.py`), and that reference is the version to read. NumPy makes one pass over memory
per operation, on one core: Adam's update is ten passes over every weight, a ReLU layer's bias and activation
two, its backward pass three. Around the matrix products of a small network those passes cost about as much
as the products. The C loops do each job in one pass with the same float operations in the same order, so
Adam, the bias-plus-ReLU forward and its backward give bit-identical results to the reference (the tests
check this); the softmax cross-entropy differs from it only in the last bits of `exp`.

Two loops serve prediction and input checks: `dense_rows` computes a stack of Dense layers (and the softmax)
for up to three rows in one call (`Sequential._forward_few_rows`), reading only the weights of nonzero
inputs, and `all_finite` checks data for NaN and inf in one pass without a temporary array
(`validation.all_finite`).

The extension is built when numpynn is installed with a C compiler present; without one, numpynn runs the
reference. The environment variable NUMPYNN_KERNELS chooses: "auto" (default: compiled when built),
"numpy" (always the reference), or "c" (compiled, and an error if it was not built).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType

import numpy as np

CHOICES = ("auto", "numpy", "c")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_compiled: ModuleType | None = None
_tried = False


def choice() -> str:
    """The NUMPYNN_KERNELS setting, checked."""
    value = os.environ.get("NUMPYNN_KERNELS", "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise ValueError(f"NUMPYNN_KERNELS must be one of {CHOICES}, got {value!r}")
    return value


def compiled() -> ModuleType | None:
    """The compiled loops (module numpynn._fused), or None where the NumPy reference is to be used."""
    global _compiled, _tried
    if not _tried:
        want = choice()
        _compiled = None
        if want != "numpy":
            try:
                _fused = importlib.import_module("numpynn._fused")
            except ImportError as err:
                if want == "c":
                    raise ImportError("NUMPYNN_KERNELS=c but numpynn's C extension was not built; reinstall "
                                      "numpynn where a C compiler is available") from err
            else:
                _compiled = _fused
        _tried = True
    return _compiled


def reset() -> None:
    """Read NUMPYNN_KERNELS again at the next call (tests switch it)."""
    global _compiled, _tried
    _compiled, _tried = None, False


def name() -> str:
    """'c' or 'numpy': what runs the training step's elementwise loops."""
    return "c" if compiled() is not None else "numpy"


@contextlib.contextmanager
def flush_subnormals() -> Iterator[None]:
    """Within the block, this thread computes floats below the smallest normal number (1.2e-38 in float32) as
    zero. Training makes such subnormal numbers: where a weight's gradient is zero step after step (a pixel that
    is always background, a ReLU unit that never fires), its optimizer state decays geometrically and after
    some 850 Adam steps is subnormal; x86 CPUs compute on those about a hundred times slower (Adam's step took
    1 ms instead of 0.1 ms after a few epochs). fit() trains inside this block; the mode is the compiled
    extension's, so with the NumPy reference (NUMPYNN_KERNELS=numpy) the block changes nothing."""
    fast = compiled()
    if fast is None:
        yield
        return
    previous = fast.flush_subnormals(True)
    try:
        yield
    finally:
        fast.flush_subnormals(previous)


def for_arrays(*arrays: np.ndarray) -> ModuleType | None:
    """The compiled loops if they are in use and take these arrays (C-contiguous float32/float64 of one
    dtype), else None: the caller then runs its NumPy reference."""
    fast = _compiled if _tried else compiled()  # this runs several times a step: skip the call when decided
    if fast is None:
        return None
    dtype = arrays[0].dtype
    if dtype not in _FLOATS:
        return None
    for a in arrays:
        if a.dtype != dtype or not a.flags.c_contiguous:
            return None
    return fast


def describe() -> str:
    """One line for reports: which code runs the elementwise loops, and why."""
    setting = choice()
    if compiled() is not None:
        return "numpynn C extension (one pass per job)"
    if setting == "numpy":
        return "NumPy reference (NUMPYNN_KERNELS=numpy)"
    return "NumPy reference (the C extension was not built)"
