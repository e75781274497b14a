"""Finding the OpenBLAS that NumPy calls, so the C loops can run on its worker threads as well as the caller's.

After each matrix product OpenBLAS keeps its workers spinning for about 0.1 s, waiting for the next one, so a
thread of numpynn's own would only fight them for the second core. OpenBLAS's `gotoblas_pthread(n, function,
args, stride)` runs a function on the calling thread and on those workers and returns when all are done;
`_fused.c` cuts its long loops into parts for it. Each element is computed by the same operations whatever
the number of threads, so results do not change. With another BLAS, another platform, or an OpenBLAS without
that function, every loop runs on the calling thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import sys
from types import ModuleType

# OpenBLAS's names for its thread count, with the prefixes and suffixes its packagings give them
_THREAD_COUNT_NAMES = [f"{prefix}openblas_get_num_threads{suffix}"
                       for prefix in ("", "scipy_") for suffix in ("", "64_", "64")]


def _openblas_entry_points() -> tuple[str, int, int] | None:
    """(path, gotoblas_pthread's address, the thread-count function's address) of the OpenBLAS that NumPy calls,
    or None: another BLAS, a platform other than Linux, or an OpenBLAS without those functions.

    The functions are looked up through NumPy's own compiled module, so the search covers that module and the
    libraries it was linked with, in their order: NumPy's BLAS, not another copy of OpenBLAS that SciPy or
    another package has loaded beside it (whose idle threads would then be woken, and compete, at every step)."""
    numpy_c = numpy_library()
    try:
        run = ctypes.cast(numpy_c.gotoblas_pthread, ctypes.c_void_p).value
    except AttributeError:  # None too: not Linux, or the module could not be opened
        return None
    for name in _THREAD_COUNT_NAMES:
        count = getattr(numpy_c, name, None)
        if count is not None:
            return _library_holding(run), run, ctypes.cast(count, ctypes.c_void_p).value
    return None  # an OpenBLAS whose thread count cannot be read: its limits could not be followed


def numpy_library() -> ctypes.CDLL | None:
    """NumPy's own compiled module, already loaded, whose symbol search covers the BLAS it was linked with;
    None on platforms other than Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        umath = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # NumPy 1.x
        umath = importlib.import_module("numpy.core._multiarray_umath")
    try:
        return ctypes.CDLL(umath.__file__, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return None


def _library_holding(address: int) -> str:
    """The file mapped at `address` in this process (for reports)."""
    with contextlib.suppress(OSError), open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            low, high = (int(a, 16) for a in fields[0].split("-"))
            if low <= address < high and len(fields) == 6:
                return fields[5].strip()
    return "OpenBLAS"


def share(fused: ModuleType, on: bool = True) -> str | None:
    """Hand the C loops NumPy's OpenBLAS thread server (on) or none (off); returns the library's path or None.
    How many threads take part is the BLAS library's setting (threadpoolctl's `threadpool_limits` changes it)."""
    found = _openblas_entry_points() if on else None
    fused.share_blas_threads(*(found[1:] if found else (0, 0)))
    return found[0] if found else None
