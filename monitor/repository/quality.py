"""SQL for the data-quality rules' inputs: meter-days, site-days, silent meters, whose node."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from budget.repository.connection import Conn


@dataclass(frozen=True, slots=True)
class MeterDay:
    meter_id: str
    site_id: str
    channel: str
    day: date
    counted_m3: Decimal
    quarantined: int
    quality_reasons: list[str]
    kwh: Decimal | None
    running_s: Decimal | None
    readings: int
    max_flow_m3h: float | None
    max_ahead_s: float | None
    last_ts: datetime | None
    rated_m3h: float | None
    node_id: int | None


def meter_days(conn: Conn, *, latest: dict[str, date]) -> list[MeterDay]:
    """Each meter's given day (its latest rolled up), with its site's rating and its node."""
    if not latest:
        return []
    meters = sorted(latest)
    rows = conn.execute(
        "SELECT d.meter_id, d.site_id, d.channel, d.day, d.counted_m3, d.quarantined, "
        "d.quality_reasons, d.kwh, d.running_s, d.readings, d.max_flow_m3h, d.max_ahead_s, "
        "d.last_ts, s.rated_m3h, (SELECT a.node_id FROM budget_attachments a WHERE "
        " (a.kind = 'meter' AND a.ref = d.meter_id) OR (a.kind = 'site' AND a.ref = d.site_id) "
        " ORDER BY a.kind = 'meter' DESC LIMIT 1) "
        "FROM unnest(%s::text[], %s::date[]) AS w(meter_id, day) "
        "JOIN monitor_meter_day d ON d.meter_id = w.meter_id AND d.day = w.day "
        "JOIN sites s ON s.site_id = d.site_id ORDER BY d.meter_id",
        (meters, [latest[m] for m in meters])).fetchall()
    return [MeterDay(r[0], r[1], r[2], r[3], r[4], r[5], list(r[6]), *r[7:]) for r in rows]


def site_meter_days(conn: Conn, *, site_days: dict[str, date]) -> list[MeterDay]:
    """Every meter of each site on the given day, for sites metered by more than one
    channel that day (the site rules compare channels: one channel says nothing)."""
    if not site_days:
        return []
    sites = sorted(site_days)
    found = conn.execute(
        "SELECT meter_id, day FROM (SELECT d.meter_id, d.day, d.channel, "
        " min(d.channel) OVER (PARTITION BY d.site_id) AS lowest,"
        " max(d.channel) OVER (PARTITION BY d.site_id) AS highest"
        " FROM unnest(%s::text[], %s::date[]) AS w(site_id, day)"
        " JOIN monitor_meter_day d ON d.site_id = w.site_id AND d.day = w.day) x "
        "WHERE lowest <> highest",
        (sites, [site_days[s] for s in sites])).fetchall()
    return meter_days(conn, latest={str(m): d for m, d in found})


@dataclass(frozen=True, slots=True)
class MeterSilence:
    meter_id: str
    site_id: str
    last_seen_at: datetime
    expected_interval_s: int
    node_id: int | None


def silence_candidates(conn: Conn, *, at: datetime, tolerance: float,
                       live_subjects: Collection[str]) -> list[MeterSilence]:
    """Register meters installed and not removed at ``at`` that are silent longer than their
    expected interval × tolerance, and those with a live ``meter_silent`` alert."""
    rows = conn.execute(
        "SELECT m.meter_id, m.site_id, coalesce(s.last_ts, m.installed_at), "
        "m.expected_interval_s, (SELECT a.node_id FROM budget_attachments a WHERE "
        " (a.kind = 'meter' AND a.ref = m.meter_id) OR (a.kind = 'site' AND a.ref = m.site_id) "
        " ORDER BY a.kind = 'meter' DESC LIMIT 1) "
        "FROM meters m LEFT JOIN monitor_meter_state s USING (meter_id) "
        "LEFT JOIN unnest(%s::text[]) AS live(subject) ON live.subject = 'meter/' || m.meter_id "
        "WHERE m.channel <> 'card' AND m.installed_at < %s "
        "AND (m.removed_at IS NULL OR m.removed_at > %s) "
        "AND (coalesce(s.last_ts, m.installed_at) "
        "     < %s - make_interval(secs => m.expected_interval_s * %s) "
        "     OR live.subject IS NOT NULL)",
        (sorted(live_subjects), at, at, at, tolerance)).fetchall()
    return [MeterSilence(*r) for r in rows]


def live_subjects(conn: Conn, *, kind: str) -> list[str]:
    return [str(r[0]) for r in conn.execute(
        "SELECT subject FROM monitor_alerts WHERE status <> 'resolved' AND kind = %s", (kind,))]
