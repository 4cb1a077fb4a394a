"""SQL for the notification outbox: enqueue per transition, claim due rows, record attempts.

A row is written in the transaction of the alert transition, once per
subscription (``UNIQUE (event_id, subscription_id)``), so a transition is
notified exactly when it commits. The sender claims due rows by setting a
lease (``FOR UPDATE SKIP LOCKED``: several senders never take the same row),
sends, and records the attempt: ``sent``, or back to ``pending`` with the
next attempt's time, or ``dead`` after the last attempt. A sender that dies
mid-send leaves a lease that expires, and the row is sent again with the same
idempotency key.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row

from budget.repository.connection import Conn
from monitor.messages import AlertNote, render

RANK = "CASE {} WHEN 'notice' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END"


@dataclass(frozen=True, slots=True)
class Due:
    notification_id: int
    idempotency_key: str
    channel: str
    address: str
    title: str
    body: str
    attempts: int  # including this one
    note: AlertNote
    language: str = "zh"  # the subscription's


def subject_name(conn: Conn, *, node_id: int | None, fallback: str) -> str:
    if node_id is None:
        return fallback
    row = conn.execute("SELECT name FROM budget_nodes WHERE node_id = %s", (node_id,)).fetchone()
    return str(row[0]) if row else fallback


def enqueue(conn: Conn, *, note: AlertNote, node_id: int | None) -> int:
    """Outbox rows for every active subscription that wants this transition."""
    if node_id is None:
        return 0
    subscriptions = conn.execute(
        "SELECT s.subscription_id, s.channel, s.address, s.language "
        "FROM monitor_subscriptions s JOIN budget_contacts c USING (contact_id) "
        "JOIN monitor_node_paths p ON p.ancestor_id = c.node_id AND p.node_id = %s "
        f"WHERE s.active AND (p.depth = 0 OR s.include_descendants) "
        f"AND {RANK.format('%s')} >= {RANK.format('s.min_severity')} "
        "ORDER BY s.subscription_id", (node_id, note.severity)).fetchall()
    rows = []
    for subscription_id, channel, address, language in subscriptions:
        title, body = render(note, language)
        rows.append((note.event_id, subscription_id, f"wb-{note.event_id}-{subscription_id}",
                     channel, address, title, body))
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO monitor_notifications (event_id, subscription_id, idempotency_key, "
                "channel, address, title, body) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING", rows)
    return len(rows)


def claim_due(conn: Conn, *, limit: int, lease: timedelta) -> list[Due]:
    rows = conn.execute(
        "UPDATE monitor_notifications n SET status = 'sending', attempts = n.attempts + 1, "
        "lease_until = now() + %s FROM monitor_alert_events e, monitor_alerts a, "
        "monitor_subscriptions s "
        "WHERE n.notification_id IN (SELECT notification_id FROM monitor_notifications "
        " WHERE (status = 'pending' AND next_attempt_at <= now()) "
        "    OR (status = 'sending' AND lease_until < now()) "
        " ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED) "
        "AND e.event_id = n.event_id AND a.alert_id = e.alert_id "
        "AND s.subscription_id = n.subscription_id "
        "RETURNING n.notification_id, n.idempotency_key, n.channel, n.address, n.title, n.body, "
        "n.attempts, a.alert_id, e.event_id, e.event, a.kind, e.severity, e.status, a.subject, "
        "a.node_id, a.period, e.detail, e.at, e.by, s.language",
        (lease, limit)).fetchall()
    due = []
    for r in rows:
        name = subject_name(conn, node_id=r[14], fallback=r[13])
        note = AlertNote(r[7], r[8], r[9], r[10], r[11], r[12], r[13], name, r[15], r[16],
                         r[17], r[18])
        due.append(Due(r[0], r[1], r[2], r[3], r[4], r[5], r[6], note, r[19]))
    return due


def record_attempt(conn: Conn, *, notification_id: int, attempt: int, started: datetime,
                   finished: datetime, ok: bool, detail: str,
                   retry_at: datetime | None) -> None:
    """``ok``: sent. Otherwise retried at ``retry_at``, or dead when it is None."""
    conn.execute(
        "INSERT INTO monitor_deliveries (notification_id, attempt, started_at, finished_at, ok, "
        "detail) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (notification_id, attempt, started, finished, ok, detail[:2000]))
    if ok:
        conn.execute("UPDATE monitor_notifications SET status = 'sent', sent_at = %s, "
                     "lease_until = NULL, last_error = NULL WHERE notification_id = %s",
                     (finished, notification_id))
    else:
        conn.execute(
            "UPDATE monitor_notifications SET status = %s, next_attempt_at = coalesce(%s, "
            "next_attempt_at), lease_until = NULL, last_error = %s WHERE notification_id = %s",
            ("pending" if retry_at else "dead", retry_at, detail[:2000], notification_id))


def listing(conn: Conn, *, node_ids: Collection[int] | None, alert_id: int | None,
            status: str | None, limit: int) -> list[dict[str, Any]]:
    nodes = None if node_ids is None else sorted(node_ids)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT n.notification_id, n.idempotency_key, n.channel, n.address, n.title, "
            "n.status, n.attempts, n.last_error, n.created_at, n.sent_at, e.event, e.alert_id, "
            "a.node_id, (SELECT coalesce(jsonb_agg(jsonb_build_object('attempt', d.attempt, "
            "'ok', d.ok, 'detail', d.detail, 'finished_at', d.finished_at) ORDER BY d.attempt), "
            "'[]') FROM monitor_deliveries d WHERE d.notification_id = n.notification_id) "
            "AS deliveries FROM monitor_notifications n "
            "JOIN monitor_alert_events e USING (event_id) JOIN monitor_alerts a "
            "ON a.alert_id = e.alert_id WHERE (%s::bigint[] IS NULL OR a.node_id = ANY(%s)) "
            "AND (%s::bigint IS NULL OR e.alert_id = %s) AND (%s::text IS NULL OR n.status = %s) "
            "ORDER BY n.notification_id DESC LIMIT %s",
            (nodes, nodes, alert_id, alert_id, status, status, limit)).fetchall()


def add_subscription(conn: Conn, *, contact_id: int, channel: str, address: str,
                     min_severity: str = "notice", include_descendants: bool = False,
                     language: str = "zh") -> int:
    row = conn.execute(
        "INSERT INTO monitor_subscriptions (contact_id, channel, address, min_severity, "
        "include_descendants, language) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (contact_id, channel, address) DO UPDATE SET min_severity = "
        "EXCLUDED.min_severity, include_descendants = EXCLUDED.include_descendants, "
        "language = EXCLUDED.language, active = true RETURNING subscription_id",
        (contact_id, channel, address, min_severity, include_descendants, language)).fetchone()
    assert row is not None
    return int(row[0])
