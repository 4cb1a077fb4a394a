"""SQL for the data-quality rules' inputs: meter-days, site-days, silent meters, whose node."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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
    quality_reasons: list[str]  # one per quarantined interval (``quarantined_use`` counts them)
    kwh: Decimal | None
    running_s: Decimal | None
    readings: int
    max_flow_m3h: float | None
    max_ahead_s: float | None
    last_ts: datetime | None
    rated_m3h: float | None
    node_id: int | None
    quarantined_delta: Decimal | None = None  # register movement of the quarantined intervals


_PICKED = """
SELECT d.meter_id, d.site_id, d.channel, d.day, d.counted_m3, d.quarantined,
  d.quality_reasons, d.kwh, d.running_s, d.readings, d.max_flow_m3h, d.max_ahead_s,
  d.last_ts, s.rated_m3h, (SELECT a.node_id FROM budget_attachments a WHERE
   (a.kind = 'meter' AND a.ref = d.meter_id) OR (a.kind = 'site' AND a.ref = d.site_id)
   ORDER BY a.kind = 'meter' DESC LIMIT 1), d.quarantined_delta
FROM (SELECT d.meter_id, d.day FROM unnest(%s::text[], %s::date[], %s::date[])
        AS r(site_id, first_day, last_day)
      JOIN monitor_meter_day d ON d.site_id = r.site_id
        AND d.day BETWEEN r.first_day AND r.last_day
      UNION
      SELECT d.meter_id, d.day FROM monitor_meter_day d
      WHERE d.day > %s::date AND d.day <= %s::date) p
JOIN monitor_meter_day d ON d.meter_id = p.meter_id AND d.day = p.day
JOIN sites s ON s.site_id = d.site_id
ORDER BY d.site_id, d.day, d.meter_id
"""

_REASONS = """
SELECT c.meter_id, w.day, coalesce(c.quality, 'unspecified'), count(*)
FROM unnest(%s::text[], %s::date[]) AS w(meter_id, day)
JOIN consumption c ON c.meter_id = w.meter_id AND c.ts_end > wb_day_start(w.day)
  AND c.ts_end <= wb_day_start(w.day + 1)
WHERE c.status = 'quarantined' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def meter_days(conn: Conn, *, spans: Mapping[str, Sequence[tuple[date, date]]],
               completed: tuple[date, date] | None = None) -> list[MeterDay]:
    """Every meter-day of each site within its spans of days (inclusive; overlapping spans
    give each meter-day once) and, with ``completed`` = (after, through), every meter-day
    of any site on the days after ``after`` up to ``through`` — with the site's rating,
    the node whose people are warned and one quality reason per quarantined interval."""
    flat = [(site, first, last) for site in sorted(spans) for first, last in spans[site]]
    after, through = completed if completed is not None else (None, None)
    rows = conn.execute(_PICKED, ([f[0] for f in flat], [f[1] for f in flat],
                                  [f[2] for f in flat], after, through)).fetchall()
    quarantined = [(r[0], r[3]) for r in rows if r[5]]
    reasons: dict[tuple[str, date], list[str]] = {}
    if quarantined:
        for meter_id, day, reason, n in conn.execute(
                _REASONS, ([q[0] for q in quarantined], [q[1] for q in quarantined])):
            reasons.setdefault((meter_id, day), []).extend([str(reason)] * int(n))
    return [MeterDay(r[0], r[1], r[2], r[3], r[4], r[5],
                     reasons.get((r[0], r[3]), list(r[6])), *r[7:]) for r in rows]


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
