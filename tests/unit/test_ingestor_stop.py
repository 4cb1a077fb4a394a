"""Stopping the ingestor is bounded: a writer stuck in the database is left unacknowledged."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pytest

import ingest.ingestor
from ingest.batch import ReceivedMessage
from ingest.ingestor import IngestConfig, Ingestor


class OneMessage:
    def __init__(self) -> None:
        self.pending = [ReceivedMessage("wb/dev-1/reading", b'{"not": "checked here"}', mid=1)]
        self.acked: list[ReceivedMessage] = []

    def take(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]:
        taken, self.pending = self.pending, []
        if not taken:
            time.sleep(wait_s)
        return taken

    def ack(self, messages: Sequence[ReceivedMessage]) -> int:
        self.acked.extend(messages)
        return len(messages)


def test_stop_leaves_a_hung_writer_behind_and_its_batch_unacknowledged(monkeypatch, caplog):
    monkeypatch.setattr(ingest.ingestor, "WRITER_STOP_S", 0.5)
    source = OneMessage()
    ingestor = Ingestor(
        source, IngestConfig(database_url="postgresql://unused", prefix="wb", zone=ZoneInfo("UTC"))
    )
    writing, release = threading.Event(), threading.Event()

    def hung_commit(built: object, stop: threading.Event) -> bool:  # a database that hangs
        writing.set()
        release.wait(10)
        return True  # committed after all, but too late to be acknowledged

    monkeypatch.setattr(ingestor, "commit", hung_commit)
    stop = threading.Event()
    runner = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    with caplog.at_level(logging.WARNING, logger="ingest.ingestor"):
        runner.start()
        assert writing.wait(5)
        stopped = time.monotonic()
        stop.set()
        runner.join(5)
        assert not runner.is_alive()
        assert time.monotonic() - stopped < 2
    assert "still busy" in caplog.text
    release.set()
    time.sleep(0.2)
    assert source.acked == []


@pytest.mark.parametrize("commit_s", [0.0, 0.2])
def test_stop_waits_for_a_writer_that_finishes_in_time(monkeypatch, commit_s):
    source = OneMessage()
    ingestor = Ingestor(
        source, IngestConfig(database_url="postgresql://unused", prefix="wb", zone=ZoneInfo("UTC"))
    )
    writing = threading.Event()

    def slow_commit(built: object, stop: threading.Event) -> bool:
        writing.set()
        time.sleep(commit_s)
        return True

    monkeypatch.setattr(ingestor, "commit", slow_commit)
    stop = threading.Event()
    runner = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    runner.start()
    assert writing.wait(5)
    stop.set()
    runner.join(5)
    assert not runner.is_alive()
    assert [m.mid for m in source.acked] == [1]
