"""SQL for alerts and their transition events.

Concurrency: the live alert of a key is read ``FOR UPDATE`` (keys in one
sorted order, so evaluators never deadlock); a new alert is inserted with
``ON CONFLICT DO NOTHING`` against the partial unique index of live alerts, so
of two evaluators opening the same key one wins and the other re-reads the
winner and applies its observation to it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from budget.repository.connection import Conn
from monitor.alert_lifecycle import Alert, AlertKey, Event, Severity, Status
from monitor.alert_text import describe
from monitor.execution import BudgetPeriod

Key = tuple[str, str, str]  # subject, kind, period label

_COLUMNS = ("alert_id, subject, kind, period, seq, status, severity, detail, opened_at, "
            "last_seen_at, evaluated_at, clear_since, acknowledged_by, acknowledged_at, "
            "resolved_by, resolved_at")
BULK = 1_000  # more keys than this: read every live alert of their periods instead


@dataclass(frozen=True, slots=True)
class AlertContext:
    """Who is warned and what the alert is about, besides its key."""

    node_id: int | None = None
    site_id: str | None = None
    meter_id: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class StoredAlert:
    alert_id: int
    alert: Alert


def key_of(alert_key: AlertKey) -> Key:
    return (alert_key.subject, alert_key.kind, alert_key.period.label)


def _alert(row: Sequence[Any], period: BudgetPeriod) -> StoredAlert:
    key = AlertKey(row[1], row[2], period)
    return StoredAlert(int(row[0]), Alert(key, row[4], Status(row[5]), Severity(row[6]), row[7],
                                          *row[8:16]))


def lock_live(conn: Conn, *, keys: Collection[Key], periods: dict[str, BudgetPeriod]
              ) -> dict[Key, StoredAlert]:
    """The live alerts of the keys, locked until the transaction ends."""
    if not keys:
        return {}
    if len(keys) > BULK:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM monitor_alerts WHERE status <> 'resolved' "
            "AND period = ANY(%s) AND kind = ANY(%s) ORDER BY subject, kind, period FOR UPDATE",
            (sorted(periods), sorted({k[1] for k in keys}))).fetchall()
    else:
        ordered = sorted(keys)
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM monitor_alerts WHERE status <> 'resolved' "
            "AND (subject, kind, period) IN (SELECT * FROM unnest(%s::text[], %s::text[], "
            "%s::text[])) ORDER BY subject, kind, period FOR UPDATE",
            ([k[0] for k in ordered], [k[1] for k in ordered], [k[2] for k in ordered])
        ).fetchall()
    found = {(r[1], r[2], r[3]): _alert(r, periods[r[3]]) for r in rows if r[3] in periods}
    return {k: v for k, v in found.items() if k in keys}


def latest_resolved(conn: Conn, *, keys: Collection[Key], periods: dict[str, BudgetPeriod]
                    ) -> dict[Key, StoredAlert]:
    if not keys:
        return {}
    ordered = sorted(keys)
    rows = conn.execute(
        f"SELECT DISTINCT ON (subject, kind, period) {_COLUMNS} FROM monitor_alerts "
        "WHERE (subject, kind, period) IN (SELECT * FROM unnest(%s::text[], %s::text[], "
        "%s::text[])) ORDER BY subject, kind, period, seq DESC",
        ([k[0] for k in ordered], [k[1] for k in ordered], [k[2] for k in ordered])).fetchall()
    return {(r[1], r[2], r[3]): _alert(r, periods[r[3]]) for r in rows}


def _values(alert: Alert) -> tuple[Any, ...]:
    worded = [describe(alert.key.kind, alert.key.subject, alert.detail, lang)
              for lang in ("zh", "en")]
    return (alert.status.value, alert.severity.value, alert.detail, *worded, alert.opened_at,
            alert.last_seen_at, alert.evaluated_at, alert.clear_since, alert.acknowledged_by,
            alert.acknowledged_at, alert.resolved_by, alert.resolved_at)


def insert(conn: Conn, *, alert: Alert, context: AlertContext) -> int | None:
    """A new occurrence; None if another evaluator opened this key first."""
    key = key_of(alert.key)
    row = conn.execute(
        "INSERT INTO monitor_alerts (subject, kind, period, seq, node_id, site_id, meter_id, "
        "source, status, severity, detail, message_zh, message_en, opened_at, last_seen_at, "
        "evaluated_at, clear_since, acknowledged_by, acknowledged_at, resolved_by, resolved_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, %s) "
        "ON CONFLICT DO NOTHING RETURNING alert_id",
        (*key, alert.seq, context.node_id, context.site_id, context.meter_id, context.source,
         *_values(alert))).fetchone()
    return int(row[0]) if row else None


def update(conn: Conn, *, alert_id: int, alert: Alert) -> None:
    conn.execute(
        "UPDATE monitor_alerts SET status = %s, severity = %s, detail = %s, message_zh = %s, "
        "message_en = %s, opened_at = %s, "
        "last_seen_at = %s, evaluated_at = %s, clear_since = %s, acknowledged_by = %s, "
        "acknowledged_at = %s, resolved_by = %s, resolved_at = %s, updated_at = now() "
        "WHERE alert_id = %s", (*_values(alert), alert_id))


def insert_event(conn: Conn, *, alert_id: int, event: Event, alert: Alert, at: datetime,
                 by: str) -> int:
    row = conn.execute(
        "INSERT INTO monitor_alert_events (alert_id, event, status, severity, at, by, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING event_id",
        (alert_id, event.value, alert.status.value, alert.severity.value, at, by, alert.detail)
    ).fetchone()
    assert row is not None
    conn.execute("SELECT pg_notify('waterbudget_alerts', %s)", (str(row[0]),))
    return int(row[0])


def stored(conn: Conn, *, alert_id: int, for_update: bool = False
           ) -> tuple[StoredAlert, dict[str, Any]] | None:
    """One alert with its context columns (node, site, meter, source), optionally locked."""
    lock = " FOR UPDATE OF a" if for_update else ""
    row = conn.execute(
        f"SELECT {', '.join('a.' + c.strip() for c in _COLUMNS.split(','))}, p.starts_at, "
        "p.ends_at, a.node_id, a.site_id, a.meter_id, a.source FROM monitor_alerts a "
        f"JOIN monitor_periods p USING (period) WHERE a.alert_id = %s{lock}",
        (alert_id,)).fetchone()
    if row is None:
        return None
    period = BudgetPeriod(row[3], row[16], row[17])
    return _alert(row, period), {"node_id": row[18], "site_id": row[19], "meter_id": row[20],
                                 "source": row[21]}


def listing(conn: Conn, *, node_ids: Collection[int] | None, status: str | None,
            kind: str | None, period: str | None, limit: int) -> list[dict[str, Any]]:
    """Newest first; ``node_ids`` None: every alert (administrators)."""
    nodes = None if node_ids is None else sorted(node_ids)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM monitor_alerts WHERE (%s::bigint[] IS NULL OR node_id = ANY(%s)) "
            "AND (%s::text IS NULL OR (CASE WHEN %s = 'live' THEN status <> 'resolved' "
            "ELSE status = %s END)) AND (%s::text IS NULL OR kind = %s) "
            "AND (%s::text IS NULL OR period = %s) ORDER BY alert_id DESC LIMIT %s",
            (nodes, nodes, status, status, status, kind, kind, period, period, limit)).fetchall()


def events(conn: Conn, *, alert_id: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM monitor_alert_events WHERE alert_id = %s "
                           "ORDER BY event_id", (alert_id,)).fetchall()
