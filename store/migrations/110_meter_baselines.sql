-- Meters registered without initial_register (issue 15): their first reading is the
-- baseline, counted as no use. Listed here with that reading (NULL until it arrives), so an
-- operator sees which registers started where; `waterbudget registry load` prints them too.
CREATE VIEW meter_baselines AS
SELECT m.meter_id, m.site_id, m.device_id, m.channel, m.installed_at,
       first.ts AS baseline_ts, first.value AS baseline_value
FROM meters m
LEFT JOIN LATERAL (
  SELECT r.ts, r.value FROM register_readings r
  WHERE r.meter_id = m.meter_id ORDER BY r.ts LIMIT 1
) AS first ON true
WHERE m.initial_register IS NULL AND m.channel IN ('flow', 'power');
