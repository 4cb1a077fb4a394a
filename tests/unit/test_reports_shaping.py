"""Report shaping over plain data: monthly report, final accounts, revisions, provenance."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from budget.year_ledger import BUDGET_TIMEZONE
from reports.document import Figures, Table, document_from_json, document_json
from reports.final_accounts import final_accounts
from reports.inputs import DrawRow, LevelCrossing
from reports.monthly import ReportError, monthly_report
from reports.provenance import digest, provenance
from reports.revisions import LISTED_CHANGES, changes, first_issue, revised
from reports.rollup import shown_nodes
from tests.unit.report_inputs import IRR, hierarchy, inputs, own_rows, totals

D = Decimal
YEAR_END = datetime(2025, 1, 1, tzinfo=BUDGET_TIMEZONE)


def table(doc, key) -> Table:
    section = doc.section(key)
    assert isinstance(section, Table)
    return section


def figures(doc, key) -> dict[str, object]:
    section = doc.section(key)
    assert isinstance(section, Figures)
    return {i.key: i.value for i in section.items}


def row(t: Table, key: str) -> dict[str, object]:
    found = next(r for r in t.rows if r.key == key)
    return {c.key: v for c, v in zip(t.columns, found.cells, strict=True)}


def test_rows_go_down_to_units_and_a_unit_lists_its_households():
    h = hierarchy()
    assert [n for n, _ in shown_nodes(h, 1)] == [1, 3, 2, 4]  # children by code: DM before XM
    assert shown_nodes(h, 4) == [(4, 0), (5, 1)]


def test_monthly_figures_of_the_district_and_a_unit():
    doc = monthly_report(inputs())
    summary = figures(doc, "summary")
    # district: own budget 1,500,000; its subtree drew 6 × (20,000 + 200 + 10,000)
    assert summary["budget"] == D(1_500_000)
    assert summary["drawn"] == D(181_200)
    assert summary["month"] == D(30_200)
    assert summary["rate"] == D(181_200) / D(1_500_000)
    assert summary["last_year"] == D(60_000)
    assert summary["change"] == (D(181_200) - D(60_000)) / D(60_000)
    unit = row(table(doc, "nodes"), "XM-1")
    assert unit["budget"] == D(160_000)  # issue + supplement valid from May
    assert unit["drawn"] == D(121_200)
    assert unit["status"] == "status.ok"
    assert [r.key for r in table(doc, "nodes").rows] == ["GZ", "DM", "XM", "XM-1"]


def test_levels_reached_during_the_month_are_listed():
    # the household draws 200 m³ a month of 1,000: 800 (80 %, notice) by 30 April,
    # 1,000 (overrun) by 31 May — reached in May; in June it was already overrun.
    may = monthly_report(inputs(root_id=5, month=5,
                                as_of=datetime(2024, 6, 1, tzinfo=BUDGET_TIMEZONE)))
    cells = row(table(may, "levels_reached"), "XM-1-01")
    assert (cells["before"], cells["after"]) == ("status.notice", "status.overrun")
    june = monthly_report(inputs(root_id=5))
    assert table(june, "levels_reached").rows == ()
    assert row(table(june, "nodes"), "XM-1-01")["status"] == "status.overrun"


def test_levels_reached_say_when_from_the_alert_history():
    """Issue 14.3: each crossing at the data time it happened (the monitor's alert events),
    the earliest event of the level reached."""
    as_of = datetime(2024, 6, 1, tzinfo=BUDGET_TIMEZONE)
    crossings = [LevelCrossing(5, "notice", datetime(2024, 5, 3, tzinfo=BUDGET_TIMEZONE)),
                 LevelCrossing(5, "critical", datetime(2024, 5, 29, tzinfo=BUDGET_TIMEZONE))]
    may = monthly_report(inputs(root_id=5, month=5, as_of=as_of, level_crossings=crossings))
    cells = row(table(may, "levels_reached"), "XM-1-01")
    assert cells["reached_at"] == datetime(2024, 5, 29, tzinfo=BUDGET_TIMEZONE)
    unknown = monthly_report(inputs(root_id=5, month=5, as_of=as_of))
    assert row(table(unknown, "levels_reached"), "XM-1-01")["reached_at"] is None


def test_quality_summary_against_the_ningxia_tolerances():
    doc = monthly_report(inputs())
    q = figures(doc, "quality")
    assert (q["expected"], q["received"]) == (1440, 1300)
    assert q["completeness"] == D(1300) / D(1440)
    assert q["quarantined"] == 2
    assert q["unattributed"] == D(5000)
    flagged = {r.key for r in table(doc, "quality_nodes").rows}
    assert "DM" in flagged  # 600 of 720 readings: 83 % < 95 %
    assert row(table(doc, "quarantine_reasons"), "negative_delta")["count"] == 2
    assert q["off_same_period"] == 2  # XM and XM-1: 121,200 against 60,000 last year


def test_over_quota_anomaly_is_more_than_twenty_percent():
    rows = [r for r in own_rows() if r.node_id != 5]
    rows.append(DrawRow(5, 6, "groundwater", IRR.value, D(1200)))  # exactly 20 % over
    doc = monthly_report(inputs(root_id=4, draw=totals(rows)))
    assert figures(doc, "quality")["over_quota"] == 0
    rows[-1] = DrawRow(5, 6, "groundwater", IRR.value, D("1200.001"))
    doc = monthly_report(inputs(root_id=4, draw=totals(rows)))
    assert figures(doc, "quality")["over_quota"] == 1


def test_monthly_chart_plans_by_the_profile_and_draws_to_the_month():
    chart = monthly_report(inputs()).section("monthly_plan")
    drawn, planned = chart.series  # type: ignore[union-attr]
    assert drawn.values[5] == D(30_200)
    assert drawn.values[6] is None
    assert planned.values[5] == D(1_500_000) * D("0.15")


def test_as_of_outside_the_month_is_refused():
    with pytest.raises(ReportError):
        monthly_report(inputs(month=5))


def test_non_conventional_water_counts_at_the_factor_in_totals():
    rows = [*draw_rows_with_reclaimed()]
    doc = monthly_report(inputs(draw=rows, non_conventional_factor=D("0.5")))
    assert figures(doc, "summary")["drawn"] == D(181_200) + D(500)
    by_source = table(doc, "by_source")
    assert row(by_source, "reclaimed")["drawn"] == D(1000)  # in full by source


def draw_rows_with_reclaimed() -> list[DrawRow]:
    return totals([*own_rows(), DrawRow(3, 6, "reclaimed", "industry", D(1000))])


def test_final_accounts_ledger_and_appendices():
    doc = final_accounts(inputs(month=12, as_of=YEAR_END))
    unit = row(table(doc, "ledger"), "XM-1")
    assert (unit["issue"], unit["supplement"], unit["final"]) == (D(150_000), D(10_000),
                                                                  D(160_000))
    assert unit["used"] == D(121_200)
    assert unit["balance"] == D(38_800)
    assert unit["status"] == "status.surplus"
    a = doc.section("appendix_a")
    total_row = a.table.rows[-1]  # type: ignore[union-attr]
    assert total_row.label == "合计"
    assert total_row.values[-1] == D("110.00")
    b = doc.section("appendix_b")
    assert [r.label for r in b.table.rows][-1] == "甘州区"  # type: ignore[union-attr]


def test_final_accounts_only_at_the_year_end():
    with pytest.raises(ReportError):
        final_accounts(inputs())


def test_entries_approved_after_the_build_do_not_count():
    later = datetime(2024, 8, 1, tzinfo=BUDGET_TIMEZONE)
    base = inputs(month=12, as_of=YEAR_END)
    late = [replace(e, approved_at=later) if e.entry_id == 7 else e for e in base.entries]
    doc = final_accounts(replace(base, entries=late))
    assert row(table(doc, "ledger"), "XM-1")["supplement"] == D(0)


def test_document_survives_json_exactly():
    for doc in (monthly_report(inputs()), final_accounts(inputs(month=12, as_of=YEAR_END))):
        assert document_from_json(document_json(doc)) == doc


def test_a_backfill_gives_a_revision_that_names_the_figure():
    old = first_issue(monthly_report(inputs()))
    rows = totals([*own_rows(), DrawRow(4, 6, "groundwater", IRR.value, D(1))])
    new = monthly_report(inputs(draw=rows))
    doc = revised(old, 1, new)
    assert doc is not None
    assert doc.revision.number == 2
    assert doc.revision.previous_built_at == old.built_at
    unit = [c for c in doc.revision.changes if c.row == "小满一村" and c.column == "col.drawn_ytd"]
    assert [(c.old, c.new) for c in unit] == [(D(121_200), D(121_201))]


def test_nothing_changed_gives_no_revision_and_snapshots_alone_do_not_revise():
    old = first_issue(monthly_report(inputs()))
    assert revised(old, 1, monthly_report(inputs())) is None
    assert revised(old, 1, monthly_report(inputs(alerts=[]))) is None
    assert changes(old, monthly_report(inputs(alerts=[])))  # but the change is visible


def test_long_change_lists_are_cut_but_counted():
    old = first_issue(monthly_report(inputs()))
    rows = [replace(r, volume_m3=r.volume_m3 + 1) for r in draw_rows_many()]
    new = revised(old, 1, monthly_report(inputs(draw=rows)))
    assert new is not None
    assert len(new.revision.changes) <= LISTED_CHANGES
    assert new.revision.changes_total >= len(new.revision.changes)


def draw_rows_many() -> list[DrawRow]:
    return totals(own_rows())


def test_provenance_digest_ignores_the_build_time_only():
    a = provenance(inputs())
    b = provenance(inputs(built_at=datetime(2024, 7, 9, tzinfo=BUDGET_TIMEZONE)))
    assert digest(a) == digest(b)
    c = provenance(inputs(draw=draw_rows_with_reclaimed()))
    assert digest(a) != digest(c)
    assert "5" not in a["nodes"]  # the household is not a listed row of the district
