"""Budget alerts: execution-rate levels per node and the pace alert.

Levels (issue 4, configurable per node): notice at 80 %, warning at 90 %,
overrun at 100 % of the effective budget. A rate exactly at a level reaches it.
Hysteresis: a level already held stays until the rate falls below the level
minus ``margin`` (a supplement that lifts the budget a hair does not make the
alert flap); the lifecycle's hold time adds a time guard on top.

Pace: the projection (``monitor.execution``) says the budget runs out before
the period ends, while it is not yet overrun.

Each node and period gives one ``budget_level`` alert whose severity follows
the level (notice → warning → critical for an overrun) and one
``budget_pace`` alert; ``alert_lifecycle.observe`` applies them. Their detail
is the execution's facts (``monitor.alert_text``), worded at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from budget.year_ledger import BUDGET_TIMEZONE
from monitor.alert_lifecycle import AlertKey, Observation, Severity
from monitor.alert_text import encode
from monitor.execution import Execution

LEVEL_KIND = "budget_level"
PACE_KIND = "budget_pace"


class Level(StrEnum):
    NOTICE = "notice"
    WARNING = "warning"
    OVERRUN = "overrun"

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self]


_SEVERITY = {Level.NOTICE: Severity.NOTICE, Level.WARNING: Severity.WARNING,
             Level.OVERRUN: Severity.CRITICAL}


@dataclass(frozen=True, slots=True)
class AlertLevels:
    """Execution-rate thresholds of one node; defaults from issue 4."""

    notice: Decimal = Decimal("0.80")
    warning: Decimal = Decimal("0.90")
    overrun: Decimal = Decimal("1.00")
    margin: Decimal = Decimal("0.02")  # hysteresis below a level already held

    def __post_init__(self) -> None:
        if not 0 < self.notice <= self.warning <= self.overrun:
            raise ValueError("levels must satisfy 0 < notice ≤ warning ≤ overrun")
        if not 0 <= self.margin < self.notice:
            raise ValueError("margin must be ≥ 0 and below the notice level")

    def threshold(self, level: Level) -> Decimal:
        return {Level.NOTICE: self.notice, Level.WARNING: self.warning,
                Level.OVERRUN: self.overrun}[level]


DEFAULT_LEVELS = AlertLevels()
_ASCENDING = (Level.NOTICE, Level.WARNING, Level.OVERRUN)


def budget_level(execution: Execution, levels: AlertLevels = DEFAULT_LEVELS,
                 held: Level | None = None) -> Level | None:
    """The level an execution reaches; ``held`` is the level the live alert has now."""
    if execution.execution_rate is None:  # zero budget: any draw is an overrun
        return Level.OVERRUN if execution.drawn_m3 > 0 else None
    rate = execution.execution_rate
    reached = None
    for level in _ASCENDING:
        threshold = levels.threshold(level)
        if held is not None and level.severity.rank <= held.severity.rank:
            threshold -= levels.margin
        if rate >= threshold:
            reached = level
    return reached


def runs_out_early(execution: Execution) -> bool:
    """The pace says the budget is exhausted before the period ends (and it is not yet)."""
    return (execution.exhaustion_at is not None
            and execution.exhaustion_at < execution.period.end
            and execution.drawn_m3 < execution.budget_m3)


def level_observation(execution: Execution, levels: AlertLevels = DEFAULT_LEVELS,
                      held: Level | None = None) -> Observation:
    key = AlertKey(execution.node_id, LEVEL_KIND, execution.period)
    level = budget_level(execution, levels, held)
    if level is None:
        return Observation(key, execution.at, active=False, detail=encode(_facts(execution)))
    return Observation(key, execution.at, active=True, severity=level.severity,
                       detail=encode({**_facts(execution), "level": level.value}))


def pace_observation(execution: Execution) -> Observation:
    key = AlertKey(execution.node_id, PACE_KIND, execution.period)
    active = runs_out_early(execution)
    facts = _facts(execution)
    if active and execution.exhaustion_at is not None:
        facts["runs_out"] = execution.exhaustion_at.astimezone(BUDGET_TIMEZONE).date().isoformat()
    return Observation(key, execution.at, active=active, severity=Severity.WARNING,
                       detail=encode(facts))


def held_level(severity: Severity | None) -> Level | None:
    """The level a live ``budget_level`` alert of this severity holds."""
    if severity is None:
        return None
    return next(level for level in _ASCENDING if level.severity is severity)


_LITRE = Decimal("0.001")
_SHARE = Decimal("0.000001")


def _facts(execution: Execution) -> dict[str, object]:
    """What the alert says (``monitor.alert_text`` words it): m³ to the litre, shares
    as fractions; ``rate`` None for a zero budget."""
    rate = execution.execution_rate
    return {"drawn_m3": execution.drawn_m3.quantize(_LITRE),
            "budget_m3": execution.budget_m3.quantize(_LITRE),
            "rate": None if rate is None else rate.quantize(_SHARE),
            "progress": execution.time_progress.quantize(_SHARE),
            "projected_m3": execution.projected_m3.quantize(_LITRE)}
