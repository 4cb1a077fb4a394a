"""What a set of change-log rows asks the monitor to redo (pure).

Change rows (table ``monitor_changes``, appended by triggers, see
docs/monitor-schema.md) name sites with the interval ends they touched, and
budget nodes whose ledger, plan or factor changed. ``plan_work`` folds many
rows into one piece of work: per site one span of interval ends to roll up
again (open ends where a change reaches back or forward without bound), the
nodes whose budgets changed, and whether the node totals must be rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ChangeRow:
    change_id: int
    kind: str
    site_ids: Sequence[str] = ()
    ts_from: Sequence[datetime | None] = ()
    ts_to: Sequence[datetime | None] = ()
    node_ids: Sequence[int] | None = ()  # None: every node of ``years``
    years: Sequence[int] = ()
    appended: bool = False  # only inserted register readings: intervals added, none changed


@dataclass(frozen=True, slots=True)
class SiteSpan:
    """Interval ends to roll up again: ``None`` reaches the first or last data of the site."""

    site_id: str
    ts_from: datetime | None
    ts_to: datetime | None


@dataclass(slots=True)
class Work:
    change_ids: list[int] = field(default_factory=list)
    spans: dict[str, SiteSpan] = field(default_factory=dict)
    budget_nodes: set[int] = field(default_factory=set)
    all_budgets: bool = False  # a change touched every node (a year's factor)
    budget_years: set[int] = field(default_factory=set)
    rebuild_totals: bool = False  # the hierarchy changed
    changed_sites: set[str] = field(default_factory=set)  # touched by more than appended rows

    def appended_sites(self) -> dict[str, datetime]:
        """Sites that only gained readings, with the earliest new interval end."""
        return {site: span.ts_from for site, span in self.spans.items()
                if site not in self.changed_sites and span.ts_from is not None}

    @property
    def empty(self) -> bool:
        return not (self.spans or self.budget_nodes or self.all_budgets or self.rebuild_totals)


def _widen(span: SiteSpan | None, site_id: str, lo: datetime | None,
           hi: datetime | None) -> SiteSpan:
    if span is None:
        return SiteSpan(site_id, lo, hi)
    low = None if lo is None or span.ts_from is None else min(lo, span.ts_from)
    high = None if hi is None or span.ts_to is None else max(hi, span.ts_to)
    return SiteSpan(site_id, low, high)


def plan_work(rows: Iterable[ChangeRow]) -> Work:
    work = Work()
    for row in rows:
        work.change_ids.append(row.change_id)
        if len(row.site_ids) != len(row.ts_from) or len(row.site_ids) != len(row.ts_to):
            raise ValueError(f"change {row.change_id}: site and time arrays differ in length")
        for site_id, lo, hi in zip(row.site_ids, row.ts_from, row.ts_to, strict=True):
            work.spans[site_id] = _widen(work.spans.get(site_id), site_id, lo, hi)
            if not row.appended:
                work.changed_sites.add(site_id)
        if row.kind == "hierarchy":
            work.rebuild_totals = True
        if row.kind == "budget":
            if row.node_ids is None:
                work.all_budgets = True
            else:
                work.budget_nodes.update(row.node_ids)
            work.budget_years.update(row.years)
    return work
