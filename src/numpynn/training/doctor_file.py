"""The doctor's file: a header line, then one JSON line per record appended as training goes.

    {"numpynn": "doctor records", "version": 1, "data": {"x_rms_max": 1.0, "classes": 10, ...}}
    {"epoch": 1, "loss": 0.69, "layers": [{"layer": 0, "name": "Dense(2→3, sigmoid)", "weight_norm": 1.2, ...}]}
    ...
    {"divergence": {"text": "training diverged at step 7 ...", "step": 7, "layer": 2, ...}}

Appending keeps the work per epoch constant however long the run. Lines are handed to the operating system
every `flush_seconds`, when training ends, and (fsync'd) before a divergence error goes up, so a killed
run leaves every record up to the last second or so, and at worst a torn last line, which the reader
(runfiles.read_doctor) drops.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, BinaryIO

from ..atomic import write_target
from ..errors import NumpynnError

HEADER: dict[str, Any] = {"numpynn": "doctor records", "version": 1}


class RecordsFile:
    """Append-only JSON lines at `path`; the first `open` starts the file afresh, later ones append to it."""

    def __init__(self, path: str | os.PathLike, flush_seconds: float = 1.0) -> None:
        self.path, self.flush_seconds = Path(path), float(flush_seconds)
        self.lines = 0  # written since the file was started, the header included
        self.header_extra: dict[str, Any] = {}  # more fields of the header line (the doctor's data figures)
        self._f: BinaryIO | None = None
        self._started = False
        self._last_flush = 0.0

    def open(self) -> None:
        if self._f is not None:
            return
        target = write_target(self.path)  # a FIFO, a device or a folder there is refused, never opened
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(target, "ab" if self._started else "wb")  # noqa: SIM115 (kept open across epochs)
        except OSError as exc:
            raise NumpynnError(f"cannot write {os.fspath(self.path)!r}: {exc.strerror or exc}") from None
        if not self._started:
            self._started = True
            self.append({**HEADER, **self.header_extra})
            self.flush()

    def append(self, obj: dict[str, Any]) -> None:
        """One JSON line (strict JSON: NaN must already be null); on disk by the next flush."""
        self.open()
        self._write(json.dumps(obj, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        self.lines += 1
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self._f is not None:
            self._io(self._f.flush)
            self._last_flush = time.monotonic()

    def close(self, *, sync: bool = False) -> None:
        """Flush (and with `sync`, fsync) and close; a later `open` appends. A process that ends keeps what was
        flushed; fsync is for a divergence, whose error may end more than the process."""
        if self._f is None:
            return
        f, self._f = self._f, None
        try:
            self._io(f.flush)
            if sync:
                self._io(lambda: os.fsync(f.fileno()))
        finally:
            f.close()

    def _write(self, data: bytes) -> None:
        self._io(lambda: self._f.write(data))

    def _io(self, action) -> None:
        try:
            action()
        except OSError as exc:  # a full disk: say which file, not a bare errno
            raise NumpynnError(f"cannot write {os.fspath(self.path)!r}: {exc.strerror or exc}") from None
