-- Sectors everywhere (issue 12).
--
-- The sector split of a node's budget issued by source only (未分行业): the
-- by-sector views spread each 未分行业 cell over these shares (budget/sector_split.py).
-- basis: 'structure' (the district's published structure, an estimate; the
-- Ganzhou import records 甘州 2.(1)'s 87.45/0.31/5.03/7.22 % for the district),
-- 'quota' (the zero-based quota calculation, an estimate), 'operator' (given by
-- the water office, replaces the estimate for the node). The ledger is not
-- changed: a split is not a budget change. Nodes without one take their
-- nearest ancestor's.
CREATE TABLE budget_sector_splits (
  node_id     bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  basis       text NOT NULL CHECK (basis IN ('structure', 'quota', 'operator')),
  shares      jsonb NOT NULL,  -- {sector: fraction}, leaf sectors, not 'unspecified'
  reference   text NOT NULL DEFAULT '',
  recorded_by text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, year)
);

-- What a registry site is, for the default sector of the water drawn there
-- (budget/site_sectors.py): irrigation well, canal outlet, public-supply works,
-- industrial intake, ecological outlet. sector overrides the default for the
-- site; an attachment's own sector overrides both.
CREATE TABLE budget_site_sectors (
  site_id     text PRIMARY KEY REFERENCES sites ON DELETE CASCADE,
  purpose     text CHECK (purpose IN ('irrigation_well', 'canal_outlet', 'public_supply',
                                      'industrial_intake', 'ecological_outlet')),
  sector      text,
  recorded_by text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  CHECK (purpose IS NOT NULL OR sector IS NOT NULL)
);
