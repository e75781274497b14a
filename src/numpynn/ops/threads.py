"""How many threads a training epoch gives OpenBLAS (and so the C loops, which run on its workers).

OpenBLAS splits every product into fixed equal parts, one per thread, and waits for the slowest; its idle workers
spin. On a machine where other processes run, one of the two threads is often descheduled, so each product
waits for a time slice and the spinning workers burn the CPU the neighbours want: a 4,454-row table's 30 epochs
took 77 s with two threads and 19 s with one beside busy neighbours (2.3 s of CPU against 24 s). So an epoch
runs on one thread where it cannot gain from more: when every product of a step is small, or when the other
processes already use the cores this process may run on (its CPU affinity and its cgroup's CPU quota).
Results do not depend on the thread count: OpenBLAS and the C loops split rows and columns, never a sum.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
from collections.abc import Iterator
from pathlib import Path

from .openblas import numpy_library

# a product below this many multiply-adds (about 20 us on one core) gains nothing from a second thread
SMALL_PRODUCT = 1 << 22
_NAMES = [(f"{p}openblas_get_num_threads{s}", f"{p}openblas_set_num_threads{s}")
          for p in ("", "scipy_") for s in ("", "64_", "64")]


def _openblas_threads() -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None:
    """(get, set) of NumPy's own OpenBLAS thread count, or None (another BLAS, another platform)."""
    lib = numpy_library()
    if lib is None:
        return None
    for get_name, set_name in _NAMES:
        get, put = getattr(lib, get_name, None), getattr(lib, set_name, None)
        if get is not None and put is not None:
            get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
            return get, put
    return None


_FOUND: list = []


def _found():
    if not _FOUND:
        _FOUND.append(_openblas_threads())
    return _FOUND[0]


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, bounded by a cgroup CPU quota (containers, CI)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]  # cgroup v2
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    with contextlib.suppress(OSError, ValueError):
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())  # cgroup v1
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if quota > 0:
            n = min(n, max(1, math.ceil(quota / period)))
    return max(1, n)


def others_load(own_threads: int) -> float:
    """The runnable processes besides this one's threads, from the 1-minute load average (0 where unknown)."""
    try:
        return max(0.0, os.getloadavg()[0] - own_threads)
    except OSError:
        return 0.0


class EpochThreads:
    """The thread count for each epoch of one fit: the BLAS setting found at the start (threadpoolctl's limits
    and OPENBLAS_NUM_THREADS apply), reduced to one for small products or a machine its neighbours keep busy."""

    def __init__(self, largest_product: int) -> None:
        found = _found()
        self.setting = found[0]() if found else 1
        self.small = largest_product < SMALL_PRODUCT
        self.current = self.setting
        self.cpus = usable_cpus()  # affinity and quota, read once per fit

    def for_epoch(self) -> int:
        if self.setting <= 1 or self.small:
            return 1
        cpus = min(self.setting, self.cpus)
        # half a core taken by others already makes a split product wait on a descheduled half
        return 1 if others_load(self.current) >= 0.5 * cpus else cpus

    @contextlib.contextmanager
    def epoch(self) -> Iterator[int]:
        n = self.for_epoch()
        found = _found()
        if found is None or n == self.setting:
            self.current = self.setting
            yield n
            return
        found[1](n)
        self.current = n
        try:
            yield n
        finally:
            found[1](self.setting)


def largest_product(model, batch_size: int) -> int:
    """The multiply-adds of the largest product one step of `model` computes at `batch_size` (a weight matrix
    of a x b multiplies a batch's (batch, a) inputs)."""
    sizes = [p.size for layer in model.layers for p in layer.params.values() if p.ndim == 2]
    return batch_size * max(sizes, default=0)
