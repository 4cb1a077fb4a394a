-- Monitor: appended readings are added to the roll-ups, not recomputed.
-- (docs/monitor.md, "Two ways to roll up"; monitor/repository/appends.py.)
--
-- Under steady traffic nearly every change is a register reading inserted
-- after everything its site has rolled up. Recomputing whole site-days for
-- each of them costs a day of intervals per site per step; adding only the
-- new intervals costs what they are.

-- A change row written by an INSERT of register readings (nothing updated or
-- deleted): it can only add intervals.
ALTER TABLE monitor_changes ADD COLUMN appended boolean NOT NULL DEFAULT false;

-- Per site: every interval ending at or before rolled_to that the roll-ups hold
-- has been counted (or has a pending change row that will recompute its days);
-- no interval ending after it has been counted. Only ever raised.
CREATE TABLE monitor_site_state (
  site_id   text PRIMARY KEY,
  rolled_to timestamptz NOT NULL
);

-- Sites already rolled up when this migration runs: everything they hold.
INSERT INTO monitor_site_state (site_id, rolled_to)
SELECT site_id, max(last_ts) FROM monitor_meter_day WHERE last_ts IS NOT NULL
GROUP BY site_id;

-- Sweeps so far: each sweep also re-assesses the nodes of one slice (node_id modulo
-- the slices, in turn), so every node is assessed afresh once a day at the default
-- ten-minute sweep (monitor/evaluation.py, evaluate_since).
ALTER TABLE monitor_state ADD COLUMN sweeps bigint NOT NULL DEFAULT 0;

-- Inserted readings get a function of their own that marks its rows; updates and
-- deletes keep monitor_log_readings (migration 300).
CREATE FUNCTION monitor_log_inserted_readings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to, appended)
  SELECT 'consumption', array_agg(site_id), array_agg(lo), array_agg(hi), true
  FROM (SELECT site_id, min(ts) AS lo, max(ts) AS hi FROM new_rows
        WHERE site_id IS NOT NULL GROUP BY site_id) s
  HAVING count(*) > 0;
  IF FOUND THEN
    PERFORM pg_notify('waterbudget_monitor', '');
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER monitor_readings_inserted ON register_readings;
CREATE TRIGGER monitor_readings_inserted AFTER INSERT ON register_readings
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION monitor_log_inserted_readings();
