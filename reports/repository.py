"""PostgreSQL adapter of the reports: the only place with their SQL (psycopg 3).

Two halves: the stored reports (table ``reports``, migration 400, append-only)
and the reads a report is built from — budgets through the budget module's
repository, draw, alerts, charges and data quality from the monitor's tables
(migration 300, docs/monitor-schema.md): ``monitor_node_day`` (total draw per
node, day, source, sector), ``monitor_alerts``, ``monitor_charges``,
``monitor_meter_day`` (readings per meter and day), ``monitor_site_day``
(water attached to no node) and ``monitor_node_paths`` (the subtree). The
caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from budget import repository as budget_repo
from budget.hierarchy import Hierarchy
from budget.plan_profile import PlanProfile
from reports.document import Document, document_from_json, document_json
from reports.inputs import (
    AlertRecord,
    ChargeRecord,
    DrawRow,
    LevelCrossing,
    MeterQuality,
    RollupLag,
)

Conn = budget_repo.Conn
REPORT_LOCK = 7_411_400  # advisory lock key (with the report's hash): one issuer at a time


@dataclass(frozen=True, slots=True)
class StoredReport:
    report_id: int
    kind: str
    node_id: int
    period: str
    revision: int
    as_of: datetime
    built_at: datetime
    built_by: str
    changes: int
    document: Document | None  # None in listings


def lock_report(conn: Conn, *, kind: str, node_id: int, period: str) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                 (REPORT_LOCK, f"{kind}/{node_id}/{period}"))


def store_report(conn: Conn, *, kind: str, node_id: int, period: str, document: Document,
                 inputs: dict[str, Any], inputs_sha256: bytes, built_by: str) -> int:
    row = conn.execute(
        "INSERT INTO reports (kind, node_id, period, revision, as_of, built_at, built_by, "
        "changes, document, inputs, inputs_sha256) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING report_id",
        (kind, node_id, period, document.revision.number, document.as_of, document.built_at,
         built_by, document.revision.changes_total, Jsonb(document_json(document)),
         Jsonb(inputs), inputs_sha256),
    ).fetchone()
    assert row is not None
    return int(row[0])


_COLUMNS = "report_id, kind, node_id, period, revision, as_of, built_at, built_by, changes"


def _stored(row: Sequence[Any], document: dict[str, Any] | None) -> StoredReport:
    report_id, kind, node_id, period, revision, as_of, built_at, built_by, changes = row[:9]
    return StoredReport(report_id, kind, node_id, period, revision, as_of, built_at, built_by,
                        changes, document_from_json(document) if document else None)


def latest_report(conn: Conn, *, kind: str, node_id: int, period: str) -> StoredReport | None:
    row = conn.execute(
        f"SELECT {_COLUMNS}, document FROM reports WHERE kind = %s AND node_id = %s "
        "AND period = %s ORDER BY revision DESC LIMIT 1", (kind, node_id, period)).fetchone()
    return _stored(row, row[9]) if row else None


def report(conn: Conn, *, report_id: int) -> StoredReport | None:
    row = conn.execute(f"SELECT {_COLUMNS}, document FROM reports WHERE report_id = %s",
                       (report_id,)).fetchone()
    return _stored(row, row[9]) if row else None


def report_revision(conn: Conn, *, kind: str, node_id: int, period: str,
                    revision: int | None) -> StoredReport | None:
    if revision is None:
        return latest_report(conn, kind=kind, node_id=node_id, period=period)
    row = conn.execute(
        f"SELECT {_COLUMNS}, document FROM reports WHERE kind = %s AND node_id = %s "
        "AND period = %s AND revision = %s", (kind, node_id, period, revision)).fetchone()
    return _stored(row, row[9]) if row else None


def list_reports(conn: Conn, *, node_ids: Sequence[int] | None, kind: str | None,
                 period: str | None, limit: int = 500) -> list[StoredReport]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM reports WHERE (%(nodes)s::bigint[] IS NULL "
        "OR node_id = ANY(%(nodes)s)) AND (%(kind)s::text IS NULL OR kind = %(kind)s) "
        "AND (%(period)s::text IS NULL OR period = %(period)s) "
        "ORDER BY period DESC, node_id, kind, revision DESC LIMIT %(limit)s",
        {"nodes": list(node_ids) if node_ids is not None else None, "kind": kind,
         "period": period, "limit": limit}).fetchall()
    return [_stored(r, None) for r in rows]


def latest_revisions_since(conn: Conn, *, first_period: str) -> list[StoredReport]:
    """The latest revision of every stored report from ``first_period`` (a month) on: monthly
    reports of that month or later, final accounts of its year or later."""
    rows = conn.execute(
        f"SELECT DISTINCT ON (kind, node_id, period) {_COLUMNS} FROM reports "
        "WHERE (kind = 'monthly' AND period >= %(p)s) "
        "OR (kind = 'final_accounts' AND period >= left(%(p)s, 4)) "
        "ORDER BY kind, node_id, period, revision DESC", {"p": first_period}).fetchall()
    return [_stored(r, None) for r in rows]


# --- what a report is built from -------------------------------------------------------


def plan_profiles(conn: Conn, *, node_ids: Sequence[int]) -> dict[int, PlanProfile]:
    rows = conn.execute("SELECT node_id, weights FROM budget_plan_profiles "
                        "WHERE node_id = ANY(%s)", (list(node_ids),))
    return {n: PlanProfile(tuple(w)) for n, w in rows}


def draw_rows(conn: Conn, *, node_ids: Sequence[int], year: int,
              until: datetime) -> list[DrawRow]:
    """Total draw of the nodes per month, source and sector, in ``year`` up to ``until``:
    whole months from monitor_node_period, the month ``until`` falls inside (if any) from
    monitor_node_day, day by day (a day holds the intervals ending in it)."""
    rows = conn.execute(
        "SELECT np.node_id, extract(month FROM p.first_day)::int, np.source, np.sector, "
        "sum(np.total_m3) FROM monitor_node_period np JOIN monitor_periods p USING (period) "
        "WHERE p.kind = 'month' AND p.year = %(year)s AND p.ends_at <= %(until)s "
        "AND np.node_id = ANY(%(nodes)s) GROUP BY 1, 2, 3, 4 "
        "UNION ALL "
        "SELECT node_id, extract(month FROM day)::int, source, sector, sum(total_m3) "
        "FROM monitor_node_day WHERE node_id = ANY(%(nodes)s) "
        "AND day >= date_trunc('month', %(until)s AT TIME ZONE 'Asia/Shanghai')::date "
        "AND day <= wb_draw_day(%(until)s) AND extract(year FROM day) = %(year)s "
        "GROUP BY 1, 2, 3, 4",
        {"nodes": list(node_ids), "year": year, "until": until})
    return [DrawRow(n, m, src, sec or "unspecified", Decimal(v)) for n, m, src, sec, v in rows
            if v != 0]


def alerts(conn: Conn, *, root_id: int, start: datetime, until: datetime) -> list[AlertRecord]:
    """Alerts of the root's subtree live at some time in [start, until)."""
    rows = conn.execute(
        "SELECT a.node_id, a.kind, a.severity, a.opened_at, a.resolved_at, a.detail "
        "FROM monitor_alerts a JOIN monitor_node_paths p ON p.node_id = a.node_id "
        "WHERE p.ancestor_id = %s AND a.opened_at < %s "
        "AND (a.resolved_at IS NULL OR a.resolved_at >= %s) ORDER BY a.opened_at, a.alert_id",
        (root_id, until, start))
    return [AlertRecord(*r) for r in rows]


def level_crossings(conn: Conn, *, root_id: int, start: datetime, until: datetime
                    ) -> list[LevelCrossing]:
    """Budget levels the root's subtree reached in [start, until), each at its data time."""
    rows = conn.execute(
        "SELECT a.node_id, e.severity, e.at FROM monitor_alert_events e "
        "JOIN monitor_alerts a USING (alert_id) "
        "JOIN monitor_node_paths p ON p.node_id = a.node_id "
        "WHERE p.ancestor_id = %s AND a.kind = 'budget_level' "
        "AND a.subject = 'node/' || a.node_id AND e.event IN ('opened', 'escalated') "
        "AND e.at >= %s AND e.at < %s ORDER BY e.at, e.event_id", (root_id, start, until))
    return [LevelCrossing(int(n), str(sev), at) for n, sev, at in rows]


def charges(conn: Conn, *, root_id: int, year: int) -> list[ChargeRecord]:
    rows = conn.execute(
        "SELECT c.node_id, c.source_family, c.use_m3, c.quota_m3, c.excess_m3, c.surcharge, "
        "c.total_amount FROM monitor_charges c "
        "JOIN monitor_node_paths p ON p.node_id = c.node_id "
        "WHERE p.ancestor_id = %s AND c.year = %s", (root_id, year))
    return [ChargeRecord(*r) for r in rows]


def meter_quality(conn: Conn, *, root_id: int, start: datetime,
                  until: datetime) -> list[MeterQuality]:
    """Periodic meters (flow, power) counting against the root's subtree: readings expected
    in [start, until) from their expected interval, received (monitor_meter_day), and
    quarantined intervals by reason (quality_events)."""
    rows = conn.execute(
        """
        WITH m AS (
          SELECT m.meter_id, m.expected_interval_s,
                 coalesce(am.node_id, asite.node_id) AS node_id,
                 greatest(m.installed_at, %(start)s) AS t0,
                 least(coalesce(m.removed_at, %(until)s), %(until)s) AS t1
          FROM meters m
          LEFT JOIN budget_attachments am ON am.kind = 'meter' AND am.ref = m.meter_id
          LEFT JOIN budget_attachments asite ON asite.kind = 'site' AND asite.ref = m.site_id
          WHERE m.channel IN ('flow', 'power') AND m.installed_at < %(until)s
            AND (m.removed_at IS NULL OR m.removed_at > %(start)s)
        )
        SELECT m.node_id, m.meter_id,
               floor(extract(epoch FROM m.t1 - m.t0) / m.expected_interval_s)::int,
               coalesce((SELECT sum(d.readings) FROM monitor_meter_day d
                         WHERE d.meter_id = m.meter_id AND d.day >= wb_draw_day(%(start)s)
                           + 1 AND d.day <= wb_draw_day(%(until)s)), 0)::int,
               coalesce((SELECT jsonb_object_agg(q.kind, q.n) FROM (
                          SELECT coalesce(e.kind, 'unknown') AS kind, count(*) AS n
                          FROM quality_events e WHERE e.meter_id = m.meter_id
                            AND e.ts_end > %(start)s AND e.ts_end <= %(until)s
                          GROUP BY 1) q), '{}'::jsonb)
        FROM m JOIN monitor_node_paths p ON p.node_id = m.node_id AND p.ancestor_id = %(root)s
        WHERE m.t1 > m.t0
        """,
        {"start": start, "until": until, "root": root_id})
    return [MeterQuality(n, meter, max(expected, 0), received, dict(q))
            for n, meter, expected, received, q in rows]


def unattributed_m3(conn: Conn, *, first_day: str, until: datetime) -> Decimal:
    row = conn.execute("SELECT coalesce(sum(unattributed_m3), 0) FROM monitor_site_day "
                       "WHERE day >= %s::date AND day <= wb_draw_day(%s)",
                       (first_day, until)).fetchone()
    return Decimal(row[0]) if row else Decimal(0)


def hierarchy(conn: Conn) -> Hierarchy:
    return budget_repo.load_hierarchy(conn)


def last_year(moment: datetime) -> datetime:
    """The same moment a year earlier (29 February → 28 February)."""
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:
        return moment.replace(year=moment.year - 1, day=28) + timedelta(days=1)


TEXT_SECTIONS = ("region", "implementation", "special", "safeguards")
"""附录C 一(一) 区域概况, 一(二) 水预算实施情况, 三(四) 特殊情况说明, 四 保障措施."""


def report_texts(conn: Conn, *, node_id: int, year: int) -> dict[str, str]:
    """The newest operator-written text of each section of a node's final accounts."""
    rows = conn.execute(
        "SELECT DISTINCT ON (section) section, body FROM report_texts "
        "WHERE node_id = %s AND year = %s ORDER BY section, text_id DESC",
        (node_id, year),
    ).fetchall()
    return {str(section): str(body) for section, body in rows}


def add_report_text(conn: Conn, *, node_id: int, year: int, section: str, body: str,
                    by: str) -> None:
    conn.execute(
        "INSERT INTO report_texts (node_id, year, section, body, recorded_by) "
        "VALUES (%s, %s, %s, %s, %s)",
        (node_id, year, section, body, by),
    )


def rollup_lag(conn: Conn, *, until: datetime) -> RollupLag | None:
    """What the monitor has not rolled up yet: pending data changes (consumption,
    registry, attachments, budgets) touching data up to ``until``; None when none."""
    row = conn.execute(
        "SELECT count(*), min(c.recorded_at), min(f.first) FROM monitor_changes c "
        "LEFT JOIN LATERAL (SELECT min(t) AS first FROM unnest(c.ts_from) t) f ON true "
        "WHERE c.kind IN ('consumption', 'registry', 'attachment', 'budget') "
        "AND (cardinality(c.ts_from) = 0 OR f.first < %s)",
        (until,),
    ).fetchone()
    if row is None or not row[0]:
        return None
    return RollupLag(int(row[0]), row[1], row[2])
