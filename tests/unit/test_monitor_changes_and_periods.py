"""Change-log planning and periods (pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.changes import ChangeRow, SiteSpan, plan_work
from monitor.periods import (
    day_start,
    draw_day,
    last_complete_month,
    month_period,
    months_between,
    year_period,
)

Z = ZoneInfo("Asia/Shanghai")
T = datetime(2025, 6, 1, tzinfo=Z)


def test_spans_of_one_site_widen_and_open_ends_stay_open() -> None:
    work = plan_work([
        ChangeRow(1, "consumption", ["W1", "W2"], [T, T], [T + timedelta(hours=1), T]),
        ChangeRow(2, "consumption", ["W1"], [T - timedelta(days=2)], [T]),
        ChangeRow(3, "registry", ["W2"], [T + timedelta(days=1)], [None]),
    ])
    assert work.change_ids == [1, 2, 3]
    assert work.spans["W1"] == SiteSpan("W1", T - timedelta(days=2), T + timedelta(hours=1))
    assert work.spans["W2"] == SiteSpan("W2", T, None)  # a restatement runs to the end
    assert not work.budget_nodes
    assert not work.empty


def test_budget_changes_name_nodes_or_everyone() -> None:
    work = plan_work([ChangeRow(1, "budget", node_ids=[3, 4], years=[2025]),
                      ChangeRow(2, "budget", node_ids=[4, 5])])
    assert work.budget_nodes == {3, 4, 5}
    assert work.budget_years == {2025}
    assert not work.all_budgets
    assert plan_work([ChangeRow(3, "budget", node_ids=None, years=[2025])]).all_budgets
    assert plan_work([ChangeRow(4, "hierarchy", node_ids=None)]).rebuild_totals
    assert plan_work([]).empty


def test_mismatched_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="change 9"):
        plan_work([ChangeRow(9, "consumption", ["W1"], [T], [])])


def test_an_interval_ending_at_midnight_counts_on_the_day_before() -> None:
    assert draw_day(T) == date(2025, 5, 31)
    assert draw_day(T + timedelta(microseconds=1)) == date(2025, 6, 1)
    assert draw_day(datetime(2025, 5, 31, 18, tzinfo=ZoneInfo("UTC"))) == date(2025, 6, 1)
    assert day_start(date(2025, 6, 1)) == T


def test_periods_are_whole_china_days_within_one_year() -> None:
    assert months_between(date(2024, 11, 5), date(2025, 2, 1)) == [
        (2024, 11), (2024, 12), (2025, 1), (2025, 2)]
    june = month_period(2025, 6)
    assert (june.label, june.first_day, june.last_day) == ("2025-06", date(2025, 6, 1),
                                                           date(2025, 6, 30))
    assert june.budget_period.start == T
    assert june.budget_period.end == datetime(2025, 7, 1, tzinfo=Z)
    assert month_period(2025, 12).last_day == date(2025, 12, 31)
    assert year_period(2025).budget_period.end == datetime(2026, 1, 1, tzinfo=Z)
    assert last_complete_month(T + timedelta(days=3)) == (2025, 5)
    assert last_complete_month(datetime(2025, 1, 20, tzinfo=Z)) is None
