"""Issue 12: every total of the final accounts agrees across the document's tables,
and where two tables differ the reconciliation table names the difference."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from budget.kinds import Sector, Source
from budget.ledger import EntryKind, LedgerEntry
from budget.year_ledger import BUDGET_TIMEZONE
from reports.document import Figures, Table
from reports.final_accounts import final_accounts
from reports.formatting import wan
from tests.unit.report_inputs import JAN1, inputs
from tests.unit.test_reports_sectors import GANZHOU_2024, by_source_only

D = Decimal
YEAR_END = datetime(2025, 1, 1, tzinfo=BUDGET_TIMEZONE)


def with_reclaimed_below(base):
    """The Ganzhou shape: reclaimed water issued to a unit, not in the district's budget,
    and a district figure a little above what it hands down."""
    extra = LedgerEntry(
        99,
        2,
        2024,
        EntryKind.ISSUE,
        Source.RECLAIMED,
        Sector.INDUSTRY,
        D(15_000),
        JAN1,
        JAN1,
        "t",
        "reclaimed plan",
    )
    return replace(base, entries=[*base.entries, extra], non_conventional_factor=D(0))


CASES = {
    "sectors": inputs(month=12, as_of=YEAR_END),
    "by_source_only": by_source_only(month=12, as_of=YEAR_END),
    "reclaimed_below": with_reclaimed_below(by_source_only(month=12, as_of=YEAR_END)),
    "factor_half": replace(
        with_reclaimed_below(inputs(month=12, as_of=YEAR_END)),
        non_conventional_factor=D("0.5"),
        sector_splits={1: GANZHOU_2024},
    ),
}


def cells(table: Table, key: str) -> dict[str, Any]:
    row = next(r for r in table.rows if r.key == key)
    return {c.key: v for c, v in zip(table.columns, row.cells, strict=True)}


def appendix_value(doc, which, label, column):
    table = doc.section(which).table
    row = next(r for r in table.rows if r.label == label)
    return dict(zip((c.key for c in table.columns), row.values, strict=True))[column]


@pytest.mark.parametrize("case", CASES)
def test_every_total_agrees_across_the_tables(case):
    doc = final_accounts(CASES[case])
    summary = doc.section("summary")
    assert isinstance(summary, Figures)
    figures = {f.key: f.value for f in summary.items}
    ledger, by_source, by_sector, rec, balance = (
        doc.section(k) for k in ("ledger", "by_source", "by_sector", "reconciliation", "balance")
    )
    assert isinstance(ledger, Table)
    assert isinstance(by_source, Table)
    assert isinstance(by_sector, Table)
    assert isinstance(rec, Table)
    assert isinstance(balance, Table)
    total = cells(rec, "total")
    root = ledger.rows[0]
    root_cells = {c.key: v for c, v in zip(ledger.columns, root.cells, strict=True)}
    # the final budget: summary = ledger's root row = reconciliation "counted"
    assert figures["final"] == root_cells["final"] == total["counted"]
    assert figures["used"] == root_cells["used"]
    # in full: by source = by sector = reconciliation "full" = counted + left out
    assert cells(by_source, "total")["budget"] == cells(by_sector, "total")["budget"]
    assert cells(by_source, "total")["budget"] == total["full"]
    assert total["full"] == total["counted"] + total["left_out"]
    assert cells(by_source, "total")["drawn"] == cells(by_sector, "total")["drawn"]
    # handed down: appendix A 总计 = appendix B's root row = reconciliation, full − kept
    handed = total["handed_down"]
    assert isinstance(handed, Decimal)
    assert appendix_value(doc, "appendix_a", "合计", "total") == wan(handed)
    root_name = doc.node_name
    assert appendix_value(doc, "appendix_b", root_name, "expenditure.total") == wan(handed)
    assert total["full"] - total["kept"] == handed
    # revenue: appendix B's root row = reconciliation revenue
    assert appendix_value(doc, "appendix_b", root_name, "revenue.total") == wan(total["revenue"])
    assert total["revenue_minus"] == total["revenue"] - handed
    # every per-source row adds up to the total row
    for column in ("counted", "left_out", "full", "handed_down", "kept", "revenue"):
        parts = sum(cells(rec, r.key)[column] for r in rec.rows if r.key != "total")
        assert parts == total[column], column


def test_the_differences_are_explained():
    ganzhou_shape = final_accounts(CASES["reclaimed_below"])
    rec = ganzhou_shape.section("reconciliation")
    assert isinstance(rec, Table)
    assert [n.key for n in rec.notes] == ["note.rec.tables", "note.rec.kept", "note.rec.revenue"]
    non_conventional = cells(rec, "non_conventional")
    assert non_conventional["handed_down"] == D(15_000)
    assert non_conventional["kept"] == D(-15_000)  # issued below, outside the district's budget
    base = CASES["factor_half"]
    district = LedgerEntry(
        98,
        1,
        2024,
        EntryKind.ISSUE,
        Source.RECLAIMED,
        Sector.INDUSTRY,
        D(20_000),
        JAN1,
        JAN1,
        "t",
        "reclaimed at the district",
    )
    doc = final_accounts(replace(base, entries=[*base.entries, district]))
    rec = doc.section("reconciliation")
    assert isinstance(rec, Table)
    assert [n.key for n in rec.notes][:3] == [
        "note.rec.tables",
        "note.rec.left_out",
        "note.rec.kept",
    ]
    assert rec.notes[1].params == {"factor": "0.5"}
    non_conventional = cells(rec, "non_conventional")
    assert (non_conventional["counted"], non_conventional["left_out"]) == (D(10_000), D(10_000))
    assert non_conventional["kept"] == D(5_000)


def test_the_balance_analysis_is_the_accounting_apis_computation():
    doc = final_accounts(CASES["reclaimed_below"])
    balance = doc.section("balance")
    assert isinstance(balance, Table)
    check = cells(balance, "7.1.1")
    # revenue: the district's own budget (nothing recorded); expenditure: handed down,
    # reclaimed water left out at factor 0 — as GET /budget/nodes/{id}/accounting counts
    assert (check["left"], check["right"]) == (D(1_500_000), D(1_100_000))
    assert check["result"] == "result.beyond_5"
    assert cells(balance, "6.5.3")["result"] == "result.estimated"
    surplus = doc.section("surplus")
    assert isinstance(surplus, Table)
    assert {r.key for r in surplus.rows} == {"local_surface", "groundwater"}
    assert "cut_lines" not in {section.key for section in doc.sections}


def test_the_chinese_document_writes_years_and_points_in_chinese():
    from reports.monthly import monthly_report
    from reports.render_html import render_html

    final = render_html(final_accounts(CASES["sectors"]), "zh")
    assert "甘州区 2024年 水预算年终决算" in final
    assert "2024 水预算" not in final
    monthly = render_html(monthly_report(inputs()), "zh")
    assert "甘州区 2024年6月 水预算执行进度月报" in monthly
    assert "个百分点" in monthly
    english = render_html(monthly_report(inputs()), "en")
    assert "个百分点" not in english
    assert " pp" in english


def test_the_outline_of_appendix_c_with_the_operators_texts_and_division_codes():
    base = replace(
        CASES["by_source_only"],
        texts={"region": "甘州区位于张掖市中部。", "safeguards": "区水务局牵头。"},
        division_codes={1: "620702"},
    )
    doc = final_accounts(base)
    keys = [s.key for s in doc.sections]
    assert keys.index("overview") < keys.index("directory") < keys.index("by_source")
    assert keys.index("balance") < keys.index("special") < keys.index("safeguards")
    assert keys.index("safeguards") < keys.index("appendix_a")
    overview = doc.section("overview")
    assert isinstance(overview, Figures)
    assert [(f.key, f.value) for f in overview.items] == [
        ("region", "甘州区位于张掖市中部。"),
        ("implementation", "text.to_write"),  # nobody wrote it: says so
    ]
    a = doc.section("appendix_a").table  # type: ignore[union-attr]
    assert [f.value for f in a.fields if f.label == "县(区、市)代码"] == ["620702"]
    directory = doc.section("directory")
    assert isinstance(directory, Table)
    townships = cells(directory, "township")
    assert (townships["units"], townships["agriculture"], townships["unspecified"]) == (2, 2, 0)
    units = doc.section("directory_units")
    assert isinstance(units, Table)
    assert cells(units, "GZ")["division_code"] == "620702"
    assert cells(units, "XM")["division_code"] == ""


def test_late_nodes_of_the_procedure_are_listed_in_the_monthly_report():
    from reports.monthly import monthly_report

    late = {2: ["未告知：应于2023-11-17前告知（甘州 3.(1)① 45日）"]}
    doc = monthly_report(replace(inputs(), procedure_late=late))
    table = doc.section("procedure_late")
    assert isinstance(table, Table)
    assert cells(table, "XM")["late"] == late[2][0]
    assert "procedure_late" not in {s.key for s in monthly_report(inputs()).sections}
