"""乡镇/灌区/用水单位 下钻 (drill-down): one node of the budget hierarchy —
district, then township or irrigation district, then water-user unit — with its
execution by source, its children, its daily and cumulative draw, the sites
that make up its draw, and its alerts.

The ``unit`` list starts with the township itself ("全部"), so the focus is
always one node: ``$unit``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from dashboards.alert_labels import (
    ALERT_KIND_LABELS,
    LEVEL_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
)
from dashboards.annotations import alert_annotation
from dashboards.overview import DISTRICTS, execution
from dashboards.panels import (
    KIND_LABELS,
    M3,
    RATE,
    SOURCE_LABELS,
    SOURCE_TOTAL_LABELS,
    Column,
    Size,
    stat_panel,
    table_panel,
    time_series,
)
from dashboards.range_sql import SEVERITY_RANK, YEAR, days_in_range, node, subtree
from dashboards.site_detail import SITE_LINK
from dashboards.variables import query_variable

UID = "wb-drilldown"
FOCUS = node("unit")
LEVEL_NAMES = {"district": "区县", "township": "乡镇", "irrigation_district": "灌区",
               "unit": "用水单位", "household": "用水户", "card_holder": "持卡户"}

AREAS = """
SELECT name AS __text, code AS __value FROM budget_nodes
WHERE parent_id = (SELECT node_id FROM budget_nodes WHERE code = '$district')
  AND level IN ('township', 'irrigation_district')
ORDER BY code
"""

UNITS = """
SELECT __text, __value FROM (
  SELECT '全部（' || name || '）' AS __text, code AS __value, 0 AS rank
  FROM budget_nodes WHERE code = '$area'
  UNION ALL
  SELECT name, code, 1 FROM budget_nodes
  WHERE parent_id = (SELECT node_id FROM budget_nodes WHERE code = '$area')
) options
ORDER BY rank, __value
"""

BY_SOURCE = f"""
SELECT CASE e.source WHEN '' THEN 'all' ELSE e.source END AS source, e.budget_m3,
       e.drawn_m3, e.remaining_m3, e.execution_rate AS rate,
       e.time_progress AS progress, e.projected_m3, e.exhaustion_at, e.level
FROM monitor_executions e
WHERE e.node_id = {FOCUS} AND e.period = {YEAR} AND e.sector = ''
ORDER BY e.source
"""

CHILDREN = f"""
SELECT n.code, n.name, n.level, e.budget_m3, e.drawn_m3, e.execution_rate AS rate,
       e.time_progress AS progress, e.level AS alert_level,
       (SELECT count(*) FROM monitor_alerts a
        WHERE a.node_id = n.node_id AND a.status <> 'resolved') AS open_alerts
FROM budget_nodes n
LEFT JOIN monitor_executions e
  ON e.node_id = n.node_id AND e.period = {YEAR} AND e.source = '' AND e.sector = ''
WHERE n.parent_id = {FOCUS}
ORDER BY n.code
LIMIT 500
"""

DAILY = f"""
SELECT wb_day_start(day) AS time, source AS metric, sum(total_m3) AS value
FROM monitor_node_day
WHERE node_id = {FOCUS} AND {days_in_range("day")}
GROUP BY day, source
ORDER BY 1
"""

CUMULATIVE = f"""
SELECT wb_day_start(d.day) AS time, sum(sum(d.total_m3)) OVER (ORDER BY d.day) AS drawn,
       (SELECT e.budget_m3 FROM monitor_executions e
        WHERE e.node_id = {FOCUS} AND e.period = {YEAR} AND e.source = '' AND e.sector = '')
         AS budget
FROM monitor_node_day d
WHERE d.node_id = {FOCUS} AND {days_in_range("d.day")}
GROUP BY d.day
ORDER BY 1
"""

SITES = f"""
SELECT d.site_id, s.name, s.kind, d.source, sum(d.volume_m3) AS drawn_m3
FROM monitor_node_draw_day d
JOIN sites s USING (site_id)
WHERE d.node_id IN {subtree("unit")} AND {days_in_range("d.day")}
GROUP BY d.site_id, s.name, s.kind, d.source
ORDER BY drawn_m3 DESC
LIMIT 500
"""

ALERTS = f"""
SELECT a.severity, a.kind, n.name AS node, coalesce(a.site_id, '') AS site_id,
       coalesce(a.message_zh, a.detail) AS detail,
       a.opened_at, a.status
FROM monitor_alerts a
JOIN budget_nodes n USING (node_id)
WHERE a.node_id IN {subtree("unit")}
  AND (a.status <> 'resolved' OR a.resolved_at >= $__timeFrom())
ORDER BY a.status = 'resolved', {SEVERITY_RANK.replace("severity", "a.severity")} DESC,
         a.opened_at DESC
LIMIT 200
"""

ANNOTATIONS = f"""
SELECT a.opened_at AS time, coalesce(a.resolved_at, a.last_seen_at) AS timeend,
       n.name || '：' || coalesce(a.message_zh, a.detail) AS text,
       a.kind || ',' || a.severity AS tags
FROM monitor_alerts a
JOIN budget_nodes n USING (node_id)
WHERE a.node_id IN {subtree("unit")} AND a.kind IN ('budget_level', 'budget_pace')
  AND a.opened_at <= $__timeTo() AND coalesce(a.resolved_at, a.last_seen_at) >= $__timeFrom()
ORDER BY 1
"""


def build() -> Dashboard:
    return (
        Dashboard("预算单元下钻 Drill-down by township, irrigation district and unit").uid(UID)
        .description("One node of the budget hierarchy: execution by source, its children, "
                     "daily and cumulative draw, the sites behind the draw, alerts.")
        .tags(["waterbudget", "drilldown"]).timezone("Asia/Shanghai").time("now/y", "now")
        .refresh("5m").editable()
        .with_variable(query_variable("district", "区县", "District (区/县)", DISTRICTS))
        .with_variable(query_variable("area", "乡镇/灌区",
                                      "Township or irrigation district (乡镇/灌区)", AREAS))
        .with_variable(query_variable("unit", "用水单位", "Water-user unit, or the township "
                                      "itself (全部)", UNITS))
        .annotation(alert_annotation("预算告警 budget alerts", ANNOTATIONS, "red"))
        .with_row(Row("执行 Execution"))
        .with_panel(stat_panel("预算", "Effective budget of the year (m³)",
                               execution(FOCUS, "e.budget_m3 AS budget"), unit=M3))
        .with_panel(stat_panel("累计取水", "Drawn this year, with the nodes below (m³)",
                               execution(FOCUS, "e.drawn_m3 AS drawn"), unit=M3))
        .with_panel(stat_panel("执行率", "Execution rate: drawn ÷ budget",
                               execution(FOCUS, "e.execution_rate AS rate"), unit=RATE,
                               rate=True))
        .with_panel(stat_panel("预计年末取水", "Projected draw at the year's end at the "
                               "pace so far (m³)",
                               execution(FOCUS, "e.projected_m3 AS projected"), unit=M3))
        .with_panel(table_panel(
            "分水源执行", "Execution by source: budget, drawn, remaining, rate, time progress, "
            "projection, projected exhaustion", BY_SOURCE,
            [Column("source", "水源", mapping=SOURCE_TOTAL_LABELS),
             Column("budget_m3", "预算", unit=M3), Column("drawn_m3", "取水", unit=M3),
             Column("remaining_m3", "剩余", unit=M3), Column("rate", "执行率", unit=RATE),
             Column("progress", "时间进度", unit=RATE),
             Column("projected_m3", "预计年末", unit=M3),
             Column("exhaustion_at", "预计用完时间"),
             Column("level", "预警级别", mapping=LEVEL_LABELS)], size=Size(24, 6)))
        .with_panel(table_panel(
            "下级执行情况", "The nodes directly below: budget, drawn, rate and open alerts",
            CHILDREN,
            [Column("code", "编码"), Column("name", "名称"),
             Column("level", "层级", mapping=LEVEL_NAMES),
             Column("budget_m3", "预算", unit=M3), Column("drawn_m3", "取水", unit=M3),
             Column("rate", "执行率", unit=RATE), Column("progress", "时间进度", unit=RATE),
             Column("alert_level", "预警级别", mapping=LEVEL_LABELS),
             Column("open_alerts", "未解除告警", unit="short")], size=Size(24, 8)))
        .with_row(Row("取水 Draw"))
        .with_panel(time_series("每日取水（按水源）", "Daily draw by source (m³), from the "
                                "daily roll-up", DAILY, unit=M3, bars=True, stacked=True,
                                series=SOURCE_LABELS, min_interval="1d"))
        .with_panel(time_series("累计取水与预算", "Cumulative draw this year against the "
                                "year's budget (m³)", CUMULATIVE, unit=M3, min_interval="1d",
                                series={"drawn": "累计取水", "budget": "年度预算"}))
        .with_panel(table_panel(
            "站点取水", "The wells and gates whose water makes up this draw", SITES,
            [Column("site_id", "站点", link=SITE_LINK), Column("name", "名称"),
             Column("kind", "类型", mapping=KIND_LABELS),
             Column("source", "水源", mapping=SOURCE_LABELS),
             Column("drawn_m3", "取水", unit=M3)]))
        .with_panel(table_panel(
            "告警", "Alerts of this node and the nodes below: live, or resolved in the range",
            ALERTS,
            [Column("severity", "级别", mapping=SEVERITY_LABELS),
             Column("kind", "类型", mapping=ALERT_KIND_LABELS), Column("node", "预算单元"),
             Column("site_id", "站点", link=SITE_LINK), Column("detail", "说明"),
             Column("opened_at", "发生时间"),
             Column("status", "状态", mapping=STATUS_LABELS)]))
    )
