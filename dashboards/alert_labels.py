"""Chinese labels for the monitor's alert kinds, severities, levels and statuses
(docs/monitor.md, docs/monitor-schema.md), shown through value mappings."""

from __future__ import annotations

ALERT_KIND_LABELS = {
    "budget_level": "用水预算执行", "budget_pace": "用水进度预警", "over_quota": "超定额用水",
    "off_same_period": "与往年同期偏差", "meter_silent": "计量设备离线",
    "register_stuck": "水表不走字", "flow_above_capacity": "流量超过额定能力",
    "card_meter_mismatch": "IC卡与水表水量不符", "clock_skew": "设备时钟偏差",
    "quarantined_use": "异常计量数据",
}
SEVERITY_LABELS = {"notice": "提示", "warning": "预警", "critical": "严重"}
LEVEL_LABELS = {"notice": "80% 提示", "warning": "90% 预警", "overrun": "超预算"}
STATUS_LABELS = {"open": "未处理", "acknowledged": "已确认", "resolved": "已解除"}
