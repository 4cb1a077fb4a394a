"""A later sweep assesses only what time can change, and says what a full one says.

The first sweep (no earlier one) assesses every node. Time then moves on within 1 June: a
budget cut becomes valid, a pace runs out, hold times pass. The second sweep assesses the
candidates (``monitor/repository/sweep_scope.py``) and brings the other snapshots forward;
a full evaluation at the same data time must then find the same snapshots and alerts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from budget import repository as budget_repo
from budget.hierarchy import NodeLevel
from budget.ledger import EntryKind
from budget.plan_profile import IRRIGATION_SEASON
from monitor.consumer import Consumer
from monitor.execution import BudgetPeriod, period_progress
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
    issue(conn, r.h2, 800, kind=EntryKind.CUT, valid_from=at(20))  # valid ten hours on
    # time progress of the year (irrigation profile): 26.208 % on 1 June 10:00, 26.479 % at
    # 23:00; W1 is a hair ahead of the plan at 10:00, behind it at 23:00
    send(conn, "W1", "flow", flow(at(0), 0), flow(at(10), 262.5))
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

    send(conn, "W3", "flow", flow(at(23), 40))  # the data clock moves on, the same day
    drain(conn)
    second = sweep(conn, consumer=Consumer())
    assert second.brought_forward > 0  # the village and the district: time alone
    assert second.snapshots < first.snapshots
    live = {(a[0], a[1]): a for a in alerts(conn) if a[4] != "resolved"}
    assert live[(f"node/{r.h2}", "budget_level")][5] == "critical"  # the cut, by time alone
    assert live[(f"node/{r.h1}", "budget_pace")][7] == at(23)  # back on plan: clear since
    assert (f"node/{h3}", "budget_level") not in live  # the hold time passed: resolved
    selective = (executions(conn), alerts(conn))

    conn.execute("UPDATE monitor_state SET swept_data = NULL")  # as if never swept
    full = sweep(conn, consumer=Consumer())
    assert full.brought_forward == 0
    assert full.events == []  # nothing the selective sweep had missed
    assert (executions(conn), alerts(conn)) == selective
    assert all(row[3] == at(23) for row in selective[0])
    progress = period_progress(IRRIGATION_SEASON, BudgetPeriod.of_year(2025), at(23))
    assert {row[7] for row in selective[0]} == {round(progress, 12)}

    send(conn, "W3", "flow", flow(at(25), 45))  # the next day: still only what time changes
    drain(conn)
    assert sweep(conn, consumer=Consumer()).brought_forward > 0
    conn.execute("INSERT INTO monitor_periods (period, kind, year, first_day, last_day, name) "
                 "VALUES ('2025-R1', 'round', 2025, '2025-06-03', '2025-06-30', '夏灌')")
    send(conn, "W3", "flow", flow(at(49), 50))  # a round begins: every node assessed
    drain(conn)
    new_round = sweep(conn, consumer=Consumer())
    assert new_round.brought_forward == 0
    assert new_round.snapshots == 2 * full.snapshots
