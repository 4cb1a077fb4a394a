"""What a set of change-log rows asks the monitor to redo (pure).

Change rows (table ``monitor_changes``, appended by triggers, see
docs/monitor-schema.md) name sites with the interval ends they touched, and
budget nodes whose ledger, plan or factor changed. ``plan_work`` folds many
rows into one piece of work: per site the spans of interval ends to roll up
again (open ends where a change reaches back or forward without bound),
overlapping spans coalesced but disjoint ones kept apart, the nodes whose
budgets changed, and whether the node totals must be rebuilt.

Why disjoint spans stay apart: a gateway back online sends its live readings,
then its backlog; each backlog message also revises the first live reading
(its interval spans the gap). One span per site from the oldest backlog day to
the live day made every step recompute everything in between again — a
backlog of N days cost N²; kept apart (``merge_days``), each day is
recomputed once per step that names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from monitor.periods import draw_day


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


@dataclass(frozen=True, slots=True)
class DaySpan:
    """Days (China time, inclusive) of a site to roll up again."""

    site_id: str
    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(slots=True)
class Work:
    change_ids: list[int] = field(default_factory=list)
    spans: dict[str, list[SiteSpan]] = field(default_factory=dict)  # per site, disjoint
    budget_nodes: set[int] = field(default_factory=set)
    all_budgets: bool = False  # a change touched every node (a year's factor)
    budget_years: set[int] = field(default_factory=set)
    rebuild_totals: bool = False  # the hierarchy changed
    changed_sites: set[str] = field(default_factory=set)  # touched by more than appended rows

    def appended_sites(self) -> dict[str, datetime]:
        """Sites that only gained readings, with the earliest new interval end."""
        found = {}
        for site, spans in self.spans.items():
            earliest = spans[0].ts_from  # spans are ordered, an open start first
            if site not in self.changed_sites and earliest is not None:
                found[site] = earliest
        return found

    @property
    def empty(self) -> bool:
        return not (self.spans or self.budget_nodes or self.all_budgets or self.rebuild_totals)


def _coalesce(spans: list[SiteSpan]) -> list[SiteSpan]:
    """Overlapping or touching spans of one site as one; disjoint ones kept apart, ordered
    (``None``, the site's first data, before any time)."""
    ordered = sorted(spans, key=lambda s: (s.ts_from is not None, s.ts_from or datetime.min))
    merged: list[SiteSpan] = []
    for span in ordered:
        last = merged[-1] if merged else None
        if last is not None and (last.ts_to is None or (
                span.ts_from is not None and span.ts_from <= last.ts_to)):
            high = None if last.ts_to is None or span.ts_to is None else max(last.ts_to,
                                                                               span.ts_to)
            merged[-1] = SiteSpan(last.site_id, last.ts_from, high)
        else:
            merged.append(span)
    return merged


def merge_days(spans: Iterable[DaySpan]) -> list[DaySpan]:
    """Per site, overlapping or adjacent day spans as one, disjoint ones kept apart; ordered
    by site and day. Every day named is in exactly one span."""
    merged: list[DaySpan] = []
    for span in sorted(spans, key=lambda s: (s.site_id, s.first_day)):
        last = merged[-1] if merged else None
        if (last is not None and last.site_id == span.site_id
                and span.first_day <= last.last_day + timedelta(days=1)):
            merged[-1] = DaySpan(last.site_id, last.first_day, max(last.last_day,
                                                                   span.last_day))
        else:
            merged.append(span)
    return merged


OPEN_SPAN_DAYS = 366  # a span without an end reaches the site's first or last data


def within(rows: Sequence[ChangeRow], *, site_days: int) -> list[ChangeRow]:
    """The longest prefix of ``rows`` (at least one row) naming at most ``site_days``
    distinct site-days, so a step's work is bounded whatever the backlog; an open span
    counts as ``OPEN_SPAN_DAYS``. Linear in the days named."""
    named: set[tuple[str, date]] = set()
    opened = 0
    taken: list[ChangeRow] = []
    for row in rows:
        days: set[tuple[str, date]] = set()
        open_spans = 0
        for site_id, lo, hi in zip(row.site_ids, row.ts_from, row.ts_to, strict=False):
            if lo is None or hi is None:
                open_spans += 1
                continue
            first, last = draw_day(lo), draw_day(hi)
            if (last - first).days >= site_days:
                open_spans += 1  # as much as a whole step
                continue
            day = first
            while day <= last:
                days.add((site_id, day))
                day += timedelta(days=1)
        fresh = days - named
        if taken and len(named) + len(fresh) + (opened + open_spans) * OPEN_SPAN_DAYS > site_days:
            break
        taken.append(row)
        named |= fresh
        opened += open_spans
    return taken


def plan_work(rows: Iterable[ChangeRow]) -> Work:
    work = Work()
    named: dict[str, list[SiteSpan]] = {}
    for row in rows:
        work.change_ids.append(row.change_id)
        if len(row.site_ids) != len(row.ts_from) or len(row.site_ids) != len(row.ts_to):
            raise ValueError(f"change {row.change_id}: site and time arrays differ in length")
        for site_id, lo, hi in zip(row.site_ids, row.ts_from, row.ts_to, strict=True):
            named.setdefault(site_id, []).append(SiteSpan(site_id, lo, hi))
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
    work.spans = {site: _coalesce(spans) for site, spans in named.items()}
    return work
