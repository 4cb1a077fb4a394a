-- Monitor (issue 4): maintained draw roll-ups, execution snapshots, alerts,
-- notifications, over-quota charges and enforcement commands.
-- Described table by table in docs/monitor-schema.md. Names are stable.
--
-- Volumes are numeric m³ (exact sums: roll-ups are maintained by adding
-- deltas, which floats would drift on); consumption's float8 volumes are cast
-- to numeric row by row. A consumption interval counts on the China-time day
-- in which it ends, the day's end included: day D holds ts_end in
-- (D 00:00, D+1 00:00], the same (start, until] rule as the trade surplus.

------------------------------------------------------------------------------
-- Days, sources
------------------------------------------------------------------------------
CREATE FUNCTION wb_draw_day(ts_end timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ((ts_end - interval '1 microsecond') AT TIME ZONE 'Asia/Shanghai')::date
$$;

CREATE FUNCTION wb_day_start(day date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT day::timestamp AT TIME ZONE 'Asia/Shanghai'
$$;

-- Registry spelling of a site's source -> budget source (budget/kinds.py).
CREATE FUNCTION wb_budget_source(registry_source text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE registry_source WHEN 'surface' THEN 'local_surface' ELSE registry_source END
$$;

------------------------------------------------------------------------------
-- The one definition of a node's draw
------------------------------------------------------------------------------
-- Per site and day: which node the site's water counts against.
-- * The water is the site's one source of truth (view site_consumption,
--   migration 004: flow meter > IC card > power conversion, per interval),
--   counted intervals only.
-- * Its base node: the attachment of the truth meter (kind 'meter'), else of
--   the site (kind 'site'); none: unattributed (node_id NULL).
-- * Card sessions at the site that day say WHO drew it: the day's truth
--   volume is shared among the card holders' nodes (kind 'card') in
--   proportion to their card volumes; the share of sessions on unattached
--   cards stays with the base node. Each share is rounded to 10⁻⁶ m³ on a
--   running total, so the shares add up to the truth volume exactly.
-- Every truth m³ lands on exactly one node (or none), so sums up the
-- hierarchy never count water twice. Sector '' = the attachment names none
-- (counts against any sector of the node).
CREATE FUNCTION monitor_site_draw(p_sites text[], p_from date[], p_to date[])
RETURNS TABLE (site_id text, day date, node_id bigint, source text, sector text,
               volume_m3 numeric)
LANGUAGE sql STABLE AS $$
WITH ranges AS (
  SELECT r.site_id, wb_day_start(r.d_from) AS t_from, wb_day_start(r.d_to + 1) AS t_to
  FROM unnest(p_sites, p_from, p_to) AS r(site_id, d_from, d_to)
),
truth AS (
  SELECT c.site_id, wb_draw_day(c.ts_end) AS day, base.node_id,
         coalesce(base.sector, '') AS sector, sum(c.volume_m3::numeric) AS m3
  FROM ranges r
  JOIN site_consumption c
    ON c.site_id = r.site_id AND c.ts_end > r.t_from AND c.ts_end <= r.t_to
  LEFT JOIN LATERAL (
    SELECT a.node_id, a.sector FROM budget_attachments a
    WHERE (a.kind = 'meter' AND a.ref = c.meter_id) OR (a.kind = 'site' AND a.ref = c.site_id)
    ORDER BY a.kind = 'meter' DESC LIMIT 1) base ON true
  WHERE c.status = 'counted'
  GROUP BY 1, 2, 3, 4
),
cards AS (
  SELECT c.site_id, wb_draw_day(c.ts_end) AS day, holder.node_id,
         coalesce(holder.sector, '') AS sector, sum(c.volume_m3::numeric) AS w
  FROM ranges r
  JOIN consumption c
    ON c.site_id = r.site_id AND c.ts_end > r.t_from AND c.ts_end <= r.t_to
   AND c.session_id <> '' AND c.status = 'counted'
  JOIN card_sessions cs ON cs.meter_id = c.meter_id AND cs.session_id = c.session_id
  LEFT JOIN budget_attachments holder ON holder.kind = 'card' AND holder.ref = cs.card_id
  GROUP BY 1, 2, 3, 4
),
weights AS (
  SELECT cards.*, sum(w) OVER (PARTITION BY cards.site_id, cards.day) AS total_w FROM cards
),
running AS (
  SELECT t.site_id, t.day, t.node_id AS base_node, t.sector AS base_sector, t.m3,
         w.node_id, w.sector, w.w, w.total_w,
         sum(w.w) OVER (PARTITION BY t.site_id, t.day, t.node_id, t.sector
                        ORDER BY w.node_id, w.sector) AS cum
  FROM truth t JOIN weights w ON w.site_id = t.site_id AND w.day = t.day
  WHERE w.node_id IS NOT NULL AND w.total_w > 0
),
shares AS (
  SELECT site_id, day, base_node, base_sector, node_id, sector,
         (CASE WHEN cum = total_w THEN m3 ELSE round(m3 * cum / total_w, 6) END)
         - (CASE WHEN cum - w = total_w THEN m3 ELSE round(m3 * (cum - w) / total_w, 6) END)
           AS m3
  FROM running
),
given AS (
  SELECT site_id, day, base_node, base_sector, sum(m3) AS m3
  FROM shares GROUP BY 1, 2, 3, 4
),
parts AS (
  SELECT site_id, day, node_id, sector, m3 FROM shares
  UNION ALL
  SELECT t.site_id, t.day, t.node_id, t.sector, t.m3 - coalesce(g.m3, 0)
  FROM truth t LEFT JOIN given g
    ON g.site_id = t.site_id AND g.day = t.day
   AND g.base_node IS NOT DISTINCT FROM t.node_id AND g.base_sector = t.sector
)
SELECT p.site_id, p.day, p.node_id, wb_budget_source(s.source), p.sector, sum(p.m3)
FROM parts p JOIN sites s ON s.site_id = p.site_id
GROUP BY p.site_id, p.day, p.node_id, s.source, p.sector
HAVING sum(p.m3) <> 0
$$;

------------------------------------------------------------------------------
-- Change log: what the monitor must re-evaluate
------------------------------------------------------------------------------
-- Appended by statement-level triggers (below) in the transaction that
-- changes the data, so a change is logged exactly when it commits; consumed
-- (DELETE ... RETURNING, FOR UPDATE SKIP LOCKED) in the transaction that
-- updates the roll-ups. site_ids/ts_from/ts_to are parallel arrays: per site,
-- the range of interval ends touched (ts_to NULL: to the end of the data,
-- ts_from NULL: from its beginning). node_ids/years: budgets that changed
-- (node_ids NULL: every node of those years).
CREATE TABLE monitor_changes (
  change_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('consumption', 'registry', 'attachment', 'budget',
                                            'hierarchy')),
  site_ids    text[] NOT NULL DEFAULT '{}',
  ts_from     timestamptz[] NOT NULL DEFAULT '{}',
  ts_to       timestamptz[] NOT NULL DEFAULT '{}',
  node_ids    bigint[] DEFAULT '{}',
  years       integer[] NOT NULL DEFAULT '{}',
  recorded_at timestamptz NOT NULL DEFAULT now(),
  attempts    integer NOT NULL DEFAULT 0,
  last_error  text,
  CHECK (cardinality(site_ids) = cardinality(ts_from)
         AND cardinality(site_ids) = cardinality(ts_to))
);

CREATE FUNCTION monitor_log_consumption() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to)
  SELECT 'consumption', array_agg(site_id), array_agg(lo), array_agg(hi)
  FROM (SELECT site_id, min(ts_end) AS lo, max(ts_end) AS hi FROM changed GROUP BY site_id) s
  HAVING count(*) > 0;
  IF FOUND THEN
    PERFORM pg_notify('waterbudget_monitor', '');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER monitor_consumption_inserted AFTER INSERT ON consumption
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION monitor_log_consumption();
CREATE TRIGGER monitor_consumption_updated AFTER UPDATE ON consumption
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION monitor_log_consumption();
CREATE TRIGGER monitor_consumption_deleted AFTER DELETE ON consumption
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION monitor_log_consumption();

-- Registry: a meter installed, removed or moved changes which meter is a
-- site's truth from then on; a site's source changes where its water counts.
CREATE FUNCTION monitor_log_registry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  site text;
  since timestamptz;
BEGIN
  IF TG_TABLE_NAME = 'sites' THEN
    site := NEW.site_id;
    since := NULL;
  ELSIF TG_OP = 'DELETE' THEN
    site := OLD.site_id;
    since := OLD.installed_at;
  ELSE
    site := NEW.site_id;
    since := CASE WHEN TG_OP = 'UPDATE' THEN least(OLD.installed_at, NEW.installed_at,
                                                    OLD.removed_at, NEW.removed_at)
                  ELSE NEW.installed_at END;
  END IF;
  INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to)
  VALUES ('registry', ARRAY[site], ARRAY[since], ARRAY[NULL::timestamptz]);
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'meters' AND OLD.site_id <> NEW.site_id THEN
    INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to)
    VALUES ('registry', ARRAY[OLD.site_id], ARRAY[NULL::timestamptz], ARRAY[NULL::timestamptz]);
  END IF;
  PERFORM pg_notify('waterbudget_monitor', '');
  RETURN NULL;
END $$;

CREATE TRIGGER monitor_meters_changed AFTER INSERT OR DELETE OR UPDATE OF
  site_id, channel, installed_at, removed_at ON meters
  FOR EACH ROW EXECUTE FUNCTION monitor_log_registry();
CREATE TRIGGER monitor_sites_changed AFTER UPDATE OF source ON sites
  FOR EACH ROW WHEN (OLD.source IS DISTINCT FROM NEW.source)
  EXECUTE FUNCTION monitor_log_registry();

-- Attachments: the sites whose water may move to another node, whole history.
CREATE FUNCTION monitor_attachment_sites(kind text, ref text) RETURNS text[]
LANGUAGE sql STABLE AS $$
  SELECT coalesce(array_agg(DISTINCT s), '{}') FROM (
    SELECT ref AS s WHERE kind = 'site'
    UNION ALL SELECT m.site_id FROM meters m WHERE kind = 'meter' AND m.meter_id = ref
    UNION ALL SELECT m.site_id FROM card_sessions cs JOIN meters m USING (meter_id)
              WHERE kind = 'card' AND cs.card_id = ref) found
$$;

CREATE FUNCTION monitor_log_attachment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  found text[];
BEGIN
  found := CASE WHEN TG_OP = 'INSERT' THEN '{}'::text[]
                ELSE monitor_attachment_sites(OLD.kind, OLD.ref) END;
  IF TG_OP <> 'DELETE' THEN
    found := found || monitor_attachment_sites(NEW.kind, NEW.ref);
  END IF;
  SELECT coalesce(array_agg(DISTINCT s), '{}') INTO found FROM unnest(found) s;
  IF cardinality(found) > 0 THEN
    INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to)
    VALUES ('attachment', found, array_fill(NULL::timestamptz, ARRAY[cardinality(found)]),
            array_fill(NULL::timestamptz, ARRAY[cardinality(found)]));
    PERFORM pg_notify('waterbudget_monitor', '');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER monitor_attachments_changed AFTER INSERT OR UPDATE OR DELETE ON budget_attachments
  FOR EACH ROW EXECUTE FUNCTION monitor_log_attachment();

-- Budgets: approved ledger entries (imports and trades insert them approved,
-- proposals become approved by an update), plan profiles, the year's factor.
CREATE FUNCTION monitor_log_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO monitor_changes (kind, node_ids, years)
  SELECT 'budget', array_agg(DISTINCT node_id), array_agg(DISTINCT year)
  FROM changed WHERE status = 'approved'
  HAVING count(*) > 0;
  IF FOUND THEN
    PERFORM pg_notify('waterbudget_monitor', '');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER monitor_entries_inserted AFTER INSERT ON budget_entries
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION monitor_log_entries();
CREATE TRIGGER monitor_entries_updated AFTER UPDATE ON budget_entries
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION monitor_log_entries();

CREATE FUNCTION monitor_log_node_budget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'budget_years' THEN
    INSERT INTO monitor_changes (kind, node_ids, years) VALUES ('budget', NULL, ARRAY[NEW.year]);
  ELSE
    INSERT INTO monitor_changes (kind, node_ids)
    VALUES ('budget', ARRAY[CASE WHEN TG_OP = 'DELETE' THEN OLD.node_id ELSE NEW.node_id END]);
  END IF;
  PERFORM pg_notify('waterbudget_monitor', '');
  RETURN NULL;
END $$;

CREATE TRIGGER monitor_plan_profiles_changed AFTER INSERT OR UPDATE OR DELETE
  ON budget_plan_profiles FOR EACH ROW EXECUTE FUNCTION monitor_log_node_budget();
CREATE TRIGGER monitor_budget_years_changed AFTER INSERT OR UPDATE ON budget_years
  FOR EACH ROW EXECUTE FUNCTION monitor_log_node_budget();

------------------------------------------------------------------------------
-- The hierarchy as a closure table (ancestor, descendant, depth)
------------------------------------------------------------------------------
CREATE TABLE monitor_node_paths (
  ancestor_id bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  node_id     bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  depth       integer NOT NULL CHECK (depth >= 0),
  PRIMARY KEY (ancestor_id, node_id)
);
CREATE INDEX monitor_node_paths_node ON monitor_node_paths (node_id, depth);

INSERT INTO monitor_node_paths (ancestor_id, node_id, depth)
WITH RECURSIVE up AS (
  SELECT node_id AS ancestor_id, node_id, 0 AS depth, parent_id FROM budget_nodes
  UNION ALL
  SELECT n.node_id, up.node_id, up.depth + 1, n.parent_id
  FROM up JOIN budget_nodes n ON n.node_id = up.parent_id
)
SELECT ancestor_id, node_id, depth FROM up;

CREATE FUNCTION monitor_node_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO monitor_node_paths (ancestor_id, node_id, depth)
  SELECT ancestor_id, NEW.node_id, depth + 1 FROM monitor_node_paths WHERE node_id = NEW.parent_id
  UNION ALL SELECT NEW.node_id, NEW.node_id, 0;
  RETURN NULL;
END $$;

CREATE TRIGGER monitor_budget_node_added AFTER INSERT ON budget_nodes
  FOR EACH ROW EXECUTE FUNCTION monitor_node_added();

-- Re-parenting (the budget module never does it): rebuild the paths and have
-- the monitor rebuild every node total from the attributions.
CREATE FUNCTION monitor_node_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM monitor_node_paths;
  INSERT INTO monitor_node_paths (ancestor_id, node_id, depth)
  WITH RECURSIVE up AS (
    SELECT node_id AS ancestor_id, node_id, 0 AS depth, parent_id FROM budget_nodes
    UNION ALL
    SELECT n.node_id, up.node_id, up.depth + 1, n.parent_id
    FROM up JOIN budget_nodes n ON n.node_id = up.parent_id
  )
  SELECT ancestor_id, node_id, depth FROM up;
  INSERT INTO monitor_changes (kind, node_ids) VALUES ('hierarchy', NULL);
  PERFORM pg_notify('waterbudget_monitor', '');
  RETURN NULL;
END $$;

CREATE TRIGGER monitor_budget_node_moved AFTER UPDATE OF parent_id ON budget_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION monitor_node_moved();

------------------------------------------------------------------------------
-- Periods: budget years, months, irrigation rounds (China time, whole days)
------------------------------------------------------------------------------
CREATE TABLE monitor_periods (
  period    text PRIMARY KEY,  -- '2024', '2024-06', '2024-R1'
  kind      text NOT NULL CHECK (kind IN ('year', 'month', 'round')),
  year      integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  first_day date NOT NULL,
  last_day  date NOT NULL,
  name      text NOT NULL DEFAULT '',  -- rounds: e.g. 春灌 / 夏灌 / 冬灌
  starts_at timestamptz GENERATED ALWAYS AS (wb_day_start(first_day)) STORED,
  ends_at   timestamptz GENERATED ALWAYS AS (wb_day_start(last_day + 1)) STORED,
  CHECK (first_day <= last_day),
  CHECK (extract(year FROM first_day) = year AND extract(year FROM last_day) = year),
  CHECK (kind <> 'year' OR period = year::text),
  CHECK (kind <> 'month' OR period = to_char(first_day, 'YYYY-MM')),
  CHECK (kind <> 'round' OR period LIKE year::text || '-R%')
);
CREATE INDEX monitor_periods_days ON monitor_periods (first_day, last_day);

------------------------------------------------------------------------------
-- Roll-ups, maintained by the monitor from the change log
------------------------------------------------------------------------------
-- Per meter and day: every channel's own figures (truth or not), for
-- dashboards and the data-quality rules.
CREATE TABLE monitor_meter_day (
  meter_id          text NOT NULL,
  day               date NOT NULL,
  site_id           text NOT NULL,
  channel           text NOT NULL,
  intervals         integer NOT NULL,  -- consumption rows ending that day
  counted_m3        numeric NOT NULL,  -- counted volume of this meter
  truth_m3          numeric NOT NULL,  -- the part that is the site's truth
  quarantined       integer NOT NULL,  -- quarantined intervals
  quarantined_delta numeric,           -- what they would have counted
  quality_reasons   text[] NOT NULL DEFAULT '{}',
  kwh               numeric,           -- power meters and kWh card sessions
  running_s         numeric,           -- card sessions: pump running time
  readings          integer NOT NULL DEFAULT 0,  -- register readings that day
  max_flow_m3h      double precision,  -- highest instantaneous flow reported
  max_ahead_s       double precision,  -- device clock ahead of receive time, worst
  first_ts          timestamptz,
  last_ts           timestamptz,       -- latest interval end
  PRIMARY KEY (meter_id, day)
);
SELECT wb_make_hypertable('monitor_meter_day', 'day', interval '90 days');
CREATE INDEX monitor_meter_day_site ON monitor_meter_day (site_id, day);

-- Per site and day: the truth and how much of it counts against no node.
CREATE TABLE monitor_site_day (
  site_id         text NOT NULL,
  day             date NOT NULL,
  source          text NOT NULL,     -- budget source (wb_budget_source)
  truth_m3        numeric NOT NULL,
  attributed_m3   numeric NOT NULL,
  unattributed_m3 numeric NOT NULL,  -- truth on no node: attach the site, meter or cards
  flow_m3         numeric NOT NULL,  -- counted volumes by channel, truth or not
  card_m3         numeric NOT NULL,
  power_m3        numeric NOT NULL,
  PRIMARY KEY (site_id, day)
);
SELECT wb_make_hypertable('monitor_site_day', 'day', interval '90 days');

-- Per site, day and node: monitor_site_draw's answer, stored (drill-down, and
-- the old value each recomputation subtracts).
CREATE TABLE monitor_node_draw_day (
  site_id   text NOT NULL,
  day       date NOT NULL,
  node_id   bigint NOT NULL,
  sector    text NOT NULL,
  source    text NOT NULL,
  volume_m3 numeric NOT NULL,
  PRIMARY KEY (site_id, day, node_id, sector)
);
SELECT wb_make_hypertable('monitor_node_draw_day', 'day', interval '90 days');
CREATE INDEX monitor_node_draw_day_node ON monitor_node_draw_day (node_id, day);

-- Per node, day, source and sector: own draw (attributed to the node itself)
-- and total draw (the node and all its descendants).
CREATE TABLE monitor_node_day (
  node_id  bigint NOT NULL,
  day      date NOT NULL,
  source   text NOT NULL,
  sector   text NOT NULL,
  own_m3   numeric NOT NULL DEFAULT 0,
  total_m3 numeric NOT NULL DEFAULT 0,
  PRIMARY KEY (node_id, day, source, sector)
);
SELECT wb_make_hypertable('monitor_node_day', 'day', interval '90 days');
CREATE INDEX monitor_node_day_day ON monitor_node_day (day, node_id);

-- Per node and period: the same sums over the period's days (year to date,
-- month, round), so execution needs one row per node and source.
CREATE TABLE monitor_node_period (
  node_id  bigint NOT NULL,
  period   text NOT NULL REFERENCES monitor_periods ON DELETE CASCADE,
  source   text NOT NULL,
  sector   text NOT NULL,
  own_m3   numeric NOT NULL DEFAULT 0,
  total_m3 numeric NOT NULL DEFAULT 0,
  last_day date,  -- latest day that contributed
  PRIMARY KEY (node_id, period, source, sector)
);
CREATE INDEX monitor_node_period_period ON monitor_node_period (period, node_id);

-- A round added after its data: sum its days from monitor_node_day.
CREATE FUNCTION monitor_period_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO monitor_node_period (node_id, period, source, sector, own_m3, total_m3, last_day)
  SELECT node_id, NEW.period, source, sector, sum(own_m3), sum(total_m3), max(day)
  FROM monitor_node_day WHERE day BETWEEN NEW.first_day AND NEW.last_day
  GROUP BY node_id, source, sector;
  RETURN NULL;
END $$;

CREATE TRIGGER monitor_period_added AFTER INSERT ON monitor_periods
  FOR EACH ROW EXECUTE FUNCTION monitor_period_added();

-- Per meter: the latest data time seen (silence rule).
CREATE TABLE monitor_meter_state (
  meter_id text PRIMARY KEY,
  last_ts  timestamptz NOT NULL
);

-- The monitor's data clock: the latest interval end it has rolled up. Rules
-- evaluate at this data time, never at the server clock.
CREATE TABLE monitor_state (
  id         integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  data_clock timestamptz,
  swept_at   timestamptz,  -- server time of the last full sweep (operations)
  swept_data timestamptz   -- data clock of the last full sweep
);
INSERT INTO monitor_state DEFAULT VALUES;

------------------------------------------------------------------------------
-- Settings per node (inherited from the nearest ancestor that has a row)
------------------------------------------------------------------------------
CREATE TABLE monitor_node_settings (
  node_id     bigint PRIMARY KEY REFERENCES budget_nodes ON DELETE CASCADE,
  notice      numeric(6, 4) NOT NULL DEFAULT 0.80,
  warning     numeric(6, 4) NOT NULL DEFAULT 0.90,
  overrun     numeric(6, 4) NOT NULL DEFAULT 1.00,
  margin      numeric(6, 4) NOT NULL DEFAULT 0.02,
  hold_s      integer NOT NULL DEFAULT 3600 CHECK (hold_s >= 0),
  crop_class  text,            -- over-quota tariffs
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (0 < notice AND notice <= warning AND warning <= overrun),
  CHECK (0 <= margin AND margin < notice)
);

------------------------------------------------------------------------------
-- Execution snapshots: the latest evaluation per node, period, source, sector
------------------------------------------------------------------------------
CREATE TABLE monitor_executions (
  node_id        bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  period         text NOT NULL REFERENCES monitor_periods ON DELETE CASCADE,
  source         text NOT NULL DEFAULT '',  -- '' = all sources (counted total)
  sector         text NOT NULL DEFAULT '',  -- '' = all sectors
  at             timestamptz NOT NULL,      -- data time of the evaluation
  drawn_m3       numeric NOT NULL,
  budget_m3      numeric NOT NULL,          -- effective budget of the period
  remaining_m3   numeric NOT NULL,
  execution_rate numeric,                   -- NULL: zero budget
  time_progress  numeric NOT NULL,          -- 0..1 of the period's plan
  projected_m3   numeric NOT NULL,          -- at the period's end, at the pace so far
  exhaustion_at  timestamptz,               -- NULL: not before the period ends
  level          text CHECK (level IN ('notice', 'warning', 'overrun')),
  evaluated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, period, source, sector)
);
CREATE INDEX monitor_executions_period ON monitor_executions (period, level);

------------------------------------------------------------------------------
-- Alerts and their transitions
------------------------------------------------------------------------------
CREATE TABLE monitor_alerts (
  alert_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subject         text NOT NULL,  -- 'node/12', 'node/12/groundwater', 'meter/W1-F1', 'site/W1'
  kind            text NOT NULL,  -- budget_level, budget_pace, meter_silent, …
  period          text NOT NULL REFERENCES monitor_periods,
  seq             integer NOT NULL CHECK (seq >= 1),
  status          text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
  severity        text NOT NULL CHECK (severity IN ('notice', 'warning', 'critical')),
  detail          text NOT NULL,
  node_id         bigint REFERENCES budget_nodes,  -- whose people are warned
  site_id         text,
  meter_id        text,
  source          text,
  opened_at       timestamptz NOT NULL,  -- data times from here …
  last_seen_at    timestamptz NOT NULL,
  evaluated_at    timestamptz NOT NULL,
  clear_since     timestamptz,
  acknowledged_by text,
  acknowledged_at timestamptz,
  resolved_by     text,                  -- 'rule', 'rollover' or a person
  resolved_at     timestamptz,           -- … to here
  created_at      timestamptz NOT NULL DEFAULT now(),  -- server times
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (subject, kind, period, seq),
  CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);
-- One live alert per key, also under concurrent evaluation.
CREATE UNIQUE INDEX monitor_alerts_live ON monitor_alerts (subject, kind, period)
  WHERE status <> 'resolved';
CREATE INDEX monitor_alerts_node ON monitor_alerts (node_id, status);
CREATE INDEX monitor_alerts_status ON monitor_alerts (status, kind);

CREATE TABLE monitor_alert_events (
  event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id    bigint NOT NULL REFERENCES monitor_alerts,
  event       text NOT NULL CHECK (event IN ('opened', 'escalated', 'acknowledged', 'resolved')),
  status      text NOT NULL,
  severity    text NOT NULL,
  at          timestamptz NOT NULL,  -- data time (or the person's time for acknowledge/resolve)
  by          text NOT NULL,         -- 'rule', 'rollover' or a person
  detail      text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monitor_alert_events_alert ON monitor_alert_events (alert_id, event_id);

------------------------------------------------------------------------------
-- Notifications: subscriptions, outbox, delivery attempts
------------------------------------------------------------------------------
-- Which channel reaches a contact (budget_contacts) and for what.
CREATE TABLE monitor_subscriptions (
  subscription_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contact_id          bigint NOT NULL REFERENCES budget_contacts ON DELETE CASCADE,
  channel             text NOT NULL CHECK (channel IN ('email', 'webhook', 'mqtt', 'wecom',
                                                       'dingtalk')),
  address             text NOT NULL,  -- e-mail address, URL, or the topic's user part
  min_severity        text NOT NULL DEFAULT 'notice'
                      CHECK (min_severity IN ('notice', 'warning', 'critical')),
  include_descendants boolean NOT NULL DEFAULT false,  -- also alerts of nodes below
  language            text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en')),
  active              boolean NOT NULL DEFAULT true,
  created_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (contact_id, channel, address)
);

-- The outbox: one row per alert transition and subscription, written in the
-- transaction of the transition; the sender delivers and retries with backoff.
CREATE TABLE monitor_notifications (
  notification_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id        bigint NOT NULL REFERENCES monitor_alert_events,
  subscription_id bigint NOT NULL REFERENCES monitor_subscriptions ON DELETE CASCADE,
  idempotency_key text NOT NULL UNIQUE,  -- 'wb-<event_id>-<subscription_id>', sent along
  channel         text NOT NULL,
  address         text NOT NULL,
  title           text NOT NULL,
  body            text NOT NULL,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until     timestamptz,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  UNIQUE (event_id, subscription_id)
);
CREATE INDEX monitor_notifications_due ON monitor_notifications (next_attempt_at)
  WHERE status IN ('pending', 'sending');

CREATE TABLE monitor_deliveries (
  delivery_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notification_id bigint NOT NULL REFERENCES monitor_notifications ON DELETE CASCADE,
  attempt         integer NOT NULL,
  started_at      timestamptz NOT NULL,
  finished_at     timestamptz NOT NULL,
  ok              boolean NOT NULL,
  detail          text NOT NULL,  -- the receiver's answer or the error
  UNIQUE (notification_id, attempt)
);

------------------------------------------------------------------------------
-- Over-quota progressive charges (超定额累进加价)
------------------------------------------------------------------------------
-- A tier table row: where it applies (NULL matches anything; area = a node
-- and its subtree, the nearest area wins), the base price and the bands.
CREATE TABLE monitor_tariffs (
  tariff_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  year          integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  area_node_id  bigint REFERENCES budget_nodes,
  source_family text CHECK (source_family IN ('yellow_river', 'local_surface', 'groundwater',
                                              'non_conventional', 'transferred', 'traded')),
  crop_class    text,
  price_per_m3  numeric(12, 4) NOT NULL CHECK (price_per_m3 >= 0),  -- yuan
  bands         jsonb NOT NULL,  -- [{"up_to": "0.30", "multiplier": "1.3"}, …, {"up_to": null, …}]
  recorded_by   text NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (year, area_node_id, source_family, crop_class)
);

-- Charges of water users (leaf nodes) over quota, per year and source family.
CREATE TABLE monitor_charges (
  node_id       bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  year          integer NOT NULL,
  source_family text NOT NULL,
  as_of         timestamptz NOT NULL,  -- data time
  use_m3        numeric NOT NULL,
  quota_m3      numeric NOT NULL,
  excess_m3     numeric NOT NULL,
  price_per_m3  numeric NOT NULL,
  base_amount   numeric NOT NULL,      -- within quota at the base price
  total_amount  numeric NOT NULL,      -- yuan, unrounded (invoicing rounds once)
  surcharge     numeric NOT NULL,      -- total − (use × price)
  bands         jsonb NOT NULL,        -- one line per band: volume, multiplier, amount
  tariff_id     bigint REFERENCES monitor_tariffs,
  computed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, year, source_family)
);

------------------------------------------------------------------------------
-- Enforcement (optional, off by default): shut-off commands and overrides
------------------------------------------------------------------------------
CREATE TABLE monitor_enforcement_overrides (
  override_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node_id     bigint NOT NULL REFERENCES budget_nodes,
  site_id     text,  -- NULL: every well of the node
  reason      text NOT NULL CHECK (reason <> ''),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  until       timestamptz,  -- NULL: until revoked
  revoked_by  text,
  revoked_at  timestamptz
);
CREATE INDEX monitor_enforcement_overrides_node ON monitor_enforcement_overrides (node_id)
  WHERE revoked_at IS NULL;

CREATE TABLE monitor_enforcement_commands (
  command_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE,  -- sent in the payload as command_id
  alert_id        bigint REFERENCES monitor_alerts,
  override_id     bigint REFERENCES monitor_enforcement_overrides,
  node_id         bigint NOT NULL REFERENCES budget_nodes,
  site_id         text NOT NULL,
  device_id       text NOT NULL,
  action          text NOT NULL CHECK (action IN ('shut_off', 'resume')),
  topic           text NOT NULL,
  payload         jsonb NOT NULL,
  reason          text NOT NULL,
  requested_by    text NOT NULL,  -- 'rule' or the operator
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sent', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz
);
CREATE INDEX monitor_enforcement_commands_due ON monitor_enforcement_commands (next_attempt_at)
  WHERE status = 'pending';

------------------------------------------------------------------------------
-- Data already stored when the monitor arrives: roll it all up
------------------------------------------------------------------------------
INSERT INTO monitor_changes (kind, site_ids, ts_from, ts_to)
SELECT 'registry', array_agg(site_id), array_agg(NULL::timestamptz), array_agg(NULL::timestamptz)
FROM sites HAVING count(*) > 0;
INSERT INTO monitor_changes (kind, node_ids, years)
SELECT 'budget', NULL, array_agg(DISTINCT year) FROM budget_entries HAVING count(*) > 0;
