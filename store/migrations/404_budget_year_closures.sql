-- A closed year is closed (issue 12, 甘州 3.(1) "…执行—调整—决算"): issuing the final
-- accounts of a root node (the district) closes the budget year; a ledger entry
-- or trade into a closed year is refused until an administrator reopens it,
-- which is recorded here and marks the next revision of the final accounts.
-- The newest event of a year says whether it is closed. Append-only.
CREATE TABLE budget_year_events (
  event_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  year      integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  event     text NOT NULL CHECK (event IN ('closed', 'reopened')),
  at        timestamptz NOT NULL,
  by_name   text NOT NULL,
  reason    text NOT NULL DEFAULT '',
  report_id bigint  -- the final accounts whose issue closed the year
);
CREATE INDEX budget_year_events_year ON budget_year_events (year, event_id DESC);

CREATE FUNCTION budget_year_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'budget_year_events are append-only';
END $$;
CREATE TRIGGER budget_year_events_append_only BEFORE UPDATE OR DELETE ON budget_year_events
  FOR EACH ROW EXECUTE FUNCTION budget_year_events_append_only();
