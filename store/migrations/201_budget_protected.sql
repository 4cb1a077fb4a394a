-- Protected shares of a node's budget (宁夏 7.1.2 e): the rigid needs a cut list
-- never touches, recorded per node and budget year in m³. Residential water is
-- protected by its sector alone; these two are parts of a sector, so they are
-- recorded: grain-crop irrigation (粮食作物灌溉用水, part of agriculture.irrigation)
-- and basic ecological flow (基本生态流量用水, part of ecology.river_lake).
CREATE TABLE budget_protected_volumes (
  node_id                  bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  year                     integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  grain_irrigation_m3      numeric(16, 3) NOT NULL DEFAULT 0 CHECK (grain_irrigation_m3 >= 0),
  basic_ecological_flow_m3 numeric(16, 3) NOT NULL DEFAULT 0
                           CHECK (basic_ecological_flow_m3 >= 0),
  reference                text NOT NULL DEFAULT '',
  recorded_by              text NOT NULL,
  recorded_at              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, year)
);
