-- Hypertables where TimescaleDB is present, plain tables (same queries) where not.
CREATE OR REPLACE FUNCTION wb_make_hypertable(tbl regclass, time_column name, chunk interval)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    EXECUTE format(
      'SELECT create_hypertable(%L::regclass, %L::name, chunk_time_interval => %L::interval, '
      'if_not_exists => true, migrate_data => true)', tbl, time_column, chunk);
    RETURN true;
  END IF;
  RETURN false;
END $$;
