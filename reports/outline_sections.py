"""The parts of the final accounts that follow 宁夏 附录C's outline beyond the figures
(issue 12): 一 概述 and 三(四) 特殊情况说明 / 四 保障措施 as the water office wrote them
(``PUT /reports/texts/{node_id}/{year}``), and 二 水预算单位名录库建设情况 — the units
below the node by level and sector, with their 行政区划代码 where recorded."""

from __future__ import annotations

from collections import Counter

from budget.kinds import SectorFamily
from budget.ledger import by_sector
from budget.sector_split import split_cells, split_of
from budget.year_ledger import YearLedger
from reports.document import Column, Figure, Figures, Row, Table, Text, ValueKind
from reports.inputs import ReportInputs
from reports.rollup import shown_nodes

V = ValueKind
TO_WRITE = "text.to_write"


def text_section(inputs: ReportInputs, key: str, parts: tuple[str, ...]) -> Figures:
    """One outline section of operator text; a part nobody wrote says so."""
    return Figures(key, f"section.{key}", tuple(
        Figure(part, f"fig.text.{part}", inputs.texts.get(part) or TO_WRITE,
               V.TEXT if inputs.texts.get(part) else V.LABEL)
        for part in parts
    ))


_FAMILIES = (SectorFamily.AGRICULTURE, SectorFamily.INDUSTRY, SectorFamily.DOMESTIC,
             SectorFamily.ECOLOGY, SectorFamily.UNSPECIFIED)


def directory(inputs: ReportInputs, book: YearLedger) -> list[Table]:
    """Units below the root by level, and by the sectors of their budget (sector-split as
    the appendices are); then the listed units with their codes."""
    h = inputs.hierarchy
    below = [n for n in h.subtree(inputs.root_id) if n != inputs.root_id]
    levels: Counter[str] = Counter()
    families: dict[str, Counter[SectorFamily]] = {}
    for n in below:
        level = h.nodes[n].level.value
        levels[level] += 1
        cells = split_cells(book.allocation(n, inputs.as_of),
                            split_of(h, inputs.sector_splits, n))
        held = {s.family for s, v in by_sector(cells).items() if v > 0}
        for family in held:
            families.setdefault(level, Counter())[family] += 1
    counts = Table(
        "directory", "section.directory",
        (Column("level", "col.level", V.LABEL), Column("units", "col.units", V.COUNT),
         *(Column(f.value, f"col.with.{f.value}", V.COUNT) for f in _FAMILIES)),
        tuple(
            Row(level, (f"level.{level}", count,
                        *(families.get(level, Counter())[f] for f in _FAMILIES)))
            for level, count in levels.items()
        ),
        (Text("note.directory"),),
    )
    listed = Table(
        "directory_units", "section.directory_units",
        (Column("name", "col.node", V.TEXT), Column("level", "col.level", V.LABEL),
         Column("division_code", "col.division_code", V.TEXT)),
        tuple(
            Row(h.nodes[n].code, (h.nodes[n].name, f"level.{h.nodes[n].level.value}",
                                  inputs.division_codes.get(n, "")), depth=depth)
            for n, depth in shown_nodes(h, inputs.root_id)
        ),
        (Text("note.division_code"),),
    )
    return [counts, listed]
