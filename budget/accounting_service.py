"""Use cases of the Ningxia accounting over the ledger: 宁夏 6.5.3, 7.1, 7.4.3 a),
appendices A and B.

Revenue of a node is its recorded available water by source (``budget.revenue``;
the node's own effective budget when nothing is recorded); its expenditure is
what it hands to its children (or its own cells, for a leaf) by sector.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from budget import repository as repo
from budget.accounting import (
    BalanceResult,
    Finding,
    check_balance,
    check_sector_equals_source,
)
from budget.accounting_tables import AccountingTable, AreaYear
from budget.county_table import county_table
from budget.cut_list import (
    CutList,
    ProtectedVolumes,
    SurplusLine,
    by_family,
    cut_items,
    cut_list,
    surplus_list,
)
from budget.hierarchy import Hierarchy
from budget.kinds import Sector, Source
from budget.ledger import Allocation, add_allocations, by_sector, by_source
from budget.region_table import RegionPart, region_table
from budget.revenue import (
    InflowDeviation,
    RevenueBasis,
    RevenueRecord,
    check_inflow_deviation,
    check_source_structure,
    counted_cells,
    counted_revenue,
    latest,
)
from budget.sector_split import SectorSplit, split_cells, split_of
from budget.service import load_year
from budget.units import ZERO, m3
from budget.year_ledger import YearLedger


@dataclass(frozen=True, slots=True)
class AccountingView:
    balance: BalanceResult
    consistency: list[Finding]
    cuts: CutList | None  # 7.1.2 per short source kind; None when no kind is short
    revenue_basis: str = "issued_budget"  # forecast | updated | issued_budget (nothing recorded)
    revenue_by_source: Mapping[Source, Decimal] = field(default_factory=dict)
    expenditure_by_source: Mapping[Source, Decimal] = field(default_factory=dict)
    structure: list[Finding] = field(default_factory=list)
    inflow: InflowDeviation | None = None
    non_conventional_factor: Decimal = ZERO
    inflow_factor: Decimal = Decimal(1)
    records: tuple[RevenueRecord, ...] = ()
    surplus: tuple[SurplusLine, ...] = ()  # 7.1.3 per source kind with water to spare
    expenditure_by_sector: Mapping[Sector, Decimal] = field(default_factory=dict)
    splits_used: tuple[SectorSplit, ...] = ()  # sector splits of 未分行业 volumes


def revenue_of(
    records: Sequence[RevenueRecord], issued: Mapping[Source, Decimal]
) -> tuple[str, Mapping[Source, Decimal]]:
    """The revenue the balance uses: the newest ``updated`` record (the year's
    latest knowledge of inflow, 7.4.3 a), else the newest ``forecast``, else —
    nothing recorded — the node's own issued budget by source, as before."""
    for basis in (RevenueBasis.UPDATED, RevenueBasis.FORECAST):
        record = latest(records, basis)
        if record is not None:
            return basis.value, record.volumes
    return "issued_budget", issued


def accounting(
    conn: repo.Conn,
    *,
    node_id: int,
    year: int,
    as_of: datetime,
    hierarchy: Hierarchy,
    inflow_factor: Decimal = Decimal(1),
) -> AccountingView:
    """宁夏 7.1/6.5.3 for one node. Revenue is the recorded available water by
    source (``revenue_of``); expenditure is what the node hands to its children
    (or its own cells, for a leaf) by sector. Non-conventional water counts at
    the year's factor on both sides (甘州 1.(3)①: 0 leaves it out).

    The cut list (7.1.2, ``budget.cut_list``) is made per short source kind, from
    that kind's lines only, and takes only the parts the spec names, as recorded
    for the line's node (``protected_of``; unrecorded: the line is kept). The
    surplus of every kind with water to spare is listed with its 7.1.3 uses.

    ``inflow_factor`` scales the revenue for a what-if of 7.4.3 a) (来水与预测值
    偏差, 丰增枯减): 0.85 asks "what if inflow is 15 % below the forecast?".
    A recorded ``updated`` inflow (× the what-if) is compared with the
    ``forecast``; beyond ±15 % the response flags a dynamic adjustment (7.4.3 a)."""
    book = load_year(conn, year=year, hierarchy=hierarchy)
    return account(
        book,
        node_id,
        as_of,
        records=repo.revenue_records(conn, year=year, node_id=node_id),
        splits=repo.sector_splits(conn, year=year),
        protected=repo.protected_volumes(conn, year=year),
        factor=book.policy.non_conventional_factor,
        inflow_factor=inflow_factor,
    )


def account(
    book: YearLedger,
    node_id: int,
    as_of: datetime,
    *,
    records: Sequence[RevenueRecord],
    splits: Mapping[int, SectorSplit],
    protected: Mapping[int, ProtectedVolumes],
    factor: Decimal,
    inflow_factor: Decimal = Decimal(1),
) -> AccountingView:
    """The computation behind ``accounting`` (the API) and the final accounts'
    收支平衡分析: pure, over a loaded year ledger."""
    hierarchy = book.hierarchy
    records = tuple(r for r in records if r.node_id == node_id)
    basis, available = revenue_of(records, by_source(book.allocation(node_id, as_of)))
    revenue = counted_revenue(available, factor, inflow_factor)
    split_lines, used = handed_down(book, node_id, as_of, splits)
    lines = [(n, counted_cells(cells, factor)) for n, cells in split_lines]
    spent = add_allocations(cells for _, cells in lines)
    balance = check_balance(revenue, by_sector(spent))
    inflow = inflow_check(records, inflow_factor)
    cuts = None
    have, need = by_family(revenue), by_family(by_source(spent))
    if any(v > have.get(f, ZERO) for f, v in need.items()):
        kept_by = _kept_sectors(book, as_of, splits)
        items = [
            item
            for n, cells in lines
            for item in cut_items(
                hierarchy.nodes[n].code, cells, protected_of(hierarchy, protected, n, kept_by)
            )
        ]
        cuts = cut_list(revenue, items)
    estimated = [Finding("6.5.3 sector split", x.note) for x in used if x.basis.is_estimate]
    return AccountingView(
        balance,
        [*check_sector_equals_source(by_sector(spent), by_source(spent)), *estimated],
        cuts,
        revenue_basis=basis,
        revenue_by_source=revenue,
        expenditure_by_source=by_source(spent),
        structure=check_source_structure(revenue, by_source(spent)),
        inflow=inflow,
        non_conventional_factor=factor,
        inflow_factor=inflow_factor,
        records=records,
        surplus=surplus_list(revenue, by_source(spent)),
        expenditure_by_sector=by_sector(spent),
        splits_used=used,
    )


def inflow_check(
    records: Sequence[RevenueRecord], inflow_factor: Decimal = Decimal(1)
) -> InflowDeviation | None:
    """7.4.3 a) against the newest forecast: the newest updated inflow — scaled by
    the what-if, which alone (without an updated record) also asks "would this
    trigger a dynamic adjustment?". None without a forecast, or with nothing to
    compare it with."""
    forecast = latest(records, RevenueBasis.FORECAST)
    updated = latest(records, RevenueBasis.UPDATED)
    if forecast is None or (updated is None and inflow_factor == 1):
        return None
    inflow = (updated or forecast).volumes
    return check_inflow_deviation(
        forecast.volumes, {s: m3(v * inflow_factor) for s, v in inflow.items()}
    )


def _kept_sectors(
    book: YearLedger, as_of: datetime, splits: Mapping[int, SectorSplit]
) -> Callable[[int], Collection[Sector]]:
    """The sectors a node keeps for itself: volume not handed down to its children
    (sector-split, as the cut list sees the lines)."""

    def cells(node_id: int) -> Allocation:
        return split_allocation(book, node_id, as_of, splits)[0]

    def kept(node_id: int) -> Collection[Sector]:
        own = by_sector(cells(node_id))
        kids = book.hierarchy.children[node_id]
        handed = by_sector(add_allocations(cells(c) for c in kids))
        return {s for s, v in own.items() if v > handed.get(s, ZERO)}

    return kept


def protected_of(
    hierarchy: Hierarchy,
    records: Mapping[int, ProtectedVolumes],
    node_id: int,
    kept: Callable[[int], Collection[Sector]],
) -> ProtectedVolumes:
    """A node's 7.1.2 figures: its own record, else the sum over its children's
    and what it keeps itself. A figure stays unknown (None) when any part of the
    sector's volume lies with a node that recorded nothing: the cut list then
    keeps the line whole."""
    if node_id in records:
        return records[node_id]
    total = ProtectedVolumes.unrecorded(kept(node_id))
    for child in hierarchy.children[node_id]:
        total += protected_of(hierarchy, records, child, kept)
    return total


def split_allocation(
    book: YearLedger, node_id: int, as_of: datetime, splits: Mapping[int, SectorSplit]
) -> tuple[Allocation, SectorSplit | None]:
    """A node's cells with its 未分行业 volume spread by its sector split (its own,
    else its nearest ancestor's); the split is returned when it was used."""
    cells = book.allocation(node_id, as_of)
    split = split_of(book.hierarchy, splits, node_id)
    used = split if any(sec is Sector.UNSPECIFIED and v for (_, sec), v in cells.items()) else None
    return split_cells(cells, split), used


def handed_down(
    book: YearLedger, node_id: int, as_of: datetime, splits: Mapping[int, SectorSplit]
) -> tuple[list[tuple[int, Allocation]], tuple[SectorSplit, ...]]:
    """The expenditure lines of a node — each child's cells (the node's own, for
    a leaf), sector-split — and the splits used, once each."""
    kids = book.hierarchy.children[node_id] or [node_id]
    lines, used = [], []
    for n in kids:
        cells, split = split_allocation(book, n, as_of, splits)
        lines.append((n, cells))
        if split is not None and split not in used:
            used.append(split)
    return lines, tuple(used)


def area_year(
    book: YearLedger,
    node_id: int,
    as_of: datetime,
    records: Sequence[RevenueRecord] = (),
    splits: Mapping[int, SectorSplit] | None = None,
    divisions: Mapping[int, str] | None = None,
) -> AreaYear:
    """A node's budget year as an area of the appendix tables: its recorded
    revenue by source (its own budget by source when nothing is recorded, see
    ``revenue_of``), what it hands down (its own cells, for a leaf) the
    expenditure, 未分行业 volumes spread by the sector splits (marked when
    estimated). Both in full, non-conventional water included. Traded and
    transferred water bought in fill 买入指标 and 调入水量; what leaves the
    region is not recorded, so 卖出指标 and 调出水量 stay blank. The code is the
    node's administrative division code (行政区划代码) where recorded, else blank."""
    own = book.allocation(node_id, as_of)
    lines, used = handed_down(book, node_id, as_of, splits or {})
    spent = add_allocations(cells for _, cells in lines)
    _, revenue = revenue_of([r for r in records if r.node_id == node_id], by_source(own))
    node = book.hierarchy.nodes[node_id]
    return AreaYear(
        node.name,
        (divisions or {}).get(node_id, ""),
        dict(revenue),
        spent,
        traded_in_m3=revenue.get(Source.TRADED, ZERO),
        transferred_in_m3=revenue.get(Source.TRANSFERRED, ZERO),
        notes=tuple(split.note for split in used),
    )


def county_table_of(
    conn: repo.Conn, *, node_id: int, year: int, as_of: datetime, hierarchy: Hierarchy
) -> AccountingTable:
    """宁夏 附录 A for a node (a county, or any node read as one)."""
    book = load_year(conn, year=year, hierarchy=hierarchy)
    records = repo.revenue_records(conn, year=year, node_id=node_id)
    splits = repo.sector_splits(conn, year=year)
    divisions = repo.division_codes(conn)
    return county_table(area_year(book, node_id, as_of, records, splits, divisions))


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
    records = repo.revenue_records(conn, year=year)
    splits = repo.sector_splits(conn, year=year)
    divisions = repo.division_codes(conn)

    def area(n: int) -> AreaYear:
        return area_year(book, n, as_of, records, splits, divisions)

    parts = [
        RegionPart(area(child), [area(g) for g in hierarchy.children[child]] if depth > 1 else [])
        for child in hierarchy.children[node_id]
    ]
    return region_table(area(node_id), parts)
