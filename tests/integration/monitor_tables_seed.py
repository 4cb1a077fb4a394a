"""Fills the monitor's tables (migration 300, docs/monitor-schema.md) from the
seeded readings, so the dashboard queries over them have rows.

The monitor's maintainer was not on the monitor branch when these tests were
written; this stands in for it with set-based SQL. Node attribution is the
monitor's own definition (``monitor_site_draw``); the roll-ups are sums of it
up the closure table; executions use the ledger's effective budget and the
year's elapsed share as time progress; a few alerts of each family are
recorded. The dashboards only read these tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

ROLLUPS = """
INSERT INTO monitor_node_draw_day (site_id, day, node_id, sector, source, volume_m3)
SELECT site_id, day, node_id, sector, source, volume_m3
FROM monitor_site_draw(%(sites)s, %(from_days)s, %(to_days)s)
WHERE node_id IS NOT NULL;

INSERT INTO monitor_node_day (node_id, day, source, sector, own_m3, total_m3)
SELECT p.ancestor_id, d.day, d.source, d.sector,
       coalesce(sum(d.volume_m3) FILTER (WHERE p.depth = 0), 0), sum(d.volume_m3)
FROM monitor_node_draw_day d JOIN monitor_node_paths p ON p.node_id = d.node_id
GROUP BY 1, 2, 3, 4;

INSERT INTO monitor_site_day (site_id, day, source, truth_m3, attributed_m3, unattributed_m3,
                              flow_m3, card_m3, power_m3)
SELECT s.site_id, c.day, wb_budget_source(s.source),
       coalesce(t.truth, 0), coalesce(a.attributed, 0),
       coalesce(t.truth, 0) - coalesce(a.attributed, 0),
       c.flow, c.card, c.power
FROM (SELECT site_id, wb_draw_day(ts_end) AS day,
             coalesce(sum(volume_m3) FILTER (WHERE m.channel = 'flow'), 0)::numeric AS flow,
             coalesce(sum(volume_m3) FILTER (WHERE m.channel = 'card'), 0)::numeric AS card,
             coalesce(sum(volume_m3) FILTER (WHERE m.channel = 'power'), 0)::numeric AS power
      FROM consumption JOIN meters m USING (meter_id, site_id)
      WHERE status = 'counted' GROUP BY 1, 2) c
JOIN sites s USING (site_id)
LEFT JOIN (SELECT site_id, wb_draw_day(ts_end) AS day, sum(volume_m3)::numeric AS truth
           FROM site_consumption WHERE status = 'counted' GROUP BY 1, 2) t USING (site_id, day)
LEFT JOIN (SELECT site_id, day, sum(volume_m3) AS attributed
           FROM monitor_node_draw_day GROUP BY 1, 2) a USING (site_id, day);

INSERT INTO monitor_meter_day (meter_id, day, site_id, channel, intervals, counted_m3, truth_m3,
                               quarantined, quarantined_delta, quality_reasons, kwh, readings,
                               max_flow_m3h, max_ahead_s, first_ts, last_ts)
SELECT c.meter_id, c.day, m.site_id, m.channel, c.intervals, c.counted, c.counted,
       c.quarantined, c.delta, c.reasons, c.kwh, coalesce(r.readings, 0), r.max_flow,
       r.ahead, c.first_ts, c.last_ts
FROM (SELECT meter_id, wb_draw_day(ts_end) AS day, count(*) AS intervals,
             sum(volume_m3)::numeric AS counted,
             count(*) FILTER (WHERE status = 'quarantined') AS quarantined,
             sum(register_delta) FILTER (WHERE status = 'quarantined')::numeric AS delta,
             coalesce(array_agg(DISTINCT quality) FILTER (WHERE status = 'quarantined'), '{}')
               AS reasons,
             sum(kwh)::numeric AS kwh, min(ts_end) AS first_ts, max(ts_end) AS last_ts
      FROM consumption GROUP BY 1, 2) c
JOIN meters m USING (meter_id)
LEFT JOIN (SELECT meter_id, wb_draw_day(ts) AS day, count(*) AS readings,
                  max(flow_m3h) AS max_flow,
                  max(extract(epoch FROM ts - received_at)) AS ahead
           FROM register_readings GROUP BY 1, 2) r USING (meter_id, day);

-- One device clock 7 minutes fast on the last day: ingestion cannot produce one
-- for traffic from the past (received_at is the server's clock).
UPDATE monitor_meter_day SET max_ahead_s = 420
WHERE meter_id = (SELECT min(meter_id) FROM meters
                  WHERE site_id = %(spike_site)s AND channel = 'flow')
  AND day = (SELECT max(day) FROM monitor_meter_day);

INSERT INTO monitor_meter_state (meter_id, last_ts)
SELECT meter_id, max(ts_end) FROM consumption GROUP BY 1;
UPDATE monitor_state SET data_clock = (SELECT max(ts_end) FROM consumption);
"""

PERIODS = """
INSERT INTO monitor_periods (period, kind, year, first_day, last_day)
SELECT %(year)s::text, 'year', %(year)s, make_date(%(year)s, 1, 1), make_date(%(year)s, 12, 31)
UNION ALL
SELECT %(year)s || '-' || lpad(m::text, 2, '0'), 'month', %(year)s, make_date(%(year)s, m, 1),
       (make_date(%(year)s, m, 1) + interval '1 month - 1 day')::date
FROM generate_series(1, 12) m;
"""

EXECUTIONS = """
WITH budgets AS (
  SELECT node_id, source, sum(CASE WHEN kind IN ('cut', 'trade_out') THEN -volume_m3
                                   ELSE volume_m3 END) AS budget
  FROM budget_entries WHERE status = 'approved' AND year = %(year)s GROUP BY 1, 2
), keyed AS (
  SELECT node_id, source, budget FROM budgets
  UNION ALL SELECT node_id, '', sum(budget) FROM budgets GROUP BY 1
), drawn AS (
  SELECT node_id, source, sum(total_m3) AS drawn FROM monitor_node_period
  WHERE period = %(year)s::text GROUP BY 1, 2
  UNION ALL SELECT node_id, '', sum(total_m3) FROM monitor_node_period
  WHERE period = %(year)s::text GROUP BY 1
)
INSERT INTO monitor_executions (node_id, period, source, sector, at, drawn_m3, budget_m3,
                                remaining_m3, execution_rate, time_progress, projected_m3,
                                exhaustion_at, level)
SELECT k.node_id, %(year)s::text, k.source, '', %(at)s, coalesce(d.drawn, 0), k.budget,
       k.budget - coalesce(d.drawn, 0), coalesce(d.drawn, 0) / nullif(k.budget, 0),
       %(progress)s, coalesce(d.drawn, 0) / %(progress)s,
       CASE WHEN coalesce(d.drawn, 0) / %(progress)s > k.budget
            THEN %(at)s::timestamptz + interval '60 days' END,
       CASE WHEN coalesce(d.drawn, 0) >= k.budget THEN 'overrun'
            WHEN coalesce(d.drawn, 0) >= 0.9 * k.budget THEN 'warning'
            WHEN coalesce(d.drawn, 0) >= 0.8 * k.budget THEN 'notice' END
FROM keyed k LEFT JOIN drawn d USING (node_id, source);
"""

ALERT = """
INSERT INTO monitor_alerts (subject, kind, period, seq, status, severity, detail, node_id,
                            site_id, meter_id, opened_at, last_seen_at, evaluated_at,
                            resolved_by, resolved_at)
VALUES (%(subject)s, %(kind)s, %(period)s, 1, %(status)s, %(severity)s, %(detail)s,
        %(node_id)s, %(site_id)s, %(meter_id)s, %(opened)s, %(seen)s, %(seen)s,
        %(resolved_by)s, %(resolved_at)s)
RETURNING alert_id
"""


def _alerts(conn: psycopg.Connection[Any], *, now: datetime, year: int,
            spike_site: str) -> None:
    """A township's budget warning (open), a quarantine notice on the spiked meter
    (open) and a critical capacity alert on its site (resolved)."""
    township = conn.execute("SELECT node_id FROM budget_nodes WHERE level = 'township' "
                            "ORDER BY code LIMIT 1").fetchone()
    meter = conn.execute("SELECT meter_id FROM meters WHERE site_id = %s ORDER BY meter_id "
                         "LIMIT 1", (spike_site,)).fetchone()
    unit = conn.execute("SELECT node_id FROM budget_attachments WHERE kind = 'site' "
                        "AND ref = %s", (spike_site,)).fetchone()
    assert township
    assert meter
    assert unit
    alerts = [  # subject, kind, severity, detail, node, site, meter, days ago, resolved
        (f"node/{township[0]}", "budget_level", "warning", "执行率 91%", township[0], None,
         None, 9, False),
        (f"meter/{meter[0]}", "quarantined_use", "notice", "1 interval quarantined",
         unit[0], spike_site, meter[0], 2, False),
        (f"site/{spike_site}", "flow_above_capacity", "critical", "flow 3 × rated capacity",
         unit[0], spike_site, None, 3, True),
    ]
    for subject, kind, severity, detail, node_id, site, meter_id, days, resolved in alerts:
        opened = now - timedelta(days=days)
        resolved_at = opened + timedelta(hours=6) if resolved else None
        alert = conn.execute(ALERT, {
            "subject": subject, "kind": kind, "period": str(year),
            "status": "resolved" if resolved else "open", "severity": severity,
            "detail": detail, "node_id": node_id, "site_id": site, "meter_id": meter_id,
            "opened": opened, "seen": resolved_at or now,
            "resolved_by": "rule" if resolved else None, "resolved_at": resolved_at,
        }).fetchone()
        assert alert is not None
        events = [("opened", "open", opened)]
        if resolved_at:
            events.append(("resolved", "resolved", resolved_at))
        for event, status, at in events:
            conn.execute("INSERT INTO monitor_alert_events (alert_id, event, status, severity, "
                         "at, by, detail) VALUES (%s, %s, %s, %s, %s, 'rule', %s)",
                         (alert[0], event, status, severity, at, detail))


def fill_monitor_tables(url: str, *, now: datetime, spike_site: str) -> None:
    year = now.year
    year_start = datetime(year, 1, 1, tzinfo=now.tzinfo)
    year_end = datetime(year + 1, 1, 1, tzinfo=now.tzinfo)
    progress = (now - year_start) / (year_end - year_start)
    with psycopg.connect(url) as conn:
        sites = [r[0] for r in conn.execute("SELECT site_id FROM sites ORDER BY 1")]
        days = conn.execute("SELECT min(wb_draw_day(ts_end)), max(wb_draw_day(ts_end)) "
                            "FROM consumption").fetchone()
        assert days is not None
        params = {"sites": sites, "from_days": [days[0]] * len(sites),
                  "to_days": [days[1]] * len(sites), "spike_site": spike_site}
        for statement in ROLLUPS.split(";\n"):
            if statement.strip():
                conn.execute(statement.encode(), params if "%(" in statement else None)
        conn.execute(PERIODS.encode(), {"year": year})  # its trigger sums the periods from the days
        conn.execute(EXECUTIONS, {"year": year, "at": now, "progress": progress})
        _alerts(conn, now=now, year=year, spike_site=spike_site)
        conn.commit()
