"""Alerts against the real database: levels, one alert per key under concurrency, hold time,
rollover, manual actions, data-quality rules and the outbox rows of each transition."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg
import pytest

from budget.ledger import EntryKind
from monitor import alerting
from monitor.consumer import Consumer
from monitor.evaluation import evaluate_budgets
from monitor.repository import budgets
from monitor.repository.outbox import add_subscription
from monitor.sweep import sweep
from tests.integration.ingest_support import ZONE
from tests.integration.monitor_support import (
    T0,
    YEAR,
    at,
    attach,
    drain,
    flow,
    issue,
    live_alerts,
    meter,
    region,
    save,
    scalar,
    send,
    well,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def h1_well(conn):
    """Household H1 (budget 1,000 m³) draws from well W1 (flow meter); its contact and the
    village's are subscribed by e-mail."""
    r = region(conn)
    save(conn, [well("W1", rated_m3h=500)], [meter("W1-F", "W1", "flow", initial_register=0)])
    attach(conn, r.h1, "site", "W1")
    for node, volume in ((r.district, 100_000), (r.village, 10_000), (r.h1, 1_000)):
        issue(conn, node, volume)
    for contact_id, in conn.execute("SELECT contact_id FROM budget_contacts").fetchall():
        add_subscription(conn, contact_id=contact_id, channel="email",
                         address=f"c{contact_id}@example.org", include_descendants=True)
    send(conn, "W1", "flow", flow(at(0), 0))
    drain(conn)
    return r


def events(conn, subject: str, kind: str = "budget_level"):
    return conn.execute(
        "SELECT e.event, e.severity FROM monitor_alert_events e JOIN monitor_alerts a "
        "USING (alert_id) WHERE a.subject = %s AND a.kind = %s ORDER BY e.event_id",
        (subject, kind)).fetchall()


def test_levels_open_escalate_and_notify_every_subscriber_once(conn, h1_well) -> None:
    r = h1_well
    subject = f"node/{r.h1}"
    send(conn, "W1", "flow", flow(at(10), 790))
    drain(conn)
    assert events(conn, subject) == []  # 79 %: below notice
    send(conn, "W1", "flow", flow(at(11), 800))
    drain(conn)
    assert events(conn, subject) == [("opened", "notice")]  # exactly 80 % reaches notice
    send(conn, "W1", "flow", flow(at(12), 950), flow(at(13), 1001))
    drain(conn)
    assert events(conn, subject) == [("opened", "notice"), ("escalated", "critical")]
    row = conn.execute("SELECT status, severity, opened_at, last_seen_at FROM monitor_alerts "
                       "WHERE subject = %s AND kind = 'budget_level'", (subject,)).fetchone()
    assert row == ("open", "critical", at(11), at(13))  # data times, not the server's
    # H1's contact and the village's contact (include_descendants) hear of each transition
    sent = conn.execute(
        "SELECT n.address, e.event FROM monitor_notifications n JOIN monitor_alert_events e "
        "USING (event_id) JOIN monitor_alerts a USING (alert_id) WHERE a.subject = %s AND "
        "a.kind = 'budget_level' ORDER BY n.notification_id", (subject,)).fetchall()
    assert len(sent) == 2 * 2  # 2 subscribers (village: include_descendants, H1) × 2 events
    assert len(set(sent)) == len(sent)
    # the snapshot says the same
    execution = conn.execute(
        "SELECT drawn_m3, budget_m3, level, at FROM monitor_executions WHERE node_id = %s "
        "AND period = %s AND source = ''", (r.h1, str(YEAR))).fetchone()
    assert execution == (1001, 1000, "overrun", at(13))


def test_two_evaluators_at_once_make_one_alert(database_url, conn, h1_well) -> None:
    r = h1_well
    send(conn, "W1", "flow", flow(at(5), 900))
    Consumer().drain(conn)  # opens the alert; now evaluate a fresh key twice at once
    issue(conn, r.h2, 10)
    attach(conn, r.h2, "meter", "W2-F")
    save(conn, [well("W2", rated_m3h=500)], [meter("W2-F", "W2", "flow")])
    send(conn, "W2", "flow", flow(at(0), 0), flow(at(5), 9.5))
    with psycopg.connect(database_url) as setup:
        Consumer().drain(setup)  # roll-ups (and a first evaluation) …
        setup.execute("DELETE FROM monitor_notifications WHERE event_id IN (SELECT event_id "
                      "FROM monitor_alert_events e JOIN monitor_alerts a USING (alert_id) "
                      "WHERE a.node_id = %s)", (r.h2,))
        setup.execute("DELETE FROM monitor_alert_events WHERE alert_id IN (SELECT alert_id "
                      "FROM monitor_alerts WHERE node_id = %s)", (r.h2,))
        setup.execute("DELETE FROM monitor_alerts WHERE node_id = %s", (r.h2,))
        setup.commit()  # … then forget its alerts, so both evaluators find none
    periods = budgets.periods_of_years(conn, years=[YEAR])
    clock = budgets.data_clock(conn)
    assert clock is not None
    first = psycopg.connect(database_url)
    second = psycopg.connect(database_url)
    try:
        opened = evaluate_budgets(first, node_ids=[r.h2], periods=periods, at=clock).events
        assert [e.event.value for e in opened if e.alert.key.kind == "budget_level"
                and e.alert.key.subject == f"node/{r.h2}"] == ["opened"]
        result: dict[str, object] = {}

        def rival() -> None:  # blocks on the first evaluator's uncommitted alert
            result["events"] = evaluate_budgets(second, node_ids=[r.h2], periods=periods,
                                                at=clock).events
            second.commit()

        thread = threading.Thread(target=rival)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive(), "the rival must wait for the first evaluator's commit"
        first.commit()
        thread.join(30)
        assert result["events"] == []  # it found the winner's alert: nothing new to say
    finally:
        first.close()
        second.close()
    assert scalar(conn, "SELECT count(*) FROM monitor_alerts WHERE subject = %s "
                        "AND kind = 'budget_level'", (f"node/{r.h2}",)) == 1
    assert events(conn, f"node/{r.h2}") == [("opened", "warning")]  # 95 %


def test_a_supplement_resolves_only_after_the_hold_time(conn, h1_well) -> None:
    r = h1_well
    send(conn, "W1", "flow", flow(at(10), 1100))
    drain(conn)
    assert events(conn, f"node/{r.h1}") == [("opened", "critical")]
    issue(conn, r.h1, 1000, kind=EntryKind.SUPPLEMENT, valid_from=at(10))
    drain(conn)  # 55 %: clear, but the hold time (1 h of data time) has not passed
    assert events(conn, f"node/{r.h1}")[-1] == ("opened", "critical")
    send(conn, "W1", "flow", flow(at(10.5), 1105))
    drain(conn)
    assert len(events(conn, f"node/{r.h1}")) == 1
    send(conn, "W1", "flow", flow(at(11.5), 1110))
    drain(conn)
    assert events(conn, f"node/{r.h1}")[-1] == ("resolved", "critical")
    resolved = conn.execute("SELECT resolved_by, resolved_at FROM monitor_alerts "
                            "WHERE subject = %s AND kind = 'budget_level'",
                            (f"node/{r.h1}",)).fetchone()
    assert resolved == ("rule", at(11.5))


def test_the_new_year_closes_last_years_alerts(conn, h1_well) -> None:
    r = h1_well
    send(conn, "W1", "flow", flow(at(10), 1100))
    drain(conn)
    # received when taken, as from a live device: seven months later the next reading follows
    # a silence, not a clock jump (ingest.consumption.clock_jumped)
    conn.execute("UPDATE register_readings SET received_at = ts WHERE meter_id = 'W1-F'")
    new_year = datetime(YEAR + 1, 1, 1, tzinfo=ZONE)
    send(conn, "W1", "flow", flow(new_year + timedelta(hours=2), 1101))
    swept = sweep(conn, consumer=Consumer())
    assert swept.at == new_year + timedelta(hours=2)
    rows = conn.execute("SELECT kind, status, resolved_by, resolved_at FROM monitor_alerts "
                        "WHERE subject = %s AND period = %s ORDER BY kind",
                        (f"node/{r.h1}", str(YEAR))).fetchall()
    assert rows
    assert all(row[1:] == ("resolved", "rollover", new_year) for row in rows)
    # the new year's draw opens nothing while no budget is issued for it yet
    assert [a for a in live_alerts(conn) if a[2] == str(YEAR + 1)] == []


def test_acknowledge_and_resolve_by_hand(conn, h1_well) -> None:
    r = h1_well
    send(conn, "W1", "flow", flow(at(10), 850))
    drain(conn)
    alert_id = scalar(conn, "SELECT alert_id FROM monitor_alerts WHERE subject = %s "
                            "AND kind = 'budget_level'", (f"node/{r.h1}",))
    with conn.transaction():
        alerting.acknowledge(conn, alert_id=alert_id, by="李科长", at=at(10.2))
        again = alerting.acknowledge(conn, alert_id=alert_id, by="李科长", at=at(10.3))
    assert again is not None
    assert again[1] is None
    send(conn, "W1", "flow", flow(at(11), 960))
    drain(conn)  # escalation: back to open, the people must see the new level
    assert conn.execute("SELECT status, severity, acknowledged_by FROM monitor_alerts "
                        "WHERE alert_id = %s", (alert_id,)).fetchone() == ("open", "warning",
                                                                           None)
    with conn.transaction():
        alerting.resolve(conn, alert_id=alert_id, by="李科长", at=at(11.1))
    send(conn, "W1", "flow", flow(at(12), 965))
    drain(conn)  # the condition still holds: a new occurrence opens
    assert conn.execute("SELECT seq, status FROM monitor_alerts WHERE subject = %s "
                        "AND kind = 'budget_level' ORDER BY seq", (f"node/{r.h1}",)
                        ).fetchall() == [(1, "resolved"), (2, "open")]


def test_data_quality_alerts_from_the_roll_ups_and_the_sweep(conn, h1_well) -> None:
    r = h1_well
    save(conn, [well("W3", rated_m3h=10)], [meter("W3-F", "W3", "flow", initial_register=0),
                                            meter("W3-P", "W3", "power")])
    attach(conn, r.h2, "site", "W3")
    send(conn, "W3", "flow", {"ts": at(0).isoformat(), "total_m3": 0, "flow_m3h": 8},
         {"ts": at(1).isoformat(), "total_m3": 5, "flow_m3h": 30}, flow(at(2), 5))
    send(conn, "W3", "power", {"ts": int(at(0).timestamp()), "total_kwh": 10},
         {"ts": int(at(2).timestamp()), "total_kwh": 20})
    send(conn, "W1", "flow", flow(at(2), 100), flow(at(3), 10))  # a reset: quarantined
    drain(conn)
    kinds = {(a[0], a[1]) for a in live_alerts(conn)}
    assert ("meter/W3-F", "flow_above_capacity") in kinds  # 30 m³/h > 10 × 1.2
    assert ("meter/W3-F", "register_stuck") not in kinds  # moved 5 m³ that day
    assert ("meter/W1-F", "quarantined_use") in kinds
    node = scalar(conn, "SELECT node_id FROM monitor_alerts WHERE subject = 'meter/W3-F' "
                        "AND kind = 'flow_above_capacity'")
    assert node == r.h2  # warned through the site's attachment
    # W1 keeps reporting, W3 falls silent for a day (expected every hour, tolerance × 2)
    send(conn, "W1", "flow", flow(at(26), 20))
    sweep(conn, consumer=Consumer())
    kinds = {(a[0], a[1]) for a in live_alerts(conn)}
    assert ("meter/W3-F", "meter_silent") in kinds
    assert ("meter/W1-F", "meter_silent") not in kinds
    send(conn, "W3", "flow", flow(at(27), 6))
    send(conn, "W3", "flow", flow(at(28.5), 7))
    sweep(conn, consumer=Consumer())  # clear since 28.5 h: held for an hour of data time
    assert ("meter/W3-F", "meter_silent") in {(a[0], a[1]) for a in live_alerts(conn)}
    send(conn, "W3", "flow", flow(at(29.5), 8))
    sweep(conn, consumer=Consumer())
    assert ("meter/W3-F", "meter_silent") not in {(a[0], a[1]) for a in live_alerts(conn)}
    clock = budgets.data_clock(conn)
    assert clock is not None
    assert clock > T0
