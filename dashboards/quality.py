"""告警与数据质量 (alerts and data quality): live alerts and their trend, data
completeness (宁夏 8: ≥ 95 %), quarantined readings, metering deviations
(≤ 5 %), silent meters (设备离线), device clocks and the messages ingestion could not take
(未能识别的上报, the dead letters)."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from dashboards.alert_labels import (
    ALERT_KIND_LABELS,
    REJECTION_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
)
from dashboards.annotations import alert_annotation
from dashboards.overview import ALERT_COUNTS
from dashboards.panels import (
    M3,
    RATE,
    Column,
    Size,
    stat_panel,
    table_panel,
    time_series,
)
from dashboards.range_sql import FIRST_DAY, LAST_DAY, SEVERITY_RANK, ZONE, days_in_range
from dashboards.site_detail import QUALITY_LABELS, SITE_LINK

UID = "wb-quality"
COMPLETENESS_TARGET = 0.95  # 宁夏 8: field completeness
DEVIATION_LIMIT = 0.05  # 宁夏 8 / domain brief: online vs accounted, card vs meter
CLOCK_LIMIT_S = 300  # monitor's clock_skew default

# The days of the range the flow and power meters were installed (whole days),
# with the register readings they owe per day (86,400 s ÷ reporting interval),
# summed over meters sharing the same days: a handful of rows to join the days to.
ACTIVE_METERS = f"""
  SELECT from_day, to_day, sum(per_day) AS per_day
  FROM (SELECT 86400.0 / expected_interval_s AS per_day,
               greatest((installed_at AT TIME ZONE '{ZONE}')::date, {FIRST_DAY}) AS from_day,
               least(coalesce((removed_at AT TIME ZONE '{ZONE}')::date, {LAST_DAY}),
                     {LAST_DAY}) AS to_day
        FROM meters WHERE channel <> 'card') m
  GROUP BY from_day, to_day
"""

EXPECTED_READINGS = f"""
  SELECT d.day, sum(m.per_day) AS expected
  FROM ({ACTIVE_METERS}) m
  JOIN (SELECT {FIRST_DAY} + i AS day FROM generate_series(0, {LAST_DAY} - {FIRST_DAY}) i) d
    ON d.day BETWEEN m.from_day AND m.to_day
  GROUP BY d.day
"""

RECEIVED_READINGS = f"""
  SELECT day, sum(readings) AS received
  FROM monitor_meter_day
  WHERE channel <> 'card' AND {days_in_range("day")}
  GROUP BY day
"""

COMPLETENESS_DAILY = f"""
WITH expected AS ({EXPECTED_READINGS}), received AS ({RECEIVED_READINGS})
SELECT wb_day_start(e.day) AS time,
       least(coalesce(r.received, 0) / nullif(e.expected, 0), 1) AS completeness
FROM expected e LEFT JOIN received r USING (day)
ORDER BY 1
"""

COMPLETENESS = f"""
WITH expected AS (
  SELECT sum(per_day * greatest(to_day - from_day + 1, 0)) AS expected FROM ({ACTIVE_METERS}) m
), received AS ({RECEIVED_READINGS})
SELECT least(coalesce((SELECT sum(received) FROM received), 0)
             / nullif((SELECT expected FROM expected), 0), 1) AS completeness
"""

SILENT = """
SELECT m.meter_id, m.site_id, s.name, st.last_ts,
       extract(epoch FROM (ms.data_clock - st.last_ts)) / 3600 AS silent_h,
       m.expected_interval_s / 60.0 AS expected_min
FROM meters m
JOIN sites s ON s.site_id = m.site_id
JOIN monitor_meter_state st ON st.meter_id = m.meter_id
CROSS JOIN monitor_state ms
WHERE m.removed_at IS NULL AND m.channel <> 'card'
  AND st.last_ts < ms.data_clock - 2 * m.expected_interval_s * interval '1 second'
ORDER BY silent_h DESC
LIMIT 500
"""

SILENT_COUNT = f"SELECT count(*) AS silent FROM ({SILENT.replace('LIMIT 500', '')}) silent"

DEAD_LETTER_COUNT = """
SELECT count(*) AS dead_letters FROM dead_letters WHERE $__timeFilter(received_at)
"""

ALERTS = f"""
SELECT a.severity, a.kind, coalesce(n.name, '') AS node, coalesce(a.site_id, '') AS site_id,
       coalesce(a.meter_id, '') AS meter_id,
       coalesce(a.message_zh, a.detail) AS detail, a.opened_at, a.last_seen_at,
       a.status, coalesce(a.acknowledged_by, '') AS acknowledged_by
FROM monitor_alerts a
LEFT JOIN budget_nodes n USING (node_id)
WHERE a.status <> 'resolved'
ORDER BY {SEVERITY_RANK.replace("severity", "a.severity")} DESC, a.opened_at DESC
LIMIT 500
"""

OPENED_PER_DAY = f"""
SELECT wb_day_start((ev.at AT TIME ZONE '{ZONE}')::date) AS time, a.kind AS metric,
       count(*) AS value
FROM monitor_alert_events ev
JOIN monitor_alerts a USING (alert_id)
WHERE ev.event = 'opened' AND $__timeFilter(ev.at)
GROUP BY 1, 2
ORDER BY 1
"""

QUARANTINED_PER_DAY = f"""
SELECT wb_day_start(day) AS time, reason AS metric, count(*) AS value
FROM monitor_meter_day, unnest(quality_reasons) AS reason
WHERE quarantined > 0 AND {days_in_range("day")}
GROUP BY day, reason
ORDER BY 1
"""

DEVIATIONS = f"""
SELECT d.site_id, s.name, sum(d.flow_m3) AS flow_m3, sum(d.card_m3) AS card_m3,
       sum(d.card_m3) / sum(d.flow_m3) - 1 AS deviation
FROM monitor_site_day d
JOIN sites s USING (site_id)
WHERE {days_in_range("d.day")} AND d.flow_m3 > 0 AND d.card_m3 > 0
GROUP BY d.site_id, s.name
HAVING abs(sum(d.card_m3) - sum(d.flow_m3)) > {DEVIATION_LIMIT} * sum(d.flow_m3)
ORDER BY abs(sum(d.card_m3) / sum(d.flow_m3) - 1) DESC
LIMIT 500
"""

CLOCKS = f"""
SELECT meter_id, site_id, max(max_ahead_s) AS ahead_s, max(day) AS last_day
FROM monitor_meter_day
WHERE {days_in_range("day")} AND max_ahead_s > {CLOCK_LIMIT_S}
GROUP BY meter_id, site_id
ORDER BY ahead_s DESC
LIMIT 500
"""

DEAD_LETTERS_PER_DAY = f"""
SELECT wb_day_start((received_at AT TIME ZONE '{ZONE}')::date) AS time, reason AS metric,
       count(*) AS value
FROM dead_letters
WHERE $__timeFilter(received_at)
GROUP BY 1, 2
ORDER BY 1
"""

# The device is the topic's second-to-last level ({prefix}/{device}/{channel}); a topic
# that is not of that shape is shown whole.
LATEST_DEAD_LETTERS = """
SELECT received_at, reason,
       coalesce(nullif(reverse(split_part(reverse(topic), '/', 2)), ''), topic) AS device,
       CASE WHEN position('/' in topic) > 0 THEN reverse(split_part(reverse(topic), '/', 1))
            ELSE '' END AS channel, detail
FROM dead_letters
WHERE $__timeFilter(received_at)
ORDER BY received_at DESC
LIMIT 200
"""

CRITICAL_ANNOTATIONS = """
SELECT ev.at AS time, a.kind || '：' || coalesce(a.message_zh, a.detail) AS text,
       a.kind || ',' || ev.event AS tags
FROM monitor_alert_events ev
JOIN monitor_alerts a USING (alert_id)
WHERE ev.severity = 'critical' AND ev.event IN ('opened', 'escalated') AND $__timeFilter(ev.at)
ORDER BY 1
LIMIT 500
"""

def build() -> Dashboard:
    return (
        Dashboard("告警与数据质量 Alerts and data quality").uid(UID)
        .description("Live alerts and their trend, data completeness, quarantined readings, "
                     "metering deviations, silent meters, device clocks, dead letters.")
        .tags(["waterbudget", "alerts", "quality"]).timezone(ZONE).time("now-30d", "now")
        .refresh("1m").editable()
        .annotation(alert_annotation("严重告警 critical alerts", CRITICAL_ANNOTATIONS,
                                     "dark-red"))
        .with_row(Row("告警 Alerts"))
        .with_panel(stat_panel("当前告警", "Live alerts by severity (critical, warning, "
                               "notice)", ALERT_COUNTS, unit="short"))
        .with_panel(stat_panel("设备离线", "Meters silent for more than twice their "
                               "reporting interval at the monitor's data clock",
                               SILENT_COUNT, unit="short"))
        .with_panel(stat_panel("数据完整率", "Register readings received ÷ expected over "
                               f"the range (宁夏 8: ≥ {COMPLETENESS_TARGET:.0%})",
                               COMPLETENESS, unit=RATE))
        .with_panel(stat_panel("未能识别的上报", "Messages ingestion could not take in the "
                               "range (dead letters, each with its reason)", DEAD_LETTER_COUNT,
                               unit="short"))
        .with_panel(table_panel(
            "告警列表", "Live alerts, most severe first, with who acknowledged them", ALERTS,
            [Column("severity", "级别", mapping=SEVERITY_LABELS),
             Column("kind", "类型", mapping=ALERT_KIND_LABELS), Column("node", "预算单元"),
             Column("site_id", "站点", link=SITE_LINK), Column("meter_id", "表计"),
             Column("detail", "说明"), Column("opened_at", "发生时间"),
             Column("last_seen_at", "最近一次"),
             Column("status", "状态", mapping=STATUS_LABELS),
             Column("acknowledged_by", "确认人")], size=Size(24, 9)))
        .with_panel(time_series("新告警（按类型）", "Alerts opened per day by kind",
                                OPENED_PER_DAY, unit="short", bars=True, stacked=True,
                                series=ALERT_KIND_LABELS, min_interval="1d",
                                size=Size(24, 7)))
        .with_row(Row("数据质量 Data quality"))
        .with_panel(time_series("数据完整率（按日）", "Register readings received ÷ "
                                "expected per day", COMPLETENESS_DAILY, unit=RATE,
                                min_interval="1d"))
        .with_panel(time_series("异常计量（按原因）", "Meter-days with quarantined "
                                "intervals, by reason (negative delta, beyond rated "
                                "capacity, outlier reading)", QUARANTINED_PER_DAY,
                                unit="short", bars=True, stacked=True, series=QUALITY_LABELS,
                                min_interval="1d"))
        .with_panel(table_panel(
            "IC卡与水表偏差", f"Sites where the IC-card volume is more than "
            f"{DEVIATION_LIMIT:.0%} off the flow meter's over the range", DEVIATIONS,
            [Column("site_id", "站点", link=SITE_LINK), Column("name", "名称"),
             Column("flow_m3", "水表水量", unit=M3), Column("card_m3", "IC卡水量", unit=M3),
             Column("deviation", "偏差", unit=RATE)]))
        .with_panel(table_panel(
            "设备离线", "Meters without a reading for more than twice their interval",
            SILENT, [Column("meter_id", "表计"), Column("site_id", "站点", link=SITE_LINK),
                     Column("name", "名称"), Column("last_ts", "最后读数"),
                     Column("silent_h", "已离线(小时)", unit="h"),
                     Column("expected_min", "上报周期(分钟)", unit="none")]))
        .with_panel(table_panel(
            "设备时钟偏差", f"Meters whose device clock ran more than {CLOCK_LIMIT_S} s "
            "ahead of the receive time in the range", CLOCKS,
            [Column("meter_id", "表计"), Column("site_id", "站点", link=SITE_LINK),
             Column("ahead_s", "超前(秒)", unit="s"), Column("last_day", "最近日期")]))
        .with_panel(time_series("未能识别的上报（按原因）", "Dead letters per day by reason",
                                DEAD_LETTERS_PER_DAY, unit="short", bars=True, stacked=True,
                                series=REJECTION_LABELS, min_interval="1d"))
        .with_panel(table_panel(
            "最新未能识别的上报", "The latest messages ingestion could not take: the "
            "device (from the topic), what it sent (channel), the reason and its detail",
            LATEST_DEAD_LETTERS, [Column("received_at", "接收时间"),
                                  Column("device", "设备"), Column("channel", "数据类型"),
                                  Column("reason", "原因", mapping=REJECTION_LABELS),
                                  Column("detail", "说明")],
            size=Size(24, 8)))
    )
