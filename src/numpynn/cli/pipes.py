"""A closed pipe (`numpynn predict ... | head -1`) stops a command the way other Unix tools stop: quietly.

While a command runs, stdout and stderr are wrapped. The first write or flush that meets a reader gone away
sends the rest of the output to the null device (so nothing is lost noisily at exit either) and asks the
command to stop as Ctrl-C would: training finishes the current batch and marks the run interrupted, so a
closed pipe never leaves a part-run looking finished. The command then exits with 141 (128 + SIGPIPE), as a
tool killed by SIGPIPE does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

EXIT_CLOSED_PIPE = 128 + signal.SIGPIPE


class PipeWatch:
    """Whether a reader of this process's output went away (`closed`), shared by both wrapped streams."""

    def __init__(self) -> None:
        self.closed = False
        self.stops = True  # a closed pipe asks the command to stop (not once the command has returned)
        self._lock = threading.Lock()

    def reader_gone(self, stream: TextIO) -> None:
        with self._lock:
            first, self.closed = not self.closed, True
        _to_null(stream)
        if first and self.stops and threading.current_thread() is threading.main_thread():
            signal.raise_signal(signal.SIGINT)  # stop as Ctrl-C stops: fit's handler, or KeyboardInterrupt


class _Guarded:
    """A text stream whose writes to a closed pipe go nowhere (after telling the PipeWatch once)."""

    def __init__(self, stream: TextIO, watch: PipeWatch) -> None:
        self._stream, self._watch, self._gone = stream, watch, False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._lost()

    def _lost(self) -> None:
        self._gone = True
        self._watch.reader_gone(self._stream)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ...: the stream's own
        return getattr(self._stream, name)


def _to_null(stream: TextIO) -> None:
    """Point the process's own stdout/stderr at the null device, so the interpreter's last flush is quiet."""
    if stream not in (sys.__stdout__, sys.__stderr__):
        return
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)


@contextlib.contextmanager
def watched_output() -> Iterator[PipeWatch]:
    """Wrap sys.stdout and sys.stderr while the block runs; the PipeWatch says whether a reader went away."""
    watch = PipeWatch()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Guarded(saved[0], watch), _Guarded(saved[1], watch)
    try:
        yield watch
    finally:
        watch.stops = False
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved
