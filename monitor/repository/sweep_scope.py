"""SQL for a sweep within a day: which nodes time can change, and the rest brought forward.

Between two sweeps of the same data day only time has moved for a node whose data
and budget did not change (the event path evaluates those that did, in the
transaction that changes them). Time alone changes:

* an alert's lifecycle (hold times, escalation): nodes with a live alert;
* the pace and the exhaustion date: nodes whose snapshot has draw at or past
  ``budget × time progress`` (pace reached, or budget exhausted) or an
  exhaustion date;
* the effective budget: nodes with a ledger entry that became valid since
  the last sweep;
* nodes with an explicit plan profile (few; their progress is their own), and
  nodes with budget in a sector whose default profile is not the irrigation
  season (``plan_profile.EVEN_SECTORS``: supply, industry, livestock), whose
  progress is not the default's either;

Plus, as safety nets, nodes with draw in a period and no snapshot, and one
slice of all nodes in turn (``node_id`` modulo ``SLICES``), so that every node
is assessed afresh once a day whatever the event path missed. Those nodes are
assessed in full. Every other snapshot has a level that does not
depend on time and no exhaustion date; its time progress and projection are
brought forward in one statement with the default profile's progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from budget.plan_profile import EVEN_SECTORS
from budget.repository.connection import Conn

SLICES = 144  # a day of ten-minute sweeps: every node assessed afresh once a day

CANDIDATES = """
SELECT node_id FROM monitor_alerts
WHERE status <> 'resolved' AND period = ANY(%(periods)s) AND node_id IS NOT NULL
  AND subject LIKE 'node/%%'
UNION
SELECT e.node_id FROM monitor_executions e
JOIN unnest(%(periods)s::text[], %(progress)s::numeric[]) AS d(period, progress)
  ON d.period = e.period
WHERE e.exhaustion_at IS NOT NULL
   OR (e.drawn_m3 > 0 AND (e.drawn_m3 >= e.budget_m3 OR e.drawn_m3 > e.budget_m3 * d.progress))
UNION
SELECT node_id FROM budget_entries
WHERE status = 'approved' AND year = ANY(%(years)s) AND valid_from > %(since)s
  AND valid_from <= %(at)s
UNION
SELECT node_id FROM budget_plan_profiles
UNION
SELECT node_id FROM budget_entries
WHERE status = 'approved' AND year = ANY(%(years)s) AND sector = ANY(%(even_sectors)s)
UNION
SELECT node_id FROM budget_nodes WHERE node_id %% %(slices)s = %(slice)s
UNION
SELECT DISTINCT np.node_id FROM monitor_node_period np
WHERE np.period = ANY(%(periods)s) AND NOT EXISTS (
  SELECT 1 FROM monitor_executions e WHERE e.node_id = np.node_id AND e.period = np.period)
"""

BRING_FORWARD = """
UPDATE monitor_executions e SET at = %(at)s, time_progress = d.progress,
  projected_m3 = CASE WHEN d.progress = 0 THEN e.drawn_m3 ELSE e.drawn_m3 / d.progress END,
  evaluated_at = now()
FROM unnest(%(periods)s::text[], %(progress)s::numeric[]) AS d(period, progress)
WHERE e.period = d.period AND e.at < %(at)s
"""


def _params(periods: Sequence[str], progress: Sequence[Decimal]) -> dict[str, object]:
    if len(periods) != len(progress):
        raise ValueError("one progress per period")
    return {"periods": list(periods), "progress": list(progress)}


def candidates(conn: Conn, *, periods: Sequence[str], progress: Sequence[Decimal],
               years: Sequence[int], since: datetime, at: datetime, sweep_number: int
               ) -> set[int]:
    """Nodes to assess in full; ``progress``: the default profile's, per period."""
    rows = conn.execute(CANDIDATES, _params(periods, progress)
                        | {"years": list(years), "since": since, "at": at,
                           "even_sectors": list(EVEN_SECTORS), "slices": SLICES,
                           "slice": sweep_number % SLICES}).fetchall()
    return {int(r[0]) for r in rows}


def bring_forward(conn: Conn, *, periods: Sequence[str], progress: Sequence[Decimal],
                  at: datetime) -> int:
    """Snapshots not assessed at ``at`` (older ``at``): time progress and projection at
    ``at``; the count. Call after the candidates' snapshots are saved."""
    cur = conn.execute(BRING_FORWARD, _params(periods, progress) | {"at": at})
    return cur.rowcount
