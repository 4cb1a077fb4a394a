"""What the water-user page shows, as plain data: pure, no database, no HTTP.

My budget this year, my use so far, what remains, the level reached (the
monitor's 80/90/100 % levels), my warnings and my card sessions. Volumes are
m³ here, not 万m³: a household's budget is a few thousand m³ (0.12 万m³ would
mean nothing to a farmer); the officials' reports keep 万m³.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from budget.hierarchy import Node
from budget.ledger import Allocation
from budget.plan_profile import PlanProfile
from budget.year_ledger import BUDGET_TIMEZONE
from monitor.budget_alerts import Level, budget_level
from monitor.execution import BudgetPeriod, evaluate_execution
from reports.breakdown import source_key
from reports.inputs import AlertRecord
from reports.labels import text
from reports.rollup import counted, counted_budget


@dataclass(frozen=True, slots=True)
class CardSession:
    card_id: str
    started_at: datetime
    ended_at: datetime
    volume_m3: Decimal | None
    balance_m3: Decimal | None


@dataclass(frozen=True, slots=True)
class SourceLine:
    label: str
    budget: str
    used: str


@dataclass(frozen=True, slots=True)
class AlertLine:
    kind: str
    severity: str  # notice | warning | critical
    opened: str
    live: bool


@dataclass(frozen=True, slots=True)
class SessionLine:
    time: str
    volume: str
    balance: str


@dataclass(frozen=True, slots=True)
class MyWater:
    """The page, every figure already text in the page's language."""

    lang: str
    name: str
    code: str
    year: int
    budget: str
    used: str
    remaining: str
    percent_used: int  # 0..100 for the bar (capped)
    rate: str
    level: str  # '' | notice | warning | overrun
    message: str
    overrun: bool
    by_source: tuple[SourceLine, ...]
    alerts: tuple[AlertLine, ...]
    sessions: tuple[SessionLine, ...]
    as_of: str


def _m3(volume: Decimal | None) -> str:
    if volume is None:
        return ""
    return f"{volume.quantize(Decimal(1), ROUND_HALF_UP):,}"


def _time(moment: datetime) -> str:
    return moment.astimezone(BUDGET_TIMEZONE).strftime("%m-%d %H:%M")


def my_water(*, lang: str, node: Node, year: int, as_of: datetime, budget: Allocation,
             used_by_source: Mapping[str, Decimal], factor: Decimal, profile: PlanProfile,
             alerts: Sequence[AlertRecord], sessions: Sequence[CardSession]) -> MyWater:
    budget_m3 = counted_budget(budget, factor)
    used_m3 = sum((counted(s, v, factor) for s, v in used_by_source.items()), Decimal(0))
    execution = evaluate_execution(node_id=node.code, period=BudgetPeriod.of_year(year),
                                   at=as_of, drawn_m3=used_m3, budget_m3=budget_m3,
                                   profile=profile)
    level = budget_level(execution)
    rate = execution.execution_rate
    budget_by_source: dict[str, Decimal] = {}
    for (source, _), volume in budget.items():
        budget_by_source[source.value] = budget_by_source.get(source.value, Decimal(0)) + volume
    sources = sorted(set(budget_by_source) | set(used_by_source))
    return MyWater(
        lang=lang, name=node.name, code=node.code, year=year, budget=_m3(budget_m3),
        used=_m3(used_m3), remaining=_m3(execution.remaining_m3),
        percent_used=0 if rate is None else int(min(rate, Decimal(1)) * 100),
        rate="" if rate is None else f"{rate * 100:.0f}%",
        level=level.value if level else "",
        message=text(lang, f"page.level.{level.value}") if level else "",
        overrun=level is Level.OVERRUN,
        by_source=tuple(SourceLine(text(lang, source_key(s)), _m3(budget_by_source.get(s)),
                                   _m3(used_by_source.get(s, Decimal(0)))) for s in sources),
        alerts=tuple(AlertLine(text(lang, f"alert.{a.kind}"), a.severity, _time(a.opened_at),
                               a.resolved_at is None) for a in alerts),
        sessions=tuple(SessionLine(f"{_time(s.started_at)}–{_time(s.ended_at)[6:]}",
                                   _m3(s.volume_m3), _m3(s.balance_m3)) for s in sessions),
        as_of=as_of.astimezone(BUDGET_TIMEZONE).strftime("%Y-%m-%d %H:%M"),
    )
