"""Budget levels day by day in a catch-up (pure; issue 14.3)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from budget.kinds import Sector, Source
from budget.plan_profile import IRRIGATION_SEASON
from monitor.alert_history import fold
from monitor.alert_lifecycle import Event, Severity
from monitor.assessment import NodeBudget
from monitor.budget_alerts import DEFAULT_LEVELS
from monitor.level_history import DayDraws, day_ends, level_series, to_date
from monitor.periods import StoredPeriod

Z = ZoneInfo("Asia/Shanghai")
YEAR = StoredPeriod("2025", "year", date(2025, 1, 1), date(2025, 12, 31))
CLOCK = datetime(2025, 6, 4, 12, tzinfo=Z)
JUNE = {date(2025, 6, 1): {"groundwater": Decimal(850)},
        date(2025, 6, 2): {"groundwater": Decimal(70)},
        date(2025, 6, 3): {"groundwater": Decimal(90)},
        date(2025, 6, 4): {"groundwater": Decimal(10)}}


def household(moment: datetime) -> NodeBudget:
    return NodeBudget(7, {(Source.GROUNDWATER, Sector.IRRIGATION): Decimal(1000)}, Decimal(0),
                      IRRIGATION_SEASON, DEFAULT_LEVELS)


def test_day_ends_up_to_the_data_clock() -> None:
    ends = day_ends(date(2025, 6, 3), YEAR, CLOCK)
    assert ends == [(date(2025, 6, 3), datetime(2025, 6, 4, tzinfo=Z)),
                    (date(2025, 6, 4), CLOCK)]
    draws = DayDraws({"groundwater": Decimal(1020)}, JUNE)
    assert to_date(draws, date(2025, 6, 2)) == {"groundwater": Decimal(920)}


def test_three_crossings_on_three_days_each_at_its_day() -> None:
    series = level_series(household, YEAR, first=date(2025, 6, 1), at=CLOCK,
                          draws=DayDraws({"groundwater": Decimal(1020)}, JUNE), held={})
    observations = series["node/7"]
    assert [(o.severity if o.active else None) for o in observations] == [
        Severity.NOTICE, Severity.WARNING, Severity.CRITICAL, Severity.CRITICAL]
    _alert, steps = fold(None, observations)
    day = timedelta(days=1)
    june2 = datetime(2025, 6, 2, tzinfo=Z)
    assert [(s.event, s.alert.severity, s.at) for s in steps] == [
        (Event.OPENED, Severity.NOTICE, june2),
        (Event.ESCALATED, Severity.WARNING, june2 + day),
        (Event.ESCALATED, Severity.CRITICAL, june2 + 2 * day)]


def test_a_level_held_keeps_its_hysteresis_on_the_first_day() -> None:
    # 79 % on June 1 with notice held: within the 2-point margin, still notice
    draws = DayDraws({"groundwater": Decimal(790)}, {date(2025, 6, 1): {"groundwater":
                                                                        Decimal(10)}})
    series = level_series(household, YEAR, first=date(2025, 6, 1),
                          at=datetime(2025, 6, 1, 20, tzinfo=Z), draws=draws,
                          held={"node/7": Severity.NOTICE})
    assert [(o.active, o.severity) for o in series["node/7"]] == [(True, Severity.NOTICE)]
