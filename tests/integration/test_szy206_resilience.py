"""The SZY206 listener process under resource exhaustion and with a dead I/O thread
(issue 11: "the SZY206 listener dies silently"), with the real database."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.service import run_szy206_listener
from ingest.szy206_listener import ListenerFailedError, Szy206Listener
from tests.integration.ingest_support import unique_prefix, wait_for
from tests.integration.test_field_ingest import (
    DIRECT,
    device_readings,
    flow_frame,
    prepare,
    read_acks,
)
from waterbudget.embedded import free_port, wait_for_port
from waterbudget.settings import Settings

pytestmark = pytest.mark.integration

DESCRIPTORS = 64  # RLIMIT_NOFILE of the listener process: ~10 are in use after start
CONNECTIONS = 120  # more than it can hold


def start_listener(database_url: str, port: int, log: Path, *, descriptors: int | None = None,
                   inject: str = "", **settings: str) -> subprocess.Popen[bytes]:
    """``waterbudget szy206-listen`` in a process of its own; ``inject``: Python run before
    the CLI (a fault to inject); ``settings``: more WATERBUDGET_* variables."""
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url,
           "WATERBUDGET_TOPIC_PREFIX": unique_prefix(), "WATERBUDGET_INGEST_BATCH_WAIT_MS": "20",
           **{f"WATERBUDGET_{name.upper()}": value for name, value in settings.items()}}

    def limit() -> None:
        if descriptors is not None:
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (descriptors, hard))

    code = f"{inject}\nimport sys\nfrom waterbudget.cli import main\nsys.exit(main(sys.argv[1:]))"
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code, "szy206-listen", "--host", "127.0.0.1", "--port",
             str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=limit)


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path,
                         timeout: float = 120.0) -> None:
    """Until the port takes connections; fails with the process's output if it ends first
    (the machine is shared: starting may take long, so the deadline is generous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the listener ended ({process.returncode}) before listening:"
                                 f"\n{log.read_text('utf-8', 'replace')[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout} s:\n"
                         f"{log.read_text('utf-8', 'replace')[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


def test_more_terminals_than_descriptors_leave_room_for_the_database(database_url,
                                                                      tmp_path) -> None:
    """Issue 11's scenario with the default settings: the terminals arrive before the
    database connection is opened; they must not take the descriptors it needs."""
    now = prepare(database_url, tmp_path)
    frames = [flow_frame(100_000 + 10 * k, now - timedelta(minutes=60 - 10 * k), DIRECT)
              for k in range(1, 3)]
    port = free_port()
    log = tmp_path / "listener.log"
    process = start_listener(database_url, port, log, descriptors=DESCRIPTORS)
    crowd: list[socket.socket] = []
    try:
        wait_until_listening(process, port, log)
        with socket.create_connection(("127.0.0.1", port)) as first:
            crowd = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
            wait_for(lambda: b"the most this process takes" in log.read_bytes(), 60,
                     "the listener to stop at its connection limit")
            first.sendall(frames[0])  # the database connection opens now: committed
            assert len(read_acks(first, 1, timeout=60)) == 1
            for sock in crowd:
                sock.close()
            with socket.create_connection(("127.0.0.1", port)) as newcomer:
                newcomer.sendall(frames[1])
                assert len(read_acks(newcomer, 1, timeout=60)) == 1
        assert [value for _, value in device_readings(database_url)] == [100_010.0, 100_020.0]
    finally:
        for sock in crowd:
            sock.close()
        code = stop(process)
    output = log.read_text("utf-8", "replace")
    assert code == 0, output[-3000:]
    assert "Too many open files" not in output


def test_listener_out_of_descriptors_keeps_serving_and_accepts_again(database_url,
                                                                     tmp_path) -> None:
    """No connection limit below the descriptor limit: accept fails with EMFILE."""
    now = prepare(database_url, tmp_path)
    frames = [flow_frame(100_000 + 10 * k, now - timedelta(minutes=60 - 10 * k), DIRECT)
              for k in range(1, 4)]
    port = free_port()
    log = tmp_path / "listener.log"
    process = start_listener(database_url, port, log, descriptors=DESCRIPTORS,
                             szy206_max_connections="1000")
    crowd: list[socket.socket] = []
    started = time.monotonic()
    try:
        wait_until_listening(process, port, log)
        with socket.create_connection(("127.0.0.1", port)) as held:
            held.sendall(frames[0])
            assert len(read_acks(held, 1)) == 1  # committed: the database connection is open
            crowd = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
            wait_for(lambda: b"Too many open files" in log.read_bytes(), 60,
                     "the listener to run out of descriptors")
            held.sendall(frames[1])  # at the limit, the open connections are still served
            assert len(read_acks(held, 1)) == 1
            assert process.poll() is None
            for sock in crowd:  # descriptors free up
                sock.close()
            with socket.create_connection(("127.0.0.1", port)) as newcomer:
                newcomer.sendall(frames[2])
                assert len(read_acks(newcomer, 1, timeout=60)) == 1  # accepted and confirmed
        assert [value for _, value in device_readings(database_url)] == [
            100_010.0, 100_020.0, 100_030.0]
    finally:
        for sock in crowd:
            sock.close()
        code = stop(process)
    elapsed = time.monotonic() - started
    output = log.read_text("utf-8", "replace")
    assert code == 0, output[-3000:]
    warnings = output.count("cannot accept a terminal connection")
    assert 1 <= warnings <= 2 + elapsed / 10, output[-3000:]  # rate-limited: one per 10 s


INJECTED_FAULT = """\
from ingest.szy206_listener import Szy206Listener

def _accept(self):
    raise RuntimeError("injected fault in the I/O thread")

Szy206Listener._accept = _accept
"""


def test_a_dead_io_thread_ends_the_process_with_a_non_zero_exit(database_url,
                                                                 tmp_path) -> None:
    prepare(database_url, tmp_path)
    port = free_port()
    log = tmp_path / "listener.log"
    process = start_listener(database_url, port, log, inject=INJECTED_FAULT)
    try:
        deadline = time.monotonic() + 120  # connect: its accept raises (starting may be slow)
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        wait_for(lambda: process.poll() is not None, 60,
                 "the process to end after its I/O thread died")
    finally:
        code = stop(process)
    output = log.read_text("utf-8", "replace")
    assert code != 0, output[-3000:]
    assert "I/O thread died" in output
    assert "injected fault in the I/O thread" in output


def test_a_dead_io_thread_ends_the_listener_even_while_the_database_is_away(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The ingest loop may be waiting for an unreachable database, not calling take():
    the I/O thread's death must still end run_szy206_listener, with the error."""
    die = threading.Event()
    drop_idle = Szy206Listener._drop_idle

    def dying_drop_idle(self: Szy206Listener) -> None:  # called on every I/O loop pass
        if die.is_set():
            raise RuntimeError("injected fault in the I/O thread")
        drop_idle(self)

    monkeypatch.setattr(Szy206Listener, "_drop_idle", dying_drop_idle)
    settings = Settings(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none",
                        topic_prefix=unique_prefix(), ingest_batch_wait_ms=20)
    port = free_port()
    stop_event = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            run_szy206_listener(settings, stop_event, host="127.0.0.1", port=port)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_for_port(port, 120)
        with socket.create_connection(("127.0.0.1", port)) as terminal:
            for k in range(6):  # one batch each: the writer retries the first, the queue
                terminal.sendall(flow_frame(1000 + k, datetime.now(UTC)))  # fills up
                time.sleep(0.3)
            die.set()
            thread.join(60)
        assert not thread.is_alive(), "the listener outlived its I/O thread"
        assert len(failure) == 1
        assert isinstance(failure[0], ListenerFailedError)
        assert "injected fault" in str(failure[0].__cause__)
    finally:
        stop_event.set()
        thread.join(30)
