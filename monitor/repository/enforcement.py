"""SQL for enforcement: the wells of a node, overrides, the command log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from budget.repository.connection import Conn


@dataclass(frozen=True, slots=True)
class Controller:
    site_id: str
    device_id: str


def controllers(conn: Conn, *, node_id: int) -> list[Controller]:
    """The devices of the wells whose water counts against the node or a node below it
    (site or meter attachments; a card holder's well belongs to the well's owner)."""
    return [Controller(str(s), str(d)) for s, d in conn.execute(
        "SELECT DISTINCT m.site_id, m.device_id FROM monitor_node_paths p "
        "JOIN budget_attachments a ON a.node_id = p.node_id AND a.kind IN ('site', 'meter') "
        "JOIN meters m ON (a.kind = 'site' AND m.site_id = a.ref) "
        "              OR (a.kind = 'meter' AND m.meter_id = a.ref) "
        "JOIN sites s ON s.site_id = m.site_id AND s.kind = 'well' "
        "WHERE p.ancestor_id = %s AND m.removed_at IS NULL ORDER BY 1, 2", (node_id,))]


def overridden_sites(conn: Conn, *, node_id: int, now: datetime) -> set[str | None]:
    """Sites kept running by an active override of the node or an ancestor (None: all)."""
    return {r[0] for r in conn.execute(
        "SELECT o.site_id FROM monitor_enforcement_overrides o "
        "JOIN monitor_node_paths p ON p.ancestor_id = o.node_id AND p.node_id = %s "
        "WHERE o.revoked_at IS NULL AND (o.until IS NULL OR o.until > %s)", (node_id, now))}


def add_command(conn: Conn, *, key: str, alert_id: int | None, override_id: int | None,
                node_id: int, site_id: str, device_id: str, action: str, topic: str,
                payload: dict[str, Any], reason: str, by: str) -> int | None:
    row = conn.execute(
        "INSERT INTO monitor_enforcement_commands (idempotency_key, alert_id, override_id, "
        "node_id, site_id, device_id, action, topic, payload, reason, requested_by) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING "
        "RETURNING command_id",
        (key, alert_id, override_id, node_id, site_id, device_id, action, topic, Jsonb(payload),
         reason, by)).fetchone()
    return int(row[0]) if row else None


def shut_devices(conn: Conn, *, node_id: int) -> list[dict[str, Any]]:
    """Devices whose latest command for this node is a shut-off (still off)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM (SELECT DISTINCT ON (device_id) * FROM monitor_enforcement_commands "
            "WHERE node_id = %s ORDER BY device_id, command_id DESC) last "
            "WHERE action = 'shut_off'", (node_id,)).fetchall()


def add_override(conn: Conn, *, node_id: int, site_id: str | None, reason: str, by: str,
                 until: datetime | None) -> int:
    row = conn.execute(
        "INSERT INTO monitor_enforcement_overrides (node_id, site_id, reason, created_by, until) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING override_id",
        (node_id, site_id, reason, by, until)).fetchone()
    assert row is not None
    return int(row[0])


def revoke_override(conn: Conn, *, override_id: int, by: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "UPDATE monitor_enforcement_overrides SET revoked_by = %s, revoked_at = now() "
            "WHERE override_id = %s AND revoked_at IS NULL RETURNING *",
            (by, override_id)).fetchone()


def live_overrun(conn: Conn, *, node_id: int) -> int | None:
    row = conn.execute(
        "SELECT alert_id FROM monitor_alerts WHERE subject = %s AND kind = 'budget_level' "
        "AND status <> 'resolved' AND severity = 'critical' ORDER BY alert_id DESC LIMIT 1",
        (f"node/{node_id}",)).fetchone()
    return int(row[0]) if row else None


def claim_commands(conn: Conn, *, limit: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "UPDATE monitor_enforcement_commands SET attempts = attempts + 1 "
            "WHERE command_id IN (SELECT command_id FROM monitor_enforcement_commands "
            " WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY command_id "
            " LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *", (limit,)).fetchall()


def record_command(conn: Conn, *, command_id: int, ok: bool, error: str | None,
                   retry_at: datetime | None, at: datetime) -> None:
    if ok:
        conn.execute("UPDATE monitor_enforcement_commands SET status = 'sent', sent_at = %s, "
                     "last_error = NULL WHERE command_id = %s", (at, command_id))
    else:
        conn.execute("UPDATE monitor_enforcement_commands SET status = %s, "
                     "next_attempt_at = coalesce(%s, next_attempt_at), last_error = %s "
                     "WHERE command_id = %s",
                     ("pending" if retry_at else "dead", retry_at, error, command_id))


def commands(conn: Conn, *, node_ids: Sequence[int] | None, limit: int) -> list[dict[str, Any]]:
    nodes = None if node_ids is None else list(node_ids)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM monitor_enforcement_commands WHERE (%s::bigint[] IS NULL OR "
            "node_id = ANY(%s)) ORDER BY command_id DESC LIMIT %s", (nodes, nodes, limit)
        ).fetchall()
