"""A device whose clock jumps a year ahead (never past the server's time): the jump interval is
quarantined ``clock_jump`` with its delta kept; the readings before and after count as usual.

Through the real database writer (both ways: the column path with tails, and the scalar path),
and through the broker and a running ingestor.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest.batch import IngestBatch, ReceivedMessage, build_batch, runs_as_readings
from ingest.publisher import publish
from ingest.reading_repository import rederive_meter, write_batch
from ingest.register_tails import RegisterTails
from ingest.registry import Meter, Registry, Site, load_registry_file
from ingest.registry_repository import save_registry
from tests.integration.ingest_support import (
    ZONE,
    rows,
    running_ingestor,
    scalar,
    settings_for,
    unique_prefix,
    wait_for,
)

pytestmark = pytest.mark.integration

YEAR = timedelta(days=365)
MINUTE = timedelta(minutes=1)
N = 20  # readings a message: at least RUN_MIN, so they take the column path where they can
ROWS = ("SELECT ts, ts_start, status, quality, register_delta, volume_m3 FROM register_readings "
        "WHERE meter_id = %s AND origin = 'device' ORDER BY ts")


def elements(first: datetime, step: timedelta, start_value: float) -> list[dict[str, Any]]:
    """N readings of 2 m³ each, one every ``step``, epoch seconds."""
    return [{"ts": int((first + i * step).timestamp()), "total_m3": start_value + 2 * i}
            for i in range(N)]


def stream(now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                   list[dict[str, Any]]]:
    """Readings stamped a year behind their receipt; then the clock jumps to the server's time
    (the last reading 5 minutes before it); then a later message, in step."""
    behind = elements(now - YEAR - 2 * timedelta(hours=N), timedelta(hours=1), 1000)
    jumped = elements(now - 5 * MINUTE - (2 * N - 1) * MINUTE, MINUTE, 1039)
    after = elements(now - 5 * MINUTE - (N - 1) * MINUTE, MINUTE, 1079)
    return behind, jumped, after


def check(found: list[tuple[Any, ...]], jumped: list[dict[str, Any]]) -> None:
    """Every interval counted 2 m³ except the jump's, quarantined with its delta (1 m³), and
    the first one's, from the installation reading (0 m³)."""
    assert len(found) == 3 * N
    jump_end = datetime.fromtimestamp(jumped[0]["ts"], UTC)
    by_ts = {r[0]: r for r in found}
    _, ts_start, status, quality, delta, volume = by_ts[jump_end]
    assert (status, quality, delta, volume) == ("quarantined", "clock_jump", 1.0, 0.0)
    assert jump_end - ts_start > YEAR - timedelta(days=2)
    # the registry's installation reading, two years before, has no device receive time: its
    # interval to the first device reading is no clock jump
    assert found[0][2:] == ("counted", None, 0.0, 0.0)
    others = [r for r in found[1:] if r[0] != jump_end]
    assert {(r[2], r[3], r[4], r[5]) for r in others} == {("counted", None, 2.0, 2.0)}


SITE = Site("W1", "一号井", "well", "groundwater", rated_m3h=100.0)


@pytest.mark.parametrize("columns", [True, False], ids=["column-path", "scalar-path"])
def test_the_writer_quarantines_a_clock_jump_and_counts_around_it(
        database_url: str, columns: bool) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    meter = Meter("W1-F", "W1", "W1", "flow", now - 2 * YEAR, initial_register=1000)
    registry = Registry.build([SITE], [meter], [])
    tails = RegisterTails() if columns else None

    def batch(payload: list[dict[str, Any]]) -> IngestBatch:
        built = build_batch([ReceivedMessage("wb/W1/flow", json.dumps(payload).encode())],
                            registry, prefix="wb", default_zone=ZONE, now=now,
                            max_future=timedelta(minutes=10))
        assert not built.dead_letters
        if not columns:
            built.registers, built.runs = runs_as_readings(built.runs), []
        return built

    behind, jumped, after = stream(now)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO register_readings (meter_id, ts, value, origin) "
                     "VALUES ('W1-F', %s, 1000, 'registry')", (meter.installed_at,))
        from_columns = []
        for payload in (behind, jumped, jumped, after):  # the jump's message delivered twice
            result = write_batch(conn, batch(payload), registry, tails)
            if tails is not None:
                tails.remember(result.tails)
            from_columns.append(result.readings_from_columns)
        found = conn.execute(ROWS, ("W1-F",)).fetchall()
        check(found, jumped)
        if columns:
            # steps of more than CLOCK_JUMP (from the registry's installation reading, and the
            # jump) take the scalar way, a redelivery too; in step again, the columns
            assert from_columns == [0, 0, 0, N]
        # the stored receive times give the same figures when derived again from scratch
        conn.execute("UPDATE register_readings SET status = NULL, ts_start = NULL, site_id = NULL, "
                     "method = NULL, quality = NULL, register_delta = NULL, volume_m3 = NULL "
                     "WHERE meter_id = 'W1-F'")
        rederive_meter(conn, registry, meter, meter.installed_at)
        assert conn.execute(ROWS, ("W1-F",)).fetchall() == found


REGISTRY = """\
sites:
  - {{site_id: W1, name: 一号井, kind: well, source: groundwater, rated_m3h: 100}}
meters:
  - {{meter_id: W1-F, site_id: W1, device_id: W1, channel: flow, installed_at: "{installed}",
     initial_register: 1000}}
"""


def test_a_clock_jump_through_the_broker(database_url: str, mqtt_url: str,
                                         tmp_path: Path) -> None:
    prefix = unique_prefix()
    now = datetime.now(UTC).replace(microsecond=0)
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY.format(installed=(now - 2 * YEAR).isoformat()), "utf-8")
    with psycopg.connect(database_url, autocommit=True) as conn:
        save_registry(conn, load_registry_file(path, ZONE))
    behind, jumped, after = stream(now)
    topic = f"{prefix}/W1/flow"
    messages = [(topic, json.dumps(e).encode()) for e in behind]  # one reading a message
    messages += [(topic, json.dumps(payload).encode()) for payload in (jumped, after)]
    with running_ingestor(settings_for(database_url, mqtt_url, prefix)) as ingestor:
        assert publish(mqtt_url, messages).acked == len(messages)
        wait_for(lambda: ingestor.stats.messages >= len(messages), timeout=90,
                 what="every message committed")
    assert scalar(database_url, "SELECT count(*) FROM dead_letters") == 0
    check(rows(database_url, ROWS, ("W1-F",)), jumped)
    assert rows(database_url, "SELECT kind, register_delta FROM quality_events "
                              "WHERE meter_id = 'W1-F'") == [("clock_jump", 1.0)]
