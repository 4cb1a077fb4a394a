-- Register tails (ingest/register_tails.py): the one ingest process that keeps
-- each meter's last readings in memory must learn when anyone else wrote
-- readings. Every other writer bumps this count in its transaction.
CREATE TABLE ingest_epoch (
  id     integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  writes bigint NOT NULL DEFAULT 0
);
INSERT INTO ingest_epoch DEFAULT VALUES;
