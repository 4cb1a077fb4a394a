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

# Why ingestion could not take a message (docs/mqtt-contract.md, dead_letters.reason),
# in words an operator uses: the dashboards call these 未能识别的上报, not 死信.
REJECTION_LABELS = {
    "bad_topic": "上报地址不对", "invalid_json": "内容无法解析", "empty_batch": "空上报",
    "too_large": "一次上报过多", "missing_field": "缺少数据项", "wrong_type": "数据格式不对",
    "absurd_value": "数值不合理", "unstorable_text": "含无法保存的字符",
    "bad_time": "时间无法识别", "future_time": "时间超前", "unknown_device": "未登记的设备",
    "no_meter_installed": "该时间无在装水表", "conflicting_duplicate": "重复上报但数值不同",
    "parse_failed": "解析出错", "write_failed": "保存失败", "garbage": "无法识别的报文",
    "truncated": "报文不完整", "bad_check": "报文校验错误", "wrong_gateway": "网关不符",
}
