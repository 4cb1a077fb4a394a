-- Monitor catch-up in linear time (issue 11; docs/monitor.md, "Catching up").
--
-- The whole-day roll-up read a site's intervals through the view `consumption`
-- by site_id. register_readings has no index on site_id (ingest writes one
-- index entry per reading less without it), so every step scanned the intervals
-- of every site in the hypertable, or of every site in the time window; and
-- monitor_site_truth joined its intervals with themselves, which the planner,
-- estimating one row, ran as a nested loop: a backlog of one well's 120 days
-- cost 0.6 s in that one statement, 30 days 0.07 s.
--
-- monitor_site_intervals reads exactly the ranges' intervals by index: register
-- intervals through the site's meters (meters_site) and the readings' primary
-- key (meter_id, ts), the other rows by consumption_records_site. A register
-- interval's site is its meter's site: ingestion derives it from the meter, and
-- the registry rederives a meter's readings when the meter moves (save_registry)
-- or keeps its site (replace_meter). The `rr.site_id = r.site_id` filter keeps
-- the view's definition for any row that would not follow it.
CREATE FUNCTION monitor_site_intervals(p_sites text[], p_from date[], p_to date[])
RETURNS TABLE (meter_id text, ts_end timestamptz, ts_start timestamptz, site_id text,
               session_id text, method text, status text, quality text,
               register_delta double precision, kwh double precision,
               coefficient double precision, volume_m3 double precision)
LANGUAGE sql STABLE AS $$
WITH ranges AS MATERIALIZED (
  SELECT r.site_id, wb_day_start(r.d_from) AS t_from, wb_day_start(r.d_to + 1) AS t_to
  FROM unnest(p_sites, p_from, p_to) AS r(site_id, d_from, d_to)
)
SELECT rr.meter_id, rr.ts, rr.ts_start, rr.site_id, ''::text, rr.method, rr.status, rr.quality,
       rr.register_delta, rr.kwh, rr.coefficient, rr.volume_m3
FROM ranges r
JOIN meters m ON m.site_id = r.site_id
JOIN register_readings rr ON rr.meter_id = m.meter_id AND rr.ts > r.t_from AND rr.ts <= r.t_to
WHERE rr.site_id = r.site_id
UNION ALL
SELECT cr.meter_id, cr.ts_end, cr.ts_start, cr.site_id, cr.session_id, cr.method, cr.status,
       cr.quality, cr.register_delta, cr.kwh, cr.coefficient, cr.volume_m3
FROM ranges r
JOIN consumption_records cr ON cr.site_id = r.site_id AND cr.ts_end > r.t_from
 AND cr.ts_end <= r.t_to
$$;

-- The site's truth (migration 004's rule: flow meter > IC card > power conversion, among
-- the meters installed at each interval's end). Migration 301 joined the intervals
-- with the minimum rank per interval; estimated at one row, that join ran as a nested
-- loop (quadratic). Here nothing is joined to the intervals: an interval of a meter
-- installed at its end, with no better-ranked meter ever at its site, is the truth (the
-- usual case, decided per meter); any other is checked with the site's few meters
-- (index meters_site). Same answers, linear in the intervals whatever the plan.
CREATE OR REPLACE FUNCTION monitor_site_truth(p_sites text[], p_from date[], p_to date[])
RETURNS TABLE (meter_id text, ts_end timestamptz, site_id text, session_id text,
               status text, volume_m3 double precision)
LANGUAGE sql STABLE AS $$
WITH ranges AS MATERIALIZED (
  SELECT r.site_id, wb_day_start(r.d_from) AS t_from, wb_day_start(r.d_to + 1) AS t_to
  FROM unnest(p_sites, p_from, p_to) AS r(site_id, d_from, d_to)
),
own AS MATERIALIZED (
  SELECT m.meter_id, m.site_id, m.installed_at, m.removed_at,
         wb_channel_rank(m.channel) AS rank,
         EXISTS (SELECT 1 FROM meters b WHERE b.site_id = m.site_id
                 AND wb_channel_rank(b.channel) < wb_channel_rank(m.channel)) AS has_better
  FROM meters m WHERE m.site_id = ANY(p_sites)
),
intervals AS (
  SELECT rr.meter_id, rr.ts AS ts_end, rr.site_id, ''::text AS session_id, rr.status,
         rr.volume_m3, o.rank, NOT o.has_better AND rr.ts > o.installed_at
           AND (o.removed_at IS NULL OR rr.ts <= o.removed_at) AS surely
  FROM ranges r
  JOIN own o ON o.site_id = r.site_id
  JOIN register_readings rr ON rr.meter_id = o.meter_id AND rr.ts > r.t_from
   AND rr.ts <= r.t_to
  WHERE rr.site_id = r.site_id
  UNION ALL
  SELECT cr.meter_id, cr.ts_end, cr.site_id, cr.session_id, cr.status, cr.volume_m3,
         (SELECT wb_channel_rank(m.channel) FROM meters m WHERE m.meter_id = cr.meter_id), false
  FROM ranges r
  JOIN consumption_records cr ON cr.site_id = r.site_id AND cr.ts_end > r.t_from
   AND cr.ts_end <= r.t_to
)
SELECT x.meter_id, x.ts_end, x.site_id, x.session_id, x.status, x.volume_m3
FROM intervals x
WHERE CASE WHEN x.surely THEN true ELSE x.rank = (
  SELECT min(wb_channel_rank(i.channel)) FROM meters i
  WHERE i.site_id = x.site_id AND i.installed_at < x.ts_end
    AND (i.removed_at IS NULL OR i.removed_at >= x.ts_end)) END
$$;
