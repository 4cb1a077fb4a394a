"""Error answers of the API (pure): languages, no names outside the caller's scope,
and the path/query guard."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from budget.api.deps import Access, rule_error
from budget.hierarchy import Hierarchy, Node, NodeLevel
from budget.repository import Principal
from budget.rules import Rule, RuleViolation
from budget.year_ledger import RuleError
from waterbudget.web.errors import _has_bad_text, not_found, render

HIERARCHY = Hierarchy.of([
    Node(1, "D", "甘州区", NodeLevel.DISTRICT, None),
    Node(2, "TA", "甲镇", NodeLevel.TOWNSHIP, 1),
    Node(3, "A1", "张三", NodeLevel.HOUSEHOLD, 2),
])


def test_a_violation_outside_the_scope_names_neither_node_nor_figures() -> None:
    error = RuleError([
        RuleViolation(Rule.CHILDREN_WITHIN_PARENT_TOTAL, 1,
                      "children hold 1200 m³, parent has 1000 m³", Decimal(200)),
        RuleViolation(Rule.NON_NEGATIVE, 3, "cell groundwater/industry would be -5 m³",
                      Decimal(5)),
    ])
    operator = Access(Principal(1, "甲镇操作员", "operator", 2), HIERARCHY)
    detail: Any = rule_error(error, operator).detail
    outside, inside = detail["violations"]
    assert outside["rule"] == "children_within_parent_total"
    assert outside["node_id"] is None
    assert outside["excess_m3"] is None
    assert "1000" not in outside["message"]
    assert inside["node_id"] == 3
    assert "-5" in inside["message"]
    admin = Access(Principal(2, "admin", "administrator", None), HIERARCHY)
    as_admin: Any = rule_error(error, admin).detail
    assert as_admin["violations"][0]["node_id"] == 1


def test_messages_are_chinese_unless_english_is_asked_for() -> None:
    error = not_found("card", "CB")
    assert error.status_code == 404
    assert error.detail == "未找到IC卡 CB（不存在，或不在您的权限范围内）"
    assert render("not_found", {"what": "card", "ref": "CB"}, en=True).startswith(
        "card CB not found")


def test_nul_and_broken_percent_encoding_are_caught() -> None:
    assert _has_bad_text(b"kind=%00")
    assert _has_bad_text(b"/reports/a%00b")
    assert _has_bad_text(b"kind=%ff%fe")
    assert not _has_bad_text(b"kind=monthly&period=2024-06")
    assert not _has_bad_text(b"name=%E7%94%98%E5%B7%9E")
    assert not _has_bad_text(b"")
