"""Year-end final accounts (年终决算) of one node, with 宁夏 appendices A and B, as a Document.

Pure: ``ReportInputs`` (the year's approved ledger, the year's draw, charges,
recorded revenue) in, ``Document`` out. Per listed node: issued (下达),
supplements (追加), cuts (核减), traded in and out (交易转入/转出), the final
budget, the water used, the balance (结余, negative: 超用) and the execution
rate; the root's budget and use by source and by sector; the year's over-quota
charges; and the appendix tables as ``budget.county_table`` / ``region_table``
build them (rendered, not rebuilt).

Entries count as the budget module counts them: valid by ``as_of`` (the year's
end) and approved by ``built_at`` (甘州: 告知—复核—下达—执行—调整—决算).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from budget.accounting_service import account, area_year
from budget.accounting_tables import AreaYear
from budget.county_table import county_table
from budget.ledger import EntryKind
from budget.region_table import RegionPart, region_table
from budget.units import ZERO
from budget.year_ledger import YearLedger, year_bounds
from reports.balance_section import balance_sections, reconciliation
from reports.breakdown import breakdown_table, charges_table, rate, split_budget
from reports.document import (
    Appendix,
    Chart,
    Column,
    Document,
    Figure,
    Figures,
    Row,
    Section,
    Series,
    Table,
    Text,
    ValueKind,
)
from reports.formatting import local_time
from reports.inputs import ReportInputs
from reports.monthly import ReportError, lag_notes
from reports.outline_sections import directory, text_section
from reports.rollup import (
    NodeDraw,
    budget_cells,
    by_sector,
    by_source,
    counted,
    node_draws,
    shown_nodes,
)

V = ValueKind
_KINDS = (EntryKind.ISSUE, EntryKind.SUPPLEMENT, EntryKind.CUT, EntryKind.TRADE_IN,
          EntryKind.TRADE_OUT)


def final_accounts(inputs: ReportInputs) -> Document:
    """决算 of ``inputs.root_id`` for ``inputs.year`` as of the year's end."""
    _, end = year_bounds(inputs.year)
    if inputs.as_of != end:
        raise ReportError(f"final accounts are as of the year's end {end.isoformat()}")
    h = inputs.hierarchy
    factor = inputs.non_conventional_factor
    entries = [e for e in inputs.entries
               if e.year == inputs.year and e.counts(inputs.as_of, inputs.built_at)]
    by_kind: dict[int, dict[EntryKind, Decimal]] = {}
    for e in entries:
        kinds = by_kind.setdefault(e.node_id, {})
        kinds[e.kind] = kinds.get(e.kind, ZERO) + counted(e.source.value, e.volume_m3, factor)
    draws = node_draws(inputs.draw, factor)
    columns = (
        Column("name", "col.node", V.TEXT), Column("code", "col.code", V.TEXT),
        Column("level", "col.level", V.LABEL),
        *(Column(k.value, f"col.entry.{k.value}", V.VOLUME) for k in _KINDS),
        Column("final", "col.final_budget", V.VOLUME), Column("used", "col.used", V.VOLUME),
        Column("balance", "col.balance", V.VOLUME), Column("rate", "col.execution_rate", V.RATE),
        Column("status", "col.status", V.LABEL),
    )
    rows = []
    listed = shown_nodes(h, inputs.root_id)
    rates: list[Decimal | None] = []
    for node_id, depth in listed:
        node = h.nodes[node_id]
        kinds = by_kind.get(node_id, {})
        final = sum((k.sign * kinds.get(k, ZERO) for k in _KINDS), ZERO)
        used = (draws.get(node_id) or NodeDraw()).counted_until(12)
        balance = final - used
        rates.append(rate(used, final))
        rows.append(Row(node.code, (
            node.name, node.code, f"level.{node.level.value}",
            *(kinds.get(k, ZERO) for k in _KINDS), final, used, balance, rates[-1],
            "status.overrun" if balance < 0 else "status.surplus",
        ), style="total" if depth == 0 else "child", depth=depth))
    root = by_kind.get(inputs.root_id, {})
    final = sum((k.sign * root.get(k, ZERO) for k in _KINDS), ZERO)
    used = (draws.get(inputs.root_id) or NodeDraw()).counted_until(12)
    balance = final - used
    inside = set(h.subtree(inputs.root_id))
    charges = [c for c in inputs.charges if c.node_id in inside]
    summary = Figures("summary", "section.final_summary", (
        Figure("issued", "fig.issued", root.get(EntryKind.ISSUE, ZERO), V.VOLUME),
        Figure("adjusted", "fig.adjusted", root.get(EntryKind.SUPPLEMENT, ZERO)
               - root.get(EntryKind.CUT, ZERO), V.VOLUME),
        Figure("traded", "fig.traded_net", root.get(EntryKind.TRADE_IN, ZERO)
               - root.get(EntryKind.TRADE_OUT, ZERO), V.VOLUME),
        Figure("final", "fig.final_budget", final, V.VOLUME),
        Figure("used", "fig.used", used, V.VOLUME),
        Figure("balance", "fig.balance", balance, V.VOLUME, flag="bad" if balance < 0 else "ok"),
        Figure("rate", "fig.execution_rate", rate(used, final), V.RATE),
        Figure("charges", "fig.charges_total", sum((c.total for c in charges), ZERO), V.MONEY),
    ), (*lag_notes(inputs), Text("note.counted"), *(
        Text("note.reopened", {"at": local_time(e.at), "by": e.by, "reason": e.reason})
        for e in inputs.reopenings)))
    book = YearLedger(h, inputs.year)
    book.load(entries)
    split, split_notes = split_budget(inputs, book.allocation(inputs.root_id, inputs.as_of))
    own = budget_cells(split)
    root_cells = (draws.get(inputs.root_id) or NodeDraw()).cells
    sections: list[Section] = [
        summary,
        text_section(inputs, "overview", ("region", "implementation")),
        *directory(inputs, book),
        Table("ledger", "section.final_nodes", columns, tuple(rows), (Text("note.final"),)),
        breakdown_table(key="by_source", title="section.by_source", by="source",
                        budget=by_source(own), drawn=by_source(root_cells)),
        replace(breakdown_table(key="by_sector", title="section.by_sector", by="sector",
                                budget=by_sector(own), drawn=by_sector(root_cells)),
                notes=split_notes),
    ]
    children = [(n, r) for (n, depth), r in zip(listed, rates, strict=True) if depth == 1]
    if children:
        sections.append(Chart(
            "children_execution", "chart.children_execution",
            tuple(h.nodes[n].name for n, _ in children),
            (Series("series.execution_rate", tuple(r for _, r in children), "bar"),), V.RATE))
    sections.append(charges_table(inputs))
    area, appendices = _appendices(inputs, book)
    sections.append(reconciliation(book.allocation(inputs.root_id, inputs.as_of), area, factor))
    sections += balance_sections(account(
        book, inputs.root_id, inputs.as_of, records=inputs.revenue,
        splits=inputs.sector_splits, protected=inputs.protected, factor=factor))
    sections.append(text_section(inputs, "special", ("special",)))
    sections.append(text_section(inputs, "safeguards", ("safeguards",)))
    sections += appendices
    node = h.nodes[inputs.root_id]
    return Document("final_accounts", "title.final_accounts", node.code, node.name,
                    node.level.value, str(inputs.year), inputs.as_of, inputs.built_at,
                    tuple(sections))


def _appendices(inputs: ReportInputs, book: YearLedger) -> tuple[AreaYear, list[Section]]:
    """附录 A of the root and 附录 B of the root over its children (and theirs)."""
    h, root, as_of = inputs.hierarchy, inputs.root_id, inputs.as_of
    records, splits, codes = list(inputs.revenue), inputs.sector_splits, inputs.division_codes
    parts = [
        RegionPart(area_year(book, child, as_of, records, splits, codes),
                   [area_year(book, g, as_of, records, splits, codes)
                    for g in sorted(h.children[child])])
        for child in sorted(h.children[root])
    ]
    area = area_year(book, root, as_of, records, splits, codes)
    return area, [
        Appendix("appendix_a", county_table(area)),
        Appendix("appendix_b", region_table(area, parts)),
    ]
