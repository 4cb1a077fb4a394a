-- Field telemetry (issue 6): canal gates without a flow meter and SZY206-2016 terminals.

-- A gate's instruments (upstream/downstream water level, gate opening) are a meter
-- on channel 'gate'; its volumes are computed (method 'computed').
ALTER TABLE meters DROP CONSTRAINT meters_channel_check;
ALTER TABLE meters ADD CONSTRAINT meters_channel_check
  CHECK (channel IN ('flow', 'power', 'card', 'gate'));

-- Gate reports as received. A report may carry only some of the three values
-- (SZY206 terminals send water levels and gate position in separate frames with
-- the same time label): a later report fills a missing value, never changes one.
CREATE TABLE gate_readings (
  meter_id     text NOT NULL,
  ts           timestamptz NOT NULL,
  upstream_m   double precision,  -- water level above the gate (闸前水位), elevation in m
  downstream_m double precision,  -- water level below the gate (闸后水位)
  opening_m    double precision CHECK (opening_m >= 0),  -- gate opening e (闸门开度)
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, ts),
  CHECK (upstream_m IS NOT NULL OR downstream_m IS NOT NULL OR opening_m IS NOT NULL)
);
SELECT wb_make_hypertable('gate_readings', 'ts', interval '30 days');

-- Discharge parameters of a gate site, versioned like power-to-water coefficients:
-- valid from valid_from until the next version of the site.
CREATE TABLE gate_ratings (
  site_id     text NOT NULL REFERENCES sites,
  valid_from  timestamptz NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('orifice', 'power_law', 'table')),
  params      jsonb NOT NULL,
  note        text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site_id, valid_from)
);

-- Audit trail: what each gate-rating change did to the computed volumes.
CREATE TABLE gate_restatements (
  id            bigserial PRIMARY KEY,
  site_id       text NOT NULL,
  valid_from    timestamptz NOT NULL,
  intervals     integer NOT NULL,
  volume_before double precision NOT NULL,
  volume_after  double precision NOT NULL,
  restated_at   timestamptz NOT NULL DEFAULT now()
);

-- SZY206-2016 terminals: frame address (A1-A2) -> the registry device. A device may
-- have had several terminals (a replaced one keeps its record; loading deletes nothing).
CREATE TABLE szy206_terminals (
  address     text PRIMARY KEY CHECK (address ~ '^[0-9]{6}-[0-9]{5}$'),
  device_id   text NOT NULL,
  flow_unit   text NOT NULL DEFAULT 'm3/s' CHECK (flow_unit IN ('m3/s', 'm3/h')),
  levels      text[] NOT NULL DEFAULT '{upstream,downstream}',
  recorded_at timestamptz NOT NULL DEFAULT now()
);

-- One source of truth per site: flow meter > IC card > power conversion > gate computation.
CREATE OR REPLACE FUNCTION wb_channel_rank(channel text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE channel WHEN 'flow' THEN 1 WHEN 'card' THEN 2 WHEN 'power' THEN 3 ELSE 4 END
$$;
