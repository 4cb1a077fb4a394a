"""Plan profiles by sector (issue 15): a node without its own profile takes its budget's
dominant sector's, so a water utility drawing evenly is on pace on 1 March while an
irrigation node drawing the same way is not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from budget.kinds import Sector
from monitor.evaluation import evaluate_all, evaluate_since
from tests.integration.ingest_support import ZONE
from tests.integration.monitor_support import (
    YEAR,
    attach,
    drain,
    flow,
    issue,
    live_alerts,
    meter,
    region,
    save,
    send,
    well,
)

pytestmark = pytest.mark.integration

JAN = datetime(YEAR, 1, 1, tzinfo=ZONE)
MARCH = datetime(YEAR, 3, 1, tzinfo=ZONE)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def test_a_water_utility_drawing_evenly_gets_no_pace_alert_by_march(conn) -> None:
    """H1 (urban supply) and H2 (irrigation) each draw 100 m³ a day from 1 January against
    37,000 m³ a year: 36,500 m³ at that pace, within the supply budget all year."""
    r = region(conn)
    save(conn, [well("W1"), well("W2")],
         [meter("W1-F", "W1", "flow", initial_register=0),
          meter("W2-F", "W2", "flow", initial_register=0)])
    attach(conn, r.h1, "site", "W1", Sector.URBAN_RESIDENTS)
    attach(conn, r.h2, "site", "W2", Sector.IRRIGATION)
    issue(conn, r.h1, 37_000, sector=Sector.URBAN_RESIDENTS)
    issue(conn, r.h2, 37_000, sector=Sector.IRRIGATION)
    issue(conn, r.village, 74_000, sector=Sector.URBAN_RESIDENTS)
    issue(conn, r.district, 74_000, sector=Sector.URBAN_RESIDENTS)
    day = JAN
    while day <= MARCH:
        total = (day - JAN).days * 100
        for site in ("W1", "W2"):  # received when taken, as from a live device
            send(conn, site, "flow", flow(day, total), now=day + timedelta(minutes=1))
        day += timedelta(days=1)
    drain(conn)
    with conn.transaction():
        evaluate_all(conn, at=MARCH)
    pace = {subject for subject, kind, *_ in live_alerts(conn) if kind == "budget_pace"}
    assert f"node/{r.h2}" in pace  # irrigation: 2 % of the year's plan by 1 March
    assert f"node/{r.h1}" not in pace  # supply: 5,900 m³ of 37,000 on 59 of 365 days
    drawn = conn.execute("SELECT drawn_m3, time_progress FROM monitor_executions "
                         "WHERE node_id = %s AND period = %s AND source = '' AND sector = ''",
                         (r.h1, str(YEAR))).fetchone()
    assert drawn is not None
    assert drawn[0] == 5_900
    assert round(drawn[1], 6) == round(Decimal(59) / 365, 6)


def test_a_sweep_keeps_a_supply_nodes_progress_even(conn) -> None:
    """Between full assessments the sweep brings unchanged snapshots forward with the
    irrigation season's progress. On 1 September a supply node drawing evenly (24,300 m³
    of 37,000) is behind the irrigation plan (70 %), so nothing else makes it a candidate:
    its supply budget does, and its time progress stays the elapsed share of the year."""
    r = region(conn)
    save(conn, [well("W1")], [meter("W1-F", "W1", "flow", initial_register=0)])
    attach(conn, r.h1, "site", "W1", Sector.URBAN_RESIDENTS)
    issue(conn, r.h1, 37_000, sector=Sector.URBAN_RESIDENTS)
    september = datetime(YEAR, 9, 1, tzinfo=ZONE)
    send(conn, "W1", "flow", flow(JAN, 0), now=JAN + timedelta(minutes=1))
    send(conn, "W1", "flow", flow(september, 24_300), now=september + timedelta(minutes=1))
    drain(conn)
    with conn.transaction():
        evaluate_all(conn, at=september)
    later = september + timedelta(days=2)
    with conn.transaction():  # as the sweep runs it (the snapshots' staging table)
        evaluate_since(conn, at=later, since=september, sweep_number=r.h1 + 1)  # not H1's slice
    progress = conn.execute("SELECT time_progress FROM monitor_executions WHERE node_id = %s "
                            "AND period = %s AND source = '' AND sector = ''",
                            (r.h1, str(YEAR))).fetchone()
    assert progress is not None
    assert round(progress[0], 6) == round(Decimal(245) / 365, 6)
