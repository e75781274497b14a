"""Verified downloads: mirrors in order, retries, a pinned SHA-256 per file, atomic placement in the cache.

A file is streamed into a temporary file beside its destination while being hashed; only when the whole
file arrived and its digest matches the pin is it renamed into place. A server that closes mid-file, a
404, or a wrong digest moves on to the next attempt or mirror; the temporary file is always removed, and a
good cached file is never replaced by a bad one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..errors import DatasetError

USER_AGENT = "numpynn-downloader"


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


def _fetch_once(url: str, dest: Path, sha256: str, timeout: float, progress: bool) -> None:
    """Download `url` to `dest` if its digest is `sha256`; raise DatasetError (or OSError) otherwise."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        h, got = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = _Progress(total, dest.name, progress)
            try:
                while block := response.read(1 << 16):
                    out.write(block)
                    h.update(block)
                    got += len(block)
                    bar.update(len(block))
            finally:
                bar.close()
            if total is not None and got != total:
                raise DatasetError(f"{url}: the connection closed after {got} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != sha256:
            raise DatasetError(f"{url}: checksum mismatch: got sha256 {h.hexdigest()}, expected {sha256}")
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def download(filename: str, sha256: str, mirrors: Sequence[str], dest_dir: str | os.PathLike, *,
             retries: int = 2, timeout: float = 30.0, backoff: float = 0.5, progress: bool = True,
             log=None) -> Path:
    """Fetch `filename` from the first mirror that serves it intact; return its path in `dest_dir`.

    Each mirror is tried up to `retries + 1` times for transient failures (connection errors, short reads,
    5xx); a 404 or a checksum mismatch moves straight on to the next mirror.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / filename
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        for attempt in range(retries + 1):
            if log:
                log(f"downloading {url}" + (f" (attempt {attempt + 1})" if attempt else ""))
            try:
                _fetch_once(url, dest, sha256, timeout, progress)
                if log:
                    log(f"saved {dest} ({dest.stat().st_size:,} bytes, sha256 verified)")
                return dest
            except urllib.error.HTTPError as exc:
                failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
                if exc.code < 500:
                    break
            except DatasetError as exc:
                failures.append(str(exc))
                if "checksum mismatch" in str(exc):
                    break
            except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, reset, timeout, IncompleteRead
                reason = getattr(exc, "reason", None) or exc
                failures.append(f"{url}: {type(exc).__name__}: {reason}")
            if attempt < retries:
                time.sleep(backoff * 2**attempt)
    raise DatasetError(f"could not download {filename} from any mirror:\n  " + "\n  ".join(failures))
