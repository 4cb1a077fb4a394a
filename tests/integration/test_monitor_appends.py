"""The append path adds what a whole-day recomputation would have found, column for column.

Readings stream in small messages through the real write path, the monitor steps after
each, so most steps add intervals (``monitor/repository/appends.py``) and some recompute
days (late readings, card sessions, a new coefficient). At the end every roll-up table is
compared with a recomputation of every site's whole history from scratch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from budget.kinds import Sector
from ingest.registry import Coefficient
from ingest.registry_repository import add_coefficient
from monitor.consumer import Consumer, Step
from tests.integration.monitor_support import (
    HOUR,
    at,
    attach,
    flow,
    meter,
    power,
    region,
    save,
    scalar,
    send,
    session,
    well,
)

pytestmark = pytest.mark.integration

TABLES = {
    "monitor_meter_day": "meter_id, day",
    "monitor_site_day": "site_id, day",
    "monitor_node_draw_day": "site_id, day, node_id, sector",
    "monitor_node_day": "node_id, day, source, sector",
    "monitor_node_period": "node_id, period, source, sector",
    "monitor_meter_state": "meter_id",
    "monitor_site_state": "site_id",
}


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def snapshot(conn: psycopg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table, key in TABLES.items():
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
        if table in ("monitor_node_day", "monitor_node_period"):
            rows = [r for r in rows if r[5] != 0 or r[4] != 0]  # deltas that came to zero
        found[table] = rows
    return found


def from_scratch(conn: psycopg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every roll-up emptied and recomputed, whole history, the whole-day way."""
    with conn.transaction():
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to) "
                     "SELECT 'registry', array_agg(site_id), array_agg(NULL::timestamptz), "
                     "array_agg(NULL::timestamptz) FROM sites")
    step = Consumer().drain(conn)
    assert step.appended_sites == 0
    assert step.site_days > 0
    return snapshot(conn)


def stream(conn: psycopg.Connection, consumer: Consumer) -> list[Step]:
    steps = []

    def deliver(device: str, channel: str, *elements: dict[str, Any]) -> None:
        send(conn, device, channel, *elements)
        steps.append(consumer.drain(conn))

    for h in range(0, 60, 2):  # two and a half days, two readings a message
        deliver("W1", "flow", flow(at(h + 1), 10.0 * (h + 1)) | {"flow_m3h": 9.0 + h % 7},
                flow(at(h + 2), 10.0 * (h + 2)) | {"flow_m3h": 10.0 + h % 5})
        # W2: power meter and flow meter (the truth); its register rolls over at 1,000
        deliver("W2", "power", power(at(h + 0.75), 4.0 * (h + 0.75)))
        deliver("W2", "flow", flow(at(h + 1), (37.5 * (h + 1)) % 1000),
                flow(at(h + 2), (37.5 * (h + 2)) % 1000))
        deliver("P1", "power", power(at(h + 1.5), 100 + 3.0 * (h + 1.5)))
        if h == 30:  # a spike above the well's rated capacity: quarantined, not counted
            deliver("W3", "flow", flow(at(h + 1), 5000))
        else:
            deliver("W3", "flow", flow(at(h + 1), 20.0 * (h + 1) + (4980 if h > 30 else 0)))
        if h == 40:  # card sessions at W3 on day two: its days are recomputed, not added
            deliver("W3", "card", session("s1", "C1", at(h), at(h + 1), 12.0))
        if h == 50:  # a late reading of W1: the day it falls in is recomputed
            deliver("W1", "flow", flow(at(20.5), 205))
    return steps


def test_appended_readings_are_added_exactly_as_a_recomputation_counts_them(conn) -> None:
    r = region(conn)
    save(conn, [well("W1"), well("W2", rated_m3h=100), well("P1"), well("W3", rated_m3h=60)],
         [meter("W1-F", "W1", "flow"), meter("W2-F", "W2", "flow", register_max=1000),
          meter("W2-P", "W2", "power"), meter("P1-P", "P1", "power", initial_register=100),
          meter("W3-F", "W3", "flow"), meter("W3-C", "W3", "card")])
    add_coefficient(conn, Coefficient("P1", at(-24 * 30), 2.0, "pump_test"))
    add_coefficient(conn, Coefficient("W2", at(-24 * 30), 9.0, "pump_test"))
    attach(conn, r.h1, "site", "W1", Sector.IRRIGATION)
    attach(conn, r.h2, "site", "W2")
    attach(conn, r.village, "site", "P1")
    attach(conn, r.h1, "meter", "W3-F")
    attach(conn, r.h2, "card", "C1")  # W3's card sessions: 赵六 drew water at W3
    consumer = Consumer()
    steps = stream(conn, consumer)

    assert sum(s.appended_sites for s in steps) > 100  # most steps added…
    assert sum(1 for s in steps if s.site_days) >= 3  # …and some recomputed days
    assert scalar(conn, "SELECT count(*) FROM monitor_changes") == 0
    assert scalar(conn, "SELECT sum(quarantined) FROM monitor_meter_day "
                        "WHERE meter_id = 'W3-F'") >= 1
    assert scalar(conn, "SELECT sum(intervals) FROM monitor_meter_day "
                        "WHERE meter_id = 'W2-F'") == 60
    maintained = snapshot(conn)
    assert all(maintained[t] for t in TABLES), "every roll-up table holds rows"
    rebuilt = from_scratch(conn)
    for table in TABLES:
        assert maintained[table] == rebuilt[table], table


def test_a_second_appended_message_of_the_same_hour_is_not_counted_twice(conn) -> None:
    r = region(conn)
    save(conn, [well("W1")], [meter("W1-F", "W1", "flow")])
    attach(conn, r.h1, "site", "W1")
    consumer = Consumer()
    send(conn, "W1", "flow", flow(at(1), 10), flow(at(2), 20))
    consumer.drain(conn)
    send(conn, "W1", "flow", flow(at(1), 10), flow(at(2), 20), flow(at(3), 35))  # a replay
    step = consumer.drain(conn)
    assert step.appended_sites == 1
    assert scalar(conn, "SELECT sum(truth_m3) FROM monitor_site_day") == 35
    assert scalar(conn, "SELECT sum(total_m3) FROM monitor_node_period "
                        "WHERE node_id = %s AND period = '2025'", (r.h1,)) == 35
    assert scalar(conn, "SELECT rolled_to FROM monitor_site_state") == at(3)
    assert at(3) - at(2) == HOUR
