"""One node over one period: execution snapshots and the observations the alerts need (pure).

Inputs are plain: the node's effective budget cells at the evaluation's data
time, the year's non-conventional factor, its plan profile and alert levels,
and its total draw (with descendants) in the period by source. Out come one
snapshot for all sources together and, where the node has more than one source,
one per source, and, for alerting
periods (years and rounds), the observations of the budget rules:

* ``budget_level`` for all sources (``node/<id>``) and, where the node has more
  than one source, per source (``node/<id>/<source>``: groundwater within its
  own budget too), with hysteresis from the level already held;
* ``budget_pace`` for all sources;
* ``over_quota`` (宁夏 8.2 a: more than 20 % over quota) for all sources.

All sources together count non-conventional water at the year's factor on
both sides, as the budget's counted total does (甘州 1.(3)①). A month or round
gets the year's budget times its planned share (the plan profile), so its
rate says "ahead of or behind the plan for this part of the year".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from budget.kinds import Source
from budget.ledger import Allocation
from budget.plan_profile import PlanProfile
from budget.rules import counted_total
from monitor import quality_alerts
from monitor.alert_lifecycle import Observation, Severity
from monitor.budget_alerts import (
    AlertLevels,
    Level,
    budget_level,
    held_level,
    level_observation,
    pace_observation,
)
from monitor.execution import Execution, evaluate_execution
from monitor.periods import ALERTING_KINDS, YEAR, StoredPeriod

ZERO = Decimal(0)
ALL = ""


def node_subject(node_id: int, source: str = ALL) -> str:
    return f"node/{node_id}" + (f"/{source}" if source else "")


@dataclass(frozen=True, slots=True)
class NodeBudget:
    node_id: int
    cells: Allocation  # effective at the evaluation's data time
    factor: Decimal  # non-conventional factor of the year
    profile: PlanProfile
    levels: AlertLevels


@dataclass(frozen=True, slots=True)
class Snapshot:
    node_id: int
    source: str  # "" = all sources
    execution: Execution
    level: Level | None


@dataclass(frozen=True, slots=True)
class Assessment:
    snapshots: list[Snapshot]
    observations: list[Observation]


def _non_conventional(source: str) -> bool:
    try:
        return Source(source).is_non_conventional
    except ValueError:  # a registry source the budget does not know: conventional
        return False


@lru_cache(maxsize=1024)
def period_share(profile: PlanProfile, period: StoredPeriod) -> Decimal:
    """The planned share of the year's budget that falls in the period."""
    if period.kind == YEAR:
        return Decimal(1)
    span = period.budget_period
    return (profile.time_progress(period.year, span.end)
            - profile.time_progress(period.year, span.start))


def assess(node: NodeBudget, period: StoredPeriod, *, at: datetime,
           drawn: Mapping[str, Decimal],
           held: Mapping[str, Severity] | None = None) -> Assessment:
    """``drawn``: total draw in the period by source; ``held``: severity of the live
    ``budget_level`` alert per subject (for the hysteresis)."""
    held = held or {}
    span = period.budget_period
    at = min(at, span.end)
    share = period_share(node.profile, period)
    by_source: dict[str, Decimal] = {}
    for (cell_source, _sector), volume in node.cells.items():
        by_source[cell_source.value] = by_source.get(cell_source.value, ZERO) + volume
    budget_total = counted_total(node.cells, node.factor)
    drawn_total = sum((v * node.factor if _non_conventional(s) else v for s, v in drawn.items()),
                      ZERO)
    scopes = [(ALL, drawn_total, budget_total)]
    sources = sorted(set(by_source) | set(drawn))
    if len(sources) > 1:  # one source: its figures are the total's, one row says it all
        scopes += [(s, drawn.get(s, ZERO), by_source.get(s, ZERO)) for s in sources]
    snapshots: list[Snapshot] = []
    observations: list[Observation] = []
    alerting = period.kind in ALERTING_KINDS
    for source, used, budget in scopes:
        subject = node_subject(node.node_id, source)
        execution = evaluate_execution(node_id=subject, period=span, at=at, drawn_m3=used,
                                       budget_m3=budget * share, profile=node.profile)
        held_now = held_level(held.get(subject))
        snapshots.append(Snapshot(node.node_id, source, execution,
                                  budget_level(execution, node.levels, held_now)))
        if not alerting or (source and budget == 0 and used == 0):
            continue
        observations.append(level_observation(execution, node.levels, held_now))
        if source == ALL:
            observations.append(pace_observation(execution))
            if period.kind == YEAR:
                observations.append(quality_alerts.over_quota(
                    subject=subject, period=span, at=at, use_m3=used, quota_m3=budget))
    return Assessment(snapshots, observations)
