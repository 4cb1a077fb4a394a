"""Publish a message stream to an MQTT broker with QoS 1: the paho adapter of the simulator.

One connection, one thread: ``publish`` writes each message straight to the
socket and reads PUBACKs between writes, keeping at most ``max_inflight``
messages unacknowledged, and returns once every message is acknowledged.
``publish_parallel`` splits a stream by device over several processes (one
Python process tops out at a few tens of thousands of QoS-1 messages/s);
``publish_realtime`` paces simulated time at a speed-up factor for the demo.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.synchronize
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import count
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, SpawnContext
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.simulator import SimMessage

CONNECT_TIMEOUT_S = 10.0
ACK_TIMEOUT_S = 60.0
DEFAULT_MAX_INFLIGHT = 200  # PUBACKs are read when the window is full
_client_ids = count()


class PublishError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://user:pass@host:1883`` (or ``mqtts://`` for TLS) -> BrokerAddress."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"unsupported broker URL scheme {parts.scheme!r} in {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883),
                         unquote(parts.username) if parts.username else None,
                         unquote(parts.password) if parts.password else None, tls)


@dataclass(frozen=True, slots=True)
class PublishResult:
    sent: int
    acked: int
    seconds: float  # from the first write to the last PUBACK

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def __add__(self, other: PublishResult) -> PublishResult:
        return PublishResult(self.sent + other.sent, self.acked + other.acked,
                             max(self.seconds, other.seconds))


class PublishSession(Protocol):
    """One connection that publishes in order and counts acknowledgements."""

    sent: int
    acked: int

    def send(self, topic: str, payload: bytes) -> None: ...
    def drain(self) -> None: ...
    def close(self) -> None: ...


class SessionFactory(Protocol):
    def __call__(self, url: str, *, qos: int, max_inflight: int) -> PublishSession: ...


class _Session:
    """A connected paho client driven from the calling thread (no network thread)."""

    def __init__(self, url: str, *, qos: int, max_inflight: int) -> None:
        address = parse_broker_url(url)
        self.qos = qos
        self.max_inflight = max_inflight
        self.sent = self.acked = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"wb-pub-{os.getpid()}-{next(_client_ids)}",
                                  protocol=mqtt.MQTTv311, clean_session=True)
        # paho's own limit re-scans every unacknowledged message on each PUBACK;
        # 0 turns it off, and send() keeps the bound instead.
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        if address.username is not None:
            self.client.username_pw_set(address.username, address.password)
        if address.tls:
            self.client.tls_set()
        self.client.on_publish = self._on_publish
        self.client.connect(address.host, address.port, keepalive=60)
        self._loop_until(lambda: self.client.is_connected(), CONNECT_TIMEOUT_S, "CONNACK")

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason_code: object, properties: object) -> None:
        self.acked += 1

    def _loop(self, timeout: float) -> None:
        rc = self.client.loop(timeout=timeout)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            raise PublishError(f"connection lost after {self.sent} sent, {self.acked} acked: "
                               f"{mqtt.error_string(rc)}")

    def _loop_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise PublishError(f"timed out waiting for {what} "
                                   f"({self.sent} sent, {self.acked} acked)")
            self._loop(0.2)

    def send(self, topic: str, payload: bytes) -> None:
        if self.sent - self.acked >= self.max_inflight:
            self._loop_until(lambda: self.sent - self.acked < self.max_inflight,
                             ACK_TIMEOUT_S, "PUBACK")
        info = self.client.publish(topic, payload, qos=self.qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise PublishError(f"publish to {topic!r} failed: {mqtt.error_string(info.rc)}")
        self.sent += 1

    def idle_until(self, deadline: float) -> None:
        """Serve the connection (PUBACKs, keep-alive) until ``time.monotonic()`` reaches it."""
        while (left := deadline - time.monotonic()) > 0:
            self._loop(min(left, 1.0))

    def drain(self) -> None:
        self._loop_until(lambda: self.acked >= self.sent, ACK_TIMEOUT_S, "the last PUBACKs")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop(timeout=0.1)


def publish(url: str, messages: Iterable[tuple[str, bytes]], *, qos: int = 1,
            max_inflight: int = DEFAULT_MAX_INFLIGHT) -> PublishResult:
    """Publish every message in order, as fast as the broker acknowledges them."""
    session = _Session(url, qos=qos, max_inflight=max_inflight)
    try:
        started = time.monotonic()
        for topic, payload in messages:
            session.send(topic, payload)
        session.drain()
        return PublishResult(session.sent, session.acked, time.monotonic() - started)
    finally:
        session.close()


def publish_realtime(url: str, messages: Iterable[SimMessage], *, speedup: float,
                     qos: int = 1, max_inflight: int = DEFAULT_MAX_INFLIGHT) -> PublishResult:
    """Publish each message when its simulated time comes, ``speedup`` times faster than real.

    Simulated time must not run ahead of the wall clock, or the ingestor rejects
    the readings as future: start the simulation at least ``duration`` in the past.
    """
    if speedup <= 0:
        raise ValueError("speedup must be positive")
    session = _Session(url, qos=qos, max_inflight=max_inflight)
    try:
        started = time.monotonic()
        origin = None
        for message in messages:
            origin = origin or message.sim_time
            elapsed = (message.sim_time - origin).total_seconds() / speedup
            session.idle_until(started + elapsed)
            session.send(message.topic, message.payload)
        session.drain()
        return PublishResult(session.sent, session.acked, time.monotonic() - started)
    finally:
        session.close()


def partition_by_device(messages: Iterable[tuple[str, bytes]],
                        parts: int) -> list[list[tuple[str, bytes]]]:
    """Split a stream into ``parts``, keeping each device's messages together and in order."""
    streams: list[list[tuple[str, bytes]]] = [[] for _ in range(parts)]
    owner: dict[str, int] = {}
    for topic, payload in messages:
        device = topic.rsplit("/", 2)[-2] if topic.count("/") >= 2 else topic
        index = owner.setdefault(device, len(owner) % parts)
        streams[index].append((topic, payload))
    return streams


def _worker(url: str, stream: Sequence[tuple[str, bytes]], qos: int, max_inflight: int,
            start: multiprocessing.synchronize.Barrier, reply: Connection,
            session_factory: SessionFactory) -> None:
    try:
        session = session_factory(url, qos=qos, max_inflight=max_inflight)
        start.wait()
        for topic, payload in stream:
            session.send(topic, payload)
        session.drain()
        session.close()
        reply.send((session.sent, session.acked, ""))
    except Exception as exc:  # reported to the parent, which raises
        start.abort()
        reply.send((0, 0, f"{type(exc).__name__}: {exc}"))


def publish_parallel(url: str, streams: Sequence[Sequence[tuple[str, bytes]]], *,
                     qos: int = 1, max_inflight: int = DEFAULT_MAX_INFLIGHT,
                     start_method: Literal["fork", "spawn"] = "fork",
                     session: SessionFactory = _Session) -> PublishResult:
    """Publish each stream from its own process.

    ``session`` makes each worker's connection: paho by default, or
    ``ingest.libmosquitto_publisher.LibmosquittoSession`` (the benchmark's).

    Forked workers share the streams without copying them; from a process that
    runs other threads (an ingestor, say) pass ``start_method="spawn"``, which
    pickles each stream to its worker. Per-stream order is kept; use
    ``partition_by_device`` to keep each device's order. The time runs from the
    moment every worker is connected to the last PUBACK.
    """
    context: ForkContext | SpawnContext = (
        multiprocessing.get_context("spawn") if start_method == "spawn"
        else multiprocessing.get_context("fork"))
    barrier = context.Barrier(len(streams) + 1)
    pipes = [context.Pipe(duplex=False) for _ in streams]
    workers = [context.Process(target=_worker,
                               args=(url, stream, qos, max_inflight, barrier, w, session),
                               daemon=True)
               for stream, (_, w) in zip(streams, pipes, strict=True)]
    for worker in workers:
        worker.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed: it reports
        barrier.wait(timeout=CONNECT_TIMEOUT_S)
    started = time.monotonic()
    sent = acked = 0
    errors = []
    for (reader, _), worker in zip(pipes, workers, strict=True):
        while not reader.poll(1.0):
            if not worker.is_alive() and not reader.poll(0.1):
                errors.append(f"worker {worker.pid} exited with {worker.exitcode}")
                break
        else:
            worker_sent, worker_acked, error = reader.recv()
            sent, acked = sent + worker_sent, acked + worker_acked
            if error:
                errors.append(error)
    seconds = time.monotonic() - started
    for worker in workers:
        worker.join()
    if errors:
        raise PublishError("; ".join(errors))
    return PublishResult(sent, acked, seconds)
