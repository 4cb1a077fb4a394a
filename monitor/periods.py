"""Budget periods as the monitor stores them: years, months and irrigation rounds (pure).

A period is whole China-time days ``first_day``..``last_day`` within one budget
year; as a ``BudgetPeriod`` it is the span [start of first day, start of the day
after the last). Labels: ``2024``, ``2024-06``, ``2024-R1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from budget.year_ledger import BUDGET_TIMEZONE
from monitor.execution import BudgetPeriod

YEAR = "year"
MONTH = "month"
ROUND = "round"
ALERTING_KINDS = (YEAR, ROUND)  # months get snapshots, not alerts (docs/monitor.md)


@dataclass(frozen=True, slots=True)
class StoredPeriod:
    label: str
    kind: str
    first_day: date
    last_day: date

    @property
    def budget_period(self) -> BudgetPeriod:
        return _span(self)

    @property
    def year(self) -> int:
        return self.first_day.year

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@lru_cache(maxsize=1024)
def _span(period: StoredPeriod) -> BudgetPeriod:
    return BudgetPeriod(period.label, day_start(period.first_day),
                        day_start(period.last_day + timedelta(days=1)))


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BUDGET_TIMEZONE)


def draw_day(ts_end: datetime) -> date:
    """The day an interval ending at ``ts_end`` counts on: the day's end is included."""
    return (ts_end - timedelta(microseconds=1)).astimezone(BUDGET_TIMEZONE).date()


def latest_complete_day(clock: datetime) -> date:
    """The latest day complete at a data clock: day D holds interval ends in
    (D 00:00, D+1 00:00], so it is complete once the clock reaches D+1 00:00 — at a clock of
    06-10 00:00 (China time) June 9 is complete, at 06-09 23:59 June 8 is."""
    return clock.astimezone(BUDGET_TIMEZONE).date() - timedelta(days=1)


def months_between(first: date, last: date) -> list[tuple[int, int]]:
    """Every (year, month) from ``first``'s month to ``last``'s, in order."""
    found = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        found.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def year_period(year: int) -> StoredPeriod:
    return StoredPeriod(str(year), YEAR, date(year, 1, 1), date(year, 12, 31))


def month_period(year: int, month: int) -> StoredPeriod:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return StoredPeriod(f"{year}-{month:02d}", MONTH, date(year, month, 1),
                        following - timedelta(days=1))


def last_complete_month(at: datetime) -> tuple[int, int] | None:
    """The latest month that has ended by ``at`` within ``at``'s budget year (None in January)."""
    local = at.astimezone(BUDGET_TIMEZONE)
    if local.month == 1:
        return None
    return local.year, local.month - 1
