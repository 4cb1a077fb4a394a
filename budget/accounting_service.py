"""Use cases of the Ningxia accounting (宁夏 6.5.3, 7.1, appendices A and B) over the ledger.

Revenue of a node is its own effective budget by source; its expenditure is
what it hands to its children (or its own cells, for a leaf) by sector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from budget import repository as repo
from budget.accounting import (
    BalanceResult,
    CutProposal,
    Finding,
    ProtectedVolumes,
    check_balance,
    check_sector_equals_source,
    expenditure_items,
    propose_cuts,
)
from budget.hierarchy import Hierarchy
from budget.ledger import add_allocations, by_sector, by_source
from budget.service import load_year
from budget.units import m3


@dataclass(frozen=True, slots=True)
class AccountingView:
    balance: BalanceResult
    consistency: list[Finding]
    cuts: CutProposal | None


def accounting(
    conn: repo.Conn,
    *,
    node_id: int,
    year: int,
    as_of: datetime,
    hierarchy: Hierarchy,
    inflow_factor: Decimal = Decimal(1),
) -> AccountingView:
    """宁夏 7.1/6.5.3 for one node: its budget by source is the revenue, what it
    hands to its children (or its own cells, for a leaf) by sector the expenditure.

    The cut list keeps each line's protected part (7.1.2 e): residential water
    whole, and the grain-irrigation and basic-ecological-flow volumes recorded
    for the line's node (``protected_of``).

    ``inflow_factor`` scales the revenue for a what-if of 7.4.3 a) (来水与预测值
    偏差, 丰增枯减): 0.85 asks "what if inflow is 15 % below the forecast?".
    The ledger's rules keep children within their parent, so without it a
    shortfall, and so a cut list, only appears once revenue is below budget."""
    book = load_year(conn, year=year, hierarchy=hierarchy)
    revenue = {
        source: m3(volume * inflow_factor)
        for source, volume in by_source(book.allocation(node_id, as_of)).items()
    }
    kids = hierarchy.children[node_id]
    lines = [(c, book.allocation(c, as_of)) for c in kids] or [
        (node_id, book.allocation(node_id, as_of))
    ]
    spent = add_allocations(cells for _, cells in lines)
    balance = check_balance(revenue, by_sector(spent))
    cuts = None
    if balance.revenue_m3 < balance.expenditure_m3:
        records = repo.protected_volumes(conn, year=year)
        items = [
            item
            for n, cells in lines
            for item in expenditure_items(
                hierarchy.nodes[n].code, cells, protected_of(hierarchy, records, n)
            )
        ]
        cuts = propose_cuts(items, balance.expenditure_m3 - balance.revenue_m3)
    return AccountingView(
        balance, check_sector_equals_source(by_sector(spent), by_source(spent)), cuts
    )


def protected_of(
    hierarchy: Hierarchy, records: Mapping[int, ProtectedVolumes], node_id: int
) -> ProtectedVolumes:
    """A node's protected volumes: its own record, else the sum of its children's."""
    if node_id in records:
        return records[node_id]
    total = ProtectedVolumes()
    for child in hierarchy.children[node_id]:
        total += protected_of(hierarchy, records, child)
    return total
