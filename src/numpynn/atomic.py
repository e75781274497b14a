"""Atomic file writes: a temporary file in the same folder, fsync, then rename over the target.

A crash at any moment leaves either the old file or the new one, never half of either. The temporary file is
named `.<target name>.<pid>.<random>.numpynn-tmp`, so when a process is killed (kill -9) mid-write, the next
write of the same target finds its leftovers and removes them (those of processes still alive are kept).

Only regular files are replaced: a FIFO, a device or a folder at the target is refused. A symlink is written
through on purpose: its final target is replaced and the link stays a link.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import NumpynnError

TMP_SUFFIX = ".numpynn-tmp"


def _file_mode() -> int:
    """The mode a plain open() would give a new file (0o666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_target(path: str | os.PathLike) -> Path:
    """The file a write to `path` replaces: `path`, or a symlink's final target; refused unless it is a regular
    file or does not exist yet."""
    target = Path(os.path.realpath(path))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise NumpynnError(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else \
            "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file"
        raise NumpynnError(f"refusing to write {os.fspath(path)!r}: it is {kind}; numpynn replaces only regular "
                           f"files")
    return target


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporary files that writes of `target` by processes no longer running left behind."""
    removed = []
    prefix = f".{target.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(TMP_SUFFIX)):
                continue
            pid = name[len(prefix):-len(TMP_SUFFIX)].split(".")[0]
            if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists (someone else's counts: its files are left alone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # someone else's process (or no such number): leave it alone
        return True
    return True


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file; on normal exit it replaces `path`, on an exception it is removed.

    An OSError while writing (a full disk) names `path` and says the previous file is unchanged."""
    target = write_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), _file_mode())
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None:
            raise OSError(exc.errno, f"{exc.strerror} while writing {os.fspath(path)!r}; the previous file, if "
                                     f"any, is unchanged") from None
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    # make the rename itself durable; not every platform lets a folder be opened
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(data)
