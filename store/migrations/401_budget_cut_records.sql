-- 宁夏 7.1.2 per source, only the parts the spec names (issue 12). What a node
-- records for the cut list of a year, m³; NULL = not recorded, and an unknown
-- figure keeps its lines whole (an unknown protected share is not zero):
--   grain_irrigation_m3            粮食作物灌溉用水, kept within agriculture.irrigation (b, e)
--   basic_ecological_flow_m3       基本生态流量用水, kept within ecology.river_lake (a, e)
--   urban_environment_baseline_m3  城乡环境 生态基准需求, kept within ecology.urban_environment (a)
--   industry_non_production_m3     高耗水行业非生产必需用水, the only cuttable industry (c)
--   services_non_essential_m3      特种行业非运营必需用水, the only cuttable services (d)
-- Rows recorded before this migration keep their figures (they were recorded
-- explicitly: the API required both).
ALTER TABLE budget_protected_volumes
  ALTER COLUMN grain_irrigation_m3 DROP NOT NULL,
  ALTER COLUMN grain_irrigation_m3 DROP DEFAULT,
  ALTER COLUMN basic_ecological_flow_m3 DROP NOT NULL,
  ALTER COLUMN basic_ecological_flow_m3 DROP DEFAULT,
  ADD COLUMN urban_environment_baseline_m3 numeric(16, 3)
    CHECK (urban_environment_baseline_m3 >= 0),
  ADD COLUMN industry_non_production_m3 numeric(16, 3)
    CHECK (industry_non_production_m3 >= 0),
  ADD COLUMN services_non_essential_m3 numeric(16, 3)
    CHECK (services_non_essential_m3 >= 0);
