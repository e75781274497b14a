"""Verified downloads: mirrors in order, retries, a pinned SHA-256 per file, atomic placement in the cache.

A file is streamed into a temporary file beside its destination while being hashed; only when the whole
file arrived and its digest matches the pin is it renamed into place. A server that closes mid-file, a
404, or a wrong digest moves on to the next attempt or mirror; the temporary file is always removed, and a
good cached file is never replaced by a bad one.

Bounds: one overall `deadline` for the whole download (a server trickling a byte a second is cut off when it
passes, whatever the per-read `timeout`), and a size limit (the pinned file's known size, else `max_bytes`)
checked against Content-Length before reading and against the bytes as they come. The temporary file is named
after the process (`.NAME.PID.RANDOM.part`), so the next download removes what a killed process left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..atomic import process_alive
from ..errors import DatasetError

USER_AGENT = "numpynn-downloader"
MAX_BYTES = 1 << 30  # when the size is not pinned: 1 GiB, beyond any dataset numpynn registers
DEADLINE = 900.0     # seconds for one file, all mirrors and retries together
STALE_AFTER = 86400.0  # a .part file older than a day is stale even if its process id is in use again


class _Refused(DatasetError):
    """A mirror served something that retrying will not fix (too large, wrong digest): try the next mirror."""


class _DeadlineExceeded(DatasetError):
    """The overall deadline passed: stop, whatever mirrors are left."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class _Progress:
    """A tqdm bar on a terminal, nothing otherwise (a download is one line in a log: the caller prints it)."""

    def __init__(self, total: int | None, desc: str, enabled: bool) -> None:
        self.bar = None
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, file=sys.stderr, leave=False)
            except ImportError:
                pass

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def remove_stale_parts(dest: Path, log=None) -> None:
    """Delete the .part files a killed download of `dest` left: their process is gone, or they are a day old."""
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.(?:(\d+)\.)?[^.]+\.part$")
    for p in dest.parent.iterdir():
        m = pattern.match(p.name)
        if not m:
            continue
        with contextlib.suppress(FileNotFoundError):
            recent = time.time() - p.lstat().st_mtime < STALE_AFTER
            pid = int(m.group(1)) if m.group(1) else None
            if recent and (pid is None or pid == os.getpid() or process_alive(pid)):
                continue  # possibly a download in progress in another process (or thread)
            p.unlink()
            if log:
                log(f"removed {p}, left by an interrupted download")


def _socket_of(response):
    """The socket under an http.client response, to shorten its timeout as the deadline nears (None if hidden)."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    return getattr(raw, "_sock", None)


def _fetch_once(url: str, dest: Path, sha256: str, timeout: float, progress: bool, *, deadline: float,
                limit: int) -> None:
    """Download `url` to `dest` if its digest is `sha256`; raise DatasetError (or OSError) otherwise.

    `deadline` is a time.monotonic() instant; `limit` the most bytes accepted.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".part", dir=dest.parent)
    try:
        h, got = hashlib.sha256(), 0
        left = deadline - time.monotonic()
        if left <= 0:
            raise _DeadlineExceeded(f"{url}: the download deadline passed")
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=min(timeout, left)) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and total > limit:
                raise _Refused(f"{url}: the server announces {total:,} bytes, more than the {limit:,} expected")
            sock = _socket_of(response)
            bar = _Progress(total, dest.name, progress)
            try:
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise _DeadlineExceeded(f"{url}: the download deadline passed after {got:,} bytes")
                    if sock is not None:
                        sock.settimeout(min(timeout, left))
                    try:  # read1: one recv at most, so a trickling server cannot hold a 64 KiB read open
                        block = response.read1(1 << 16)
                    except TimeoutError:
                        if deadline - time.monotonic() <= 0:
                            raise _DeadlineExceeded(
                                f"{url}: the download deadline passed after {got:,} bytes") from None
                        raise
                    if not block:
                        break
                    got += len(block)
                    if got > limit:
                        raise _Refused(f"{url}: the server sent more than the {limit:,} bytes expected; stopped")
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
            finally:
                bar.close()
            if total is not None and got != total:
                raise DatasetError(f"{url}: the connection closed after {got} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != sha256:
            raise _Refused(f"{url}: checksum mismatch: got sha256 {h.hexdigest()}, expected {sha256}")
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def download(filename: str, sha256: str, mirrors: Sequence[str], dest_dir: str | os.PathLike, *,
             retries: int = 2, timeout: float = 30.0, backoff: float = 0.5, progress: bool = True,
             log=None, size: int | None = None, max_bytes: int = MAX_BYTES, deadline: float = DEADLINE) -> Path:
    """Fetch `filename` from the first mirror that serves it intact; return its path in `dest_dir`.

    Each mirror is tried up to `retries + 1` times for transient failures (connection errors, short reads,
    5xx); a 404, a checksum mismatch or too many bytes moves straight on to the next mirror. `timeout`
    bounds each connect and read; `deadline` (seconds) the whole download. At most `size` bytes (the pinned
    size, when known) or else `max_bytes` are accepted.
    """
    for name, value in (("timeout", timeout), ("deadline", deadline)):
        if not (isinstance(value, int | float) and value > 0 and value == value):
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / filename
    remove_stale_parts(dest, log)
    limit = size if size is not None else max_bytes
    end = time.monotonic() + deadline
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        for attempt in range(retries + 1):
            if log:
                log(f"downloading {url}" + (f" (attempt {attempt + 1})" if attempt else ""))
            try:
                _fetch_once(url, dest, sha256, timeout, progress, deadline=end, limit=limit)
                if log:
                    log(f"saved {dest} ({dest.stat().st_size:,} bytes, sha256 verified)")
                return dest
            except urllib.error.HTTPError as exc:
                failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
                if exc.code < 500:
                    break
            except _DeadlineExceeded as exc:
                failures.append(f"{exc} ({deadline:g} s for the whole download)")
                break
            except _Refused as exc:
                failures.append(str(exc))
                break
            except DatasetError as exc:
                failures.append(str(exc))
            except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, reset, timeout, IncompleteRead
                reason = getattr(exc, "reason", None) or exc
                failures.append(f"{url}: {type(exc).__name__}: {reason}")
            if attempt < retries:
                time.sleep(max(0.0, min(backoff * 2**attempt, end - time.monotonic())))
        if time.monotonic() >= end:
            break
    raise DatasetError(f"could not download {filename} from any mirror:\n  " + "\n  ".join(failures))
