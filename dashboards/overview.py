"""区县总览 (district overview): execution of the year by township and source,
active alerts, real-time flow and a map of the sites.

District-wide panels read the monitor's maintained tables (executions, the
per node/day and per site/day roll-ups, alerts), never raw consumption; only
the real-time flow reads raw readings, over its last 24 hours.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from dashboards.alert_labels import ALERT_KIND_LABELS, LEVEL_LABELS, SEVERITY_LABELS
from dashboards.annotations import alert_annotation
from dashboards.panels import (
    FULL,
    M3_PER_H,
    PERCENT_POINTS,
    RATE,
    SOURCE_LABELS,
    SOURCE_TOTAL_LABELS,
    WAN_M3,
    Column,
    Size,
    gap_bars,
    grouped_bars,
    site_map,
    stat_panel,
    table_panel,
    time_series,
)
from dashboards.range_sql import LAST_DAY, SEVERITY_RANK, YEAR, days_in_range, node
from dashboards.site_detail import SITE_LINK
from dashboards.variables import query_variable

UID = "wb-overview"
DISTRICT = node("district")



def execution(node_id: str, figure: str) -> str:
    """One figure of a node's execution this year, all sources and sectors."""
    return f"""
SELECT {figure}
FROM monitor_executions e
WHERE e.node_id = {node_id} AND e.period = {YEAR} AND e.source = '' AND e.sector = ''
"""


GAP = "round((e.execution_rate - e.time_progress) * 100, 1)"
"""执行率 − 时间进度 in percentage points (NULL for a zero budget)."""

TOWNSHIP_GAPS = f"""
SELECT n.name AS township, {GAP} AS gap
FROM monitor_executions e
JOIN budget_nodes n USING (node_id)
WHERE n.parent_id = {DISTRICT} AND e.period = {YEAR} AND e.source = '' AND e.sector = ''
ORDER BY 2 DESC NULLS LAST, n.code
"""

TOWNSHIP_VOLUMES = f"""
SELECT n.name AS township, e.budget_m3 / 10000 AS budget, e.drawn_m3 / 10000 AS drawn,
       e.projected_m3 / 10000 AS projected
FROM monitor_executions e
JOIN budget_nodes n USING (node_id)
WHERE n.parent_id = {DISTRICT} AND e.period = {YEAR} AND e.source = '' AND e.sector = ''
ORDER BY n.code
"""

TOWNSHIP_BY_SOURCE = f"""
SELECT n.name AS township, CASE e.source WHEN '' THEN 'all' ELSE e.source END AS source,
       e.budget_m3 / 10000 AS budget,
       e.drawn_m3 / 10000 AS drawn, e.execution_rate AS rate, e.time_progress AS progress,
       {GAP} AS gap, e.projected_m3 / 10000 AS projected, e.exhaustion_at, e.level
FROM monitor_executions e
JOIN budget_nodes n USING (node_id)
WHERE n.parent_id = {DISTRICT} AND e.period = {YEAR} AND e.sector = ''
ORDER BY n.code, e.source
"""

CUMULATIVE = f"""
SELECT wb_day_start(day) AS time, source AS metric,
       sum(sum(total_m3)) OVER (PARTITION BY source ORDER BY day) / 10000 AS value
FROM monitor_node_day
WHERE node_id = {DISTRICT} AND {days_in_range("day")}
GROUP BY day, source
ORDER BY 1
"""

# Σ over meters of each meter's mean flow in the bucket, as one aggregation:
# a reading stands for its meter's reporting interval, so Σ flow × interval ÷
# bucket length is that sum (no per-meter grouping of 24 h × every meter).
REALTIME_FLOW = """
SELECT $__timeGroupAlias(r.ts, $__interval), s.source AS metric,
       sum(r.flow_m3h * m.expected_interval_s) / ($__interval_ms / 1000.0) AS value
FROM register_readings r
JOIN meters m USING (meter_id)
JOIN sites s ON s.site_id = m.site_id
WHERE $__timeFilter(r.ts) AND r.flow_m3h IS NOT NULL
GROUP BY 1, 2
ORDER BY 1
"""

SITE_MAP = f"""
SELECT s.site_id, s.name, s.lat, s.lon, coalesce(d.truth_m3, 0) AS day_m3,
       coalesce({GAP}, 0) AS gap, n.name AS budget_node
FROM sites s
LEFT JOIN monitor_site_day d ON d.site_id = s.site_id AND d.day = {LAST_DAY}
LEFT JOIN budget_attachments a ON a.kind = 'site' AND a.ref = s.site_id
LEFT JOIN budget_nodes n ON n.node_id = a.node_id
LEFT JOIN monitor_executions e
  ON e.node_id = a.node_id AND e.period = {YEAR} AND e.source = '' AND e.sector = ''
WHERE s.lat IS NOT NULL AND s.lon IS NOT NULL
"""

ALERT_COUNTS = """
SELECT count(*) FILTER (WHERE severity = 'critical') AS critical,
       count(*) FILTER (WHERE severity = 'warning') AS warning,
       count(*) FILTER (WHERE severity = 'notice') AS notice
FROM monitor_alerts
WHERE status <> 'resolved'
"""

ACTIVE_ALERTS = f"""
SELECT a.severity, a.kind, coalesce(n.name, '') AS node, coalesce(a.site_id, '') AS site_id,
       coalesce(a.message_zh, a.detail) AS detail, a.opened_at, a.status
FROM monitor_alerts a
LEFT JOIN budget_nodes n USING (node_id)
WHERE a.status <> 'resolved'
ORDER BY {SEVERITY_RANK.replace("severity", "a.severity")} DESC, a.opened_at DESC
LIMIT 200
"""

BUDGET_ALERT_ANNOTATIONS = """
SELECT a.opened_at AS time, coalesce(a.resolved_at, a.last_seen_at) AS timeend,
       coalesce(n.name, a.subject) || '：' || coalesce(a.message_zh, a.detail) AS text,
       a.kind || ',' || a.severity AS tags
FROM monitor_alerts a
LEFT JOIN budget_nodes n USING (node_id)
WHERE a.kind IN ('budget_level', 'budget_pace') AND a.severity IN ('warning', 'critical')
  AND a.opened_at <= $__timeTo() AND coalesce(a.resolved_at, a.last_seen_at) >= $__timeFrom()
ORDER BY 1
"""

DISTRICTS = """
SELECT name AS __text, code AS __value FROM budget_nodes WHERE level = 'district' ORDER BY code
"""


def build() -> Dashboard:
    rates = Column("rate", "执行率", unit=RATE)
    return (
        Dashboard("区县总览 District overview").uid(UID)
        .description("Budget execution of the year by township and source, active alerts, "
                     "real-time flow and the sites on a map.")
        .tags(["waterbudget", "overview"]).timezone("Asia/Shanghai").time("now/y", "now")
        .refresh("1m").editable()
        .with_variable(query_variable("district", "区县", "District (区/县)", DISTRICTS))
        .annotation(alert_annotation("预算告警 budget alerts", BUDGET_ALERT_ANNOTATIONS, "red"))
        .with_row(Row("预算执行 Budget execution"))
        .with_panel(gap_bars("乡镇 执行率 − 时间进度（个百分点）", "Per township / irrigation "
                             "district: execution rate minus time progress, in percentage "
                             "points — how far the draw runs ahead of (positive) or behind "
                             "(negative) the plan profile; coloured by that difference: "
                             "yellow from 5, orange from 10, red from 20 points ahead",
                             TOWNSHIP_GAPS, size=Size(16, 9)))
        .with_panel(stat_panel("全区 执行率 − 时间进度", "The district's execution rate minus "
                               "its time progress (percentage points), coloured like the bars",
                               execution(DISTRICT, f"{GAP} AS gap"), unit=PERCENT_POINTS,
                               gap=True, size=Size(8, 9)))
        .with_panel(stat_panel("年度预算", "Effective budget of the year (issued ± "
                               "adjustments and trades), 万m³",
                               execution(DISTRICT, "e.budget_m3 / 10000 AS budget"),
                               unit=WAN_M3))
        .with_panel(stat_panel("累计取水", "Water drawn this year, all sources (万m³)",
                               execution(DISTRICT, "e.drawn_m3 / 10000 AS drawn"),
                               unit=WAN_M3))
        .with_panel(stat_panel("执行率", "Execution rate: drawn ÷ budget",
                               execution(DISTRICT, "e.execution_rate AS rate"), unit=RATE,
                               rate=True))
        .with_panel(stat_panel("时间进度", "Time progress: the plan profile's share of the "
                               "year elapsed", execution(DISTRICT, "e.time_progress AS progress"),
                               unit=RATE))
        .with_panel(grouped_bars("乡镇预算与取水", "Budget, drawn and projected year-end "
                                 "draw by township (万m³)", TOWNSHIP_VOLUMES,
                                 x_field="township", unit=WAN_M3, size=FULL))
        .with_panel(table_panel(
            "乡镇分水源执行", "Execution by township and source: budget, drawn, rate, time "
            "progress, projection and projected exhaustion", TOWNSHIP_BY_SOURCE,
            [Column("township", "乡镇/灌区"),
             Column("source", "水源", mapping=SOURCE_TOTAL_LABELS),
             Column("budget", "预算(万m³)", unit=WAN_M3),
             Column("drawn", "取水(万m³)", unit=WAN_M3), rates,
             Column("progress", "时间进度", unit=RATE),
             Column("gap", "执行率−时间进度(个百分点)", unit=PERCENT_POINTS),
             Column("projected", "预计年末(万m³)", unit=WAN_M3),
             Column("exhaustion_at", "预计用完时间"),
             Column("level", "预警级别", mapping=LEVEL_LABELS)], size=Size(24, 9)))
        .with_panel(time_series("累计取水（按水源）", "Cumulative draw of the district this "
                                "year by source (万m³), from the daily roll-up", CUMULATIVE,
                                unit=WAN_M3, series=SOURCE_LABELS, min_interval="1d",
                                size=Size(24, 8)))
        .with_row(Row("实时 Real time"))
        .with_panel(time_series("实时流量（按水源）", "Instantaneous flow of all flow meters "
                                "by source over the last 24 hours (m³/h)", REALTIME_FLOW,
                                unit=M3_PER_H, series=SOURCE_LABELS, stacked=True,
                                min_interval="1h", relative="24h"))
        .with_panel(site_map("站点地图", "Sites at their coordinates: size = today's water "
                             "use, colour = execution rate minus time progress of the node "
                             "they count against", SITE_MAP, size_field="day_m3",
                             color_field="gap"))
        .with_row(Row("告警 Alerts"))
        .with_panel(stat_panel("当前告警", "Open or acknowledged alerts by severity "
                               "(critical, warning, notice)", ALERT_COUNTS, unit="short",
                               size=Size(6, 8)))
        .with_panel(table_panel(
            "告警列表", "Active alerts, most severe first", ACTIVE_ALERTS,
            [Column("severity", "级别", mapping=SEVERITY_LABELS),
             Column("kind", "类型", mapping=ALERT_KIND_LABELS), Column("node", "预算单元"),
             Column("site_id", "站点", link=SITE_LINK), Column("detail", "说明"),
             Column("opened_at", "发生时间"), Column("status", "状态")], size=Size(18, 8)))
    )

