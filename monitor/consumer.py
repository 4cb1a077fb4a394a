"""One step of the event-driven path: change log → roll-ups → evaluation, one transaction.

Claims change rows (``FOR UPDATE SKIP LOCKED``) under the roll-up lock,
adds the intervals of sites that only gained readings (``appends``) and
recomputes the other touched site-days (``rollups``), applies the node deltas, then evaluates
the budget rules of every node whose totals or budget changed, for the
periods of the changed days, and the data-quality rules of the meters and
sites touched — at the data clock. Committing consumes the change rows; a
failure rolls everything back and counts an attempt on the rows, and the
next step takes one row at a time until a step succeeds, so one poison row
cannot hold the others up (after ``MAX_ATTEMPTS`` it is left with its error).

Stopping: once ``stop`` is set, ``drain`` starts no further step, and a step
whose statement was cancelled (``MonitorService`` cancels the running statements
on SIGTERM) rolls back without counting an attempt: its change rows stay pending,
untouched, for the next start — nothing lost, nothing counted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from budget.repository.connection import Conn
from monitor.alerting import Applied, OnEvent
from monitor.changes import ChangeRow, plan_work
from monitor.evaluation import evaluate_budgets
from monitor.periods import draw_day
from monitor.quality_evaluation import evaluate_touched
from monitor.repository import appends, budgets, changes, rollups

log = logging.getLogger(__name__)

BATCH = 500
SITE_DAYS = 20_000  # a step's whole-day work at most (beyond its first change row)


@dataclass(slots=True)
class Step:
    changes: int = 0
    appended_sites: int = 0
    site_days: int = 0
    nodes: int = 0
    events: list[Applied] = field(default_factory=list)


class Consumer:
    def __init__(self, *, batch: int = BATCH, on_event: OnEvent | None = None,
                 stop: threading.Event | None = None, site_days: int = SITE_DAYS) -> None:
        self.batch = batch
        self.site_days = site_days
        self.on_event = on_event
        self.stop = stop  # set: no new step; a failing step is an interruption, not a failure
        self._careful = False  # after a failure: one change row per step

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def step(self, conn: Conn, *, upto: int | None = None) -> Step | None:
        """Consume up to ``batch`` change rows (ids up to ``upto``); None when none is left."""
        claimed: list[int] = []
        try:
            with conn.transaction():
                changes.lock_rollups(conn)
                rows = changes.claim(conn, limit=1 if self._careful else self.batch, upto=upto,
                                     site_days=self.site_days)
                if not rows:
                    return None
                claimed = [r.change_id for r in rows]
                done = self._process(conn, rows)
        except Exception as exc:
            if not claimed or self.stopping():
                raise  # rolled back: the rows stay as they were, without an attempt
            log.exception("change rows %s failed", claimed[:10])
            with conn.transaction():
                changes.record_failure(conn, change_ids=claimed, error=f"{type(exc).__name__}: "
                                                                       f"{exc}")
            self._careful = True
            return Step(changes=0)
        self._careful = False
        return done

    def drain(self, conn: Conn, *, max_steps: int = 1_000, upto: int | None = None) -> Step:
        total = Step()
        for _ in range(max_steps):
            if self.stopping():
                break
            step = self.step(conn, upto=upto)
            if step is None:
                break
            total.changes += step.changes
            total.appended_sites += step.appended_sites
            total.site_days += step.site_days
            total.nodes += step.nodes
            total.events += step.events
        return total

    def _process(self, conn: Conn, rows: list[ChangeRow]) -> Step:
        started = time.monotonic()
        conn.execute("SET LOCAL jit = off")  # small statements: compiling costs more than it saves
        work = plan_work(rows)
        before = budgets.data_clock(conn)  # the days it completes are evaluated for quality
        if work.rebuild_totals:
            rollups.rebuild_totals(conn)
        added = set() if work.rebuild_totals else appends.appendable(conn, work.appended_sites())
        spans = changes.day_spans(conn, [s for site, site_spans in work.spans.items()
                                         if site not in added for s in site_spans])
        rolled = rollups.refresh(conn, spans)
        if added:
            rolled.merge(appends.add(conn))
        step = Step(changes=len(rows), appended_sites=len(added),
                    site_days=sum(s.days for s in spans))
        clock = budgets.data_clock(conn)
        if clock is None:
            return step  # no data yet: nothing to evaluate against
        if rolled.nodes:
            periods = budgets.periods_of_days(conn, days=rolled.days)
            step.events += evaluate_budgets(conn, node_ids=rolled.nodes, periods=periods,
                                            at=clock, on_event=self.on_event,
                                            since_day=min(rolled.days)).events
        if work.budget_nodes or work.all_budgets or work.rebuild_totals:
            years = work.budget_years or {draw_day(clock).year}
            periods = budgets.periods_of_years(conn, years=years)
            nodes = None if (work.all_budgets or work.rebuild_totals) else work.budget_nodes
            step.events += evaluate_budgets(conn, node_ids=nodes, periods=periods, at=clock,
                                            on_event=self.on_event).events
        if rolled.site_spans or (before is not None and clock > before):
            step.events += evaluate_touched(conn, site_spans=rolled.site_spans, since=before,
                                            at=clock, on_event=self.on_event)
        step.nodes = len(rolled.nodes | work.budget_nodes)
        log.debug("step: %d changes, %d sites added, %d site-days recomputed, %d nodes, "
                  "%d events, %.3f s", step.changes, step.appended_sites, step.site_days,
                  step.nodes, len(step.events), time.monotonic() - started)
        return step
