"""What a notification says, and the message formats of each channel (pure).

Chinese by default (the users read Chinese; volumes in 万m³ where large),
English on request. ``render`` gives a title and a plain-text body for one
alert transition; ``wecom_message`` and ``dingtalk_message`` wrap them in the
group-robot JSON formats (markdown), ``webhook_message`` and ``mqtt_message``
in our own JSON with the alert's fields and the idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from budget.year_ledger import BUDGET_TIMEZONE

KIND_LABELS = {
    "zh": {
        "budget_level": "用水预算执行", "budget_pace": "用水进度预警", "over_quota": "超定额用水",
        "off_same_period": "用水量与往年同期偏差", "meter_silent": "计量设备离线",
        "register_stuck": "水表不走字", "flow_above_capacity": "流量超过额定能力",
        "card_meter_mismatch": "IC卡与水表水量不符", "clock_skew": "设备时钟偏差",
        "quarantined_use": "异常计量数据",
    },
    "en": {
        "budget_level": "budget execution", "budget_pace": "budget pace",
        "over_quota": "use over quota", "off_same_period": "use off the same period of past years",
        "meter_silent": "meter silent", "register_stuck": "register stuck",
        "flow_above_capacity": "flow above rated capacity",
        "card_meter_mismatch": "card vs meter mismatch", "clock_skew": "device clock skew",
        "quarantined_use": "quarantined readings",
    },
}
EVENT_LABELS = {
    "zh": {"opened": "新告警", "escalated": "告警升级", "acknowledged": "已确认",
           "resolved": "已解除"},
    "en": {"opened": "new alert", "escalated": "escalated", "acknowledged": "acknowledged",
           "resolved": "resolved"},
}
SEVERITY_LABELS = {
    "zh": {"notice": "提示", "warning": "预警", "critical": "严重"},
    "en": {"notice": "notice", "warning": "warning", "critical": "critical"},
}


@dataclass(frozen=True, slots=True)
class AlertNote:
    """The facts of one alert transition, as the message needs them."""

    alert_id: int
    event_id: int
    event: str
    kind: str
    severity: str
    status: str
    subject: str
    subject_name: str  # node name, or the meter/site id
    period: str
    detail: str
    at: datetime  # data time of the transition
    by: str


def render(note: AlertNote, language: str = "zh") -> tuple[str, str]:
    lang = language if language in KIND_LABELS else "zh"
    kind = KIND_LABELS[lang].get(note.kind, note.kind)
    event = EVENT_LABELS[lang].get(note.event, note.event)
    severity = SEVERITY_LABELS[lang].get(note.severity, note.severity)
    when = note.at.astimezone(BUDGET_TIMEZONE).strftime("%Y-%m-%d %H:%M")
    if lang == "zh":
        title = f"【{severity}】{note.subject_name} {kind}（{event}）"
        body = (f"对象：{note.subject_name}\n类别：{kind}\n级别：{severity}\n状态：{event}\n"
                f"预算期：{note.period}\n数据时间：{when}（北京时间）\n详情：{note.detail}\n"
                f"告警编号：{note.alert_id}")
    else:
        title = f"[{severity}] {note.subject_name}: {kind} ({event})"
        body = (f"Subject: {note.subject_name}\nKind: {kind}\nSeverity: {severity}\n"
                f"Event: {event}\nPeriod: {note.period}\nData time: {when} (China time)\n"
                f"Detail: {note.detail}\nAlert: {note.alert_id}")
    return title, body


def _markdown(title: str, body: str) -> str:
    lines = [f"**{title}**", *(f"> {line}" for line in body.splitlines())]
    return "\n".join(lines)


def wecom_message(title: str, body: str) -> dict[str, Any]:
    """企业微信群机器人: msgtype markdown, content up to 4096 bytes."""
    return {"msgtype": "markdown", "markdown": {"content": _markdown(title, body)[:4000]}}


def dingtalk_message(title: str, body: str) -> dict[str, Any]:
    """钉钉群机器人: msgtype markdown with a title (shown in the notification) and text."""
    return {"msgtype": "markdown", "markdown": {"title": title, "text": _markdown(title, body)}}


def webhook_message(note: AlertNote, key: str, title: str, body: str) -> dict[str, Any]:
    return {"idempotency_key": key, "alert_id": note.alert_id, "event_id": note.event_id,
            "event": note.event, "kind": note.kind, "severity": note.severity,
            "status": note.status, "subject": note.subject, "subject_name": note.subject_name,
            "period": note.period, "at": note.at.astimezone(BUDGET_TIMEZONE).isoformat(),
            "by": note.by,
            "detail": note.detail, "title": title, "text": body}


def mqtt_message(note: AlertNote, key: str, title: str, body: str) -> dict[str, Any]:
    return webhook_message(note, key, title, body)
