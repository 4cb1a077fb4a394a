"""The monitor's tables for the benchmark year (docs/monitor-schema.md), written
on the server from the same closed-form draw as the readings.

A site's truth is its card controller where it has one (no flow meter on those
wells), else its flow or power meter; its water lands on the unit it is
attached to; node totals are sums up the closure table.
"""

from __future__ import annotations

from typing import Any

import psycopg

from dashboards.benchmark_data import Plan, draw_sql

DAYS = """
  CROSS JOIN generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS g(d)
  CROSS JOIN LATERAL (SELECT g.d::date AS day,
                             (g.d::date - %(first)s::date) * 24 AS h0) x"""

METER_DAY = f"""
INSERT INTO monitor_meter_day (meter_id, day, site_id, channel, intervals, counted_m3,
                               truth_m3, quarantined, quality_reasons, readings, max_flow_m3h,
                               max_ahead_s, first_ts, last_ts)
SELECT m.meter_id, x.day, m.site_id, m.channel, CASE m.channel WHEN 'card' THEN 2 ELSE 24 END,
       v.m3, CASE WHEN m.channel = 'card' OR NOT has_card THEN v.m3 ELSE 0 END,
       CASE WHEN q.bad THEN 1 ELSE 0 END,
       CASE WHEN q.bad THEN ARRAY['negative_delta'] ELSE '{{}}' END,
       CASE m.channel WHEN 'card' THEN 0 ELSE 24 END,
       CASE m.channel WHEN 'flow' THEN s.rated_m3h END,
       CASE WHEN q.skew THEN 420 ELSE 40 END,
       wb_day_start(x.day) + interval '1 hour', wb_day_start(x.day + 1)
FROM meters m JOIN sites s USING (site_id)
CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM meters c WHERE c.site_id = m.site_id
                                   AND c.channel = 'card') AS has_card) card
{DAYS}
CROSS JOIN LATERAL (
  SELECT CASE m.channel WHEN 'card' THEN s.rated_m3h * 3
         ELSE {draw_sql('s.rated_m3h', '(x.h0 + 24)')} - {draw_sql('s.rated_m3h', 'x.h0')}
         END::numeric AS m3
) v
CROSS JOIN LATERAL (SELECT hashtext(m.meter_id || x.day) %% 80 = 0 AS bad,
                           hashtext(x.day || m.meter_id) %% 3000 = 0 AS skew) q
"""

SITE_DAY = """
INSERT INTO monitor_site_day (site_id, day, source, truth_m3, attributed_m3, unattributed_m3,
                              flow_m3, card_m3, power_m3)
SELECT d.site_id, d.day, wb_budget_source(s.source), sum(d.truth_m3), sum(d.truth_m3),
       0,
       coalesce(sum(d.counted_m3) FILTER (WHERE d.channel = 'flow'), 0),
       coalesce(sum(d.counted_m3) FILTER (WHERE d.channel = 'card'), 0),
       coalesce(sum(d.counted_m3) FILTER (WHERE d.channel = 'power'), 0)
FROM monitor_meter_day d JOIN sites s USING (site_id)
GROUP BY d.site_id, d.day, s.source
"""

NODE_DRAW_DAY = """
INSERT INTO monitor_node_draw_day (site_id, day, node_id, sector, source, volume_m3)
SELECT d.site_id, d.day, a.node_id, '', d.source, d.truth_m3
FROM monitor_site_day d JOIN budget_attachments a ON a.kind = 'site' AND a.ref = d.site_id
"""

NODE_DAY = """
INSERT INTO monitor_node_day (node_id, day, source, sector, own_m3, total_m3)
SELECT p.ancestor_id, d.day, d.source, d.sector,
       coalesce(sum(d.volume_m3) FILTER (WHERE p.depth = 0), 0), sum(d.volume_m3)
FROM monitor_node_draw_day d JOIN monitor_node_paths p ON p.node_id = d.node_id
GROUP BY 1, 2, 3, 4
"""

PERIODS = """
INSERT INTO monitor_periods (period, kind, year, first_day, last_day)
SELECT %(year)s::text, 'year', %(year)s, %(first)s::date, %(last)s::date
UNION ALL
SELECT %(year)s || '-' || lpad(m::text, 2, '0'), 'month', %(year)s, make_date(%(year)s, m, 1),
       (make_date(%(year)s, m, 1) + interval '1 month - 1 day')::date
FROM generate_series(1, 12) m
"""

EXECUTIONS = """
WITH budgets AS (
  SELECT node_id, source, sum(volume_m3) AS budget FROM budget_entries
  WHERE status = 'approved' AND year = %(year)s GROUP BY 1, 2
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
SELECT k.node_id, %(year)s::text, k.source, '', %(now)s, coalesce(d.drawn, 0), k.budget,
       k.budget - coalesce(d.drawn, 0), coalesce(d.drawn, 0) / nullif(k.budget, 0), 0.9999,
       coalesce(d.drawn, 0) / 0.9999,
       CASE WHEN coalesce(d.drawn, 0) > k.budget THEN %(now)s::timestamptz - interval '20 days'
       END,
       CASE WHEN coalesce(d.drawn, 0) >= k.budget THEN 'overrun'
            WHEN coalesce(d.drawn, 0) >= 0.9 * k.budget THEN 'warning'
            WHEN coalesce(d.drawn, 0) >= 0.8 * k.budget THEN 'notice' END
FROM keyed k LEFT JOIN drawn d USING (node_id, source)
"""

# Quality alerts through the year, mostly resolved after a few hours; budget
# alerts for every node at a level; a few hundred still live.
ALERTS = """
WITH numbered AS (
  SELECT meter_id, site_id, row_number() OVER (ORDER BY meter_id) - 1 AS i,
         count(*) OVER () AS total
  FROM meters
)
INSERT INTO monitor_alerts (subject, kind, period, seq, status, severity, detail, node_id,
                            site_id, meter_id, opened_at, last_seen_at, evaluated_at,
                            resolved_by, resolved_at)
SELECT 'meter/' || m.meter_id, (ARRAY['meter_silent', 'quarantined_use', 'register_stuck',
       'flow_above_capacity'])[n %% 4 + 1], %(year)s::text, n / 4 + 1,
       CASE WHEN live THEN 'open' ELSE 'resolved' END,
       (ARRAY['notice', 'warning', 'critical'])[n %% 3 + 1], 'benchmark alert ' || n,
       a.node_id, m.site_id, m.meter_id, opened, opened + interval '3 hours', opened,
       CASE WHEN NOT live THEN 'rule' END, CASE WHEN NOT live THEN opened + interval '3 hours' END
FROM generate_series(0, 19999) n
JOIN numbered m ON m.i = (n * 7919) %% m.total
JOIN budget_attachments a ON a.kind = 'site' AND a.ref = m.site_id
CROSS JOIN LATERAL (SELECT %(first)s::timestamptz + (n * 1559 %% 8700) * interval '1 hour'
                           AS opened, n >= 19800 AS live) t
ON CONFLICT DO NOTHING
"""

BUDGET_ALERTS = """
WITH numbered AS (
  SELECT meter_id, site_id, row_number() OVER (ORDER BY meter_id) - 1 AS i,
         count(*) OVER () AS total
  FROM meters
)
INSERT INTO monitor_alerts (subject, kind, period, seq, status, severity, detail, node_id,
                            opened_at, last_seen_at, evaluated_at)
SELECT 'node/' || node_id, 'budget_level', period, 1, 'open',
       CASE level WHEN 'overrun' THEN 'critical' WHEN 'warning' THEN 'warning'
            ELSE 'notice' END,
       'execution ' || round(execution_rate * 100) || '%%', node_id,
       at - interval '40 days', at, at
FROM monitor_executions WHERE level IS NOT NULL AND source = ''
"""

EVENTS = """
INSERT INTO monitor_alert_events (alert_id, event, status, severity, at, by, detail)
SELECT alert_id, 'opened', 'open', severity, opened_at, 'rule', detail FROM monitor_alerts
UNION ALL
SELECT alert_id, 'resolved', 'resolved', severity, resolved_at, 'rule', detail
FROM monitor_alerts WHERE resolved_at IS NOT NULL
"""

STATE = """
INSERT INTO monitor_meter_state (meter_id, last_ts)
SELECT meter_id, CASE WHEN hashtext(meter_id) %% 100 = 0 THEN %(now)s::timestamptz
                      - interval '3 days' ELSE %(now)s END
FROM meters;
"""


def write_rollups(conn: psycopg.Connection[Any], plan: Plan) -> None:
    days = {"first": plan.start.date(), "last": plan.now.date(), "year": plan.year,
            "now": plan.now}
    for statement in (METER_DAY, SITE_DAY, NODE_DRAW_DAY, NODE_DAY, PERIODS, EXECUTIONS,
                      ALERTS, BUDGET_ALERTS, EVENTS, STATE):
        conn.execute(statement.encode(), days)
    conn.execute("UPDATE monitor_state SET data_clock = %s", (plan.now,))
