"""A small district for the report unit tests: plain data, no database."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from budget.hierarchy import Hierarchy, Node, NodeLevel
from budget.kinds import Sector, Source
from budget.ledger import EntryKind, LedgerEntry
from budget.year_ledger import BUDGET_TIMEZONE
from reports.inputs import AlertRecord, ChargeRecord, DrawRow, MeterQuality, ReportInputs

D = Decimal
GW, SW = Source.GROUNDWATER, Source.LOCAL_SURFACE
IRR = Sector.IRRIGATION
JAN1 = datetime(2024, 1, 1, tzinfo=BUDGET_TIMEZONE)
JULY1 = datetime(2024, 7, 1, tzinfo=BUDGET_TIMEZONE)
BUILT = datetime(2024, 7, 2, 8, tzinfo=BUDGET_TIMEZONE)
JUNE20 = datetime(2024, 6, 20, tzinfo=BUDGET_TIMEZONE)

NODES = [
    Node(1, "GZ", "甘州区", NodeLevel.DISTRICT),
    Node(2, "XM", "小满镇", NodeLevel.TOWNSHIP, 1),
    Node(3, "DM", "大满镇", NodeLevel.TOWNSHIP, 1),
    Node(4, "XM-1", "小满一村", NodeLevel.UNIT, 2),
    Node(5, "XM-1-01", "张三", NodeLevel.HOUSEHOLD, 4),
]


def hierarchy() -> Hierarchy:
    return Hierarchy.of(NODES)


def entry(n: int, node: int, kind: EntryKind, source: Source, m3: str,
          valid: datetime = JAN1, approved: datetime = JAN1) -> LedgerEntry:
    return LedgerEntry(n, node, 2024, kind, source, IRR, D(m3), valid, approved, "t", "test")


ENTRIES = [
    entry(1, 1, EntryKind.ISSUE, SW, "1000000"),
    entry(2, 1, EntryKind.ISSUE, GW, "500000"),
    entry(3, 2, EntryKind.ISSUE, SW, "600000"),
    entry(4, 2, EntryKind.ISSUE, GW, "200000"),
    entry(5, 3, EntryKind.ISSUE, SW, "300000"),
    entry(6, 4, EntryKind.ISSUE, GW, "150000"),
    entry(7, 4, EntryKind.SUPPLEMENT, GW, "10000", datetime(2024, 5, 1, tzinfo=BUDGET_TIMEZONE)),
    entry(8, 5, EntryKind.ISSUE, GW, "1000"),
]


def budgets() -> dict[int, dict[tuple[Source, Sector], Decimal]]:
    out: dict[int, dict[tuple[Source, Sector], Decimal]] = {}
    for e in ENTRIES:
        cells = out.setdefault(e.node_id, {})
        cells[e.cell] = cells.get(e.cell, D(0)) + e.signed_m3
    return out


def totals(own: list[DrawRow]) -> list[DrawRow]:
    """Each own row also counts for every ancestor (what monitor's total_m3 holds)."""
    h = hierarchy()
    return [DrawRow(n, r.month, r.source, r.sector, r.volume_m3)
            for r in own for n in h.path_to_root(r.node_id)]


def own_rows() -> list[DrawRow]:
    rows = []
    for month in range(1, 7):
        rows.append(DrawRow(4, month, "groundwater", IRR.value, D(20000)))  # unit's own well
        rows.append(DrawRow(5, month, "groundwater", IRR.value, D(200)))  # household: 1,200 > 1,000
        rows.append(DrawRow(3, month, "local_surface", IRR.value, D(10000)))
    return rows


def draw_rows() -> list[DrawRow]:
    return totals(own_rows())


def inputs(**changes: object) -> ReportInputs:
    base = {
        "hierarchy": hierarchy(), "root_id": 1, "year": 2024, "month": 6, "as_of": JULY1,
        "built_at": BUILT, "budgets": budgets(), "profiles": {}, "draw": draw_rows(),
        "draw_last_year": totals([DrawRow(4, m, "groundwater", IRR.value, D(10000))
                                  for m in range(1, 7)]),
        "alerts": [AlertRecord(4, "budget_level", "warning", JUNE20, None, "warning: 90.1%")],
        "charges": [ChargeRecord(5, "groundwater", D(1200), D(1000), D(200), D("30.5"),
                                 D("130.5"))],
        "meters": [MeterQuality(4, "M1", 720, 700, {"negative_delta": 2}),
                   MeterQuality(3, "M2", 720, 600)],
        "unattributed_m3": D(5000),
        "entries": ENTRIES,
    }
    base.update(changes)
    return ReportInputs(**base)  # type: ignore[arg-type]
