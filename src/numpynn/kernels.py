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

The long loops (Adam, batch gathering, the ReLU passes, the input check) run on the BLAS library's own worker
threads as well as the caller's when NumPy uses OpenBLAS (see `blas_threads`): after each matrix product those
workers spin, waiting for the next one, so a thread of numpynn's own would only fight them for the second core.
Each element is computed by the same operations whatever the number of threads, so results do not change.

The extension is built when numpynn is installed with a C compiler present; without one, numpynn runs the
reference. The environment variable NUMPYNN_KERNELS chooses: "auto" (default: compiled when built),
"numpy" (always the reference), or "c" (compiled, and an error if it was not built).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import sys
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
                _share_blas_threads(_fused)
        _tried = True
    return _compiled


# OpenBLAS's names for its thread count, with the prefixes and suffixes its packagings give them
_THREAD_COUNT_NAMES = [f"{prefix}openblas_get_num_threads{suffix}"
                       for prefix in ("", "scipy_") for suffix in ("", "64_", "64")]
_blas_library: str | None = None


def _openblas_entry_points() -> tuple[str, int, int] | None:
    """(path, gotoblas_pthread's address, the thread-count function's address) of the OpenBLAS that NumPy calls,
    or None: another BLAS, a platform other than Linux, or an OpenBLAS without those functions.

    The functions are looked up through NumPy's own compiled module, so the search covers that module and the
    libraries it was linked with, in their order: NumPy's BLAS, not another copy of OpenBLAS that SciPy or
    another package has loaded beside it (whose idle threads would then be woken, and compete, at every step)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        umath = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # NumPy 1.x
        umath = importlib.import_module("numpy.core._multiarray_umath")
    try:
        numpy_c = ctypes.CDLL(umath.__file__, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)  # the module already loaded
        run = ctypes.cast(numpy_c.gotoblas_pthread, ctypes.c_void_p).value
    except (OSError, AttributeError):
        return None
    for name in _THREAD_COUNT_NAMES:
        count = getattr(numpy_c, name, None)
        if count is not None:
            return _library_holding(run), run, ctypes.cast(count, ctypes.c_void_p).value
    return None  # an OpenBLAS whose thread count cannot be read: its limits could not be followed


def _library_holding(address: int) -> str:
    """The file mapped at `address` in this process (for reports)."""
    with contextlib.suppress(OSError), open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            low, high = (int(a, 16) for a in fields[0].split("-"))
            if low <= address < high and len(fields) == 6:
                return fields[5].strip()
    return "OpenBLAS"


def _share_blas_threads(fast: ModuleType, on: bool = True) -> None:
    global _blas_library
    found = _openblas_entry_points() if on else None
    fast.share_blas_threads(*(found[1:] if found else (0, 0)))
    _blas_library = found[0] if found else None


def blas_threads(on: bool | None = None) -> str | None:
    """The OpenBLAS library whose worker threads share numpynn's long loops, or None where they run on the
    calling thread alone. `on=False` stops the sharing, `on=True` looks for the library again. How many threads
    take part is the BLAS library's setting (threadpoolctl's `threadpool_limits` changes it)."""
    fast = compiled()
    if fast is not None and on is not None:
        _share_blas_threads(fast, on)
    return _blas_library if fast is not None else None


def reset() -> None:
    """Read NUMPYNN_KERNELS again at the next call (tests switch it)."""
    global _compiled, _tried, _blas_library
    _compiled, _tried, _blas_library = None, False, None


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
        shared = ", long loops shared with OpenBLAS's threads" if _blas_library else ""
        return f"numpynn C extension (one pass per job{shared})"
    if setting == "numpy":
        return "NumPy reference (NUMPYNN_KERNELS=numpy)"
    return "NumPy reference (the C extension was not built)"
