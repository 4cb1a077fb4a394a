"""Draw roll-ups against the real database: whose water, counted once, kept exact on change.

Readings go through the real write path (build_batch + write_batch); the change log is
filled by the triggers and drained by the monitor's consumer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest

from budget import repository as budget_repo
from budget.kinds import Sector, Source
from ingest.registry import Coefficient
from ingest.registry_repository import add_coefficient, replace_meter
from tests.integration.monitor_support import (
    HOUR,
    JAN,
    T0,
    at,
    attach,
    drain,
    flow,
    meter,
    own,
    power,
    region,
    save,
    scalar,
    send,
    session,
    totals,
    well,
)

pytestmark = pytest.mark.integration
D = Decimal


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def flow_and_card_well(conn) -> None:
    save(conn, [well("W1")], [meter("W1-F", "W1", "flow"), meter("W1-C", "W1", "card")])


def rebuilt(conn) -> dict[tuple[int, object, str, str], Decimal]:
    """Node totals per day recomputed from scratch with the one definition."""
    rows = conn.execute(
        "SELECT p.ancestor_id, d.day, d.source, d.sector, sum(d.volume_m3) FROM "
        "monitor_site_draw(ARRAY(SELECT site_id FROM sites ORDER BY 1), "
        " ARRAY(SELECT DATE '2000-01-01' FROM sites ORDER BY site_id), "
        " ARRAY(SELECT DATE '2100-12-31' FROM sites ORDER BY site_id)) d "
        "JOIN monitor_node_paths p ON p.node_id = d.node_id WHERE d.node_id IS NOT NULL "
        "GROUP BY 1, 2, 3, 4").fetchall()
    return {(r[0], r[1], r[2], r[3]): r[4] for r in rows if r[4] != 0}


def truth_agrees(conn) -> bool:
    """monitor_site_truth answers exactly what the site_consumption view answers."""
    query = ("SELECT meter_id, ts_end, session_id, volume_m3 FROM {} ORDER BY 1, 2, 3")
    view = conn.execute(query.format("site_consumption")).fetchall()
    function = conn.execute(query.format(
        "monitor_site_truth(ARRAY(SELECT site_id FROM sites ORDER BY 1), "
        "ARRAY(SELECT DATE '2000-01-01' FROM sites ORDER BY site_id), "
        "ARRAY(SELECT DATE '2100-12-31' FROM sites ORDER BY site_id))")).fetchall()
    return view == function and len(view) > 0


def maintained(conn) -> dict[tuple[int, object, str, str], Decimal]:
    rows = conn.execute("SELECT node_id, day, source, sector, total_m3 FROM monitor_node_day "
                        "WHERE total_m3 <> 0").fetchall()
    return {(r[0], r[1], r[2], r[3]): r[4] for r in rows}


def test_the_flow_meter_says_how_much_and_the_cards_say_who(conn) -> None:
    r = region(conn)
    flow_and_card_well(conn)
    attach(conn, r.village, "site", "W1")
    attach(conn, r.h1, "card", "C1", Sector.IRRIGATION)
    attach(conn, r.h2, "card", "C2")
    send(conn, "W1", "flow", flow(at(0), 0), flow(at(6), 40), flow(at(12), 100))
    # the cards report 50 m³ of the 100 m³ the meter measured; one session on an unknown card
    send(conn, "W1", "card", session("s1", "C1", at(1), at(3), 30),
         session("s2", "C2", at(7), at(8), 10), session("s3", "C9", at(9), at(10), 10))
    drain(conn)
    assert scalar(conn, "SELECT sum(truth_m3) FROM monitor_site_day WHERE site_id = 'W1'") == 100
    assert own(conn) == {r.h1: D(60), r.h2: D(20), r.village: D(20)}  # 100 × 30/50, 10/50, 10/50
    assert totals(conn) == {r.district: D(100), r.village: D(100), r.h1: D(60), r.h2: D(20)}
    assert scalar(conn, "SELECT sum(counted_m3) FROM monitor_meter_day") == 150  # both channels
    assert maintained(conn) == rebuilt(conn)
    assert truth_agrees(conn)


def test_a_card_controller_without_flow_meter_is_the_truth(conn) -> None:
    r = region(conn)
    save(conn, [well("W2")], [meter("W2-C", "W2", "card")])
    attach(conn, r.village, "site", "W2")
    attach(conn, r.h1, "card", "C1")
    send(conn, "W2", "card", session("s1", "C1", at(1), at(3), 12.5),
         session("s2", "C7", at(4), at(5), 7.25))
    drain(conn)
    assert own(conn) == {r.h1: D("12.5"), r.village: D("7.25")}
    assert totals(conn)[r.district] == D("19.75")


def test_water_on_no_node_is_reported_not_lost(conn) -> None:
    region(conn)
    flow_and_card_well(conn)
    send(conn, "W1", "flow", flow(at(0), 0), flow(at(5), 25))
    drain(conn)
    assert conn.execute("SELECT sum(truth_m3), sum(attributed_m3), sum(unattributed_m3) "
                        "FROM monitor_site_day").fetchone() == (25, 0, 25)
    assert totals(conn) == {}


def test_late_and_backfilled_readings_re_evaluate_the_days_they_touch(conn) -> None:
    r = region(conn)
    flow_and_card_well(conn)
    attach(conn, r.h1, "site", "W1")
    send(conn, "W1", "flow", flow(at(0), 0), flow(at(24), 240), flow(at(48), 480))
    drain(conn)
    days = dict(conn.execute("SELECT day, total_m3 FROM monitor_node_day WHERE node_id = %s",
                             (r.h1,)).fetchall())
    assert days == {T0.date(): 240, (T0 + timedelta(days=1)).date(): 240}
    # a device's buffered readings arrive late: the first day had a counter reset in it
    send(conn, "W1", "flow", flow(at(6), 60), flow(at(12), 5), flow(at(18), 65))
    drain(conn)
    assert maintained(conn) == rebuilt(conn)
    assert truth_agrees(conn)
    day_one = scalar(conn, "SELECT total_m3 FROM monitor_node_day WHERE node_id = %s "
                           "AND day = %s", (r.h1, T0.date()))
    counted = scalar(conn, "SELECT sum(volume_m3::numeric) FROM site_consumption "
                           "WHERE ts_end > %s AND ts_end <= %s AND status = 'counted'",
                     (T0, T0 + timedelta(days=1)))
    assert day_one == counted == 60 + 60 + 175  # the reset interval is quarantined
    assert scalar(conn, "SELECT quarantined FROM monitor_meter_day WHERE meter_id = 'W1-F' "
                        "AND day = %s", (T0.date(),)) == 1


def test_a_new_coefficient_restates_the_roll_ups(conn) -> None:
    r = region(conn)
    save(conn, [well("P1")], [meter("P1-P", "P1", "power", initial_register=100)])
    add_coefficient(conn, Coefficient("P1", JAN, 2.0, "pump_test"))
    attach(conn, r.h2, "site", "P1")
    send(conn, "P1", "power", power(at(0), 100), power(at(10), 150))
    drain(conn)
    assert totals(conn)[r.h2] == 100  # 50 kWh × 2 m³/kWh
    add_coefficient(conn, Coefficient("P1", T0, 3.0, "pump_test"))
    drain(conn)
    assert totals(conn)[r.h2] == 150
    assert maintained(conn) == rebuilt(conn)
    assert truth_agrees(conn)


def test_re_attaching_a_site_moves_its_whole_history(conn) -> None:
    r = region(conn)
    flow_and_card_well(conn)
    attach(conn, r.h1, "site", "W1")
    send(conn, "W1", "flow", flow(at(0), 0), flow(at(30), 70), flow(at(60), 100))
    drain(conn)
    assert totals(conn)[r.h1] == 100
    attach(conn, r.h2, "site", "W1")
    drain(conn)
    assert totals(conn).get(r.h1, D(0)) == 0
    assert totals(conn)[r.h2] == 100
    assert totals(conn)[r.village] == 100
    assert maintained(conn) == rebuilt(conn)
    assert truth_agrees(conn)


def test_a_back_dated_meter_replacement_keeps_the_roll_ups_exact(conn) -> None:
    r = region(conn)
    flow_and_card_well(conn)
    attach(conn, r.village, "site", "W1")
    send(conn, "W1", "flow", flow(at(0), 0), flow(at(10), 50), flow(at(20), 30),
         flow(at(30), 80))
    drain(conn)
    new = meter("W1-F2", "W1", "flow", installed_at=at(15))
    replace_meter(conn, old_meter_id="W1-F", new=new, final_register=90)
    drain(conn)
    assert totals(conn)[r.village] == 50 + 40 + 30 + 50  # 0→50→90 | 0→30→80
    assert maintained(conn) == rebuilt(conn)
    assert truth_agrees(conn)


def test_the_trade_surplus_counts_a_doubly_metered_site_once(conn) -> None:
    """Flow meter and card controller both meter the well: the old used_m3 summed raw
    consumption, 100 + 100 m³; the one definition counts the truth, 100 m³."""
    r = region(conn)
    flow_and_card_well(conn)
    attach(conn, r.h1, "site", "W1")
    attach(conn, r.h1, "card", "C1")
    send(conn, "W1", "flow", flow(at(0), 0), flow(at(4), 100))
    send(conn, "W1", "card", session("s1", "C1", at(0.5), at(3.5), 100))
    used = budget_repo.used_m3(conn, node_ids=[r.h1], source=Source.GROUNDWATER,
                               sector=Sector.IRRIGATION, start=JAN, until=T0 + timedelta(days=2))
    assert used == 100
    raw = scalar(conn, "SELECT sum(volume_m3) FROM consumption WHERE status = 'counted'")
    assert raw == 200
    drain(conn)
    assert totals(conn)[r.h1] == used  # the roll-up and the trade rule agree
    # use up to a midnight counts the days before it only
    assert budget_repo.used_m3(conn, node_ids=[r.h1], source=Source.GROUNDWATER,
                               sector=Sector.IRRIGATION, start=JAN, until=T0) == 0
    assert budget_repo.used_m3(conn, node_ids=[r.h1], source=Source.LOCAL_SURFACE,
                               sector=Sector.IRRIGATION, start=JAN,
                               until=T0 + HOUR * 48) == 0
