-- The budget procedure of a node and year (甘州 3.(1) 告知—复核—下达—执行—调整—决算;
-- issue 12): who did which step when (budget/procedure.py). Append-only.
CREATE TABLE budget_procedure_events (
  event_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node_id        bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  year           integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  step           text NOT NULL CHECK (step IN ('notified', 'reviewed', 'issued', 'adjusted')),
  at             timestamptz NOT NULL,
  by_name        text NOT NULL,
  effective_from timestamptz,
  note           text NOT NULL DEFAULT ''
);
CREATE INDEX budget_procedure_events_node ON budget_procedure_events (node_id, year, event_id);
