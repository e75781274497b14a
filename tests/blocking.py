"""For tests of calls that must not block: run one in a thread and fail, rather than hang the suite."""

from __future__ import annotations

import threading

import pytest


def within(seconds: float, fn, *args):
    """Run fn(*args) in a thread; fail (rather than hang the suite) if it has not returned in time."""
    box: dict = {}

    def call():
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"{getattr(fn, '__name__', fn)}{args} still running after {seconds} s (blocked?)")
    if "error" in box:
        raise box["error"]
    return box["result"]
