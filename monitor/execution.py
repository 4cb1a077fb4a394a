"""Execution of a budget node over a period: rate, time progress, projections.

For one node and one period (the year, a month, an irrigation round):

* execution rate = cumulative draw ÷ effective budget (issued + approved
  adjustments and trades, from the ledger);
* time progress = share of the period's planned use the plan profile expects
  by now (``budget.plan_profile``), rescaled to the period;
* projected draw at the period's end = the pace so far (draw per unit of
  planned share) carried over the plan's remaining share, i.e. draw ÷ progress;
* projected exhaustion = the moment that pace reaches the budget, or ``None``
  if not before the period ends.

Volumes are ``Decimal`` m³: the levels compare a rate with thresholds such as
exactly 100 %, which floats get wrong at the boundary (see ``budget.units``).
Where the profile plans nothing for a whole period (a month of weight 0), time
progress falls back to elapsed time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from budget.plan_profile import PlanProfile
from budget.year_ledger import BUDGET_TIMEZONE, year_bounds

ZERO = Decimal(0)
ONE = Decimal(1)


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class BudgetPeriod:
    """A span [start, end) within one budget year, named by ``label`` (``2024``, ``2024-06``)."""

    label: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise PeriodError("period bounds must be time-zone aware")
        if self.start >= self.end:
            raise PeriodError(f"period {self.label} ends before it starts")
        year_start, year_end = year_bounds(self.year)
        if self.start < year_start or self.end > year_end:
            raise PeriodError(f"period {self.label} crosses a budget-year boundary")

    @property
    def year(self) -> int:
        return self.start.astimezone(BUDGET_TIMEZONE).year

    @classmethod
    def of_year(cls, year: int) -> BudgetPeriod:
        start, end = year_bounds(year)
        return cls(str(year), start, end)

    @classmethod
    def of_month(cls, year: int, month: int) -> BudgetPeriod:
        start = datetime(year, month, 1, tzinfo=BUDGET_TIMEZONE)
        end = (datetime(year, month + 1, 1, tzinfo=BUDGET_TIMEZONE) if month < 12
               else year_bounds(year)[1])
        return cls(f"{year}-{month:02d}", start, end)


@dataclass(frozen=True, slots=True)
class Execution:
    node_id: str
    period: BudgetPeriod
    at: datetime  # data time of the evaluation
    drawn_m3: Decimal
    budget_m3: Decimal
    execution_rate: Decimal | None  # None when the budget is zero
    time_progress: Decimal  # 0..1 of the period's plan
    projected_m3: Decimal  # at the period's end, at the pace so far
    exhaustion_at: datetime | None  # None: not before the period ends

    @property
    def remaining_m3(self) -> Decimal:
        return self.budget_m3 - self.drawn_m3


def moment_of_progress(profile: PlanProfile, year: int, share: Decimal) -> datetime:
    """The first moment the profile's time progress reaches ``share`` (inverse of time_progress)."""
    start, end = year_bounds(year)
    if share <= 0:
        return start
    if profile.by_time:
        return start + (end - start) * float(min(share, ONE))
    done = ZERO
    for month, weight in enumerate(profile.weights, start=1):
        if weight > 0 and done + weight >= share:
            month_start = datetime(year, month, 1, tzinfo=BUDGET_TIMEZONE)
            next_month = (datetime(year, month + 1, 1, tzinfo=BUDGET_TIMEZONE) if month < 12
                          else end)
            fraction = (share - done) / weight
            seconds = Decimal((next_month - month_start).total_seconds()) * fraction
            return month_start + timedelta(seconds=float(seconds))
        done += weight
    return end


@lru_cache(maxsize=1024)
def _planned(profile: PlanProfile, period: BudgetPeriod) -> tuple[Decimal, Decimal]:
    year = period.year
    return (profile.time_progress(year, period.start), profile.time_progress(year, period.end))


@lru_cache(maxsize=4096)
def _share(profile: PlanProfile, period: BudgetPeriod, at: datetime) -> Decimal:
    """Memoised: a sweep asks the same for every node that shares a profile."""
    if at <= period.start:
        return ZERO
    if at >= period.end:
        return ONE
    low, high = _planned(profile, period)
    if high > low:
        return (profile.time_progress(period.year, at) - low) / (high - low)
    span = (period.end - period.start).total_seconds()
    return Decimal((at - period.start).total_seconds()) / Decimal(span)


def period_progress(profile: PlanProfile, period: BudgetPeriod, at: datetime) -> Decimal:
    """Time progress (0..1 of the period's plan) at ``at``: what ``Execution.time_progress``
    holds, for the sweep to bring snapshots forward without assessing them again."""
    return _share(profile, period, at)


@dataclass(frozen=True, slots=True)
class _PeriodClock:
    """Maps a moment to its share of the period's plan (0..1), and back."""

    profile: PlanProfile
    period: BudgetPeriod

    @property
    def _planned(self) -> tuple[Decimal, Decimal]:
        return _planned(self.profile, self.period)

    def share(self, at: datetime) -> Decimal:
        return _share(self.profile, self.period, at)

    def moment(self, share: Decimal) -> datetime:
        low, high = self._planned
        if high > low:
            found = moment_of_progress(self.profile, self.period.year, low + share * (high - low))
            return max(found, self.period.start)
        span = Decimal((self.period.end - self.period.start).total_seconds())
        return self.period.start + timedelta(seconds=float(span * share))


def execution_rate(drawn_m3: Decimal, budget_m3: Decimal) -> Decimal | None:
    """Draw ÷ budget; ``None`` for a zero (or negative) budget, where no rate exists."""
    if budget_m3 <= 0:
        return None
    return drawn_m3 / budget_m3


def evaluate_execution(*, node_id: str, period: BudgetPeriod, at: datetime, drawn_m3: Decimal,
                       budget_m3: Decimal, profile: PlanProfile) -> Execution:
    """Execution of one node over one period as of the data time ``at``."""
    clock = _PeriodClock(profile, period)
    progress = clock.share(at)
    projected = drawn_m3 if progress == 0 else drawn_m3 / progress
    return Execution(
        node_id=node_id,
        period=period,
        at=at,
        drawn_m3=drawn_m3,
        budget_m3=budget_m3,
        execution_rate=execution_rate(drawn_m3, budget_m3),
        time_progress=progress,
        projected_m3=projected,
        exhaustion_at=_exhaustion(clock, at, progress, drawn_m3, budget_m3),
    )


def _exhaustion(clock: _PeriodClock, at: datetime, progress: Decimal, drawn_m3: Decimal,
                budget_m3: Decimal) -> datetime | None:
    if drawn_m3 >= budget_m3 and drawn_m3 > 0:
        return min(at, clock.period.end)  # already exhausted by the data time
    if drawn_m3 <= 0 or progress == 0 or progress >= 1:
        return None  # no pace to carry forward, or nothing left of the period
    target = progress * budget_m3 / drawn_m3  # share of the plan at which the pace meets the budget
    if target >= 1:
        return None
    return max(clock.moment(target), at)
