"""SIGTERM stops a long-running command whatever its work is blocked in.

``waterbudget ingest`` once kept running after SIGTERM: the signal interrupted
``queue.SimpleQueue.get(timeout=…)`` in the main thread as the timeout ran out, and
CPython 3.11 then waits without a timeout. The work now runs in a worker thread that
blocks the signals; the main thread takes them while it waits in ``Thread.join``.
"""

from __future__ import annotations

import faulthandler
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from waterbudget.cli import _until_signalled


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    faulthandler.cancel_dump_traceback_later()
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_sigterm_stops_work_that_waits_in_simple_queues(restored_handlers) -> None:
    seen: dict[str, object] = {}

    def work(stop: threading.Event) -> int:
        seen["blocked"] = signal.pthread_sigmask(signal.SIG_BLOCK, set())
        empty: queue.SimpleQueue[int] = queue.SimpleQueue()
        rounds = 0
        while not stop.is_set():  # the ingestor's loop: short waits on an empty queue
            try:
                empty.get(timeout=0.001)
            except queue.Empty:
                rounds += 1
        return rounds

    returned = threading.Event()

    def terminate_soon() -> None:
        time.sleep(0.3)
        while not returned.is_set():  # many signals, as many chances to hit a wait's end
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.005)

    started = time.monotonic()
    sender = threading.Thread(target=terminate_soon, daemon=True)
    sender.start()
    try:
        rounds = _until_signalled(work)
    finally:  # no signal may outlive the handlers (the fixture restores the defaults)
        returned.set()
        sender.join()
    assert time.monotonic() - started < 5
    assert rounds > 10  # the work ran until the signal
    blocked = seen["blocked"]
    assert isinstance(blocked, set)
    assert {signal.SIGTERM, signal.SIGINT} <= blocked


def test_what_the_work_raises_reaches_the_caller(restored_handlers) -> None:
    def work(stop: threading.Event) -> int:
        raise ValueError("the database is gone")

    with pytest.raises(ValueError, match="database is gone"):
        _until_signalled(work)
