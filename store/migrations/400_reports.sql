-- Reports (reports/): every issued report with its as-of, what it was built
-- from and the document as issued. A report is (kind, node, period); data that
-- arrives after it was issued gives revision n+1, which says what changed.
-- Rows are never edited or deleted: an issued report stays what it was.
CREATE TABLE reports (
  report_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('monthly', 'final_accounts')),
  node_id     bigint NOT NULL REFERENCES budget_nodes,
  period      text NOT NULL CHECK (period ~ '^[0-9]{4}(-[0-9]{2})?$'),  -- 2024-06 or 2024
  revision    integer NOT NULL CHECK (revision >= 1),
  as_of       timestamptz NOT NULL,   -- data up to this moment (data time)
  built_at    timestamptz NOT NULL,   -- what was known then (ledger entries approved by then)
  built_by    text NOT NULL,          -- 'scheduler', 'cli' or the API token's name
  changes     integer NOT NULL DEFAULT 0 CHECK (changes >= 0),  -- figures changed since n-1
  document    jsonb NOT NULL,         -- every figure as issued (reports/document.py)
  inputs      jsonb NOT NULL,         -- the data it was built from (reports/provenance.py)
  inputs_sha256 bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, node_id, period, revision),
  CHECK ((kind = 'monthly') = (period ~ '-'))
);
CREATE INDEX reports_node ON reports (node_id, kind, period);
CREATE INDEX reports_period ON reports (kind, period);

CREATE FUNCTION reports_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'issued reports are never edited or deleted (report %): issue a revision',
    OLD.report_id;
END $$;
CREATE TRIGGER reports_append_only BEFORE UPDATE OR DELETE ON reports
  FOR EACH ROW EXECUTE FUNCTION reports_append_only();
