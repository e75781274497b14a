"""Downloads against a real HTTP server on 127.0.0.1 that misbehaves: an overall deadline, a size cap, no half file.

A trickling server must be cut off by the deadline whatever the per-read timeout, an endless or oversized stream
by the pinned size (or a cap when none is pinned), and a download killed with SIGKILL leaves only a .part
file, which the next download removes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from numpynn import data
from numpynn.data.download import remove_stale_parts
from numpynn.errors import DatasetError
from tests.http_server import FileServer

BODY = bytes(range(256)) * 40  # 10,240 bytes
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def engine():
    """Downloads use no engine: one run of each test (the conftest fixture would run them twice)."""
    return None


def _fetch(server, dest, **kw):
    kw.setdefault("retries", 0)
    return data.download("f.bin", SHA, [server.url("/m/")], dest, progress=False, backoff=0, **kw)


def test_slow_server_is_cut_off_by_the_overall_deadline(tmp_path):
    with FileServer(slow_interval=0.1) as server:  # 10,240 bytes at 10 a second: 17 minutes without a deadline
        server.files["/m/f.bin"] = BODY
        server.modes["/m/f.bin"] = "slow"
        start = time.monotonic()
        with pytest.raises(DatasetError, match=r"deadline passed after \d+ bytes .*1\.5 s for the whole download"):
            _fetch(server, tmp_path, timeout=2, deadline=1.5, retries=3)
        elapsed = time.monotonic() - start
    assert elapsed < 1.5 + 1.0, elapsed  # ends at the deadline, not a timeout (2 s) or a retry later
    assert len(server.requests) == 1  # the deadline covers retries too
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["endless", "huge-length"])
def test_stream_beyond_the_pinned_size_is_refused_and_the_next_mirror_used(tmp_path, mode):
    with FileServer() as server:
        server.files["/bad/f.bin"] = server.files["/m/f.bin"] = BODY
        server.modes["/bad/f.bin"] = mode
        logs = []
        path = data.download("f.bin", SHA, [server.url("/bad/"), server.url("/m/")], tmp_path, progress=False,
                             size=len(BODY), log=logs.append, retries=2, backoff=0)
        assert path.read_bytes() == BODY
        assert server.requests == ["/bad/f.bin", "/m/f.bin"]  # too large is not retried
    with FileServer() as server:
        server.files["/m/f.bin"] = BODY
        server.modes["/m/f.bin"] = mode
        expected = "announces 10,737,418,240 bytes" if mode == "huge-length" else "sent more than the 10,240 bytes"
        with pytest.raises(DatasetError, match=expected):
            _fetch(server, tmp_path / "c", size=len(BODY))
    assert list((tmp_path / "c").iterdir()) == []


def test_unknown_size_is_capped(tmp_path):
    with FileServer() as server:
        server.files["/m/f.bin"] = BODY
        server.modes["/m/f.bin"] = "endless"
        with pytest.raises(DatasetError, match="sent more than the 1,048,576 bytes expected"):
            _fetch(server, tmp_path, max_bytes=1 << 20)
    assert list(tmp_path.iterdir()) == []


def test_named_dataset_downloads_are_capped_by_the_pinned_sizes(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMPYNN_DATA", str(tmp_path / "cache"))
    files = {split: data.DataFile(f"{split}.gz", SHA, size=len(BODY)) for split in data.registry.SPLITS}
    data.register(data.DatasetSpec("capped", files), replace=True)
    with FileServer() as server:
        for f in files.values():
            server.files[f"/m/{f.filename}"] = BODY
            server.modes[f"/m/{f.filename}"] = "endless"
        with pytest.raises(DatasetError, match="more than the 10,240 bytes expected"):
            data.locate("capped", mirrors=[server.url("/m/")], progress=False)
    assert list((tmp_path / "cache" / "capped").iterdir()) == []


def test_bad_deadline_or_timeout_is_refused(tmp_path):
    for kw in ({"timeout": 0}, {"deadline": float("nan")}, {"deadline": -1}):
        with pytest.raises(ValueError, match="must be a positive number of seconds"):
            data.download("f.bin", SHA, ["http://127.0.0.1:9/"], tmp_path, **kw)


def test_stale_part_files_are_removed_but_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".f.bin.{int(dead.stdout)}.x1y2.part"
    old_style = tmp_path / ".f.bin.abc123.part"
    live = tmp_path / f".f.bin.{os.getppid()}.q9w8.part"
    other = tmp_path / ".g.bin.1.zz.part"
    for p in (stale, old_style, live, other):
        p.write_bytes(b"half")
    os.utime(old_style, (time.time() - 2 * 86400,) * 2)
    remove_stale_parts(tmp_path / "f.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_download_killed_midway_leaves_no_half_file_and_the_next_one_cleans_up(tmp_path):
    with FileServer(slow_interval=0.01) as server:
        server.files["/m/f.bin"] = BODY
        server.modes["/m/f.bin"] = "slow"
        code = ("import sys; from numpynn.data import download; "
                "download('f.bin', sys.argv[1], [sys.argv[2]], sys.argv[3], progress=False, retries=0)")
        child = subprocess.Popen([sys.executable, "-c", code, SHA, server.url("/m/"), str(tmp_path)])
        try:
            for _ in range(1200):  # until the child is receiving into its .part file
                if server.requests and list(tmp_path.glob(".f.bin.*.part")):
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the child never started downloading")
            time.sleep(0.3)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert not (tmp_path / "f.bin").exists()  # the cache never holds a half file under the real name
        assert len(list(tmp_path.glob(".f.bin.*.part"))) == 1
        server.modes.clear()
        assert _fetch(server, tmp_path).read_bytes() == BODY
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_downloaded_files_verify_as_published(tmp_path, monkeypatch, capsys):
    from numpynn.cli import main

    monkeypatch.setenv("NUMPYNN_DATA", str(tmp_path / "cache"))
    files = {split: data.DataFile(f"{split}.gz", SHA, size=len(BODY)) for split in data.registry.SPLITS}
    data.register(data.DatasetSpec("pinned-dl", files), replace=True)
    with FileServer() as server:
        for f in files.values():
            server.files[f"/m/{f.filename}"] = BODY
        data.locate("pinned-dl", mirrors=[server.url("/m/")], progress=False)
    assert main(["datasets", "verify", "pinned-dl"]) == 0
    out = capsys.readouterr().out
    assert out.count("verified (as published)") == 4 and str(tmp_path / "cache" / "pinned-dl") in out
