"""The ingest loop: take messages, write them in one transaction, then acknowledge.

* Acknowledgement comes after commit; an uncommitted message is never acked, so
  the broker redelivers it (after a crash, a kill or a lost connection).
* Database unreachable: keep the broker connection, retry the same batch with
  exponential backoff, resume without loss. The broker stops sending once
  Receive Maximum messages are unacknowledged, so memory stays bounded.
* A batch the database rejects for its content (not for an outage) is split
  message by message; a message that still fails is dead-lettered with the
  database's reason, so one poison message never blocks the stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import psycopg
from prometheus_client import Counter, Histogram

from ingest.batch import DeadLetter, ReceivedMessage
from ingest.field_messages import build_batch_with_field_messages
from ingest.reading_repository import WriteResult, insert_dead_letters, write_batch
from ingest.registry import Registry
from ingest.registry_repository import load_registry, registry_version

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
OUTAGES = (psycopg.OperationalError, psycopg.InterfaceError)

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


@dataclass
class IngestStats:
    messages: int = 0
    readings_new: int = 0
    readings_duplicate: int = 0
    dead_letters: int = 0
    batches: int = 0
    db_failures: int = 0
    last_commit: float = 0.0
    on_commit: list[Callable[[WriteResult], None]] = field(default_factory=list)


class Ingestor:
    def __init__(self, source: MessageSource, config: IngestConfig) -> None:
        self.source = source
        self.config = config
        self.stats = IngestStats()
        self._conn: psycopg.Connection[Any] | None = None
        self._registry = Registry()
        self._registry_version = -1

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            messages = self.source.take(self.config.batch_size, self.config.batch_wait_s)
            if messages and self.commit(messages, stop):
                self.source.ack(messages)
        if self._conn is not None:
            self._conn.close()

    def commit(self, messages: Sequence[ReceivedMessage], stop: threading.Event) -> bool:
        """Write the messages; True once committed, False if stopped before that."""
        delay = BACKOFF_START_S
        while not stop.is_set():
            try:
                self._write(messages)
                return True
            except OUTAGES as exc:
                self._outage(exc, delay, stop)
                delay = min(delay * 2, BACKOFF_MAX_S)
            except psycopg.Error as exc:
                DB_ERRORS.labels("rejected").inc()
                self._drop_connection()
                if len(messages) > 1:
                    log.warning("batch rejected (%s); writing its messages one by one", exc)
                    return all(self.commit([m], stop) for m in messages)
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
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        log.warning("database unavailable (%s); retrying in %.1f s, nothing acked",
                    first_line, delay)
        self._drop_connection()
        stop.wait(delay)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            # autocommit: each write_batch's transaction() is then a real COMMIT, not a savepoint
            self._conn = psycopg.connect(self.config.database_url, connect_timeout=5,
                                         autocommit=True)
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _refresh_registry(self, conn: psycopg.Connection[Any]) -> None:
        version = registry_version(conn)
        if version != self._registry_version:
            self._registry = load_registry(conn)
            self._registry_version = version
            log.info("registry version %d: %d sites, %d meters", version,
                     len(self._registry.sites), len(self._registry.meters))

    def _write(self, messages: Sequence[ReceivedMessage]) -> None:
        conn = self._connection()
        self._refresh_registry(conn)
        batch = build_batch_with_field_messages(  # JSON readings, gates and SZY206 frames
            messages, self._registry, prefix=self.config.prefix, default_zone=self.config.zone,
            now=datetime.now(UTC), max_future=self.config.max_future)
        started = time.perf_counter()
        result = write_batch(conn, batch, self._registry)
        COMMIT_SECONDS.observe(time.perf_counter() - started)
        self._count(len(messages), result, batch.dead_letters)

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

    def _dead_letter(self, message: ReceivedMessage, exc: psycopg.Error) -> None:
        letter = DeadLetter(message.topic, message.payload, "write_failed",
                            f"the database rejected this message: {exc}".strip()[:2000])
        conn = self._connection()
        with conn.transaction():
            insert_dead_letters(conn, [letter])
        DEAD_LETTERS.labels(letter.reason).inc()
        self.stats.dead_letters += 1
        log.error("dead-lettered a message on %s: %s", message.topic, exc)
