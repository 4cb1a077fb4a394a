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

CREATE OR REPLACE FUNCTION monitor_log_readings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to, appended)
    SELECT 'consumption', array_agg(site_id), array_agg(lo), array_agg(hi), true
    FROM (SELECT site_id, min(ts) AS lo, max(ts) AS hi FROM new_rows
          WHERE site_id IS NOT NULL GROUP BY site_id) s
    HAVING count(*) > 0;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to)
    SELECT 'consumption', array_agg(site_id), array_agg(lo), array_agg(hi)
    FROM (SELECT site_id, min(ts) AS lo, max(ts) AS hi
          FROM (SELECT site_id, ts FROM old_rows UNION ALL SELECT site_id, ts FROM new_rows) u
          WHERE site_id IS NOT NULL GROUP BY site_id) s
    HAVING count(*) > 0;
  ELSE
    INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to)
    SELECT 'consumption', array_agg(site_id), array_agg(lo), array_agg(hi)
    FROM (SELECT site_id, min(ts) AS lo, max(ts) AS hi FROM old_rows
          WHERE site_id IS NOT NULL GROUP BY site_id) s
    HAVING count(*) > 0;
  END IF;
  IF FOUND THEN
    PERFORM pg_notify('waterbudget_monitor', '');
  END IF;
  RETURN NULL;
END $$;
