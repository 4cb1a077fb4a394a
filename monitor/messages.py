"""What a notification says, and the message formats of each channel (pure).

Chinese by default (the users read Chinese), English on request (the
subscription's ``language``). The alert's detail is its facts, worded here
per language by ``monitor.alert_text.describe`` — never cut; a budget alert
says which budget it is about (总量 or one source). ``render`` gives a title
and a plain-text body for one alert transition; ``wecom_message`` and
``dingtalk_message`` wrap them in the group-robot JSON formats (markdown),
``webhook_message`` and ``mqtt_message`` in our own JSON with the alert's
fields, its facts and the idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from budget.year_ledger import BUDGET_TIMEZONE
from monitor.alert_text import budget_label, budget_of, decode, describe

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
    detail = describe(note.kind, note.subject, note.detail, lang)
    which = budget_label(note.subject, lang)
    event = EVENT_LABELS[lang].get(note.event, note.event)
    severity = SEVERITY_LABELS[lang].get(note.severity, note.severity)
    when = note.at.astimezone(BUDGET_TIMEZONE).strftime("%Y-%m-%d %H:%M")
    if lang == "zh":
        name = f"{note.subject_name}·{which}" if which else note.subject_name
        title = f"【{severity}】{name} {kind}（{event}）"
        body = (f"对象：{note.subject_name}\n" + (f"预算：{which}\n" if which else "")
                + f"类别：{kind}\n级别：{severity}\n状态：{event}\n"
                f"预算期：{note.period}\n数据时间：{when}（北京时间）\n详情：{detail}\n"
                f"告警编号：{note.alert_id}")
    else:
        name = f"{note.subject_name} ({which} budget)" if which else note.subject_name
        title = f"[{severity}] {name}: {kind} ({event})"
        body = (f"Subject: {note.subject_name}\n" + (f"Budget: {which}\n" if which else "")
                + f"Kind: {kind}\nSeverity: {severity}\n"
                f"Event: {event}\nPeriod: {note.period}\nData time: {when} (China time)\n"
                f"Detail: {detail}\nAlert: {note.alert_id}")
    return title, body


def _markdown(title: str, body: str) -> str:
    lines = [f"**{title}**", *(f"> {line}" for line in body.splitlines())]
    return "\n".join(lines)


WECOM_MAX_BYTES = 4096


def fit_lines(text: str, max_bytes: int) -> str:
    """``text`` within ``max_bytes`` of UTF-8, dropping whole lines from the end (never
    cutting a line, so never a figure); the first line is kept whole whatever its size."""
    lines = text.splitlines()
    kept = lines[:1]
    size = len(kept[0].encode()) if kept else 0
    for line in lines[1:]:
        size += 1 + len(line.encode())
        if size > max_bytes:
            break
        kept.append(line)
    return "\n".join(kept)


def wecom_message(title: str, body: str) -> dict[str, Any]:
    """企业微信群机器人: msgtype markdown, content up to 4096 bytes (UTF-8)."""
    return {"msgtype": "markdown",
            "markdown": {"content": fit_lines(_markdown(title, body), WECOM_MAX_BYTES)}}


def dingtalk_message(title: str, body: str) -> dict[str, Any]:
    """钉钉群机器人: msgtype markdown with a title (shown in the notification) and text."""
    return {"msgtype": "markdown", "markdown": {"title": title, "text": _markdown(title, body)}}


def webhook_message(note: AlertNote, key: str, title: str, body: str,
                    language: str = "zh") -> dict[str, Any]:
    """Our JSON: the alert's fields, its facts (``facts``: figures, ``budget``: total or the
    source) for machines, and the worded ``detail``, ``title`` and ``text`` for people."""
    return {"idempotency_key": key, "alert_id": note.alert_id, "event_id": note.event_id,
            "event": note.event, "kind": note.kind, "severity": note.severity,
            "status": note.status, "subject": note.subject, "subject_name": note.subject_name,
            "period": note.period, "at": note.at.astimezone(BUDGET_TIMEZONE).isoformat(),
            "by": note.by,
            "detail": describe(note.kind, note.subject, note.detail, language),
            "facts": decode(note.detail), "budget": budget_of(note.subject) or None,
            "title": title, "text": body}


def mqtt_message(note: AlertNote, key: str, title: str, body: str,
                 language: str = "zh") -> dict[str, Any]:
    return webhook_message(note, key, title, body, language)
