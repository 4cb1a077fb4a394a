"""SQL for execution snapshots (``monitor_executions``): write the latest, read them back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from budget.repository.connection import Conn
from monitor.assessment import Snapshot

COLUMNS = ("node_id", "period", "source", "sector", "at", "drawn_m3", "budget_m3",
           "remaining_m3", "execution_rate", "time_progress", "projected_m3", "exhaustion_at",
           "level")
TYPES = ("bigint", "text", "text", "text", "timestamptz", "numeric", "numeric", "numeric",
         "numeric", "numeric", "numeric", "timestamptz", "text")


def _row(s: Snapshot) -> tuple[Any, ...]:
    e = s.execution
    return (s.node_id, e.period.label, s.source, "", e.at, e.drawn_m3, e.budget_m3,
            e.remaining_m3, e.execution_rate, e.time_progress, e.projected_m3, e.exhaustion_at,
            s.level.value if s.level else None)


def save(conn: Conn, snapshots: Sequence[Snapshot]) -> None:
    """Upsert the snapshots; a later data time never loses to an earlier one.

    Binary COPY into a staging table, then one upsert in key order (a sweep writes
    every node's snapshots at once; array parameters of Decimals are slow to send)."""
    if not snapshots:
        return
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS monitor_executions_staging "
                 "(LIKE monitor_executions INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    names = ", ".join(COLUMNS)
    with conn.cursor() as cur, cur.copy(
            f"COPY monitor_executions_staging ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(TYPES))
        for snapshot in snapshots:
            copy.write_row(_row(snapshot))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[4:])
    conn.execute(
        f"INSERT INTO monitor_executions ({names}) SELECT DISTINCT ON (node_id, period, source, "
        f"sector) {names} FROM monitor_executions_staging "
        "ORDER BY node_id, period, source, sector, at DESC "
        f"ON CONFLICT (node_id, period, source, sector) DO UPDATE SET {updates}, "
        "evaluated_at = now() WHERE monitor_executions.at <= EXCLUDED.at")
    conn.execute("TRUNCATE monitor_executions_staging")


def for_node(conn: Conn, *, node_id: int, periods: Sequence[str] | None = None
             ) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT e.*, p.kind AS period_kind, p.starts_at, p.ends_at FROM monitor_executions e "
            "JOIN monitor_periods p USING (period) WHERE e.node_id = %s "
            "AND (%s::text[] IS NULL OR e.period = ANY(%s)) ORDER BY p.first_day, p.kind, "
            "e.source, e.sector", (node_id, periods, periods)).fetchall()


def latest_at(conn: Conn) -> datetime | None:
    row = conn.execute("SELECT max(at) FROM monitor_executions").fetchone()
    return row[0] if row else None
