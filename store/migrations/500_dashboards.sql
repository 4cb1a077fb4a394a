-- Indexes the Grafana panels need (dashboards/, docs/dashboards.md).
-- The map of sites reads one day of monitor_site_day for every site.
CREATE INDEX monitor_site_day_day ON monitor_site_day (day);
-- The drill-down sums a node subtree's draw per site over the year: covered,
-- so the rows (one per site and day, spread over the heap) are not fetched.
CREATE INDEX monitor_node_draw_day_node_cover ON monitor_node_draw_day (node_id, day)
  INCLUDE (site_id, source, volume_m3);
-- The dead-letter panels select by receive time.
CREATE INDEX dead_letters_received ON dead_letters (received_at);
-- The real-time flow panel reads the last 24 hours of every meter. Hypertables
-- have TimescaleDB's default index on the time column; plain tables need one.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    CREATE INDEX register_readings_ts ON register_readings (ts);
  END IF;
END $$;
