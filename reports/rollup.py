"""Draw per node as the reports use it, counted the way the budget counts, and
the nodes a report lists.

Pure. A node's draw is the water of its whole subtree (monitor's ``total_m3``:
attributed to it and to every node below it, each cubic metre to exactly one
node); its budget is its own ledger figure, never the sum of its children.

Non-conventional water counts at the year's factor in totals (甘州 1.(3)①, as
``budget.rules.counted_total`` does for budgets), so an execution rate compares
like with like; by-source and by-sector tables show every volume in full.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from budget.hierarchy import Hierarchy
from budget.kinds import NON_CONVENTIONAL_SOURCES
from budget.ledger import Allocation
from budget.units import ZERO
from reports.inputs import DrawRow

Cells = dict[tuple[str, str], Decimal]
"""Volume per (source, sector), plain strings (a registry source may have no budget kind)."""

_NON_CONVENTIONAL = frozenset(s.value for s in NON_CONVENTIONAL_SOURCES)


@dataclass(slots=True)
class NodeDraw:
    """Draw of a node's subtree: by cell for the year so far, and per month."""

    cells: Cells = field(default_factory=dict)
    by_month: list[Decimal] = field(default_factory=lambda: [ZERO] * 12)  # full volumes
    counted_by_month: list[Decimal] = field(default_factory=lambda: [ZERO] * 12)

    def add_row(self, row: DrawRow, factor: Decimal) -> None:
        key = (row.source, row.sector)
        self.cells[key] = self.cells.get(key, ZERO) + row.volume_m3
        self.by_month[row.month - 1] += row.volume_m3
        self.counted_by_month[row.month - 1] += counted(row.source, row.volume_m3, factor)

    def add(self, other: NodeDraw) -> None:
        for key, volume in other.cells.items():
            self.cells[key] = self.cells.get(key, ZERO) + volume
        for m in range(12):
            self.by_month[m] += other.by_month[m]
            self.counted_by_month[m] += other.counted_by_month[m]

    def counted_until(self, month: int) -> Decimal:
        """Counted draw of months 1..month."""
        return sum(self.counted_by_month[:month], ZERO)

    def counted_in(self, month: int) -> Decimal:
        return self.counted_by_month[month - 1]


def counted(source: str, volume: Decimal, factor: Decimal) -> Decimal:
    return volume * factor if source in _NON_CONVENTIONAL else volume


def counted_budget(cells: Allocation, factor: Decimal) -> Decimal:
    return sum((counted(src.value, v, factor) for (src, _), v in cells.items()), ZERO)


def node_draws(rows: Iterable[DrawRow], factor: Decimal) -> dict[int, NodeDraw]:
    """Each node's draw from its rows (totals: the node and everything below it)."""
    draws: dict[int, NodeDraw] = {}
    for row in rows:
        draw = draws.get(row.node_id)
        if draw is None:
            draw = draws[row.node_id] = NodeDraw()
        draw.add_row(row, factor)
    return draws


def by_source(cells: Mapping[tuple[str, str], Decimal]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for (source, _), volume in cells.items():
        out[source] = out.get(source, ZERO) + volume
    return out


def by_sector(cells: Mapping[tuple[str, str], Decimal]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for (_, sector), volume in cells.items():
        out[sector] = out.get(sector, ZERO) + volume
    return out


def budget_cells(cells: Allocation) -> Cells:
    return {(src.value, sec.value): v for (src, sec), v in cells.items()}


LISTED_DOWN_TO = frozenset({"unit", "household", "card_holder"})
"""Rows of a report go down to water-user units; households appear only in a unit's report."""


def shown_nodes(
    hierarchy: Hierarchy, root_id: int, stop_at: frozenset[str] = LISTED_DOWN_TO
) -> list[tuple[int, int]]:
    """The report's rows as (node, depth): the root, then its descendants in tree order
    (children by code), not below a node whose level is in ``stop_at``; a root at such a
    level lists its children."""

    def kids(node_id: int) -> list[int]:
        return sorted(hierarchy.children[node_id], key=lambda c: hierarchy.nodes[c].code)

    shown = [(root_id, 0)]
    if hierarchy.nodes[root_id].level.value in stop_at:
        return shown + [(c, 1) for c in kids(root_id)]
    stack = [(c, 1) for c in reversed(kids(root_id))]
    while stack:
        node_id, depth = stack.pop()
        shown.append((node_id, depth))
        if hierarchy.nodes[node_id].level.value not in stop_at:
            stack.extend((c, depth + 1) for c in reversed(kids(node_id)))
    return shown
