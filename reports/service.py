"""Use cases: build a report from the database, issue it, revise it when the data changed.

A report is (kind, node, period). ``issue`` builds it as of the period's end
(or a given moment inside the period) with what is known now; the first build
is revision 1; a later build is stored as revision n+1 only when a figure
changed (saying which: ``reports.revisions``), else the stored revision stands.
Nothing stored is ever rewritten. Each call runs in the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from budget import repository as budget_repo
from budget.cut_list import ProtectedVolumes
from budget.hierarchy import Hierarchy
from budget.ledger import LedgerEntry, effective_budgets
from budget.procedure import StepEvent, lateness
from budget.revenue import RevenueRecord
from budget.sector_split import SectorSplit
from budget.year_closure import is_closed, reopenings
from budget.year_ledger import BUDGET_TIMEZONE, year_bounds
from monitor.execution import BudgetPeriod
from reports import repository as repo
from reports.document import Document
from reports.final_accounts import final_accounts
from reports.inputs import ReportInputs
from reports.monthly import ReportError, monthly_report
from reports.provenance import digest, provenance
from reports.revisions import first_issue, revised
from reports.rollup import shown_nodes

KINDS = ("monthly", "final_accounts")
REPORTED_LEVELS = ("district", "township", "irrigation_district", "unit")
"""Nodes that get a report of their own (issue 5: district down to unit)."""


@dataclass(frozen=True, slots=True)
class Issued:
    report: repo.StoredReport
    created: bool  # False: the data had not changed, the stored revision stands


def period_of(kind: str, period: str) -> BudgetPeriod:
    """``2024-06`` for a monthly report, ``2024`` for the final accounts."""
    if kind == "monthly" and (m := re.fullmatch(r"(\d{4})-(\d{2})", period)):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return BudgetPeriod.of_month(year, month)
    if kind == "final_accounts" and re.fullmatch(r"\d{4}", period):
        return BudgetPeriod.of_year(int(period))
    raise ReportError(f"period {period!r} is not a {kind} period (2024-06 monthly, 2024 final)")


@dataclass(frozen=True, slots=True)
class YearData:
    """What every report of one budget year shares: load once for a batch of reports."""

    hierarchy: Hierarchy
    year: int
    factor: Decimal
    revenue: list[RevenueRecord]
    sector_splits: Mapping[int, SectorSplit] = field(default_factory=dict)
    protected: Mapping[int, ProtectedVolumes] = field(default_factory=dict)
    division_codes: Mapping[int, str] = field(default_factory=dict)


def year_data(conn: repo.Conn, *, year: int) -> YearData:
    return YearData(repo.hierarchy(conn), year,
                    budget_repo.load_policy(conn, year=year).non_conventional_factor,
                    budget_repo.revenue_records(conn, year=year),
                    budget_repo.sector_splits(conn, year=year),
                    budget_repo.protected_volumes(conn, year=year),
                    budget_repo.division_codes(conn))


def _entries(conn: repo.Conn, h: Hierarchy, node_id: int, listed: list[int], year: int,
             monthly: bool) -> list[LedgerEntry]:
    """The ledger a report needs: its listed nodes' (monthly), or the whole subtree's (the
    final accounts' appendix B reads what each listed area hands further down)."""
    nodes = listed if monthly else h.subtree(node_id)
    return [s.entry for s in budget_repo.entries(conn, node_ids=nodes, year=year,
                                                 status="approved")]


def build_inputs(conn: repo.Conn, *, kind: str, node_id: int, period: BudgetPeriod,
                 as_of: datetime, built_at: datetime, shared: YearData | None = None
                 ) -> ReportInputs:
    year = period.year
    data = shared if shared is not None and shared.year == year else year_data(conn, year=year)
    h = data.hierarchy
    if node_id not in h.nodes:
        raise ReportError(f"no budget node {node_id}")
    listed = [n for n, _ in shown_nodes(h, node_id)]
    monthly = kind == "monthly"
    entries = _entries(conn, h, node_id, listed, year, monthly)
    first_day = f"{year}-01-01"
    month_start = period.start if monthly else year_bounds(year)[0]
    return ReportInputs(
        hierarchy=h, root_id=node_id, year=year,
        month=period.start.astimezone(BUDGET_TIMEZONE).month if monthly else 12,
        as_of=as_of, built_at=built_at,
        budgets=effective_budgets(entries, year=year, as_of=as_of, known_at=built_at),
        profiles=repo.plan_profiles(conn, node_ids=listed),
        draw=repo.draw_rows(conn, node_ids=listed, year=year, until=as_of),
        draw_last_year=repo.draw_rows(conn, node_ids=listed, year=year - 1,
                                      until=repo.last_year(as_of)),
        non_conventional_factor=data.factor,
        alerts=repo.alerts(conn, root_id=node_id, start=month_start, until=as_of),
        level_crossings=repo.level_crossings(conn, root_id=node_id, start=month_start,
                                             until=as_of),
        charges=repo.charges(conn, root_id=node_id, year=year),
        meters=repo.meter_quality(conn, root_id=node_id, start=month_start, until=as_of),
        unattributed_m3=(repo.unattributed_m3(conn, first_day=first_day, until=as_of)
                         if h.nodes[node_id].parent_id is None else Decimal(0)),
        entries=entries if not monthly else (),
        revenue=data.revenue if not monthly else (),
        sector_splits=data.sector_splits,
        protected=data.protected if not monthly else {},
        division_codes=data.division_codes,
        texts=repo.report_texts(conn, node_id=node_id, year=year) if not monthly else {},
        reopenings=tuple(reopenings(budget_repo.year_events(conn, year=year)))
        if not monthly else (),
        rollup_lag=repo.rollup_lag(conn, until=as_of),
        procedure_late=_procedure_late(conn, year, listed, as_of),
    )


def _procedure_late(conn: repo.Conn, year: int, listed: list[int], as_of: datetime
                    ) -> dict[int, list[str]]:
    """甘州 3.(1): the listed nodes late in their procedure (45-day 告知, 60-day 调整).
    Nothing while no step of the year is recorded for any listed node (the office does
    not keep the procedure here yet)."""
    events: dict[int, list[StepEvent]] = {n: [] for n in listed}
    recorded = budget_repo.procedure_events(conn, year=year, node_ids=listed)
    if not recorded:
        return {}
    for e in recorded:
        events[e.node_id].append(e)
    out = {n: [x.message for x in lateness(year, evs, as_of)] for n, evs in events.items()}
    return {n: m for n, m in out.items() if m}


def shape(kind: str, inputs: ReportInputs) -> Document:
    return monthly_report(inputs) if kind == "monthly" else final_accounts(inputs)


def issue(conn: repo.Conn, *, kind: str, node_id: int, period: str, built_at: datetime,
          by: str, as_of: datetime | None = None, shared: YearData | None = None,
          close_year: bool = False) -> Issued:
    """Build and store the report (revision 1, or n+1 when a figure changed).

    ``close_year``: a person issuing the final accounts of a root node (the
    district) closes its budget year (``budget.year_closure``): from then on the
    ledger refuses changes into it until an administrator reopens it. The
    scheduler's refresh re-issues without closing."""
    if kind not in KINDS:
        raise ReportError(f"unknown report kind {kind!r} ({', '.join(KINDS)})")
    span = period_of(kind, period)
    moment = as_of or span.end
    if kind == "final_accounts" and moment != span.end:
        raise ReportError("final accounts are as of the year's end")
    if not span.start < moment <= span.end:
        raise ReportError(f"as_of {moment.isoformat()} is not within {span.label}")
    if moment > built_at:
        raise ReportError(f"{span.label} is not over before {moment.isoformat()}: "
                          "give an as_of up to now")
    repo.lock_report(conn, kind=kind, node_id=node_id, period=period)
    closing = close_year and kind == "final_accounts"
    if closing:
        budget_repo.lock_year(conn, year=span.year)  # as the ledger's approvals do
    inputs = build_inputs(conn, kind=kind, node_id=node_id, period=span, as_of=moment,
                          built_at=built_at, shared=shared)
    document = shape(kind, inputs)
    latest = repo.latest_report(conn, kind=kind, node_id=node_id, period=period)
    if latest is None:
        document = first_issue(document)
    else:
        assert latest.document is not None
        next_document = revised(latest.document, latest.revision, document)
        if next_document is None:
            if closing:
                _close(conn, inputs, latest.report_id, built_at, by)
            return Issued(latest, created=False)
        document = next_document
    data = provenance(inputs)
    report_id = repo.store_report(conn, kind=kind, node_id=node_id, period=period,
                                  document=document, inputs=data, inputs_sha256=digest(data),
                                  built_by=by)
    stored = repo.report(conn, report_id=report_id)
    assert stored is not None
    if closing:
        _close(conn, inputs, report_id, built_at, by)
    return Issued(stored, created=True)


def _close(conn: repo.Conn, inputs: ReportInputs, report_id: int, at: datetime, by: str) -> None:
    """The final accounts of a root node were issued: its year is closed (once)."""
    if inputs.hierarchy.nodes[inputs.root_id].parent_id is not None:
        return
    if not is_closed(budget_repo.year_events(conn, year=inputs.year)):
        budget_repo.add_year_event(conn, year=inputs.year, event="closed", at=at, by=by,
                                   report_id=report_id)


def reported_nodes(h: Hierarchy, *, root_id: int | None = None) -> list[int]:
    """Nodes that get their own report, parents first: district down to unit."""
    roots = [root_id] if root_id is not None else [
        n for n, node in h.nodes.items() if node.parent_id is None]
    return [n for r in roots for n in h.subtree(r) if h.nodes[n].level.value in REPORTED_LEVELS]
