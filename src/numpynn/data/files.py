"""Opening data files that may be hostile: regular files only.

A FIFO blocks `open()` until a writer comes, a device like /dev/zero never ends, a folder is not data: each is
refused with a clear error before a byte is read. The file is opened non-blocking and checked with fstat on
the open descriptor, so a path swapped between the check and the open cannot slip through.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from ..errors import DatasetError

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike, what: str = "data file") -> BinaryIO:
    """Open `path` for binary reading if it is a regular file (symlinks to one are fine); DatasetError otherwise."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # stat never blocks, even on a FIFO
    except OSError as exc:
        raise DatasetError(f"cannot open {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise DatasetError(f"{path}: expected a regular {what}, but it is {_kind(mode)}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DatasetError(f"cannot open {what} {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # replaced between the stat and the open
        os.close(fd)
        raise DatasetError(f"{path}: expected a regular {what}, but it is {_kind(mode)}")
    return os.fdopen(fd, "rb")

