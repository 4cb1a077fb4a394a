-- A meter registered without its register at installation (initial_register) takes its
-- first reading as the baseline: no installation reading, no interval before the first
-- reading (issue 15). NULL = unknown; the CHECK (initial_register >= 0) stays.
ALTER TABLE meters ALTER COLUMN initial_register DROP NOT NULL;
ALTER TABLE meters ALTER COLUMN initial_register DROP DEFAULT;
