"""One process keeps register tails; every other writer of readings makes it drop them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingest.batch import IngestBatch, MeterReading
from ingest.consumption import Point
from ingest.reading_repository import take_tails_lock, write_batch
from ingest.register_tails import RegisterTails
from ingest.registry import Meter, Registry, Site

pytestmark = pytest.mark.integration
T0 = datetime(2026, 5, 1, tzinfo=UTC)
SITE = Site("S1", "井", "well", "groundwater", rated_m3h=60.0)
METER = Meter("S1-F", "S1", "S1", "flow", T0 - timedelta(hours=1))
REGISTRY = Registry.build([SITE], [METER], [])


def batch(*hours_and_values: tuple[int, float]) -> IngestBatch:
    return IngestBatch(registers=[MeterReading(METER, T0 + timedelta(hours=h), v, None)
                                  for h, v in hours_and_values])


def test_one_process_at_a_time_holds_the_tails_lock(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as first, \
            psycopg.connect(database_url, autocommit=True) as second:
        assert take_tails_lock(first)
        assert not take_tails_lock(second)
    with psycopg.connect(database_url, autocommit=True) as third:
        assert take_tails_lock(third), "the holder's session ended: the lock is free"


def test_another_writer_makes_the_holder_drop_its_tails(database_url: str) -> None:
    tails = RegisterTails()
    with psycopg.connect(database_url, autocommit=True) as holder, \
            psycopg.connect(database_url, autocommit=True) as other:
        result = write_batch(holder, batch((0, 100.0), (1, 120.0)), REGISTRY, tails)
        tails.remember(result.tails)
        assert len(tails) == 1
        # another process writes a reading of the same meter, after the holder's tail
        write_batch(other, batch((2, 130.0)), REGISTRY)
        result = write_batch(holder, batch((3, 150.0)), REGISTRY, tails)
        tails.remember(result.tails)
        # the holder noticed (ingest_epoch moved) and took its context from the database:
        # the interval ending at 03:00 starts at the other writer's 02:00 reading
        row = holder.execute("SELECT ts_start, volume_m3 FROM register_readings "
                             "WHERE meter_id = 'S1-F' AND ts = %s", (T0 + timedelta(hours=3),)
                             ).fetchone()
        assert row == (T0 + timedelta(hours=2), 20.0)
        tail = tails.context_for("S1-F", Point(T0 + timedelta(hours=4), 0.0))
        assert tail is not None
        assert [(p.ts, p.value) for p in tail] == [
            (T0, 100.0), (T0 + timedelta(hours=1), 120.0),
            (T0 + timedelta(hours=2), 130.0), (T0 + timedelta(hours=3), 150.0)]
        stored = holder.execute("SELECT received_at FROM register_readings "
                                "WHERE meter_id = 'S1-F' ORDER BY ts").fetchall()
        assert [p.received_at for p in tail] == [r[0] for r in stored]  # for the clock check
