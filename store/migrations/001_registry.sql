-- Registry of sites (wells, canal gates), meters with their lifecycle, and
-- versioned power-to-water (以电折水) coefficients.
CREATE TABLE sites (
  site_id             text PRIMARY KEY,
  name                text NOT NULL,
  kind                text NOT NULL CHECK (kind IN ('well', 'canal_gate', 'pump_station')),
  source              text NOT NULL,
  township            text,
  irrigation_district text,
  lat                 double precision CHECK (lat BETWEEN -90 AND 90),
  lon                 double precision CHECK (lon BETWEEN -180 AND 180),
  rated_m3h           double precision CHECK (rated_m3h > 0),
  timezone            text NOT NULL DEFAULT 'Asia/Shanghai'
);

CREATE TABLE meters (
  meter_id            text PRIMARY KEY,
  site_id             text NOT NULL REFERENCES sites,
  device_id           text NOT NULL,
  channel             text NOT NULL CHECK (channel IN ('flow', 'power', 'card')),
  installed_at        timestamptz NOT NULL,
  removed_at          timestamptz,
  register_max        double precision CHECK (register_max > 0),
  multiplier          double precision NOT NULL DEFAULT 1 CHECK (multiplier > 0),
  initial_register    double precision NOT NULL DEFAULT 0 CHECK (initial_register >= 0),
  final_register      double precision CHECK (final_register >= 0),
  expected_interval_s integer NOT NULL DEFAULT 3600 CHECK (expected_interval_s > 0),
  CHECK (removed_at IS NULL OR removed_at > installed_at)
);
CREATE INDEX meters_device ON meters (device_id, channel, installed_at);

CREATE TABLE power_coefficients (
  site_id     text NOT NULL REFERENCES sites,
  valid_from  timestamptz NOT NULL,
  m3_per_kwh  double precision NOT NULL CHECK (m3_per_kwh > 0 AND m3_per_kwh < 100),
  method      text NOT NULL,
  note        text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site_id, valid_from)
);

-- Audit trail: what each coefficient change did to converted volumes.
CREATE TABLE coefficient_restatements (
  id            bigserial PRIMARY KEY,
  site_id       text NOT NULL,
  valid_from    timestamptz NOT NULL,
  intervals     integer NOT NULL,
  volume_before double precision NOT NULL,
  volume_after  double precision NOT NULL,
  restated_at   timestamptz NOT NULL DEFAULT now()
);

-- Bumped by every registry change, so running ingestors reload before their next batch.
CREATE TABLE registry_version (
  id      integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO registry_version DEFAULT VALUES;
