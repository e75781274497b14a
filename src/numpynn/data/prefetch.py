"""Reading ahead: the items of an iterator made in a thread of their own, at most `depth` of them waiting, so that
reading and preparing the next chunk of a table overlaps with training on the last one.

Only where the process may use MIN_CPUS or more (else the items are made in the caller's thread, as they would
be without it): on two cores the thread competes with training's own two threads (OpenBLAS's), and it showed no
steady gain there (docs/performance.md). The order of the items is the iterator's own, so a seeded
run repeats exactly; an exception in the thread is raised in the caller's; closing the generator early stops the
thread after its current item.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
MIN_CPUS = 3


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items of `items`, made up to `depth` ahead in a background thread where there is a CPU for it."""
    if usable_cpus() < MIN_CPUS:
        yield from items
        return
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def make() -> None:
        try:
            for item in items:
                waiting.put((item, None))
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the caller's thread, raised there
            waiting.put((_DONE, exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        waiting.put((_DONE, None))

    worker = threading.Thread(target=make, name="numpynn-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = waiting.get()
            if exc is not None:
                raise exc
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a blocked put through, so that the thread sees the stop and ends
            try:
                waiting.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()
