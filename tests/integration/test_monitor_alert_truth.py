"""Issue 14: data-quality alerts that fire when, and only when, the data says so — whatever
order the data arrives in, through the real write path and the real database (both
variants)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from monitor.consumer import Consumer
from reports.repository import level_crossings
from store.database import create_scratch_database, drop_database
from tests.integration.monitor_support import (
    T0,
    at,
    attach,
    drain,
    flow,
    issue,
    meter,
    power,
    region,
    save,
    send,
    session,
    well,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def alerts(conn: psycopg.Connection, *, live: bool = True) -> set[tuple[Any, ...]]:
    return set(conn.execute(
        "SELECT subject, kind, period, severity FROM monitor_alerts "
        "WHERE (status <> 'resolved') = %s", (live,)).fetchall())


def card_well(conn: psycopg.Connection) -> None:
    r = region(conn)
    save(conn, [well("W1")], [meter("W1-F", "W1", "flow", initial_register=0),
                              meter("W1-C", "W1", "card")])
    attach(conn, r.h1, "site", "W1")


def test_card_vs_meter_on_the_day_the_data_clock_just_completed(conn) -> None:
    """At a data clock of 06-10 00:00+08 June 9 is complete ((D 00:00, D+1 00:00]): its
    sessions sum 8 % below the meter. Failed before the fix (June 9 counted as today)."""
    card_well(conn)
    day = T0 + timedelta(days=8)  # June 9, 00:00
    send(conn, "W1", "flow", flow(day, 0), flow(day + timedelta(hours=4), 100),
         flow(day + timedelta(days=1), 100))  # the last reading at 06-10 00:00
    send(conn, "W1", "card", session("s1", "C1", day + timedelta(hours=1),
                                     day + timedelta(hours=4), 92))
    drain(conn)
    assert conn.execute("SELECT data_clock FROM monitor_state").fetchone() == (
        day + timedelta(days=1),)
    assert ("site/W1", "card_meter_mismatch", "2025", "warning") in alerts(conn)


def test_card_vs_meter_on_every_day_rolled_up_in_one_step(conn) -> None:
    """14 session days delivered shuffled in one burst; the sessions are 8 % short on
    June 4–6 only. Every complete day is looked at: the alert opens on June 4 and resolves
    after the days that agree. Failed before the fix (one day per step: only June 14)."""
    card_well(conn)
    rng = random.Random(14)
    messages = season_card_messages(short=(3, 4, 5))
    rng.shuffle(messages)
    for device, channel, element in messages:
        send(conn, device, channel, element)
    drain(conn)
    found = conn.execute(
        "SELECT status, opened_at, resolved_at FROM monitor_alerts "
        "WHERE subject = 'site/W1' AND kind = 'card_meter_mismatch'").fetchall()
    assert found == [("resolved", at(24 * 3 + 9), at(24 * 7 + 9))]
    assert [e[0] for e in conn.execute(
        "SELECT e.event FROM monitor_alert_events e JOIN monitor_alerts a USING (alert_id) "
        "WHERE a.subject = 'site/W1' ORDER BY e.at")] == ["opened", "resolved"]


def season_card_messages(short: tuple[int, ...] = tuple(range(14))
                         ) -> list[tuple[str, str, dict[str, Any]]]:
    found: list[tuple[str, str, dict[str, Any]]] = []
    for d in range(14):
        start = at(24 * d + 6)
        found += [("W1", "flow", flow(start, 100 * d)),
                  ("W1", "flow", flow(start + timedelta(hours=3), 100 * d + 100))]
        found.append(("W1", "card", session(f"s{d}", "C1", start, start + timedelta(hours=3),
                                            92 if d in short else 100)))
    found.append(("W1", "flow", flow(at(24 * 14), 1400)))  # the clock at 06-15 00:00
    return found


def test_a_register_moved_in_quarantined_intervals_is_not_stuck(conn) -> None:
    """Issue 14.2: a card well whose four intervals were quarantined as impossible_delta
    (the register moved) got "register moved 0 m³", and quarantined_use said
    "impossible_delta ×1". Both failed before the fix."""
    card_well(conn)
    # 40 m³/h rated: 100 m³ in 15 minutes is impossible, four times
    send(conn, "W1", "flow", *[flow(at(1 + q / 4), 100 * q) for q in range(5)])
    send(conn, "W1", "card", session("s1", "C1", at(0.5), at(4.5), 30))
    send(conn, "W1", "flow", flow(at(25), 400))  # completes June 1
    drain(conn)
    moved = conn.execute(
        "SELECT quarantined, quarantined_delta FROM monitor_meter_day WHERE meter_id = 'W1-F' "
        "AND day = '2025-06-01'").fetchone()
    assert moved == (4, 400)
    live = {(a[0], a[1]) for a in alerts(conn)}
    assert ("meter/W1-F", "register_stuck") not in live
    assert ("meter/W1-F", "register_stuck") not in {(a[0], a[1])
                                                    for a in alerts(conn, live=False)}
    detail = conn.execute("SELECT detail, message_zh, message_en FROM monitor_alerts "
                          "WHERE subject = 'meter/W1-F' AND kind = 'quarantined_use'").fetchone()
    assert detail == ('{"reasons":{"impossible_delta":4}}', "未计入的读数：增量超过能力 4 次",
                      "intervals not counted: impossible_delta ×4")


# --- the same season in any order ---------------------------------------------------------

Message = tuple[str, str, dict[str, Any]]


def season(days: int = 10) -> list[Message]:
    """Three wells over ``days`` days, readings every three hours:
    W1 flow + card, sessions 8 % short on days 2–4 and 7, matching on the others;
    W2 flow + power, register still on days 3 and 8 while the pump draws power;
    W3 flow, rated 10 m³/h: a 30 m³/h flow reading on day 5, a register reset on day 6."""
    found: list[Message] = []
    w1 = w2 = w3 = 0.0
    kwh = 0.0
    for d in range(days):
        short = d in (2, 3, 4, 7)
        still = d in (3, 8)
        for h in range(0, 24, 3):
            ts = at(24 * d + h + 1)
            if 6 <= h < 12:
                w1 += 50
                w2 += 0 if still else 20
                kwh += 15
            w3 += 3
            found.append(("W1", "flow", flow(ts, w1)))
            found.append(("W2", "flow", flow(ts, w2)))
            found.append(("W2", "power", power(ts, kwh)))
            element: dict[str, Any] = flow(ts, w3 - (2_000 if d == 6 and h >= 12 else 0)
                                           + (2_000 if d > 6 else 0))
            if d == 5 and h == 9:
                element["flow_m3h"] = 30
            found.append(("W3", "flow", element))
        start = at(24 * d + 7)
        found.append(("W1", "card", session(f"s{d}", "C1", start, start + timedelta(hours=6),
                                            92 if short else 100)))
    return found


def season_registry(conn: psycopg.Connection) -> None:
    r = region(conn)
    save(conn, [well("W1"), well("W2"), well("W3", rated_m3h=10)],
         [meter("W1-F", "W1", "flow", initial_register=0), meter("W1-C", "W1", "card"),
          meter("W2-F", "W2", "flow", initial_register=0), meter("W2-P", "W2", "power"),
          meter("W3-F", "W3", "flow", initial_register=0)])
    for site in ("W1", "W2", "W3"):
        attach(conn, r.h1, "site", site)


def deliver(conn: psycopg.Connection, messages: list[Message], rng: random.Random) -> None:
    """Publish, consuming the change log at random batch boundaries."""
    consumer = Consumer(batch=rng.choice([1, 3, 50, 500]))
    for device, channel, element in messages:
        send(conn, device, channel, element)
        if rng.random() < 0.15:
            consumer.drain(conn)
    consumer.drain(conn)


def final_alerts(database_url: str, messages: list[Message], rng: random.Random
                 ) -> set[tuple[Any, ...]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in ("monitor_alert_events", "monitor_notifications"):
            conn.execute(f"DELETE FROM {table}")
        deliver(conn, messages, rng)
        return alerts(conn)


@pytest.fixture
def fresh(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        season_registry(conn)
    return database_url


def test_the_same_season_in_data_time_order_raises_every_rule(fresh) -> None:
    """The reference run: what the data says, in data-time order, drained once per message
    (so the test below compares with something that is not empty)."""
    with psycopg.connect(fresh, autocommit=True) as conn:
        consumer = Consumer()
        for device, channel, element in sorted(season(), key=_data_time):
            send(conn, device, channel, element)
            consumer.drain(conn)
        live = {(a[0], a[1]) for a in alerts(conn)}
        past = {(a[0], a[1]) for a in alerts(conn, live=False)}
    assert ("meter/W3-F", "quarantined_use") in live | past
    assert ("meter/W3-F", "flow_above_capacity") in live | past
    assert ("site/W1", "card_meter_mismatch") in live | past
    assert ("meter/W2-F", "register_stuck") in live | past


@pytest.mark.parametrize("arrival", ["shuffled", "shuffled twice over", "replayed"])
def test_the_same_season_in_any_order_ends_with_the_same_alerts(database_url, pg_admin_url,
                                                                arrival) -> None:
    """Shuffled, every message twice, or the whole season replayed after it is in: the live
    alerts at the end (subject, kind, period, severity) are those of data-time order."""
    messages = season()
    ordered = sorted(messages, key=_data_time)
    reference_url = database_url
    with psycopg.connect(reference_url, autocommit=True) as conn:
        season_registry(conn)
    expected = final_alerts(reference_url, ordered, random.Random(0))
    assert expected  # the season leaves alerts live at its end
    other = _second_database(pg_admin_url, database_url)
    try:
        with psycopg.connect(other, autocommit=True) as conn:
            season_registry(conn)
        rng = random.Random(hash(arrival) % 1000)
        stream = list(messages)
        rng.shuffle(stream)
        if arrival == "shuffled twice over":
            stream = [m for m in stream for _ in range(2)]
            rng.shuffle(stream)
        got = final_alerts(other, stream, rng)
        if arrival == "replayed":
            got = final_alerts(other, ordered, rng)
        assert got == expected
    finally:
        drop_database(pg_admin_url, other)


def _data_time(message: Message) -> datetime:
    element = message[2]
    for key in ("end", "ts"):
        if key in element:
            value = element[key]
            return (datetime.fromtimestamp(value, T0.tzinfo) if isinstance(value, int)
                    else datetime.fromisoformat(value))
    raise AssertionError(element)


def _second_database(admin_url: str, like: str) -> str:
    with psycopg.connect(like) as conn:
        row = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
                           ).fetchone()
    return create_scratch_database(admin_url, timescaledb=bool(row and row[0]))


# --- budget levels crossed on three days, delivered in one burst (issue 14.3) ------------


def household(conn: psycopg.Connection) -> int:
    r = region(conn)
    save(conn, [well("W1", rated_m3h=500), well("W9")],
         [meter("W1-F", "W1", "flow", initial_register=0),
          meter("W9-F", "W9", "flow", initial_register=0)])
    attach(conn, r.h1, "site", "W1")
    for node, volume in ((r.district, 100_000), (r.village, 10_000), (r.h1, 1_000)):
        issue(conn, node, volume)
    return r.h1


def level_history(conn: psycopg.Connection, node_id: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT e.event, e.severity, e.at FROM monitor_alert_events e JOIN monitor_alerts a "
        "USING (alert_id) WHERE a.subject = %s AND a.kind = 'budget_level' ORDER BY e.at",
        (f"node/{node_id}",)).fetchall()


BURST = [flow(at(1), 0), flow(at(12), 850), flow(at(24 + 12), 920),
         flow(at(48 + 12), 1_010), flow(at(72 + 12), 1_020)]
CROSSINGS = [("opened", "notice", at(24)), ("escalated", "warning", at(48)),
             ("escalated", "critical", at(72))]


@pytest.mark.parametrize("late", [False, True], ids=["burst", "late burst"])
def test_each_level_crossed_in_a_burst_is_recorded_at_its_data_time(conn, late) -> None:
    """80 % on June 1, 90 % on June 2, 100 % on June 3 (budget 1,000 m³), delivered in one
    burst — also after another well moved the data clock to June 10. Failed before the fix:
    one alert opening straight at critical, with no notice or warning event."""
    h1 = household(conn)
    if late:
        send(conn, "W9", "flow", flow(at(0), 0), flow(at(24 * 9 + 6), 1))
        drain(conn)
    send(conn, "W1", "flow", *BURST)
    drain(conn)
    assert level_history(conn, h1) == CROSSINGS
    assert ("node/" + str(h1), "budget_level", "2025", "critical") in alerts(conn)
    # the monthly report's "levels reached" read these crossings
    june = level_crossings(conn, root_id=h1, start=T0, until=at(24 * 30))
    assert [(c.severity, c.at) for c in june] == [(s, t) for _e, s, t in CROSSINGS]
