"""Use cases of the Ningxia accounting over the ledger: 宁夏 6.5.3, 7.1, appendices A and B.

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
from budget.accounting_tables import AccountingTable, AreaYear
from budget.county_table import county_table
from budget.hierarchy import Hierarchy
from budget.kinds import Source
from budget.ledger import add_allocations, by_sector, by_source
from budget.region_table import RegionPart, region_table
from budget.service import load_year
from budget.units import ZERO, m3
from budget.year_ledger import YearLedger


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


def area_year(book: YearLedger, node_id: int, as_of: datetime) -> AreaYear:
    """A node's budget year as an area of the appendix tables: its own budget by
    source is the revenue, what it hands down (its own cells, for a leaf) the
    expenditure. Traded and transferred water bought in fill 买入指标 and 调入水量;
    what leaves the region is not recorded, so 卖出指标 and 调出水量 stay blank."""
    own = book.allocation(node_id, as_of)
    kids = book.hierarchy.children[node_id]
    spent = add_allocations(book.allocation(c, as_of) for c in kids) if kids else own
    revenue = by_source(own)
    node = book.hierarchy.nodes[node_id]
    return AreaYear(
        node.name,
        node.code,
        revenue,
        spent,
        traded_in_m3=revenue.get(Source.TRADED, ZERO),
        transferred_in_m3=revenue.get(Source.TRANSFERRED, ZERO),
    )


def county_table_of(
    conn: repo.Conn, *, node_id: int, year: int, as_of: datetime, hierarchy: Hierarchy
) -> AccountingTable:
    """宁夏 附录 A for a node (a county, or any node read as one)."""
    book = load_year(conn, year=year, hierarchy=hierarchy)
    return county_table(area_year(book, node_id, as_of))


def region_table_of(
    conn: repo.Conn,
    *,
    node_id: int,
    year: int,
    as_of: datetime,
    hierarchy: Hierarchy,
    depth: int = 2,
) -> AccountingTable:
    """宁夏 附录 B for a node: its children as the first level (地市) and, with
    ``depth=2``, their children as the second (县区), as the seed lays them out."""
    book = load_year(conn, year=year, hierarchy=hierarchy)
    parts = [
        RegionPart(
            area_year(book, child, as_of),
            [area_year(book, g, as_of) for g in hierarchy.children[child]] if depth > 1 else [],
        )
        for child in hierarchy.children[node_id]
    ]
    return region_table(area_year(book, node_id, as_of), parts)
