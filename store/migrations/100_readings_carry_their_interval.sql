-- A register reading carries the interval that ends at it.
--
-- Every register interval ends at a stored reading (one interval per reading
-- after a meter's first), so the interval's figures live on that reading's row
-- instead of in a second row of `consumption`: one row and one index entry per
-- reading instead of two rows and five index entries. Ingest spends about a
-- third of the database time it spent before (measured in ingest.benchmark).
--
-- `consumption` becomes a view with the same columns as the table it replaces:
-- register intervals from `register_readings`, everything else (card sessions,
-- computed and estimated volumes) from the table `consumption_records`. An
-- INSERT into the view lands in `consumption_records`.

ALTER TABLE register_readings
  ADD COLUMN ts_start       timestamptz,
  ADD COLUMN site_id        text,
  ADD COLUMN method         text CHECK (method IN ('measured', 'converted')),
  ADD COLUMN status         text CHECK (status IN ('counted', 'quarantined')),
  ADD COLUMN quality        text,
  ADD COLUMN register_delta double precision,
  ADD COLUMN kwh            double precision,
  ADD COLUMN coefficient    double precision,
  ADD COLUMN volume_m3      double precision CHECK (volume_m3 >= 0),
  ADD COLUMN derived_at     timestamptz NOT NULL DEFAULT now(),
  -- no interval (a meter's first reading): no figures; an interval: all of them
  ADD CONSTRAINT register_interval_complete CHECK (
    (ts_start IS NULL AND site_id IS NULL AND method IS NULL AND status IS NULL
     AND volume_m3 IS NULL)
    OR (ts_start IS NOT NULL AND site_id IS NOT NULL AND method IS NOT NULL
        AND status IS NOT NULL AND volume_m3 IS NOT NULL
        AND ts_start < ts AND (status = 'counted' OR volume_m3 = 0)));

UPDATE register_readings r
SET ts_start = c.ts_start, site_id = c.site_id, method = c.method, status = c.status,
    quality = c.quality, register_delta = c.register_delta, kwh = c.kwh,
    coefficient = c.coefficient, volume_m3 = c.volume_m3, derived_at = c.derived_at
FROM consumption c
WHERE c.session_id = '' AND c.method IN ('measured', 'converted')
  AND c.meter_id = r.meter_id AND c.ts_end = r.ts;

DROP VIEW quality_events;
DROP VIEW site_consumption;

ALTER TABLE consumption RENAME TO consumption_records;
ALTER INDEX consumption_site RENAME TO consumption_records_site;
DELETE FROM consumption_records WHERE session_id = '' AND method IN ('measured', 'converted');
ALTER TABLE consumption_records
  ADD CONSTRAINT consumption_records_not_register
  CHECK (session_id <> '' OR method NOT IN ('measured', 'converted'));

CREATE VIEW consumption AS
SELECT meter_id, ts AS ts_end, ts_start, site_id, ''::text AS session_id, method, status,
       quality, register_delta, kwh, coefficient, volume_m3, derived_at
FROM register_readings
WHERE ts_start IS NOT NULL
UNION ALL
SELECT meter_id, ts_end, ts_start, site_id, session_id, method, status,
       quality, register_delta, kwh, coefficient, volume_m3, derived_at
FROM consumption_records;

CREATE FUNCTION consumption_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO consumption_records (meter_id, ts_end, ts_start, site_id, session_id, method,
                                   status, quality, register_delta, kwh, coefficient,
                                   volume_m3, derived_at)
  VALUES (NEW.meter_id, NEW.ts_end, NEW.ts_start, NEW.site_id, coalesce(NEW.session_id, ''),
          NEW.method, NEW.status, NEW.quality, NEW.register_delta, NEW.kwh, NEW.coefficient,
          NEW.volume_m3, coalesce(NEW.derived_at, now()));
  RETURN NEW;
END $$;
CREATE TRIGGER consumption_insert INSTEAD OF INSERT ON consumption
  FOR EACH ROW EXECUTE FUNCTION consumption_insert();

-- As in migration 004: one source of truth per site and interval, among the
-- meters installed then (flow meter > IC card > power conversion).
CREATE VIEW site_consumption AS
SELECT c.*
FROM consumption c
JOIN meters m USING (meter_id)
WHERE wb_channel_rank(m.channel) = (
  SELECT min(wb_channel_rank(other.channel))
  FROM meters other
  WHERE other.site_id = c.site_id
    AND other.installed_at < c.ts_end
    AND (other.removed_at IS NULL OR other.removed_at >= c.ts_end)
);

CREATE VIEW quality_events AS
SELECT meter_id, site_id, ts_start, ts_end, quality AS kind, register_delta, derived_at
FROM consumption
WHERE status = 'quarantined';
