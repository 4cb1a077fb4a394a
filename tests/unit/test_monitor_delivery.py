"""Notification texts, robot formats, signatures, backoff and tariff choice (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from monitor.alert_text import encode
from monitor.channels.webhooks import dingtalk_signed_url
from monitor.charges_service import choose_tariff, family_of, schedule_of
from monitor.messages import AlertNote, dingtalk_message, render, webhook_message, wecom_message
from monitor.sender import backoff

OVERRUN = encode({"level": "overrun", "drawn_m3": Decimal("12632.430"),
                  "budget_m3": Decimal("6000.000"), "rate": Decimal("2.105405"),
                  "progress": Decimal("0.41"), "projected_m3": Decimal("30810.805")})
NOTE = AlertNote(5, 9, "opened", "budget_level", "critical", "open", "node/3", "甘浚镇", "2025",
                 OVERRUN, datetime(2025, 6, 1, 2, tzinfo=ZoneInfo("UTC")), "rule")
GROUNDWATER = replace(NOTE, subject="node/3/groundwater")


def test_messages_are_chinese_by_default_with_the_data_time_in_china_time() -> None:
    title, body = render(NOTE)
    assert title == "【严重】甘浚镇·总量 用水预算执行（新告警）"
    assert "数据时间：2025-06-01 10:00（北京时间）" in body
    assert ("详情：总量预算：已超预算：已用 12,632.43 m³，预算 6,000 m³（执行率 210.5%，"
            "时间进度 41.0%），超用 6,632.43 m³，按当前进度全年预计 30,810.805 m³") in body
    title_en, body_en = render(NOTE, "en")
    assert title_en == "[critical] 甘浚镇 (total budget): budget execution (new alert)"
    assert "Data time: 2025-06-01 10:00 (China time)" in body_en
    assert ("Detail: total budget: overrun: drawn 12,632.43 m³ of 6,000 m³ (execution 210.5%, "
            "time progress 41.0%), 6,632.43 m³ over") in body_en


def test_a_townships_two_budget_lines_say_which_is_the_total_and_which_one_source() -> None:
    total, source = render(NOTE), render(GROUNDWATER)
    assert "·总量" in total[0]
    assert "预算：总量" in total[1]
    assert "·地下水" in source[0]
    assert "预算：地下水" in source[1]
    assert "详情：地下水预算：" in source[1]
    assert "(groundwater budget)" in render(GROUNDWATER, "en")[0]


def test_machine_messages_carry_the_facts_and_the_worded_detail() -> None:
    title, body = render(GROUNDWATER, "en")
    hook = webhook_message(GROUNDWATER, "wb-9-1", title, body, "en")
    assert hook["budget"] == "groundwater"
    assert hook["facts"]["drawn_m3"] == "12632.430"
    assert hook["detail"].startswith("groundwater budget: overrun: drawn 12,632.43 m³")
    assert webhook_message(NOTE, "k", *render(NOTE))["detail"].startswith("总量预算：已超预算")


def test_wecom_content_stays_within_4096_bytes_without_cutting_a_line() -> None:
    long_body = "\n".join(f"第{i}行：已用 12,632.43 m³" for i in range(400))
    content = wecom_message("【严重】甘浚镇", long_body)["markdown"]["content"]
    assert len(content.encode()) <= 4096
    last = content.splitlines()[-1]
    assert last.endswith("已用 12,632.43 m³")  # whole lines only


def test_robot_formats_are_markdown() -> None:
    title, body = render(NOTE)
    wecom = wecom_message(title, body)
    assert wecom["msgtype"] == "markdown"
    assert wecom["markdown"]["content"].startswith(f"**{title}**\n> 对象：甘浚镇")
    ding = dingtalk_message(title, body)
    assert ding["markdown"]["title"] == title
    assert ding["markdown"]["text"] == wecom["markdown"]["content"]
    hook = webhook_message(NOTE, "wb-9-1", title, body)
    assert hook["idempotency_key"] == "wb-9-1"
    assert hook["at"] == "2025-06-01T10:00:00+08:00"


def test_dingtalk_signature() -> None:
    url = dingtalk_signed_url("https://robot.example/send?access_token=T", "SEC", 1700000000000)
    query = parse_qs(urlsplit(url).query)
    assert query["access_token"] == ["T"]
    assert query["timestamp"] == ["1700000000000"]
    expected = hmac.new(b"SEC", b"1700000000000\nSEC", hashlib.sha256).digest()
    assert base64.b64decode(query["sign"][0]) == expected
    assert "SEC" not in url.replace("sign=", "")


def test_backoff_doubles_up_to_the_cap() -> None:
    base, cap = timedelta(seconds=30), timedelta(minutes=5)
    assert [backoff(n, base=base, cap=cap).total_seconds() for n in range(1, 7)] == [
        30, 60, 120, 240, 300, 300]


def tariff(tariff_id: int, area: int | None, family: str | None, crop: str | None
           ) -> dict[str, Any]:
    return {"tariff_id": tariff_id, "area_node_id": area, "source_family": family,
            "crop_class": crop, "price_per_m3": Decimal("0.1"),
            "bands": [{"up_to": "0.3", "multiplier": "1.5"}, {"up_to": None, "multiplier": "2"}]}


def chosen(table: list[dict[str, Any]], path: list[int], family: str,
           crop: str | None) -> int | None:
    found = choose_tariff(table, path=path, family=family, crop_class=crop)
    return None if found is None else int(found["tariff_id"])


def test_the_nearest_area_wins_then_source_then_crop() -> None:
    table = [tariff(1, None, None, None), tariff(2, None, "groundwater", None),
             tariff(3, 10, None, None), tariff(4, 20, "groundwater", "grain")]
    path = [30, 20, 10]  # the household, its unit, its township
    assert chosen(table, path, "groundwater", "grain") == 4
    assert chosen(table, path, "groundwater", "cash") == 3  # the unit's row needs grain
    assert chosen(table, [99], "groundwater", None) == 2
    assert chosen(table, [99], "local_surface", None) == 1
    assert chosen([], [1], "groundwater", None) is None
    assert schedule_of(table[0]).bands[-1].up_to is None
    assert family_of("reclaimed") == "non_conventional"
    assert family_of("spring") is None
