"""站点与计量详情 (site and meter detail): one well or gate, its meters, register,
flow, water use by metering method, quality flags and IC-card sessions."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from dashboards.alert_labels import ALERT_KIND_LABELS, SEVERITY_LABELS, STATUS_LABELS
from dashboards.annotations import alert_annotation
from dashboards.panels import (
    FULL,
    KIND_LABELS,
    M3,
    M3_PER_H,
    METHOD_LABELS,
    SOURCE_LABELS,
    Column,
    Size,
    state_timeline,
    table_panel,
    time_series,
)
from dashboards.variables import query_variable

UID = "wb-site"
SITE_LINK = ("站点详情 site detail", f"/d/{UID}?var-site=${{__value.raw}}&${{__url_time_range}}")
QUALITY_LABELS = {"impossible_delta": "超出额定能力", "negative_delta": "表码回退",
                  "outlier_reading": "孤立异常读数", "rollover": "表码翻转",
                  "bridged": "跨越异常读数", "clock_jump": "设备时钟跳变"}
CHANNEL_LABELS = {"flow": "流量计", "power": "电表(以电折水)", "card": "IC卡控制器"}

# The site's meters as an array parameter, so the readings' (meter_id, ts) key
# is used instead of scanning the range for every meter (also through the
# consumption view, whose register intervals live on register_readings).
SITE_METERS = "ANY(ARRAY(SELECT meter_id FROM meters WHERE site_id = '$site'))"
SITE_DEVICES = "ANY(ARRAY(SELECT device_id FROM meters WHERE site_id = '$site'))"

SITE_INFO = """
SELECT s.site_id, s.name, s.kind, s.source, s.township, s.irrigation_district,
       s.rated_m3h, s.lat, s.lon, n.name AS budget_node
FROM sites s
LEFT JOIN budget_attachments a ON a.kind = 'site' AND a.ref = s.site_id
LEFT JOIN budget_nodes n ON n.node_id = a.node_id
WHERE s.site_id = '$site'
"""

METERS = """
SELECT m.meter_id, m.channel, m.device_id, m.installed_at, m.removed_at, m.register_max,
       m.expected_interval_s / 60.0 AS expected_min, last.ts AS last_ts,
       last.value AS last_value
FROM meters m
LEFT JOIN LATERAL (
  SELECT r.ts, r.value FROM register_readings r
  WHERE r.meter_id = m.meter_id AND r.ts <= $__timeTo()
  ORDER BY r.ts DESC LIMIT 1
) last ON true
WHERE m.site_id = '$site'
ORDER BY m.installed_at, m.meter_id
"""

REGISTER = f"""
SELECT $__timeGroupAlias(r.ts, $__interval), r.meter_id AS metric, max(r.value) AS value
FROM register_readings r
WHERE r.meter_id = {SITE_METERS} AND $__timeFilter(r.ts)
GROUP BY 1, 2
ORDER BY 1
"""

FLOW = f"""
SELECT $__timeGroupAlias(r.ts, $__interval), r.meter_id AS metric, avg(r.flow_m3h) AS value
FROM register_readings r
WHERE r.meter_id = {SITE_METERS} AND r.flow_m3h IS NOT NULL AND $__timeFilter(r.ts)
GROUP BY 1, 2
ORDER BY 1
"""

USE_BY_METHOD = f"""
SELECT $__timeGroupAlias(c.ts_end, $__interval), c.method AS metric,
       sum(c.volume_m3) AS value
FROM consumption c
WHERE c.meter_id = {SITE_METERS} AND $__timeFilter(c.ts_end)
GROUP BY 1, 2
ORDER BY 1
"""

RECONCILIATION = f"""
WITH per_method AS (
  SELECT c.method, sum(c.volume_m3) AS volume_m3,
         count(*) FILTER (WHERE c.status = 'counted') AS counted,
         count(*) FILTER (WHERE c.status = 'quarantined') AS quarantined
  FROM consumption c
  WHERE c.meter_id = {SITE_METERS} AND $__timeFilter(c.ts_end)
  GROUP BY c.method
), truth AS (
  SELECT sum(volume_m3) AS volume_m3 FROM site_consumption
  WHERE meter_id = {SITE_METERS} AND $__timeFilter(ts_end)
)
SELECT p.method, p.volume_m3, p.counted, p.quarantined,
       CASE WHEN t.volume_m3 > 0 THEN p.volume_m3 / t.volume_m3 - 1 END AS deviation
FROM per_method p CROSS JOIN truth t
ORDER BY p.method
"""

QUALITY_FLAGS = f"""
SELECT q.ts_start, q.ts_end, q.meter_id, q.kind, q.register_delta
FROM quality_events q
WHERE q.meter_id = {SITE_METERS} AND $__timeFilter(q.ts_end)
ORDER BY q.ts_end DESC
LIMIT 500
"""

CARD_SESSIONS = f"""
SELECT s.started_at, s.ended_at, s.card_id, s.holder, s.volume_m3, s.kwh, s.balance_m3,
       s.meter_id
FROM card_sessions s
WHERE s.meter_id = {SITE_METERS} AND $__timeFilter(s.ended_at)
ORDER BY s.ended_at DESC
LIMIT 500
"""

DEVICE_ONLINE = f"""
SELECT $__time(d.ts), d.device_id AS metric,
       CASE WHEN d.online THEN 1 WHEN NOT d.online THEN 0 END AS value
FROM device_status d
WHERE d.device_id = {SITE_DEVICES} AND $__timeFilter(d.ts)
ORDER BY 1
"""

SITE_ALERTS = """
SELECT a.severity, a.kind, coalesce(a.meter_id, '') AS meter_id,
       coalesce(a.message_zh, a.detail) AS detail, a.opened_at,
       a.resolved_at, a.status
FROM monitor_alerts a
WHERE (a.site_id = '$site' OR a.meter_id IN (SELECT meter_id FROM meters WHERE site_id = '$site'))
  AND (a.status <> 'resolved' OR a.resolved_at >= $__timeFrom())
ORDER BY a.status = 'resolved', a.opened_at DESC
LIMIT 200
"""

SITE_ALERT_ANNOTATIONS = """
SELECT a.opened_at AS time, coalesce(a.resolved_at, a.last_seen_at) AS timeend,
       coalesce(a.message_zh, a.detail) AS text, a.kind || ',' || a.severity AS tags
FROM monitor_alerts a
WHERE (a.site_id = '$site' OR a.meter_id IN (SELECT meter_id FROM meters WHERE site_id = '$site'))
  AND a.opened_at <= $__timeTo() AND coalesce(a.resolved_at, a.last_seen_at) >= $__timeFrom()
ORDER BY 1
"""

TOWNSHIPS = """
SELECT DISTINCT coalesce(township, '(未填写)') AS __text, coalesce(township, '') AS __value
FROM sites ORDER BY 1
"""

SITES = """
SELECT name || ' (' || site_id || ')' AS __text, site_id AS __value
FROM sites WHERE coalesce(township, '') = '$township' ORDER BY site_id
"""


def build() -> Dashboard:
    return (
        Dashboard("站点与计量详情 Site and meter detail").uid(UID)
        .description("One well or canal gate: meters, register, flow, water use by "
                     "metering method, quality flags and IC-card sessions.")
        .tags(["waterbudget", "site"]).timezone("Asia/Shanghai").time("now-7d", "now")
        .refresh("5m").editable()
        .with_variable(query_variable("township", "乡镇", "Township (乡镇) of the site",
                                      TOWNSHIPS))
        .with_variable(query_variable("site", "站点", "Well or canal gate (站点)", SITES))
        .annotation(alert_annotation("站点告警 site alerts", SITE_ALERT_ANNOTATIONS, "orange"))
        .with_row(Row("站点与表计 Site and meters"))
        .with_panel(table_panel(
            "站点信息", "Site register entry and the budget node its water counts against",
            SITE_INFO, [Column("site_id", "站点编号"), Column("name", "名称"),
                        Column("kind", "类型", mapping=KIND_LABELS),
                        Column("source", "水源", mapping=SOURCE_LABELS),
                        Column("township", "乡镇"), Column("irrigation_district", "灌区"),
                        Column("rated_m3h", "额定流量", unit=M3_PER_H),
                        Column("lat", "纬度", unit="none"), Column("lon", "经度", unit="none"),
                        Column("budget_node", "预算单元")], size=Size(24, 4)))
        .with_panel(table_panel(
            "表计", "Meters of the site (flow meter, power meter, IC-card controller) with "
            "their last register reading before the end of the time range",
            METERS, [Column("meter_id", "表计编号"),
                     Column("channel", "类型", mapping=CHANNEL_LABELS),
                     Column("device_id", "终端"), Column("installed_at", "安装时间"),
                     Column("removed_at", "拆除时间"),
                     Column("register_max", "表码上限", unit="none"),
                     Column("expected_min", "上报周期(分钟)", unit="none"),
                     Column("last_ts", "最后读数时间"),
                     Column("last_value", "最后表码", unit="none")], size=Size(24, 5)))
        .with_row(Row("读数 Readings"))
        .with_panel(time_series("表码读数", "Register (totalizer) per meter, highest value in "
                                "each interval; a replaced meter starts its own series",
                                REGISTER, unit="none"))
        .with_panel(time_series("瞬时流量", "Instantaneous flow per meter (m³/h)", FLOW,
                                unit=M3_PER_H))
        .with_row(Row("用水 Water use"))
        .with_panel(time_series(
            "用水量（按计量方式）", "Water use by metering method: flow meter, IC card, "
            "power conversion (以电折水); the site's source of truth counts against the budget",
            USE_BY_METHOD, unit=M3, bars=True, series=METHOD_LABELS, min_interval="1h"))
        .with_panel(table_panel(
            "计量方式核对", "Reconciliation: volume by metering method against the source of "
            "truth (flow meter > IC card > power conversion); more than 5 % off is flagged",
            RECONCILIATION, [Column("method", "计量方式", mapping=METHOD_LABELS),
                             Column("volume_m3", "水量", unit=M3),
                             Column("counted", "计入区间数", unit="short"),
                             Column("quarantined", "隔离区间数", unit="short"),
                             Column("deviation", "与取值来源偏差", unit="percentunit")]))
        .with_row(Row("质量与IC卡 Quality and IC cards"))
        .with_panel(table_panel(
            "数据质量标记", "Quarantined intervals: 0 m³ counted, the register delta kept for "
            "review (negative delta, beyond rated capacity, outlier reading)",
            QUALITY_FLAGS, [Column("ts_start", "开始"), Column("ts_end", "结束"),
                            Column("meter_id", "表计"),
                            Column("kind", "类型", mapping=QUALITY_LABELS),
                            Column("register_delta", "表码差", unit=M3)]))
        .with_panel(table_panel(
            "IC卡用水记录", "IC-card sessions: who drew how much water from this well",
            CARD_SESSIONS, [Column("started_at", "开泵"), Column("ended_at", "关泵"),
                            Column("card_id", "卡号"), Column("holder", "持卡人"),
                            Column("volume_m3", "水量", unit=M3),
                            Column("kwh", "电量", unit="kwatth"),
                            Column("balance_m3", "余额", unit=M3),
                            Column("meter_id", "控制器")]))
        .with_panel(table_panel(
            "站点告警", "Alerts of the site and its meters: live, or resolved in the range",
            SITE_ALERTS, [Column("severity", "级别", mapping=SEVERITY_LABELS),
                          Column("kind", "类型", mapping=ALERT_KIND_LABELS),
                          Column("meter_id", "表计"), Column("detail", "说明"),
                          Column("opened_at", "发生时间"), Column("resolved_at", "解除时间"),
                          Column("status", "状态", mapping=STATUS_LABELS)], size=Size(24, 7)))
        .with_panel(state_timeline("终端在线状态", "Terminal online/offline status reports",
                                   DEVICE_ONLINE, states={"1": "在线", "0": "离线"},
                                   size=Size(FULL.w, 5)))
    )

