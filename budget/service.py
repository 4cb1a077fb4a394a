"""Use cases of the budget module: load the ledger, apply the rules, store the result.

Each function runs inside the caller's transaction; all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from budget import repository as repo
from budget.hierarchy import Hierarchy, Node
from budget.import_plan import ImportPlan
from budget.kinds import Sector, Source
from budget.ledger import Allocation, EntryKind, LedgerEntry, add_allocations
from budget.plan_profile import PlanProfile, profile_for
from budget.revenue import RevenueBasis
from budget.rules import ControlFigure, counted_total
from budget.sector_split import structure_split
from budget.site_sectors import default_sector
from budget.year_closure import YearClosedError, check_open, is_closed
from budget.year_ledger import RuleError, TradeRequest, YearLedger, year_bounds


class NotFoundError(LookupError):
    pass


class StateError(ValueError):
    """The request conflicts with the stored state (already decided, code taken …)."""


class FourEyesError(PermissionError):
    """Four-eyes rule: whoever proposed a change may not approve it; someone else must."""

    rule = "four_eyes_approval"

    def __init__(self, what: str, proposer: str) -> None:
        self.message = (
            f"{what} was proposed by {proposer!r}: another person must approve it ({self.rule})"
        )
        super().__init__(self.message)


def _check_four_eyes(what: str, *, proposed_by: str, approver: str) -> None:
    if proposed_by == approver:
        raise FourEyesError(what, proposed_by)


def load_year(conn: repo.Conn, *, year: int, hierarchy: Hierarchy | None = None) -> YearLedger:
    book = YearLedger(
        hierarchy or repo.load_hierarchy(conn), year, repo.load_policy(conn, year=year)
    )
    book.load(repo.approved_entries(conn, year=year))
    return book


def ensure_year_open(conn: repo.Conn, *, year: int) -> None:
    """A ledger change into a year whose final accounts were issued is refused (StateError,
    409, in Chinese) until an administrator reopens the year (``budget.year_closure``)."""
    try:
        check_open(year, repo.year_events(conn, year=year))
    except YearClosedError as error:
        raise StateError(str(error)) from error


def reopen_year(conn: repo.Conn, *, year: int, by: str, reason: str, now: datetime) -> None:
    """An administrator reopens a closed year; recorded, and the next final accounts say so."""
    repo.lock_year(conn, year=year)
    if not is_closed(repo.year_events(conn, year=year)):
        raise StateError(f"{year}年度未关账，无需重新开放")
    repo.add_year_event(conn, year=year, event="reopened", at=now, by=by, reason=reason)


def approve_entry(conn: repo.Conn, *, entry_id: int, by: str, now: datetime) -> LedgerEntry:
    stored = repo.entry(conn, entry_id=entry_id, for_update=True)
    if stored is None:
        raise NotFoundError(f"entry {entry_id}")
    if stored.status != "proposed":
        raise StateError(f"entry {entry_id} is already {stored.status}")
    _check_four_eyes(f"entry {entry_id}", proposed_by=stored.proposed_by, approver=by)
    repo.lock_year(conn, year=stored.entry.year)
    ensure_year_open(conn, year=stored.entry.year)
    book = load_year(conn, year=stored.entry.year)
    e = stored.entry
    candidate = LedgerEntry(
        e.entry_id,
        e.node_id,
        e.year,
        e.kind,
        e.source,
        e.sector,
        e.volume_m3,
        e.valid_from,
        now,
        by,
        e.reason,
    )
    book.approve([candidate])  # raises RuleError, nothing stored
    repo.decide_entry(conn, entry_id=entry_id, status="approved", by=by, at=now)
    return candidate


def approve_trade(conn: repo.Conn, *, trade_id: int, by: str, now: datetime) -> list[int]:
    row = repo.trade(conn, trade_id=trade_id)
    if row is None:
        raise NotFoundError(f"trade {trade_id}")
    if row["status"] != "proposed":
        raise StateError(f"trade {trade_id} is already {row['status']}")
    _check_four_eyes(f"trade {trade_id}", proposed_by=row["proposed_by"], approver=by)
    repo.lock_year(conn, year=row["year"])
    ensure_year_open(conn, year=row["year"])
    book = load_year(conn, year=row["year"])
    request = TradeRequest(
        row["seller_id"],
        row["buyer_id"],
        row["year"],
        Source(row["source"]),
        Sector(row["sector"]),
        row["volume_m3"],
        row["valid_from"],
        row["reason"],
    )
    start, _ = year_bounds(request.year)
    used = repo.used_m3(
        conn,
        node_ids=book.hierarchy.subtree(request.seller_id),
        source=request.source,
        sector=request.sector,
        start=start,
        until=request.valid_from,
    )
    legs = book.trade_entries(
        request, used_m3=used, first_entry_id=0, trade_id=trade_id, approved_at=now, approved_by=by
    )
    repo.decide_trade(conn, trade_id=trade_id, status="approved", by=by, at=now, used_m3=used)
    return [
        repo.insert_entry(
            conn,
            node_id=leg.node_id,
            year=leg.year,
            kind=leg.kind,
            source=leg.source,
            sector=leg.sector,
            volume_m3=leg.volume_m3,
            valid_from=leg.valid_from,
            reason=leg.reason,
            proposed_by=by,
            approved_at=now,
            trade_id=trade_id,
        )
        for leg in legs
    ]


@dataclass(frozen=True, slots=True)
class BudgetView:
    node: Node
    year: int
    as_of: datetime
    cells: Allocation
    handed_to_children: Allocation
    counted_total_m3: Decimal
    non_conventional_factor: Decimal
    time_progress: Decimal


def effective_budget(
    conn: repo.Conn,
    *,
    node_id: int,
    year: int,
    as_of: datetime,
    known_at: datetime | None,
    hierarchy: Hierarchy,
) -> BudgetView:
    book = load_year(conn, year=year, hierarchy=hierarchy)
    cells = book.allocation(node_id, as_of, known_at)
    children = add_allocations(
        book.allocation(c, as_of, known_at) for c in hierarchy.children[node_id]
    )
    weights = repo.plan_profile(conn, node_id=node_id)
    profile = profile_for(PlanProfile(tuple(weights)) if weights else None, cells)
    factor = book.policy.non_conventional_factor
    return BudgetView(
        hierarchy.nodes[node_id],
        year,
        as_of,
        cells,
        children,
        counted_total(cells, factor),
        factor,
        profile.time_progress(year, as_of),
    )


def apply_import(
    conn: repo.Conn,
    *,
    plan: ImportPlan,
    by: str,
    now: datetime,
    discrepancies: list[dict[str, Any]],
) -> int:
    """Create the plan's nodes and issue its volumes, approved, from 1 January, and
    record the district's revenue where the plan gives it; all or nothing."""
    repo.lock_year(conn, year=plan.year)
    ensure_year_open(conn, year=plan.year)
    hierarchy = repo.load_hierarchy(conn)
    taken = [s.code for s in (plan.district, *plan.nodes) if hierarchy.by_code(s.code)]
    if taken:
        raise StateError(f"node codes already exist: {', '.join(taken)}")
    import_id = repo.record_import(
        conn, fmt="ganzhou", year=plan.year, by=by, discrepancies=discrepancies
    )
    ids: dict[str, int] = {}
    for spec in (plan.district, *plan.nodes):
        parent = ids[spec.parent_code] if spec.parent_code else None
        ids[spec.code] = repo.create_node(
            conn, code=spec.code, name=spec.name, level=spec.level, parent_id=parent
        )
    repo.set_year(conn, year=plan.year, non_conventional_factor=plan.non_conventional_factor)
    district_id = ids[plan.district.code]
    district_cells: Allocation = {}
    for line in plan.issues:
        if line.node_code == plan.district.code:
            key = (line.source, line.sector)
            district_cells[key] = district_cells.get(key, Decimal(0)) + line.volume_m3
    stated = counted_total(district_cells, plan.non_conventional_factor)
    repo.set_control_figure(
        conn,
        figure=ControlFigure(district_id, plan.year, stated),
        reference=f"import {import_id}: stated district total",
    )
    if plan.revenue:
        repo.record_revenue(
            conn,
            node_id=district_id,
            year=plan.year,
            basis=RevenueBasis.FORECAST,
            volumes=plan.revenue,
            reference=f"import {import_id}: {plan.revenue_reference}",
            by=by,
        )
    if plan.district_division_code:
        repo.set_division_code(conn, node_id=district_id, division_code=plan.district_division_code)
    if plan.sector_structure:
        repo.set_sector_split(
            conn,
            node_id=district_id,
            year=plan.year,
            split=structure_split(
                plan.sector_structure,
                f"{plan.district.name}{plan.year}年用水结构配置（甘州 2.(1)，import {import_id}）",
            ),
            by=by,
        )
    book = load_year(conn, year=plan.year)
    start, _ = year_bounds(plan.year)
    candidates = [
        LedgerEntry(
            -n,
            ids[i.node_code],
            plan.year,
            EntryKind.ISSUE,
            i.source,
            i.sector,
            i.volume_m3,
            start,
            now,
            by,
            f"import {import_id}",
        )
        for n, i in enumerate(plan.issues, start=1)
    ]
    violations = book.check(candidates)
    if violations:
        raise RuleError(violations)
    for c in candidates:
        repo.insert_entry(
            conn,
            node_id=c.node_id,
            year=c.year,
            kind=c.kind,
            source=c.source,
            sector=c.sector,
            volume_m3=c.volume_m3,
            valid_from=c.valid_from,
            reason=c.reason,
            proposed_by=by,
            approved_at=now,
            import_id=import_id,
        )
    return import_id


def attach(
    conn: repo.Conn, *, node_id: int, kind: str, ref: str, sector: Sector | None, given: bool
) -> Sector | None:
    """Attach a registry site, meter or IC card to a node. Without a sector
    ``given``, the water takes the sector of what the thing is
    (``budget.site_sectors``); a given ``None`` counts against any sector of the
    node. Returns the sector stored."""
    if not given:
        site = repo.site_of(conn, kind=kind, ref=ref)
        sector = default_sector(
            kind,
            site_kind=site[0] if site else None,
            purpose=site[1] if site else None,
            site_sector=site[2] if site else None,
        )
    repo.attach(conn, node_id=node_id, kind=kind, ref=ref, sector=sector)
    return sector
