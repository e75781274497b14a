"""How much memory training a network will take, estimated before anything is allocated, and how much there is.

A run that cannot fit is refused with both figures instead of dying with a MemoryError (or being killed by the
kernel) after minutes of loading; so is a data file whose arrays, as its header declares them, could not be
held (`check_available`, called by the readers before they inflate anything).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Sequence

from .errors import DatasetError, NumpynnError

PREDICT_ROWS = 8192  # rows per forward pass at evaluation (Sequential's PREDICT_BATCH)


def training_bytes(widths: Sequence[int], batch_size: int, itemsize: int, optimizer_states: int) -> int:
    """Bytes a network of layer `widths` (inputs, hidden..., outputs) needs to train, roughly: per parameter its
    value, its gradient, the optimizer's states and two copies a checkpoint makes; per unit its activations, their
    pre-activations and gradients for a batch and for an evaluation pass."""
    params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=False))
    per_param = 4 + optimizer_states
    units = sum(widths[1:])
    return itemsize * (params * per_param + 3 * units * (batch_size + PREDICT_ROWS))


def available_bytes() -> int | None:
    """Memory this process may still use: the smaller of the system's available memory and what is left of the
    address-space limit (ulimit -v) after what the process already maps; None where neither can be read."""
    figures = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    figures.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        figures.append(max(soft - _mapped_bytes(), 0))
    if not figures and hasattr(os, "sysconf"):
        try:
            figures.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
        except (ValueError, OSError):
            pass
    return min(figures) if figures else None


def _mapped_bytes() -> int:
    """The address space this process maps now (VmSize); 0 where it cannot be read."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def check_available(need: int, subject: str, error: type[NumpynnError] = DatasetError) -> None:
    """Refuse (with `error`, naming `subject`, the size needed and the memory available) to allocate `need` bytes
    that this process could not hold: better than a MemoryError, or the kernel's killer, half-way through."""
    have = available_bytes()
    if have is not None and need > have:
        raise error(f"{subject} needs {gib(need)} of memory ({need:,} bytes) but {gib(have)} is available "
                    f"({have:,} bytes); free some memory or use a smaller file")


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"
