"""A lone ingestor's memory of each meter's last readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.consumption import Point, context_size
from ingest.register_tails import RegisterTails

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def points(n: int, start: int = 0) -> list[Point]:
    return [Point(T0 + timedelta(minutes=start + i), float(start + i)) for i in range(n)]


def test_only_readings_after_the_tail_use_it() -> None:
    tails = RegisterTails()
    tails.remember({"M1": points(20)})
    tail = tails.context_for("M1", Point(T0 + timedelta(minutes=25), 0.0))
    assert tail == points(20)[-context_size():]
    # a late reading, or one at the tail's last time, needs the database
    assert tails.context_for("M1", Point(T0 + timedelta(minutes=19), 0.0)) is None
    assert tails.context_for("M1", Point(T0 + timedelta(minutes=3), 0.0)) is None
    assert tails.context_for("M2", Point(T0, 0.0)) is None


def test_a_meter_known_to_have_no_readings_has_an_empty_tail() -> None:
    tails = RegisterTails()
    tails.remember({"M1": []})
    assert tails.context_for("M1", Point(T0, 0.0)) == []


def test_forget_and_the_size_bound() -> None:
    tails = RegisterTails(max_meters=3)
    tails.seen = (7, 0)
    tails.remember({f"M{i}": points(2) for i in range(3)})
    assert len(tails) == 3
    tails.remember({"M9": points(2)})  # over the bound: start again
    assert len(tails) == 1
    tails.forget()
    assert len(tails) == 0
    assert tails.seen is None


def test_messages_are_cut_into_batches_by_payload_size() -> None:
    from ingest.batch import ReceivedMessage
    from ingest.ingestor import chunks_by_size

    messages = [ReceivedMessage("t", b"x" * n, i) for i, n in enumerate([40, 40, 30, 100, 5])]
    chunks = chunks_by_size(messages, 80)
    assert [[m.mid for m in c] for c in chunks] == [[0, 1], [2], [3], [4]]
    assert chunks_by_size([], 80) == []
    assert sum(len(c) for c in chunks_by_size(messages, 10**6)) == 5
