-- Revenue of a node's budget year (宁夏 5, 7.1.1): the available water by source
-- (4.3.1 leaf kinds, non-conventional by sub-kind), recorded by an operator or
-- administrator. `forecast` is the cap handed down plus the forecast inflow;
-- `updated` is an actual or updated inflow during the year (7.4.3 a).
-- A new record supersedes the previous one of the same node, year and basis;
-- records are never edited or deleted, so the history stays auditable.
CREATE TABLE budget_revenue_records (
  record_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node_id     bigint NOT NULL REFERENCES budget_nodes,
  year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  basis       text NOT NULL CHECK (basis IN ('forecast', 'updated')),
  reference   text NOT NULL DEFAULT '',
  recorded_by text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budget_revenue_records_node_year
  ON budget_revenue_records (node_id, year, basis, record_id DESC);

CREATE TABLE budget_revenue_lines (
  record_id bigint NOT NULL REFERENCES budget_revenue_records,
  source    text NOT NULL CHECK (source IN ('yellow_river', 'local_surface', 'groundwater',
                                            'reclaimed', 'mine_water', 'brackish', 'rainwater',
                                            'transferred', 'traded')),
  volume_m3 numeric(16, 3) NOT NULL CHECK (volume_m3 >= 0),
  PRIMARY KEY (record_id, source)
);

CREATE FUNCTION budget_revenue_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'budget revenue records are never edited or deleted (%): record a new one',
    TG_TABLE_NAME;
END $$;
CREATE TRIGGER budget_revenue_records_append_only BEFORE UPDATE OR DELETE
  ON budget_revenue_records FOR EACH ROW EXECUTE FUNCTION budget_revenue_append_only();
CREATE TRIGGER budget_revenue_lines_append_only BEFORE UPDATE OR DELETE
  ON budget_revenue_lines FOR EACH ROW EXECUTE FUNCTION budget_revenue_append_only();
