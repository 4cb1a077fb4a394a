"""SQL for the append path: intervals added after a site's roll-ups are added to them.

Steady traffic is register readings inserted after everything their site has
rolled up. For such a site the step reads only the new rows (by the readings'
key, per meter: everything after the site's ``rolled_to``), applies the same
truth rule and base attachment as ``monitor_site_truth``/``monitor_site_draw``,
and adds their figures to the meter-day, site-day and attribution rows, and as
deltas to the node totals. What cannot be added goes the whole-day way
(``rollups.refresh``): a site touched by anything but inserted readings, a
change reaching back to or before ``rolled_to``, a site without ``rolled_to``
yet, card sessions on the days concerned (a day's card shares are proportions,
not sums), a meter's first reading (no interval, but a reading to count), an
interval stored for another site.

Why nothing is counted twice: no interval ending after ``rolled_to`` is in the
roll-ups (both paths raise ``rolled_to`` to the latest interval end they read,
the whole-day path in a statement after all its reads), and a change that
reaches back to ``rolled_to`` or before is recomputed, whole days, never added.
The caller holds ``changes.lock_rollups`` and owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from budget.repository.connection import Conn
from monitor.repository.rollups import DeltaKey, RollupResult, apply_deltas, ensure_periods

NEW_ROWS = """
CREATE TEMP TABLE monitor_appended (
  site_id        text NOT NULL,
  meter_id       text NOT NULL,
  channel        text NOT NULL,
  ts             timestamptz NOT NULL,
  day            date NOT NULL,
  has_interval   boolean NOT NULL,
  own_site       boolean NOT NULL,
  device         boolean NOT NULL,
  status         text,
  quality        text,
  register_delta numeric,
  kwh            numeric,
  volume_m3      numeric,
  flow_m3h       double precision,
  ahead_s        double precision,
  truth          boolean NOT NULL
) ON COMMIT DELETE ROWS
"""

COLLECT = """
INSERT INTO monitor_appended
SELECT w.site_id, m.meter_id, m.channel, rr.ts, wb_draw_day(rr.ts), rr.ts_start IS NOT NULL,
       coalesce(rr.site_id = w.site_id, true), rr.origin = 'device', rr.status, rr.quality,
       rr.register_delta::numeric, rr.kwh::numeric, rr.volume_m3::numeric, rr.flow_m3h,
       extract(epoch FROM rr.ts - rr.received_at)::float8,
       coalesce(wb_channel_rank(m.channel) = (
         SELECT min(wb_channel_rank(o.channel)) FROM meters o
         WHERE o.site_id = w.site_id AND o.installed_at < rr.ts
           AND (o.removed_at IS NULL OR o.removed_at >= rr.ts)), false)
FROM unnest(%s::text[], %s::timestamptz[]) AS w(site_id, ts_from)
JOIN monitor_site_state st ON st.site_id = w.site_id AND w.ts_from > st.rolled_to
JOIN meters m ON m.site_id = w.site_id
JOIN register_readings rr ON rr.meter_id = m.meter_id AND rr.ts > st.rolled_to
"""

# Sites whose new rows cannot simply be added (see the module's docstring).
NOT_ADDABLE = """
DELETE FROM monitor_appended a USING (
  SELECT x.site_id FROM monitor_appended x
  GROUP BY x.site_id
  HAVING bool_or(x.device AND NOT x.has_interval) OR bool_or(NOT x.own_site)
      OR NOT bool_or(x.has_interval)
  UNION
  SELECT DISTINCT x.site_id FROM (SELECT DISTINCT site_id FROM monitor_appended) x
  JOIN monitor_site_state st ON st.site_id = x.site_id
  WHERE EXISTS (SELECT 1 FROM consumption_records cr WHERE cr.site_id = x.site_id
                AND cr.session_id <> '' AND cr.ts_end > wb_day_start(wb_draw_day(st.rolled_to)))
) bad WHERE a.site_id = bad.site_id
"""

METER_DAYS = """
INSERT INTO monitor_meter_day AS d (meter_id, day, site_id, channel, intervals, counted_m3,
  truth_m3, quarantined, quarantined_delta, quality_reasons, kwh, running_s, readings,
  max_flow_m3h, max_ahead_s, first_ts, last_ts)
SELECT meter_id, day, site_id, channel,
  count(*) FILTER (WHERE has_interval),
  coalesce(sum(volume_m3) FILTER (WHERE has_interval AND status = 'counted'), 0),
  coalesce(sum(volume_m3) FILTER (WHERE has_interval AND status = 'counted' AND truth), 0),
  count(*) FILTER (WHERE has_interval AND status = 'quarantined'),
  sum(register_delta) FILTER (WHERE has_interval AND status = 'quarantined'),
  coalesce(array_agg(DISTINCT quality) FILTER (WHERE has_interval AND status = 'quarantined'
                                               AND quality IS NOT NULL), '{}'),
  sum(kwh) FILTER (WHERE has_interval), NULL,
  count(*) FILTER (WHERE device), max(flow_m3h) FILTER (WHERE device),
  max(ahead_s) FILTER (WHERE device),
  min(ts) FILTER (WHERE has_interval), max(ts) FILTER (WHERE has_interval)
FROM monitor_appended
GROUP BY meter_id, day, site_id, channel
HAVING count(*) FILTER (WHERE has_interval) > 0
ORDER BY meter_id, day
ON CONFLICT (meter_id, day) DO UPDATE SET
  intervals = d.intervals + EXCLUDED.intervals,
  counted_m3 = d.counted_m3 + EXCLUDED.counted_m3,
  truth_m3 = d.truth_m3 + EXCLUDED.truth_m3,
  quarantined = d.quarantined + EXCLUDED.quarantined,
  quarantined_delta = CASE WHEN d.quarantined_delta IS NULL THEN EXCLUDED.quarantined_delta
    WHEN EXCLUDED.quarantined_delta IS NULL THEN d.quarantined_delta
    ELSE d.quarantined_delta + EXCLUDED.quarantined_delta END,
  quality_reasons = ARRAY(SELECT DISTINCT r FROM unnest(d.quality_reasons
                                                        || EXCLUDED.quality_reasons) r
                          ORDER BY r),
  kwh = CASE WHEN d.kwh IS NULL THEN EXCLUDED.kwh WHEN EXCLUDED.kwh IS NULL THEN d.kwh
    ELSE d.kwh + EXCLUDED.kwh END,
  readings = d.readings + EXCLUDED.readings,
  max_flow_m3h = greatest(d.max_flow_m3h, EXCLUDED.max_flow_m3h),
  max_ahead_s = greatest(d.max_ahead_s, EXCLUDED.max_ahead_s),
  first_ts = least(d.first_ts, EXCLUDED.first_ts),
  last_ts = greatest(d.last_ts, EXCLUDED.last_ts)
RETURNING meter_id, day
"""

# Per site and day, the new truth volume by base node (monitor_site_draw's rule
# without card shares: the days have no card sessions).
DRAWS = """
WITH by_meter AS (
  SELECT site_id, day, meter_id, sum(volume_m3) AS m3 FROM monitor_appended
  WHERE has_interval AND status = 'counted' AND truth GROUP BY 1, 2, 3
)
SELECT t.site_id, t.day, base.node_id, coalesce(base.sector, ''), wb_budget_source(s.source),
       sum(t.m3)
FROM by_meter t
JOIN sites s ON s.site_id = t.site_id
LEFT JOIN LATERAL (
  SELECT a.node_id, a.sector FROM budget_attachments a
  WHERE (a.kind = 'meter' AND a.ref = t.meter_id) OR (a.kind = 'site' AND a.ref = t.site_id)
  ORDER BY a.kind = 'meter' DESC LIMIT 1) base ON true
GROUP BY 1, 2, 3, 4, 5
HAVING sum(t.m3) <> 0
"""

ADD_DRAWS = """
INSERT INTO monitor_node_draw_day AS d (site_id, day, node_id, sector, source, volume_m3)
SELECT * FROM unnest(%s::text[], %s::date[], %s::bigint[], %s::text[], %s::text[],
                     %s::numeric[]) ORDER BY 1, 2, 3, 4
ON CONFLICT (site_id, day, node_id, sector) DO UPDATE SET volume_m3 = d.volume_m3
  + EXCLUDED.volume_m3
"""

SITE_DAYS = """
INSERT INTO monitor_site_day AS d (site_id, day, source, truth_m3, attributed_m3,
  unattributed_m3, flow_m3, card_m3, power_m3)
SELECT n.site_id, n.day, wb_budget_source(s.source), n.truth, coalesce(a.m3, 0),
       n.truth - coalesce(a.m3, 0), n.flow, n.card, n.power
FROM (
  SELECT site_id, day,
    coalesce(sum(volume_m3) FILTER (WHERE status = 'counted' AND truth), 0) AS truth,
    coalesce(sum(volume_m3) FILTER (WHERE status = 'counted' AND channel = 'flow'), 0) AS flow,
    coalesce(sum(volume_m3) FILTER (WHERE status = 'counted' AND channel = 'card'), 0) AS card,
    coalesce(sum(volume_m3) FILTER (WHERE status = 'counted' AND channel = 'power'), 0) AS power
  FROM monitor_appended WHERE has_interval GROUP BY 1, 2) n
JOIN sites s ON s.site_id = n.site_id
LEFT JOIN unnest(%s::text[], %s::date[], %s::numeric[]) AS a(site_id, day, m3)
  ON a.site_id = n.site_id AND a.day = n.day
ORDER BY 1, 2
ON CONFLICT (site_id, day) DO UPDATE SET
  truth_m3 = d.truth_m3 + EXCLUDED.truth_m3,
  attributed_m3 = d.attributed_m3 + EXCLUDED.attributed_m3,
  unattributed_m3 = d.unattributed_m3 + EXCLUDED.unattributed_m3,
  flow_m3 = d.flow_m3 + EXCLUDED.flow_m3,
  card_m3 = d.card_m3 + EXCLUDED.card_m3,
  power_m3 = d.power_m3 + EXCLUDED.power_m3
"""

CLOCKS = """
INSERT INTO monitor_meter_state (meter_id, last_ts)
SELECT meter_id, max(ts) FROM monitor_appended WHERE has_interval GROUP BY 1 ORDER BY 1
ON CONFLICT (meter_id) DO UPDATE SET last_ts = greatest(monitor_meter_state.last_ts,
                                                        EXCLUDED.last_ts)
"""

SITE_STATE = """
UPDATE monitor_site_state st SET rolled_to = greatest(st.rolled_to, x.ts)
FROM (SELECT site_id, max(ts) AS ts FROM monitor_appended GROUP BY 1) x
WHERE st.site_id = x.site_id
"""

DATA_CLOCK = """
UPDATE monitor_state SET data_clock = greatest(data_clock,
  (SELECT max(ts) FROM monitor_appended WHERE has_interval))
RETURNING data_clock
"""


def appendable(conn: Conn, candidates: dict[str, datetime]) -> set[str]:
    """Read the new rows of the sites whose changes can be added; returns those sites.

    ``candidates``: sites whose change rows in this step are all inserted readings,
    with the earliest interval end they name. The rows stay in the temporary table
    ``monitor_appended`` for ``add`` (emptied at commit)."""
    if not candidates:
        return set()
    found = conn.execute("SELECT to_regclass('pg_temp.monitor_appended')").fetchone()
    if found is None or found[0] is None:
        conn.execute(NEW_ROWS)  # once per connection; emptied at every commit
    sites = sorted(candidates)
    conn.execute(COLLECT, (sites, [candidates[s] for s in sites]))
    conn.execute(NOT_ADDABLE)
    return {str(r[0]) for r in conn.execute("SELECT DISTINCT site_id FROM monitor_appended")}


def add(conn: Conn) -> RollupResult:
    """Add the rows ``appendable`` kept to every roll-up; the nodes and days changed."""
    result = RollupResult()
    span = conn.execute("SELECT min(day), max(day) FROM monitor_appended").fetchone()
    if span is None or span[0] is None:
        return result
    ensure_periods(conn, first=span[0], last=span[1])
    for meter_id, day in conn.execute(METER_DAYS):
        result.meter_days[str(meter_id)] = max(day, result.meter_days.get(str(meter_id), day))
    draws = conn.execute(DRAWS).fetchall()
    attributed = [d for d in draws if d[2] is not None]
    if attributed:
        conn.execute(ADD_DRAWS, [list(c) for c in zip(*attributed, strict=True)])
    per_site_day: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    deltas: dict[DeltaKey, Decimal] = defaultdict(Decimal)
    for site_id, day, node_id, sector, source, m3 in attributed:
        per_site_day[(site_id, day)] += m3
        deltas[(int(node_id), day, source, sector)] += m3
    keys = sorted(per_site_day)
    conn.execute(SITE_DAYS, ([k[0] for k in keys], [k[1] for k in keys],
                             [per_site_day[k] for k in keys]))
    apply_deltas(conn, {k: v for k, v in deltas.items() if v != 0}, result)
    conn.execute(CLOCKS)
    conn.execute(SITE_STATE)
    for site_id, first, last in conn.execute("SELECT site_id, min(day), max(day) "
                                             "FROM monitor_appended WHERE has_interval "
                                             "GROUP BY 1"):
        result.site_days[str(site_id)] = last
        result.site_spans[str(site_id)] = [(first, last)]
    row = conn.execute(DATA_CLOCK).fetchone()
    result.data_clock = row[0] if row else None
    return result
