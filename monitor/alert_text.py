"""An alert's facts, and their wording per language (pure; issue 15).

The rules (``budget_alerts``, ``quality_alerts``) state what they found as
*facts*: a small JSON object of figures (volumes in m³, shares as fractions,
durations in seconds) stored as the alert's ``detail`` — the kind and the
subject are the alert's own columns. Every edge (notifications, the API, the
CLI, Grafana through the stored renderings ``message_zh``/``message_en``)
words them with ``describe``: Chinese by default, English on request. A
subject ``node/<id>/<source>`` is that source's budget (e.g. 地下水预算), a
subject ``node/<id>`` the node's total budget (总量预算), so a township's two
``budget_level`` lines say which is which. Texts are never cut: a figure is
shown whole or not at all.

A ``detail`` that is not a facts object (rows from before issue 15) is shown
as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from budget.kinds import Source

LANGUAGES = ("zh", "en")
TOTAL = "total"

Facts = Mapping[str, Any]


def encode(facts: Facts) -> str:
    """The stored form: canonical JSON (sorted keys) so equal facts are equal text.
    Decimals and other non-JSON values as their text."""
    return json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def decode(detail: str) -> dict[str, Any] | None:
    """The facts of a stored detail; ``None`` for free text (older rows)."""
    if not detail.startswith("{"):
        return None
    try:
        value = json.loads(detail)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def language(requested: str | None) -> str:
    """``en`` when asked for (``en``, ``en-GB``, an Accept-Language list led by en), else zh."""
    if not requested:
        return "zh"
    first = requested.split(",")[0].split(";")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"


def budget_of(subject: str) -> str:
    """``total`` for ``node/12``, the source for ``node/12/groundwater``; '' for others."""
    parts = subject.split("/")
    if parts[0] != "node":
        return ""
    return parts[2] if len(parts) > 2 and parts[2] else TOTAL


def budget_label(subject: str, lang: str = "zh") -> str:
    """总量 / 地下水 …; '' for a subject that is not a budget node."""
    which = budget_of(subject)
    if not which:
        return ""
    if which == TOTAL:
        return "总量" if lang == "zh" else "total"
    try:
        source = Source(which)
    except ValueError:
        return which
    return source.label if lang == "zh" else source.value.replace("_", " ")


def describe(kind: str, subject: str, detail: str, lang: str = "zh") -> str:
    """The detail of an alert, worded in ``lang`` (zh unless en)."""
    facts = decode(detail)
    if facts is None:
        return detail
    lang = "en" if lang == "en" else "zh"
    words = _WORDING.get(kind)
    try:
        text = words(facts, lang) if words is not None else None
    except (KeyError, TypeError, ValueError, InvalidOperation):
        text = None  # facts of an unexpected shape: show them, never fail the edge
    if text is None:
        return "; ".join(f"{k}={v}" for k, v in sorted(facts.items()))
    which = budget_label(subject, lang)
    if which and kind in ("budget_level", "budget_pace", "over_quota", "off_same_period"):
        return (f"{which}预算：{text}" if lang == "zh" else f"{which} budget: {text}")
    return text


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def m3(value: Any) -> str:
    """A volume, whole: thousands separators, at most 3 decimals, no trailing zeros."""
    d = _d(value).quantize(Decimal("0.001"))
    text = f"{d:,.3f}".rstrip("0").rstrip(".")
    return f"{text} m³"


def pct(value: Any) -> str:
    return f"{_d(value) * 100:.1f}%"


def duration(seconds: Any, lang: str) -> str:
    total = int(_d(seconds))
    days, rest = divmod(abs(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    sign = "-" if total < 0 else ""
    if lang == "zh":
        parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "",
                 f"{minutes}分钟" if minutes or not (days or hours) else ""]
    else:
        parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
                 f"{minutes} min" if minutes or not (days or hours) else ""]
    return sign + ("" if lang == "zh" else " ").join(p for p in parts if p)


def _execution(f: Facts, lang: str) -> str:
    drawn, budget = _d(f["drawn_m3"]), _d(f["budget_m3"])
    rate = f.get("rate")
    if lang == "zh":
        shown = "预算为零" if rate is None else f"执行率 {pct(rate)}"
        text = (f"已用 {m3(drawn)}，预算 {m3(budget)}（{shown}，时间进度 "
                f"{pct(f['progress'])}）")
        if drawn > budget:
            text += f"，超用 {m3(drawn - budget)}"
        return text + f"，按当前进度全年预计 {m3(f['projected_m3'])}"
    shown = "zero budget" if rate is None else f"execution {pct(rate)}"
    text = (f"drawn {m3(drawn)} of {m3(budget)} ({shown}, time progress "
            f"{pct(f['progress'])})")
    if drawn > budget:
        text += f", {m3(drawn - budget)} over"
    return text + f"; projected {m3(f['projected_m3'])} at this pace"


_LEVELS = {"zh": {"notice": "达到提示线", "warning": "达到预警线", "overrun": "已超预算"},
           "en": {"notice": "notice level", "warning": "warning level", "overrun": "overrun"}}


def _level(f: Facts, lang: str) -> str:
    level = f.get("level")
    text = _execution(f, lang)
    if level is None:
        return text
    name = _LEVELS[lang].get(level, level)
    return f"{name}：{text}" if lang == "zh" else f"{name}: {text}"


def _pace(f: Facts, lang: str) -> str:
    text = _execution(f, lang)
    runs_out = f.get("runs_out")
    if not runs_out:
        return text
    return (f"{text}；预计 {runs_out} 用完" if lang == "zh"
            else f"{text}; runs out on {runs_out}")


def _silent(f: Facts, lang: str) -> str:
    if lang == "zh":
        return (f"已 {duration(f['silence_s'], lang)} 未上报"
                f"（应每 {duration(f['expected_s'], lang)} 上报一次）")
    return (f"silent for {duration(f['silence_s'], lang)} "
            f"(expected every {duration(f['expected_s'], lang)})")


def _stuck(f: Facts, lang: str) -> str:
    power = f.get("power_kwh")
    if lang == "zh":
        drew = "无电表读数" if power is None else f"水泵用电 {_d(power)} kWh"
        return (f"水表走字 {m3(f['register_delta_m3'])}，但{drew}，"
                f"刷卡取水 {duration(f['running_s'], lang)}")
    drew = "no power reading" if power is None else f"the pump drew {_d(power)} kWh"
    return (f"register moved {m3(f['register_delta_m3'])} while {drew} and card sessions "
            f"ran {duration(f['running_s'], lang)}")


def _flow(f: Facts, lang: str) -> str:
    flow, rated = _d(f["flow_m3_per_h"]), _d(f["rated_m3_per_h"])
    if lang == "zh":
        return f"瞬时流量 {flow} m³/h，额定 {rated} m³/h"
    return f"flow {flow} m³/h, rated {rated} m³/h"


def _card(f: Facts, lang: str) -> str:
    if lang == "zh":
        return f"IC卡记录 {m3(f['card_m3'])}，水表计量 {m3(f['meter_m3'])}"
    return f"card {m3(f['card_m3'])} vs meter {m3(f['meter_m3'])}"


def _clock(f: Facts, lang: str) -> str:
    if lang == "zh":
        return (f"设备时钟最多超前 {duration(f['ahead_s'], lang)}，"
                f"实时上报至少滞后 {duration(f['lag_s'], lang)}")
    return (f"device clock ahead by up to {duration(f['ahead_s'], lang)}, live lag at least "
            f"{duration(f['lag_s'], lang)}")


_REASONS = {"zh": {"negative_delta": "读数倒退", "impossible_delta": "增量超过能力",
                   "clock_jump": "时间跳变", "rollover": "表盘翻转存疑"},
            "en": {}}


def _quarantined(f: Facts, lang: str) -> str:
    reasons: Mapping[str, Any] = f["reasons"]
    names = _REASONS[lang]
    if lang == "zh":
        return "未计入的读数：" + "，".join(
            f"{names.get(r, r)} {n} 次" for r, n in sorted(reasons.items())) if reasons else "无"
    return ("intervals not counted: " + ", ".join(
        f"{r} ×{n}" for r, n in sorted(reasons.items()))) if reasons else "none"


def _over_quota(f: Facts, lang: str) -> str:
    use, quota = _d(f["use_m3"]), _d(f["quota_m3"])
    over = f"{(use / quota - 1) * 100:.1f}%" if quota > 0 else ""
    if lang == "zh":
        return f"用水 {m3(use)}，定额 {m3(quota)}" + (f"，超定额 {over}" if over else "")
    return f"use {m3(use)}, quota {m3(quota)}" + (f", {over} over" if over else "")


def _same_period(f: Facts, lang: str) -> str:
    use, past = _d(f["use_m3"]), _d(f["past_m3"])
    change = f"{(use / past - 1) * 100:+.1f}%" if past > 0 else ""
    if lang == "zh":
        return (f"用水 {m3(use)}，往年同期平均 {m3(past)}"
                + (f"（{change}）" if change else ""))
    return f"use {m3(use)}, same period of past years {m3(past)}" + (
        f" ({change})" if change else "")


_WORDING = {
    "budget_level": _level, "budget_pace": _pace, "meter_silent": _silent,
    "register_stuck": _stuck, "flow_above_capacity": _flow, "card_meter_mismatch": _card,
    "clock_skew": _clock, "quarantined_use": _quarantined, "over_quota": _over_quota,
    "off_same_period": _same_period,
}
