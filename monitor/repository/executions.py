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
    """Upsert the snapshots; a later data time never loses to an earlier one."""
    if not snapshots:
        return
    rows = sorted((_row(s) for s in snapshots), key=lambda r: (r[0], r[1], r[2], r[3]))
    arrays = [list(column) for column in zip(*rows, strict=True)]
    casts = ", ".join(f"%s::{t}[]" for t in TYPES)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[4:])
    conn.execute(
        f"INSERT INTO monitor_executions ({', '.join(COLUMNS)}) SELECT * FROM unnest({casts}) "
        f"ON CONFLICT (node_id, period, source, sector) DO UPDATE SET {updates}, "
        "evaluated_at = now() WHERE monitor_executions.at <= EXCLUDED.at", arrays)


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
