"""The ingest loop: take messages, write them in one transaction, then acknowledge.

* Two stages: this thread takes messages from the broker and turns them into
  rows (pure Python), a writer thread writes each batch and acknowledges it
  after commit. Batch n+1 is built while batch n is in the database, so the
  parsing and the database work run at the same time; one batch waits between
  the stages at most. Batches are written, and acknowledged, in the order taken.

* Acknowledgement comes after commit; an uncommitted message is never acked, so
  the broker redelivers it (after a crash, a kill or a lost connection).
* Stopping waits at most WRITER_STOP_S for the writer to finish the batch it is
  writing; a writer still busy then (a hung database) is left behind with a
  warning, and its batch stays unacknowledged for the broker to redeliver.
* Database unreachable: keep the broker connection, retry the same batch with
  exponential backoff, resume without loss. The broker stops sending once
  Receive Maximum messages are unacknowledged, so memory stays bounded.
* A batch whose write fails for its content — the database refuses a row, or
  any exception other than an outage (``OUTAGES``) — is bisected: written again
  in two halves, recursively, until the message that fails is alone; that one
  is dead-lettered (``write_failed``, with the exception) and acknowledged, so
  one poison message never blocks the stream and costs about 2·log2(n)
  transactions, not n. Building a batch never fails for a message's content
  (``ingest.field_messages``): such a message is dead-lettered as
  ``parse_failed``.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import psycopg
from prometheus_client import Counter, Histogram

from ingest.batch import DeadLetter, IngestBatch, ReceivedMessage
from ingest.field_messages import build_batch_with_field_messages, failed_message
from ingest.reading_repository import (
    WriteResult,
    insert_dead_letters,
    take_tails_lock,
    write_batch,
)
from ingest.register_tails import RegisterTails
from ingest.registry import Registry
from ingest.registry_repository import load_registry, registry_version
from ingest.storable_text import escaped

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
WRITER_STOP_S = 15.0  # on stop, how long the writer may take to finish its batch
OUTAGES = (psycopg.OperationalError, psycopg.InterfaceError)
APPLICATION_NAME = "waterbudget-ingest"  # in pg_stat_activity

MESSAGES = Counter("waterbudget_ingest_messages", "MQTT messages committed and acknowledged")
READINGS = Counter("waterbudget_ingest_readings", "Readings written", ["outcome"])
DEAD_LETTERS = Counter("waterbudget_ingest_dead_letters", "Rejected input", ["reason"])
DB_ERRORS = Counter("waterbudget_ingest_db_errors", "Failed database attempts", ["kind"])
COMMIT_SECONDS = Histogram("waterbudget_ingest_commit_seconds", "Batch transaction time")


class MessageSource(Protocol):
    def take(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]: ...
    def ack(self, messages: Sequence[ReceivedMessage]) -> int: ...


@dataclass
class IngestConfig:
    database_url: str
    prefix: str
    zone: ZoneInfo
    batch_size: int = 5_000
    batch_wait_s: float = 0.05
    max_future: timedelta = timedelta(minutes=10)
    # keep each meter's last readings if this process can take the tails lock
    # (ingest.register_tails); off in a shared subscription, where it would not pay
    try_tails: bool = True
    # payload bytes per transaction: keeps batches of long messages small enough that
    # building one and writing the last overlap well (~20,000 readings of 100-reading JSON)
    batch_bytes: int = 1_000_000
    # the messages come from the SZY206 TCP listener (gateway binding, ingest.szy206_readings)
    szy206_over_tcp: bool = False


@dataclass
class IngestStats:
    messages: int = 0
    readings_new: int = 0
    readings_duplicate: int = 0
    dead_letters: int = 0
    batches: int = 0  # committed write transactions
    transactions: int = 0  # write transactions begun: committed or rolled back
    db_failures: int = 0
    last_commit: float = 0.0
    on_commit: list[Callable[[WriteResult], None]] = field(default_factory=list)


def chunks_by_size(messages: list[ReceivedMessage],
                   max_bytes: int) -> list[list[ReceivedMessage]]:
    """Consecutive runs of messages of at most ``max_bytes`` of payload (at least one each)."""
    chunks: list[list[ReceivedMessage]] = []
    start, size = 0, 0
    for index, message in enumerate(messages):
        if size and size + len(message.payload) > max_bytes:
            chunks.append(messages[start:index])
            start, size = index, 0
        size += len(message.payload)
    if start < len(messages):
        chunks.append(messages[start:])
    return chunks


@dataclass(frozen=True)
class _Built:
    """A batch of messages turned into rows with the registry of ``registry_version``."""

    messages: Sequence[ReceivedMessage]
    batch: IngestBatch
    registry_version: int


class Ingestor:
    def __init__(self, source: MessageSource, config: IngestConfig) -> None:
        self.source = source
        self.config = config
        self.stats = IngestStats()
        self._conn: psycopg.Connection[Any] | None = None
        # (version, registry) in one attribute: the writer replaces it, the builder reads it
        self._known: tuple[int, Registry] = (-1, Registry())
        self._writer_error: BaseException | None = None
        self._tails: RegisterTails | None = None  # while this process holds the tails lock
        self._abandoned = threading.Event()  # stop gave up waiting for the writer: no more acks

    def run(self, stop: threading.Event) -> None:
        built: queue.Queue[_Built | None] = queue.Queue(maxsize=1)
        writer = threading.Thread(target=self._write_loop, args=(built, stop),
                                  name="ingest-writer", daemon=True)
        writer.start()
        try:
            while not stop.is_set() and writer.is_alive():
                messages = self.source.take(self.config.batch_size, self.config.batch_wait_s)
                for chunk in chunks_by_size(messages, self.config.batch_bytes):
                    self._hand_over(built, self._build(chunk), writer, stop)
        finally:
            deadline = time.monotonic() + WRITER_STOP_S
            self._hand_over(built, None, writer, threading.Event(), deadline)
            writer.join(max(0.0, deadline - time.monotonic()))
            if writer.is_alive():
                self._abandoned.set()
                log.warning("the ingest writer is still busy %.0f s after stop; leaving it: "
                            "its batch stays unacknowledged and the broker redelivers it",
                            WRITER_STOP_S)
            elif self._conn is not None:  # never closed under a writer still using it
                self._conn.close()
        if self._writer_error is not None:
            raise RuntimeError("the ingest writer failed") from self._writer_error

    @staticmethod
    def _hand_over(built: queue.Queue[_Built | None], item: _Built | None,
                   writer: threading.Thread, stop: threading.Event,
                   deadline: float = math.inf) -> None:
        while writer.is_alive() and not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                built.put(item, timeout=min(left, 0.2))
                return
            except queue.Full:
                continue

    def _write_loop(self, built: queue.Queue[_Built | None], stop: threading.Event) -> None:
        try:
            while (item := built.get()) is not None:
                if self.commit(item, stop) and not self._abandoned.is_set():
                    self.source.ack(item.messages)
        except BaseException as exc:  # a bug, not an outage: stop the ingestor loudly
            log.exception("the ingest writer failed; nothing after the last commit is acked")
            self._writer_error = exc

    def _build(self, messages: Sequence[ReceivedMessage]) -> _Built:
        version, registry = self._known
        batch = build_batch_with_field_messages(  # JSON readings, gates and SZY206 frames
            messages, registry, prefix=self.config.prefix, default_zone=self.config.zone,
            now=datetime.now(UTC), max_future=self.config.max_future,
            szy206_over_tcp=self.config.szy206_over_tcp)
        return _Built(messages, batch, version)

    def commit(self, built: _Built, stop: threading.Event) -> bool:
        """Write the batch; True once committed, False if stopped before that.

        An outage (``OUTAGES``) is retried with backoff. Any other failure of the
        write — the database refusing a row, or our own code raising on this
        content — is the content's fault: see ``_rejected``.
        """
        delay = BACKOFF_START_S
        while not stop.is_set():
            try:
                self._write(built)
                return True
            except OUTAGES as exc:
                self._outage(exc, delay, stop)
                delay = min(delay * 2, BACKOFF_MAX_S)
            except Exception as exc:  # whatever it is, the content caused it
                return self._rejected(built, exc, stop)
        return False

    def _rejected(self, built: _Built, exc: Exception, stop: threading.Event) -> bool:
        """Bisect a rejected batch until the message that fails is alone; dead-letter it.

        A batch of n messages with one poison message costs about 2·log2(n)
        transactions, not n; each half is built again and written as a batch.
        """
        DB_ERRORS.labels("rejected").inc()
        self._drop_connection()
        messages = built.messages
        if len(messages) > 1:
            half = len(messages) // 2
            log.warning("batch of %d messages rejected (%s); writing it in two halves",
                        len(messages), _first_line(exc))
            return (self.commit(self._build(messages[:half]), stop)
                    and self.commit(self._build(messages[half:]), stop))
        delay = BACKOFF_START_S
        while not stop.is_set():
            try:
                self._dead_letter(messages[0], exc)
                return True
            except OUTAGES as outage:
                self._outage(outage, delay, stop)
                delay = min(delay * 2, BACKOFF_MAX_S)
        return False

    def _outage(self, exc: Exception, delay: float, stop: threading.Event) -> None:
        DB_ERRORS.labels("outage").inc()
        self.stats.db_failures += 1
        log.warning("database unavailable (%s); retrying in %.1f s, nothing acked",
                    _first_line(exc), delay)
        self._drop_connection()
        stop.wait(delay)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            # autocommit: each write_batch's transaction() is then a real COMMIT, not a savepoint
            conn = psycopg.connect(self.config.database_url, connect_timeout=5,
                                   application_name=APPLICATION_NAME, autocommit=True)
            if self.config.try_tails and take_tails_lock(conn):
                self._tails = RegisterTails()
            self._conn = conn
        return self._conn

    def _drop_connection(self) -> None:
        self._tails = None  # the session, and with it the tails lock, ends
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _refresh_registry(self, conn: psycopg.Connection[Any]) -> None:
        version = registry_version(conn)
        if version != self._known[0]:
            registry = load_registry(conn)
            self._known = (version, registry)
            log.info("registry version %d: %d sites, %d meters", version,
                     len(registry.sites), len(registry.meters))

    def _write(self, built: _Built) -> None:
        conn = self._connection()
        self._refresh_registry(conn)
        version, registry = self._known
        if built.registry_version != version:  # built before a registry change: again
            built = self._build(built.messages)
        started = time.perf_counter()
        self.stats.transactions += 1
        result = write_batch(conn, built.batch, registry, self._tails)
        if self._tails is not None:
            self._tails.remember(result.tails)
        COMMIT_SECONDS.observe(time.perf_counter() - started)
        self._count(len(built.messages), result, built.batch.dead_letters)

    def _count(self, messages: int, result: WriteResult, letters: Sequence[DeadLetter]) -> None:
        MESSAGES.inc(messages)
        READINGS.labels("new").inc(result.readings_new + result.sessions_new)
        READINGS.labels("duplicate").inc(result.readings_duplicate)
        for letter in letters:
            DEAD_LETTERS.labels(letter.reason).inc()
        self.stats.messages += messages
        self.stats.readings_new += result.readings_new + result.sessions_new
        self.stats.readings_duplicate += result.readings_duplicate
        self.stats.dead_letters += len(letters)
        self.stats.batches += 1
        self.stats.last_commit = time.time()
        for callback in self.stats.on_commit:
            callback(result)

    def _dead_letter(self, message: ReceivedMessage, exc: Exception) -> None:
        what = ("the database rejected this message" if isinstance(exc, psycopg.Error)
                else "writing this message failed")
        letter = failed_message(message, "write_failed", exc)
        letter = DeadLetter(letter.topic, letter.payload, letter.reason,
                            f"{what}: {letter.detail}"[:2000])
        conn = self._connection()
        self.stats.transactions += 1
        with conn.transaction():
            insert_dead_letters(conn, [letter])
        DEAD_LETTERS.labels(letter.reason).inc()
        MESSAGES.inc()
        self.stats.messages += 1
        self.stats.dead_letters += 1
        log.error("dead-lettered a message on %s: %s", escaped(message.topic), _first_line(exc))


def _first_line(exc: BaseException) -> str:
    text = escaped(str(exc)).strip()
    return text.splitlines()[0] if text else repr(exc)
