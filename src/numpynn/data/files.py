"""Opening data files that may be hostile: regular files only, and payloads read only into memory there is.

A FIFO blocks `open()` until a writer comes, a device like /dev/zero never ends, a folder is not data: each is
refused with a clear error before a byte is read. The file is opened non-blocking and checked with fstat on
the open descriptor, so a path swapped between the check and the open cannot slip through. A payload whose
size a header declares is refused when that much memory is not available, before anything is inflated.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import DatasetError, NumpynnError
from ..memory import check_available

CHUNK = 1 << 22  # bytes read (or inflated) at a time
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike, what: str = "data file",
                 error: type[NumpynnError] = DatasetError) -> BinaryIO:
    """Open `path` for binary reading if it is a regular file (symlinks to one are fine); `error` otherwise."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # stat never blocks, even on a FIFO
    except OSError as exc:
        raise error(f"cannot open {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise error(f"{path}: expected a regular {what}, but it is {_kind(mode)}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(f"cannot open {what} {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # replaced between the stat and the open
        os.close(fd)
        raise error(f"{path}: expected a regular {what}, but it is {_kind(mode)}")
    return os.fdopen(fd, "rb")


def read_payload(stream: BinaryIO, nbytes: int, subject: str) -> tuple[np.ndarray, int]:
    """(a uint8 buffer of `nbytes`, how many of them `stream` held) for a payload a header declared.

    Refused with DatasetError naming `subject` when the memory is not there; the buffer's pages are touched only
    as bytes arrive, so a stream that ends early costs only what it held."""
    if nbytes > CHUNK:  # a few MiB always fit; an .npz of 10,000 small members is not slowed by the look-up
        check_available(nbytes, subject)
    try:
        buf = np.empty(nbytes, np.uint8)
    except MemoryError:  # taken by another process since the check
        raise DatasetError(f"{subject} needs {nbytes:,} bytes of memory, which could not be allocated") from None
    view, got = memoryview(buf), 0
    while got < nbytes:
        n = stream.readinto(view[got:got + CHUNK])
        if not n:
            break
        got += n
    return buf, got
