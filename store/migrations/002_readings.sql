-- Raw readings as received (idempotent on their natural keys), derived
-- consumption, device status and the dead-letter table.
CREATE TABLE register_readings (
  meter_id    text NOT NULL,
  ts          timestamptz NOT NULL,
  value       double precision NOT NULL,
  flow_m3h    double precision,
  origin      text NOT NULL DEFAULT 'device' CHECK (origin IN ('device', 'registry')),
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, ts)
);
SELECT wb_make_hypertable('register_readings', 'ts', interval '30 days');

CREATE TABLE card_sessions (
  meter_id    text NOT NULL,
  session_id  text NOT NULL,
  card_id     text NOT NULL,
  holder      text,
  started_at  timestamptz NOT NULL,
  ended_at    timestamptz NOT NULL,
  volume_m3   double precision,
  kwh         double precision,
  balance_m3  double precision,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, session_id)
);
CREATE INDEX card_sessions_card ON card_sessions (card_id, ended_at);

CREATE TABLE device_status (
  device_id   text NOT NULL,
  ts          timestamptz NOT NULL,
  online      boolean,
  alarms      integer,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, ts)
);
SELECT wb_make_hypertable('device_status', 'ts', interval '30 days');

-- Water use per interval and meter. A quarantined interval counts 0 m³ and
-- keeps the delta it would have counted, with the reason, for review.
CREATE TABLE consumption (
  meter_id       text NOT NULL,
  ts_end         timestamptz NOT NULL,
  ts_start       timestamptz NOT NULL,
  site_id        text NOT NULL,
  session_id     text NOT NULL DEFAULT '',  -- card sessions only
  method         text NOT NULL
                 CHECK (method IN ('measured', 'converted', 'card', 'estimated', 'computed')),
  status         text NOT NULL CHECK (status IN ('counted', 'quarantined')),
  quality        text,
  register_delta double precision,
  kwh            double precision,
  coefficient    double precision,
  volume_m3      double precision NOT NULL,
  derived_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, ts_end, session_id),
  CHECK (ts_start <= ts_end),
  CHECK (volume_m3 >= 0),
  CHECK (status = 'counted' OR volume_m3 = 0)
);
SELECT wb_make_hypertable('consumption', 'ts_end', interval '30 days');
CREATE INDEX consumption_site ON consumption (site_id, ts_end);

CREATE TABLE dead_letters (
  id             bigserial PRIMARY KEY,
  received_at    timestamptz NOT NULL DEFAULT now(),
  topic          text NOT NULL,
  payload        bytea NOT NULL,
  payload_sha256 bytea NOT NULL,
  element        integer,
  reason         text NOT NULL,
  detail         text NOT NULL,
  UNIQUE NULLS NOT DISTINCT (topic, payload_sha256, element, reason)
);

-- Data-quality events: the quarantined intervals.
CREATE VIEW quality_events AS
SELECT meter_id, site_id, ts_start, ts_end, quality AS kind, register_delta, derived_at
FROM consumption
WHERE status = 'quarantined';
