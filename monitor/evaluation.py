"""Evaluate budget execution for some (or all) nodes and periods at the data clock.

Loads what the pure assessment needs (draws from ``monitor_node_period``, the
ledger, plan profiles, levels), assesses each node and period
(``monitor.assessment``), stores the snapshots and applies the observations to
the alerts (``monitor.alerting``). Also the 宁夏 8.2 a) comparison with the
same month of past years, on the latest complete month. The caller owns the
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from budget.ledger import Allocation, LedgerEntry, effective_budgets
from budget.plan_profile import IRRIGATION_SEASON, PlanProfile, profile_for
from budget.repository.connection import Conn
from monitor import quality_alerts
from monitor.alert_lifecycle import HOLD, Observation, Severity
from monitor.alerting import Applied, Observed, OnEvent, Series, apply, apply_series
from monitor.assessment import NodeBudget, Snapshot, assess, node_subject
from monitor.budget_alerts import DEFAULT_LEVELS, LEVEL_KIND, AlertLevels
from monitor.execution import period_progress
from monitor.level_history import DayDraws, level_series
from monitor.periods import (
    ALERTING_KINDS,
    StoredPeriod,
    draw_day,
    last_complete_month,
    year_period,
)
from monitor.repository import budgets as repo
from monitor.repository import executions, sweep_scope
from monitor.repository.alerts import AlertContext, Key, key_of


@dataclass(slots=True)
class Evaluated:
    snapshots: int = 0
    observations: int = 0
    events: list[Applied] = field(default_factory=list)
    brought_forward: int = 0  # snapshots whose time progress alone moved (sweep_scope)


def evaluate_budgets(conn: Conn, *, node_ids: Collection[int] | None,
                     periods: Collection[StoredPeriod], at: datetime,
                     on_event: OnEvent | None = None, since_day: date | None = None
                     ) -> Evaluated:
    """``node_ids`` None: every node. Periods that have not started by ``at`` are skipped.
    ``since_day``: the first day whose draw changed (a catch-up or late data); a node whose
    level differs from the one held is assessed day by day from there
    (``level_history``), so each crossing is recorded at the data time it happened."""
    done = Evaluated()
    started = [p for p in periods if p.budget_period.start < at]
    if not started or (node_ids is not None and not node_ids):
        return done
    nodes = sorted(node_ids) if node_ids is not None else repo.node_ids(conn)
    selector = None if node_ids is None else nodes
    draws = repo.draws(conn, node_ids=selector, periods=[p.label for p in started])
    profiles = repo.profiles(conn, node_ids=selector)
    settings = repo.settings(conn, node_ids=selector)
    held = _held_levels(conn, nodes, started)
    snapshots: list[Snapshot] = []
    observed: list[Observed] = []
    catching_up = since_day is not None and since_day < draw_day(at)
    crossed: list[_Crossed] = []
    for year in sorted({p.year for p in started}):
        year_periods = [p for p in started if p.year == year]
        entries = repo.entries(conn, node_ids=selector, year=year)
        factor = repo.factor(conn, year=year)
        cells_at = _budgets_by_moment(entries, year, year_periods, at)
        issued = {e.node_id for e in entries}  # no entry yet: the year's budget is not issued
        for period in year_periods:
            as_of = min(at, period.budget_period.end)
            budgets = cells_at[as_of]
            for node_id in nodes:
                drawn = draws.get((node_id, period.label), {})
                cells = budgets.get(node_id, {})
                if not drawn and not cells:
                    continue  # nothing issued and nothing drawn: nothing to say
                levels, hold, _crop = settings.get(node_id, (DEFAULT_LEVELS, HOLD, None))
                profile = profile_for(profiles.get(node_id), cells)
                node = NodeBudget(node_id, cells, factor, profile, levels)
                assessment = assess(node, period, at=at, drawn=drawn, held=held)
                snapshots += assessment.snapshots
                if node_id not in issued:
                    continue  # snapshots only: nothing to alert against before the issue
                day_by_day = catching_up and _level_moved(assessment.observations, held)
                if day_by_day:
                    crossed.append(_Crossed(node_id, period, entries, factor, profile,
                                            levels, hold))
                for obs in assessment.observations:
                    if day_by_day and obs.key.kind == LEVEL_KIND:
                        continue  # the day-by-day series says it
                    source = obs.key.subject.split("/")[2] if obs.key.subject.count("/") > 1 \
                        else None
                    observed.append(Observed(obs, AlertContext(node_id=node_id, source=source),
                                             hold))
    executions.save(conn, snapshots)
    observed += _same_period_observations(conn, selector, nodes, at)
    done.snapshots = len(snapshots)
    done.observations = len(observed)
    done.events = apply(conn, observed, on_event=on_event)
    if crossed and since_day is not None:
        done.events += _apply_level_series(conn, crossed, since_day=since_day, at=at,
                                           held=held, on_event=on_event)
    return done


@dataclass(frozen=True, slots=True)
class _Crossed:
    node_id: int
    period: StoredPeriod
    entries: list[LedgerEntry]
    factor: Decimal
    profile: PlanProfile
    levels: AlertLevels
    hold: timedelta


def _level_moved(observations: list[Observation], held: dict[str, Severity]) -> bool:
    """The level at the data clock is not the one the live alert holds."""
    for obs in observations:
        if obs.key.kind == LEVEL_KIND and (
                (obs.severity if obs.active else None) != held.get(obs.key.subject)):
            return True
    return False


def _apply_level_series(conn: Conn, crossed: list[_Crossed], *, since_day: date,
                        at: datetime, held: dict[str, Severity],
                        on_event: OnEvent | None) -> list[Applied]:
    budgets_at: dict[tuple[int, datetime], dict[int, Allocation]] = {}

    def node_at(c: _Crossed) -> Callable[[datetime], NodeBudget]:
        def budget(moment: datetime) -> NodeBudget:
            key = (c.period.year, moment)
            if key not in budgets_at:  # the entries of a year are the same for every node
                budgets_at[key] = effective_budgets(c.entries, year=c.period.year,
                                                    as_of=moment)
            return NodeBudget(c.node_id, budgets_at[key].get(c.node_id, {}), c.factor,
                              c.profile, c.levels)
        return budget

    def series_from(first: date | None, start_held: dict[str, Severity],
                    which: list[_Crossed]) -> dict[Key, tuple[list[Observation], _Crossed]]:
        days_from = first or min(c.period.first_day for c in which)
        draws = repo.day_draws(conn, node_ids=sorted({c.node_id for c in which}),
                               first=days_from, last=draw_day(at))
        totals = repo.draws(conn, node_ids=sorted({c.node_id for c in which}),
                            periods=sorted({c.period.label for c in which}))
        found: dict[Key, tuple[list[Observation], _Crossed]] = {}
        for c in which:
            mine = {d: v for (n, d), v in draws.items()
                    if n == c.node_id and c.period.contains(d)}
            day_draws = DayDraws(totals.get((c.node_id, c.period.label), {}), mine)
            per_subject = level_series(node_at(c), c.period,
                                       first=first or c.period.first_day, at=at,
                                       draws=day_draws, held=start_held, hold=c.hold)
            for observations in per_subject.values():
                found[key_of(observations[0].key)] = (observations, c)
        return found

    new = series_from(since_day, held, crossed)
    series = {k: Series(obs, AlertContext(node_id=c.node_id, source=_source_of(k[0])), c.hold)
              for k, (obs, c) in new.items()}

    def everything(keys: set[Key]) -> dict[Key, list[Observation]]:
        replayed = series_from(None, {}, [new[k][1] for k in sorted(keys) if k in new])
        return {k: replayed[k][0] for k in keys if k in replayed}

    return apply_series(conn, series, everything=everything, at=at, dense=True,
                        on_event=on_event)


def _source_of(subject: str) -> str | None:
    return subject.split("/")[2] if subject.count("/") > 1 else None


def _budgets_by_moment(entries: list[LedgerEntry], year: int, periods: list[StoredPeriod],
                       at: datetime) -> dict[datetime, dict[int, Allocation]]:
    moments = {min(at, p.budget_period.end) for p in periods}
    return {m: effective_budgets(entries, year=year, as_of=m) for m in moments}


def _held_levels(conn: Conn, nodes: list[int], periods: list[StoredPeriod]
                 ) -> dict[str, Severity]:
    """Severity of the live budget_level alerts (read, not locked: hysteresis only)."""
    rows = conn.execute(
        "SELECT subject, severity FROM monitor_alerts WHERE status <> 'resolved' "
        "AND kind = %s AND period = ANY(%s) AND node_id = ANY(%s)",
        (LEVEL_KIND, [p.label for p in periods], nodes)).fetchall()
    return {str(subject): Severity(severity) for subject, severity in rows}


def _same_period_observations(conn: Conn, selector: list[int] | None, nodes: list[int],
                              at: datetime) -> list[Observed]:
    """宁夏 8.2 a): the latest complete month 30 % or more off the same month of past years,
    keyed by the budget year (so the alert lives until the year's end or a normal month)."""
    month = last_complete_month(at)
    if month is None:
        return []
    year, number = month
    label = f"{year}-{number:02d}"
    history = repo.same_month_history(conn, node_ids=selector, year=year, month=number)
    if not history:
        return []
    current = repo.draws(conn, node_ids=[n for n in nodes if n in history], periods=[label])
    span = year_period(year).budget_period
    wanted = set(nodes)
    found = []
    for node_id, past in history.items():
        if node_id not in wanted:
            continue
        use = sum(current.get((node_id, label), {}).values(), Decimal(0))
        obs = quality_alerts.off_same_period(subject=node_subject(node_id), period=span, at=at,
                                             use_m3=use, past_m3=past)
        if obs is not None:
            found.append(Observed(obs, AlertContext(node_id=node_id)))
    return found


def alerting_periods(conn: Conn, *, at: datetime) -> list[StoredPeriod]:
    """The alerting periods (the year, rounds) in progress at ``at``."""
    today = draw_day(at)
    return sorted((p for p in repo.periods_of_years(conn, years=[today.year])
                   if p.contains(today) and p.kind in ALERTING_KINDS), key=lambda p: p.label)


def evaluate_all(conn: Conn, *, at: datetime, on_event: OnEvent | None = None) -> Evaluated:
    """Every node, for the alerting periods in progress at ``at`` (the year, a round).
    Month snapshots are refreshed when their data or budget change (the event path)."""
    return evaluate_budgets(conn, node_ids=None, periods=alerting_periods(conn, at=at), at=at,
                            on_event=on_event)


def evaluate_since(conn: Conn, *, at: datetime, since: datetime | None, sweep_number: int,
                   on_event: OnEvent | None = None) -> Evaluated:
    """The sweep's evaluation. When the periods in progress turned over since ``since`` (a
    new year, an irrigation round begins or ends), or nothing says when the last sweep
    was: every node. Otherwise the nodes time can change since ``since`` and this sweep's
    slice (``sweep_scope``); the other snapshots' time progress and projection are
    brought forward to ``at``, and when a month was completed since ``since``, the
    same-month rule (宁夏 8.2 a) is applied to every node."""
    periods = alerting_periods(conn, at=at)
    labels = [p.label for p in periods]
    if (since is None or since > at
            or [p.label for p in alerting_periods(conn, at=since)] != labels):
        return evaluate_all(conn, at=at, on_event=on_event)
    progress = [period_progress(IRRIGATION_SEASON, p.budget_period, at) for p in periods]
    nodes = sweep_scope.candidates(conn, periods=labels, progress=progress,
                                   years=sorted({p.year for p in periods}), since=since, at=at,
                                   sweep_number=sweep_number)
    done = evaluate_budgets(conn, node_ids=nodes, periods=periods, at=at, on_event=on_event)
    done.brought_forward = sweep_scope.bring_forward(conn, periods=labels, progress=progress,
                                                     at=at)
    if last_complete_month(since) != last_complete_month(at):
        others = [n for n in repo.node_ids(conn) if n not in nodes]
        observed = _same_period_observations(conn, None, others, at)
        done.observations += len(observed)
        done.events += apply(conn, observed, on_event=on_event)
    return done
