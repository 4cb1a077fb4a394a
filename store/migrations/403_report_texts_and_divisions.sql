-- Final accounts per 宁夏 附录C (issue 12).
--
-- Administrative division codes (行政区划代码, GB/T 2260) of budget nodes: the
-- appendix tables' 县(区、市)代码 / 行政区代码 and the 用水单位名录 show them instead
-- of the node's internal code. The Ganzhou import records the district's from
-- its manifest (district.division_code).
CREATE TABLE budget_division_codes (
  node_id       bigint PRIMARY KEY REFERENCES budget_nodes ON DELETE CASCADE,
  division_code text NOT NULL CHECK (division_code ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$')
);

-- The operator-written parts of the final accounts (附录C 一 概述, 三(四) 特殊情况说明,
-- 四 保障措施), per node and budget year. Newest wins; every version is kept.
CREATE TABLE report_texts (
  text_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node_id     bigint NOT NULL REFERENCES budget_nodes ON DELETE CASCADE,
  year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  section     text NOT NULL CHECK (section IN ('region', 'implementation', 'special',
                                               'safeguards')),
  body        text NOT NULL,
  recorded_by text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_texts_node_year ON report_texts (node_id, year, section, text_id DESC);
