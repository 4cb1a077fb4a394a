"""The periodic sweep: the safety net behind the event-driven path.

Time passing alone changes things no new data announces: time progress and
projections move, a meter falls silent, a period ends. The sweep, at the data
clock: closes live alerts whose period has ended (rollover), re-evaluates
the nodes for the year and rounds in progress (every node when these periods
turn over, otherwise those time can change and a rotating slice:
``evaluation.evaluate_since``; months follow their data),
checks every register meter for silence, and recomputes over-quota charges.
The change rows committed before the sweep are consumed first, so it sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from budget.repository.connection import Conn
from monitor.alert_lifecycle import AlertKey, Observation
from monitor.alerting import Applied, Observed, OnEvent, apply
from monitor.charges_service import compute_charges
from monitor.consumer import Consumer
from monitor.evaluation import evaluate_since
from monitor.execution import BudgetPeriod
from monitor.quality_evaluation import evaluate_silence
from monitor.repository import budgets, changes
from monitor.repository.alerts import AlertContext


@dataclass(slots=True)
class Swept:
    at: datetime | None = None
    snapshots: int = 0
    brought_forward: int = 0
    charges: int = 0
    events: list[Applied] = field(default_factory=list)


def close_ended_periods(conn: Conn, *, at: datetime, on_event: OnEvent | None = None
                        ) -> list[Applied]:
    rows = conn.execute(
        "SELECT a.subject, a.kind, a.period, p.starts_at, p.ends_at, a.node_id, a.site_id, "
        "a.meter_id, a.source FROM monitor_alerts a JOIN monitor_periods p USING (period) "
        "WHERE a.status <> 'resolved' AND p.ends_at <= %s", (at,)).fetchall()
    observed = [Observed(Observation(AlertKey(r[0], r[1], BudgetPeriod(r[2], r[3], r[4])), at,
                                     active=False), AlertContext(r[5], r[6], r[7], r[8]))
                for r in rows]
    return apply(conn, observed, on_event=on_event)


def sweep(conn: Conn, *, consumer: Consumer, on_event: OnEvent | None = None) -> Swept:
    with conn.transaction():
        pending = changes.newest(conn)
    if pending is not None:  # what was committed before the sweep; later rows are the
        consumer.drain(conn, upto=pending)  # event loop's (a busy log never ends)
    done = Swept()
    with conn.transaction():
        # the event path upserts the same snapshot and alert rows: one writer at a time
        # (in two orders they deadlocked)
        changes.lock_rollups(conn)
        at = budgets.data_clock(conn)
        if at is None:
            return done
        done.at = at
        since, sweeps = budgets.last_sweep(conn)
        done.events += close_ended_periods(conn, at=at, on_event=on_event)
        evaluated = evaluate_since(conn, at=at, since=since, sweep_number=sweeps + 1,
                                   on_event=on_event)
        done.snapshots = evaluated.snapshots
        done.brought_forward = evaluated.brought_forward
        done.events += evaluated.events
        done.events += evaluate_silence(conn, at=at, on_event=on_event)
        conn.execute("UPDATE monitor_state SET swept_at = now(), swept_data = %s, "
                     "sweeps = sweeps + 1", (at,))
    with conn.transaction():
        done.charges = compute_charges(conn, at=at)
    return done
