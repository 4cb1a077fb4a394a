"""SQL for the change log: claim rows, give up on poison ones, resolve open spans to days."""

from __future__ import annotations

from budget.repository.connection import Conn
from monitor.changes import ChangeRow, DaySpan, SiteSpan, merge_days, within

__all__ = ["DaySpan", "claim", "day_spans", "lock_rollups", "newest", "pending",
           "record_failure"]

ROLLUP_LOCK = 7_411_300  # advisory lock key: one roll-up transaction at a time
MAX_ATTEMPTS = 5


def lock_rollups(conn: Conn) -> None:
    """Roll-ups are maintained by adding deltas: one maintaining transaction at a time."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (ROLLUP_LOCK,))


def claim(conn: Conn, *, limit: int, upto: int | None = None,
          site_days: int | None = None) -> list[ChangeRow]:
    """Delete and return the oldest change rows (up to id ``upto``), at most ``limit`` and,
    beyond the first, at most ``site_days`` site-days named (``changes.within``); gone for
    good only if the caller commits. Rows looked at but not taken stay, locked until then."""
    rows = conn.execute(
        "SELECT change_id, kind, site_ids, ts_from, ts_to, node_ids, years, appended "
        "FROM monitor_changes WHERE attempts < %s AND (%s::bigint IS NULL OR change_id <= %s) "
        "ORDER BY change_id LIMIT %s FOR UPDATE SKIP LOCKED",
        (MAX_ATTEMPTS, upto, upto, limit)).fetchall()
    found = [ChangeRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]
    taken = found if site_days is None else within(found, site_days=site_days)
    if taken:
        conn.execute("DELETE FROM monitor_changes WHERE change_id = ANY(%s)",
                     ([r.change_id for r in taken],))
    return taken


def record_failure(conn: Conn, *, change_ids: list[int], error: str) -> None:
    """After a failed attempt (its transaction rolled back): count it, keep the reason."""
    conn.execute("UPDATE monitor_changes SET attempts = attempts + 1, last_error = %s "
                 "WHERE change_id = ANY(%s)", (error[:2000], change_ids))


def newest(conn: Conn) -> int | None:
    row = conn.execute("SELECT max(change_id) FROM monitor_changes").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def pending(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM monitor_changes WHERE attempts < %s",
                       (MAX_ATTEMPTS,)).fetchone()
    return int(row[0]) if row else 0


def day_spans(conn: Conn, spans: list[SiteSpan]) -> list[DaySpan]:
    """Days to roll up again per site, disjoint (``merge_days``); an open end reaches the
    site's first or last day in the data or in the roll-ups (whichever is further), so
    stale rows are removed too. The site's data is found by index (its meters' readings,
    its consumption records), never by scanning every site's."""
    if not spans:
        return []
    rows = conn.execute(
        """
        SELECT s.site_id,
               CASE WHEN s.lo IS NOT NULL THEN wb_draw_day(s.lo) ELSE least(
                 (SELECT wb_draw_day(min(x.ts)) FROM meters m CROSS JOIN LATERAL (
                    SELECT rr.ts FROM register_readings rr WHERE rr.meter_id = m.meter_id
                    AND rr.site_id = s.site_id ORDER BY rr.ts LIMIT 1) x
                  WHERE m.site_id = s.site_id),
                 (SELECT wb_draw_day(min(ts_end)) FROM consumption_records c
                  WHERE c.site_id = s.site_id),
                 (SELECT min(day) FROM monitor_site_day d WHERE d.site_id = s.site_id)) END,
               CASE WHEN s.hi IS NOT NULL THEN wb_draw_day(s.hi) ELSE greatest(
                 (SELECT wb_draw_day(max(x.ts)) FROM meters m CROSS JOIN LATERAL (
                    SELECT rr.ts FROM register_readings rr WHERE rr.meter_id = m.meter_id
                    AND rr.site_id = s.site_id ORDER BY rr.ts DESC LIMIT 1) x
                  WHERE m.site_id = s.site_id),
                 (SELECT wb_draw_day(max(ts_end)) FROM consumption_records c
                  WHERE c.site_id = s.site_id),
                 (SELECT max(day) FROM monitor_site_day d WHERE d.site_id = s.site_id)) END
        FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[]) AS s(site_id, lo, hi)
        """,
        ([s.site_id for s in spans], [s.ts_from for s in spans], [s.ts_to for s in spans]),
    ).fetchall()
    found = []
    for site_id, first, last in rows:
        if first is None or last is None:
            continue  # no data and nothing rolled up: nothing to do
        last = max(first, last)  # a restatement past the site's last data
        found.append(DaySpan(str(site_id), first, last))
    return merge_days(found)
