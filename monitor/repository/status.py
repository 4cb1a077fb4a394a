"""SQL for the monitor's progress against the data (``monitor.status``)."""

from __future__ import annotations

from budget.repository.connection import Conn
from monitor.repository.changes import MAX_ATTEMPTS
from monitor.status import MonitorStatus

_FIGURES = """
SELECT now(),
  (SELECT count(*) FROM monitor_changes WHERE attempts < %(max)s),
  (SELECT min(recorded_at) FROM monitor_changes WHERE attempts < %(max)s),
  (SELECT count(*) FROM monitor_changes WHERE attempts >= %(max)s),
  greatest((SELECT data_clock FROM monitor_state),
           (SELECT max(t) FROM monitor_changes, unnest(ts_to) AS t
            WHERE attempts < %(max)s)),
  (SELECT data_clock FROM monitor_state),
  (SELECT swept_at FROM monitor_state),
  (SELECT swept_data FROM monitor_state)
"""


def read(conn: Conn, *, errors: int = 5) -> MonitorStatus:
    """The figures; ``errors``: how many given-up rows' errors to include (0: none)."""
    row = conn.execute(_FIGURES, {"max": MAX_ATTEMPTS}).fetchone()
    assert row is not None
    found = conn.execute(
        "SELECT change_id, last_error FROM monitor_changes WHERE attempts >= %s "
        "ORDER BY change_id LIMIT %s", (MAX_ATTEMPTS, errors)).fetchall() if errors else []
    return MonitorStatus(row[0], int(row[1]), row[2], int(row[3]), row[4], row[5], row[6],
                         row[7], tuple(f"#{r[0]}: {r[1]}" for r in found))
