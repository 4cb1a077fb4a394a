"""Reports on budgets issued by source only (issue 12): the district's structure
splits them in the by-sector tables and appendices, marked as an estimate."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from budget.kinds import Sector, SectorFamily
from budget.sector_split import SectorSplit, SplitBasis, structure_split
from budget.year_ledger import BUDGET_TIMEZONE
from reports.document import Table
from reports.final_accounts import final_accounts
from reports.labels import text
from reports.monthly import monthly_report
from tests.unit.report_inputs import inputs

D = Decimal
YEAR_END = datetime(2025, 1, 1, tzinfo=BUDGET_TIMEZONE)
GANZHOU_2024 = structure_split(
    {
        SectorFamily.AGRICULTURE: D("87.45"),
        SectorFamily.INDUSTRY: D("0.31"),
        SectorFamily.DOMESTIC: D("5.03"),
        SectorFamily.ECOLOGY: D("7.22"),
    },
    "甘州区2024年用水结构配置（甘州 2.(1)）",
)


def by_source_only(**changes: object):
    base = inputs(**changes)
    entries = [replace(e, sector=Sector.UNSPECIFIED) for e in base.entries]
    budgets = {
        n: {(src, Sector.UNSPECIFIED): v for (src, _), v in cells.items()}
        for n, cells in base.budgets.items()
    }
    return replace(base, entries=entries, budgets=budgets, sector_splits={1: GANZHOU_2024})


def columns(table, label):
    row = next(r for r in table.rows if r.label == label)
    return {c.key: v for c, v in zip(table.columns, row.values, strict=True)}


def test_appendix_a_sector_columns_are_filled_and_add_up_to_the_source_totals():
    doc = final_accounts(by_source_only(month=12, as_of=YEAR_END))
    a = doc.section("appendix_a").table  # type: ignore[union-attr]
    assert "unspecified" not in [c.key for c in a.columns]
    for label in ("当地地表水", "地下水", "合计"):
        row = columns(a, label)
        families = [row[k] for k in ("agriculture", "industry", "domestic", "ecology")]
        assert all(f > 0 for f in families), (label, row)
        assert abs(sum(families) - row["total"]) <= D("0.02"), (label, row)
    assert columns(a, "合计")["total"] == D("110.00")  # unchanged by the split
    assert [n for n in a.notes if n.startswith("行业分配为估算")]
    b = doc.section("appendix_b").table  # type: ignore[union-attr]
    assert "expenditure.unspecified" not in [c.key for c in b.columns]


def test_the_by_sector_tables_split_the_budget_and_say_it_is_an_estimate():
    for doc in (
        final_accounts(by_source_only(month=12, as_of=YEAR_END)),
        monthly_report(by_source_only()),
    ):
        table = doc.section("by_sector")
        assert isinstance(table, Table)
        budgets = {r.key: r.cells[1] for r in table.rows if isinstance(r.cells[1], Decimal)}
        assert "unspecified" not in budgets
        assert budgets["agriculture.irrigation"] > 0
        assert budgets["industry"] > 0
        [note] = table.notes
        assert note.key == "note.sector_split.structure"
        zh = text("zh", note.key, **note.params)
        assert zh.startswith("分行业预算为估算")
        assert "甘州 2.(1)" in zh
        assert "estimated" in text("en", note.key, **note.params)


def test_an_operator_split_is_not_marked_as_an_estimate():
    given = SectorSplit(SplitBasis.OPERATOR, {Sector.IRRIGATION: D(1)}, "2024年复核")
    doc = monthly_report(replace(by_source_only(), sector_splits={1: given}))
    table = doc.section("by_sector")
    assert isinstance(table, Table)
    assert [n.key for n in table.notes] == ["note.sector_split.operator"]
    assert "估算" not in text("zh", table.notes[0].key, **table.notes[0].params)


def test_without_a_split_nothing_changes():
    doc = monthly_report(replace(by_source_only(), sector_splits={}))
    table = doc.section("by_sector")
    assert isinstance(table, Table)
    assert table.notes == ()
    assert "unspecified" in {r.key for r in table.rows}
