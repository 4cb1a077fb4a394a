"""Final accounts, 宁夏 附录C 三(三) 预算平衡情况 (issue 12): how the document's totals
connect, and the 7.1.1 / 6.5.3 / 7.1.2 / 7.1.3 results.

Every figure comes from the computations the rest of the document uses: the
node's own final budget (the summary and the 分水源/分行业 tables), what it hands
down (appendix A, sector-split), its revenue (appendix B) and
``budget.accounting_service.account`` (the API's accounting, the same function).
The reconciliation table shows, per source kind, each table's total and the
reason two of them differ: non-conventional water left out of the counted
totals (甘州 1.(3)①), water the node keeps or that is issued below it outside
its own totals, revenue that is not what was issued.
"""

from __future__ import annotations

from decimal import Decimal

from budget.accounting_service import AccountingView
from budget.accounting_tables import AreaYear
from budget.cut_list import by_family
from budget.kinds import SourceFamily
from budget.ledger import Allocation, by_source
from budget.revenue import counted_revenue
from budget.units import ZERO
from reports.document import Column, Row, Section, Table, Text, ValueKind

V = ValueKind


def reconciliation(own: Allocation, area: AreaYear, factor: Decimal) -> Table:
    """Per source kind: final budget as counted, in full, handed down, revenue."""
    full = by_family(by_source(own))
    counted = by_family(counted_revenue(by_source(own), factor))
    handed = by_family(by_source(area.expenditure))
    revenue = by_family(area.revenue)
    families = [f for f in SourceFamily if f in full or f in handed or f in revenue]
    columns = (
        Column("source", "col.source", V.LABEL),
        Column("counted", "col.rec.counted", V.VOLUME),
        Column("left_out", "col.rec.left_out", V.VOLUME),
        Column("full", "col.rec.full", V.VOLUME),
        Column("handed_down", "col.rec.handed_down", V.VOLUME),
        Column("kept", "col.rec.kept", V.VOLUME),
        Column("revenue", "col.rec.revenue", V.VOLUME),
        Column("revenue_minus", "col.rec.revenue_minus_expenditure", V.VOLUME),
    )

    def cells(c: Decimal, f: Decimal, h: Decimal, r: Decimal) -> tuple[Decimal, ...]:
        return (c, f - c, f, h, f - h, r, r - h)

    rows = [
        Row(
            family.value,
            (
                f"source_family.{family.value}",
                *cells(
                    counted.get(family, ZERO),
                    full.get(family, ZERO),
                    handed.get(family, ZERO),
                    revenue.get(family, ZERO),
                ),
            ),
        )
        for family in families
    ]
    total = (
        sum(counted.values(), ZERO),
        sum(full.values(), ZERO),
        sum(handed.values(), ZERO),
        sum(revenue.values(), ZERO),
    )
    rows.append(Row("total", ("col.total", *cells(*total)), style="total"))
    notes = [Text("note.rec.tables")]
    if total[1] != total[0]:
        notes.append(Text("note.rec.left_out", {"factor": f"{factor}"}))
    if total[1] != total[2]:
        notes.append(Text("note.rec.kept"))
    if total[3] != total[2]:
        notes.append(Text("note.rec.revenue"))
    return Table("reconciliation", "section.reconciliation", columns, tuple(rows), tuple(notes))


def balance_sections(view: AccountingView) -> list[Section]:
    """7.1.1 and 6.5.3 as a check table; the 7.1.2 cut list per short source and its
    lines, or the 7.1.3 surplus by source."""
    b = view.balance
    deviation = b.deviation
    checks = Table(
        "balance",
        "section.balance",
        (
            Column("check", "col.check", V.LABEL),
            Column("left", "col.left", V.VOLUME),
            Column("right", "col.right", V.VOLUME),
            Column("deviation", "col.deviation", V.RATE),
            Column("result", "col.result", V.LABEL),
        ),
        (
            Row(
                "7.1.1",
                (
                    "check.7_1_1",
                    b.revenue_m3,
                    b.expenditure_m3,
                    deviation,
                    "result.short"
                    if b.revenue_m3 < b.expenditure_m3
                    else "result.beyond_5"
                    if deviation is not None and abs(deviation) > Decimal("0.05")
                    else "result.ok",
                ),
            ),
            Row(
                "6.5.3",
                (
                    "check.6_5_3",
                    sum(view.expenditure_by_sector.values(), ZERO),
                    sum(view.expenditure_by_source.values(), ZERO),
                    None,
                    "result.estimated"
                    if any(s.basis.is_estimate for s in view.splits_used)
                    else "result.ok",
                ),
            ),
        ),
        (
            Text("note.balance.counted", {"factor": f"{view.non_conventional_factor}"}),
            *(Text("note.balance.split", {"split": s.note}) for s in view.splits_used),
        ),
    )
    sections: list[Section] = [checks]
    cuts = view.cuts
    if cuts is not None:
        sections.append(
            Table(
                "cut_by_source",
                "section.cut_by_source",
                (
                    Column("source", "col.source", V.LABEL),
                    Column("revenue", "col.rec.revenue", V.VOLUME),
                    Column("expenditure", "col.expenditure", V.VOLUME),
                    Column("shortfall", "col.shortfall", V.VOLUME),
                    Column("cut", "col.cut", V.VOLUME),
                    Column("remaining", "col.remaining_shortfall", V.VOLUME),
                ),
                tuple(
                    Row(
                        s.family.value,
                        (
                            f"source_family.{s.family.value}",
                            s.revenue_m3,
                            s.expenditure_m3,
                            s.shortfall_m3,
                            s.cut_m3,
                            s.remaining_m3,
                        ),
                    )
                    for s in cuts.sources
                ),
                (Text("note.cut.per_source"),),
            )
        )
        lines = [
            Row(
                f"{c.item.name}/{c.item.source.value}/{c.item.sector.value}",
                (
                    c.item.name,
                    f"source.{c.item.source.value}",
                    f"sector.{c.item.sector.value}",
                    c.item.volume_m3,
                    c.cut_m3,
                    f"7.1.2 {c.priority.value})",
                ),
            )
            for c in cuts.cuts
        ] + [
            Row(
                f"{k.name}/{k.source.value}/{k.sector.value}/kept",
                (
                    k.name,
                    f"source.{k.source.value}",
                    f"sector.{k.sector.value}",
                    k.volume_m3,
                    ZERO,
                    k.reason,
                ),
            )
            for k in cuts.kept
        ]
        sections.append(
            Table(
                "cut_lines",
                "section.cut_lines",
                (
                    Column("item", "col.node", V.TEXT),
                    Column("source", "col.source", V.LABEL),
                    Column("sector", "col.sector", V.LABEL),
                    Column("volume", "col.budget", V.VOLUME),
                    Column("cut", "col.cut", V.VOLUME),
                    Column("why", "col.why", V.TEXT),
                ),
                tuple(lines),
            )
        )
    if view.surplus:
        sections.append(
            Table(
                "surplus",
                "section.surplus",
                (
                    Column("source", "col.source", V.LABEL),
                    Column("surplus", "col.surplus", V.VOLUME),
                    Column("uses", "col.uses", V.TEXT),
                    Column("conditional", "col.conditional_uses", V.TEXT),
                ),
                tuple(
                    Row(
                        s.family.value,
                        (
                            f"source_family.{s.family.value}",
                            s.surplus_m3,
                            "；".join(f"{u.value}) {u.text}" for u in s.uses),
                            "；".join(f"{u.value}) {u.text}" for u in s.conditional),
                        ),
                    )
                    for s in view.surplus
                ),
                (Text("note.surplus"),),
            )
        )
    return sections
