"""Catching up on a backlog recomputes each day once, not everything up to the live day.

A gateway back online sends its live readings first, then the days it missed; every
backlog message also revises the first live reading (its interval spans the gap). The
monitor used to fold a site's change rows of a step into one span, from the oldest backlog
day named to the live day, so every step recomputed all days in between again: a backlog
of N days cost N² (issue 11; docs/monitor.md, "Catching up").
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from monitor.consumer import Consumer
from tests.integration.monitor_support import (
    at,
    attach,
    flow,
    meter,
    region,
    save,
    scalar,
    send,
    well,
)
from tests.integration.test_monitor_appends import from_scratch, snapshot

pytestmark = pytest.mark.integration

BACKLOG_DAYS = 7  # 1–7 June; 8 June nothing; live from 9 June
LIVE_HOUR = 24 * 8 + 1


def gateway_back_online(conn: psycopg.Connection) -> None:
    """Live readings first (the monitor rolls them up), then the backlog, in order."""
    r = region(conn)
    save(conn, [well("W1")], [meter("W1-F", "W1", "flow")])
    attach(conn, r.h1, "site", "W1")
    send(conn, "W1", "flow", *(flow(at(h), 2.0 * h) for h in range(LIVE_HOUR, LIVE_HOUR + 6)))
    Consumer().drain(conn)  # the monitor was live then
    for block in range(0, 24 * BACKLOG_DAYS, 6):  # one message per six hours, in order
        send(conn, "W1", "flow", *(flow(at(h), 2.0 * h) for h in range(block + 1, block + 7)))


def assert_as_from_scratch(conn: psycopg.Connection) -> None:
    assert scalar(conn, "SELECT count(*) FROM monitor_changes") == 0
    assert scalar(conn, "SELECT sum(truth_m3) FROM monitor_site_day") == 2.0 * (LIVE_HOUR + 5)
    drained = snapshot(conn)
    rebuilt = from_scratch(conn)
    for table, found in drained.items():
        assert found == rebuilt[table], table


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def test_a_backlog_step_recomputes_its_own_days_and_the_live_day_only(conn) -> None:
    gateway_back_online(conn)
    rows = scalar(conn, "SELECT count(*) FROM monitor_changes")
    assert rows == 2 * 4 * BACKLOG_DAYS  # each message: its readings, and the live revision

    consumer = Consumer(batch=8)  # four messages a step: one backlog day
    steps = []
    while (step := consumer.step(conn)) is not None:
        steps.append(step)
    assert len(steps) == BACKLOG_DAYS
    # each step: its backlog day and the live day (before: from its day to the live day,
    # 9 + 8 + … + 3 = 42 site-days)
    assert [s.site_days for s in steps] == [2] * BACKLOG_DAYS
    assert_as_from_scratch(conn)


def test_a_step_takes_no_more_site_days_than_its_bound(conn) -> None:
    gateway_back_online(conn)
    consumer = Consumer(site_days=3)  # two backlog days and the live day a step
    steps = []
    while (step := consumer.step(conn)) is not None:
        steps.append(step)
    assert [s.site_days for s in steps] == [3, 3, 3, 2]
    assert_as_from_scratch(conn)
