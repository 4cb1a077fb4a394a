"""A sweep within a month assesses only what time can change, and says what a full one says.

The first sweep (no earlier one) assesses every node. Time then moves within June: a
budget cut becomes valid, a pace runs out, hold times pass. The second sweep assesses the
candidates (``monitor/repository/sweep_scope.py``) and brings the other snapshots forward;
a full evaluation at the same data time must then find the same snapshots and alerts.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from budget import repository as budget_repo
from budget.hierarchy import NodeLevel
from budget.ledger import EntryKind
from monitor.consumer import Consumer
from monitor.sweep import sweep
from tests.integration.monitor_support import (
    at,
    attach,
    drain,
    flow,
    issue,
    meter,
    region,
    save,
    send,
    well,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def executions(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT node_id, period, source, at, drawn_m3, budget_m3, execution_rate, "
        "round(time_progress, 12), round(projected_m3, 6), exhaustion_at, level "
        "FROM monitor_executions WHERE period = '2025' ORDER BY 1, 2, 3").fetchall()
    assert rows
    return rows


def alerts(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT subject, kind, period, seq, status, severity, last_seen_at, clear_since "
        "FROM monitor_alerts ORDER BY 1, 2, 3, 4").fetchall()


def test_a_sweep_within_the_month_finds_what_a_full_one_finds(conn) -> None:
    r = region(conn)
    with conn.transaction():
        h3 = budget_repo.create_node(conn, code="H3", name="孙七", level=NodeLevel.HOUSEHOLD,
                                     parent_id=r.village)
    save(conn, [well(f"W{n}", rated_m3h=500) for n in (1, 2, 3, 4)],
         [meter(f"W{n}-F", f"W{n}", "flow", initial_register=0) for n in (1, 2, 3, 4)])
    attach(conn, r.h1, "site", "W1")
    attach(conn, r.h2, "site", "W2")
    attach(conn, h3, "site", "W4")
    # W3 is attached to no node: its readings move the data clock, no node's draw
    for node, volume in ((r.district, 100_000), (r.village, 10_000), (r.h1, 1_000),
                         (r.h2, 1_000), (h3, 100)):
        issue(conn, node, volume)
    issue(conn, r.h2, 800, kind=EntryKind.CUT, valid_from=at(48))  # valid two days on
    # time progress of the year (irrigation profile): 26.2 % on 1 June 10:00, 36 % on 21 June
    send(conn, "W1", "flow", flow(at(0), 0), flow(at(10), 300))  # ahead of the plan: pace
    send(conn, "W2", "flow", flow(at(0), 0), flow(at(10), 200))  # behind it
    send(conn, "W3", "flow", flow(at(0), 0), flow(at(10), 20))
    send(conn, "W4", "flow", flow(at(0), 0), flow(at(10), 95))  # 95 %: warning…
    drain(conn)
    issue(conn, h3, 1000, kind=EntryKind.SUPPLEMENT, valid_from=at(10))  # …then clear, held
    drain(conn)
    first = sweep(conn, consumer=Consumer())
    assert first.brought_forward == 0  # no sweep before it: every node assessed
    live = {(a[0], a[1]): a for a in alerts(conn) if a[4] != "resolved"}
    assert (f"node/{r.h1}", "budget_pace") in live
    assert (f"node/{r.h2}", "budget_level") not in live
    assert live[(f"node/{h3}", "budget_level")][7] == at(10)  # clear, within the hold time

    send(conn, "W3", "flow", flow(at(480), 40))  # the data clock moves twenty days on
    drain(conn)
    second = sweep(conn, consumer=Consumer())
    assert second.brought_forward > 0  # the village and the district: time alone
    assert second.snapshots < first.snapshots
    live = {(a[0], a[1]): a for a in alerts(conn) if a[4] != "resolved"}
    assert live[(f"node/{r.h2}", "budget_level")][5] == "critical"  # the cut, by time alone
    assert live[(f"node/{r.h1}", "budget_pace")][7] == at(480)  # back on plan: clear since
    assert (f"node/{h3}", "budget_level") not in live  # the hold time passed: resolved
    selective = (executions(conn), alerts(conn))

    conn.execute("UPDATE monitor_state SET swept_data = NULL")  # as if never swept
    full = sweep(conn, consumer=Consumer())
    assert full.brought_forward == 0
    assert full.events == []  # nothing the selective sweep had missed
    assert (executions(conn), alerts(conn)) == selective
    assert all(row[3] == at(480) for row in selective[0])
    assert {row[7] for row in selective[0]} == {Decimal("0.36")}
