-- Water budgets (budget/): the node hierarchy, the ledger of issued volumes,
-- permits and control figures, trades, imports and API tokens.
-- Volumes are numeric m³ with litre resolution (budget/units.py).

CREATE TABLE budget_nodes (
  node_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code       text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]*$'),
  name       text NOT NULL CHECK (name <> ''),
  level      text NOT NULL CHECK (level IN ('district', 'township', 'irrigation_district',
                                            'unit', 'household', 'card_holder')),
  parent_id  bigint REFERENCES budget_nodes,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (parent_id IS DISTINCT FROM node_id)
);
CREATE INDEX budget_nodes_parent ON budget_nodes (parent_id);

-- Who is warned about a node's budget.
CREATE TABLE budget_contacts (
  contact_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node_id    bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  name       text NOT NULL,
  phone      text,
  email      text,
  role       text
);
CREATE INDEX budget_contacts_node ON budget_contacts (node_id);

-- Registry sites and meters, and IC cards, whose water counts against a node.
-- One node per thing; sector NULL = counts against any sector of the node.
CREATE TABLE budget_attachments (
  kind    text NOT NULL CHECK (kind IN ('site', 'meter', 'card')),
  ref     text NOT NULL,
  node_id bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  sector  text,
  PRIMARY KEY (kind, ref)
);
CREATE INDEX budget_attachments_node ON budget_attachments (node_id);

-- Per budget year: how non-conventional water counts (甘州 1.(3)①).
CREATE TABLE budget_years (
  year                    integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
  non_conventional_factor numeric(4, 3) NOT NULL DEFAULT 0
                          CHECK (non_conventional_factor BETWEEN 0 AND 1)
);

CREATE TABLE budget_permits (
  permit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node_id   bigint NOT NULL REFERENCES budget_nodes,
  year      integer NOT NULL,
  source    text,  -- NULL: all conventional sources together
  volume_m3 numeric(16, 3) NOT NULL CHECK (volume_m3 >= 0),
  reference text NOT NULL DEFAULT '',
  UNIQUE NULLS NOT DISTINCT (node_id, year, source)
);

CREATE TABLE budget_control_figures (
  node_id   bigint NOT NULL REFERENCES budget_nodes,
  year      integer NOT NULL,
  volume_m3 numeric(16, 3) NOT NULL CHECK (volume_m3 >= 0),
  reference text NOT NULL DEFAULT '',
  PRIMARY KEY (node_id, year)
);

-- Monthly plan profile (12 weights summing to 1); absent: the irrigation-season default.
CREATE TABLE budget_plan_profiles (
  node_id bigint PRIMARY KEY REFERENCES budget_nodes ON DELETE CASCADE,
  weights numeric(6, 5)[] NOT NULL CHECK (cardinality(weights) = 12)
);

CREATE TABLE budget_imports (
  import_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  format        text NOT NULL,
  year          integer NOT NULL,
  imported_by   text NOT NULL,
  imported_at   timestamptz NOT NULL DEFAULT now(),
  discrepancies jsonb NOT NULL  -- as reported to, and acknowledged by, the operator
);

CREATE TABLE budget_trades (
  trade_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seller_id   bigint NOT NULL REFERENCES budget_nodes,
  buyer_id    bigint NOT NULL REFERENCES budget_nodes,
  year        integer NOT NULL,
  source      text NOT NULL,
  sector      text NOT NULL,
  volume_m3   numeric(16, 3) NOT NULL CHECK (volume_m3 > 0),
  valid_from  timestamptz NOT NULL,
  reason      text NOT NULL,
  status      text NOT NULL DEFAULT 'proposed'
              CHECK (status IN ('proposed', 'approved', 'rejected')),
  proposed_by text NOT NULL,
  proposed_at timestamptz NOT NULL DEFAULT now(),
  decided_by  text,
  decided_at  timestamptz,
  seller_used_m3 numeric(16, 3),  -- use counted against the surplus at approval
  CHECK ((status = 'proposed') = (decided_at IS NULL))
);

-- The ledger. Only approved rows count. A row is never edited: the only
-- update allowed is the decision on a proposal, and nothing is ever deleted.
CREATE TABLE budget_entries (
  entry_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node_id     bigint NOT NULL REFERENCES budget_nodes,
  year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  kind        text NOT NULL
              CHECK (kind IN ('issue', 'supplement', 'cut', 'trade_out', 'trade_in')),
  source      text NOT NULL,
  sector      text NOT NULL,
  volume_m3   numeric(16, 3) NOT NULL CHECK (volume_m3 > 0),
  valid_from  timestamptz NOT NULL,
  reason      text NOT NULL,
  status      text NOT NULL DEFAULT 'proposed'
              CHECK (status IN ('proposed', 'approved', 'rejected')),
  proposed_by text NOT NULL,
  proposed_at timestamptz NOT NULL DEFAULT now(),
  decided_by  text,
  decided_at  timestamptz,
  trade_id    bigint REFERENCES budget_trades,
  import_id   bigint REFERENCES budget_imports,
  CHECK ((status = 'proposed') = (decided_at IS NULL))
);
CREATE INDEX budget_entries_year_node ON budget_entries (year, node_id) WHERE status = 'approved';

CREATE FUNCTION budget_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'budget ledger rows are never deleted (entry %)', OLD.entry_id;
  END IF;
  IF OLD.status <> 'proposed'
     OR (to_jsonb(NEW) - '{status,decided_by,decided_at}'::text[])
        IS DISTINCT FROM (to_jsonb(OLD) - '{status,decided_by,decided_at}'::text[]) THEN
    RAISE EXCEPTION 'budget ledger rows are never edited (entry %)', OLD.entry_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER budget_entries_append_only BEFORE UPDATE OR DELETE ON budget_entries
  FOR EACH ROW EXECUTE FUNCTION budget_entries_append_only();

-- API tokens, stored as SHA-256 of a random 32-byte secret (never the secret).
CREATE TABLE budget_api_tokens (
  token_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_sha256 bytea NOT NULL UNIQUE,
  name         text NOT NULL,
  role         text NOT NULL CHECK (role IN ('administrator', 'operator', 'water_user')),
  node_id      bigint REFERENCES budget_nodes,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  CHECK ((role = 'administrator') = (node_id IS NULL))
);
