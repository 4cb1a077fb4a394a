"""Change-log planning and periods (pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.changes import (
    OPEN_SPAN_DAYS,
    ChangeRow,
    DaySpan,
    SiteSpan,
    merge_days,
    plan_work,
    within,
)
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


def test_overlapping_spans_of_one_site_coalesce_and_open_ends_stay_open() -> None:
    work = plan_work([
        ChangeRow(1, "consumption", ["W1", "W2"], [T, T], [T + timedelta(hours=1), T]),
        ChangeRow(2, "consumption", ["W1"], [T - timedelta(days=2)], [T]),
        ChangeRow(3, "registry", ["W2"], [T + timedelta(days=1)], [None]),
    ])
    assert work.change_ids == [1, 2, 3]
    assert work.spans["W1"] == [SiteSpan("W1", T - timedelta(days=2), T + timedelta(hours=1))]
    # a restatement runs to the end; the earlier change is apart from it
    assert work.spans["W2"] == [SiteSpan("W2", T, T), SiteSpan("W2", T + timedelta(days=1), None)]
    assert not work.budget_nodes
    assert not work.empty


def test_a_backlog_and_the_live_reading_it_revises_stay_apart() -> None:
    """A gateway back online: its backlog (days 1, 2, 3) each revise the first live reading
    (day 30). One span from day 1 to 30 per step made a backlog of N days cost N²."""
    live = T + timedelta(days=30)
    rows = []
    for day in (1, 2, 3):
        lo = T + timedelta(days=day, hours=1)
        rows += [ChangeRow(2 * day, "consumption", ["W1"], [lo], [lo + timedelta(hours=6)],
                           appended=True),
                 ChangeRow(2 * day + 1, "consumption", ["W1"], [live], [live])]
    work = plan_work(rows)
    assert work.spans["W1"] == [
        SiteSpan("W1", T + timedelta(days=1, hours=1), T + timedelta(days=1, hours=7)),
        SiteSpan("W1", T + timedelta(days=2, hours=1), T + timedelta(days=2, hours=7)),
        SiteSpan("W1", T + timedelta(days=3, hours=1), T + timedelta(days=3, hours=7)),
        SiteSpan("W1", live, live)]
    assert work.appended_sites() == {}  # revisions: recomputed, not added
    assert plan_work(rows[::2]).appended_sites() == {"W1": T + timedelta(days=1, hours=1)}
    # an open start comes first and swallows what it reaches
    opened = plan_work([*rows, ChangeRow(9, "registry", ["W1"], [None],
                                         [T + timedelta(days=2, hours=2)])])
    assert opened.spans["W1"][0] == SiteSpan("W1", None, T + timedelta(days=2, hours=7))
    assert len(opened.spans["W1"]) == 3


def test_day_spans_merge_when_they_overlap_or_touch_and_stay_apart_otherwise() -> None:
    d = date(2025, 6, 1)
    spans = [DaySpan("W2", d, d), DaySpan("W1", d + timedelta(days=5), d + timedelta(days=6)),
             DaySpan("W1", d, d + timedelta(days=1)),
             DaySpan("W1", d + timedelta(days=2), d + timedelta(days=2)),
             DaySpan("W1", d + timedelta(days=1), d + timedelta(days=1)),
             DaySpan("W1", d + timedelta(days=6), d + timedelta(days=9))]
    assert merge_days(spans) == [DaySpan("W1", d, d + timedelta(days=2)),
                                 DaySpan("W1", d + timedelta(days=5), d + timedelta(days=9)),
                                 DaySpan("W2", d, d)]
    assert sum(s.days for s in merge_days(spans)) == 9


def test_a_step_takes_change_rows_while_their_site_days_fit() -> None:
    def day(n: int, site: str = "W1") -> ChangeRow:
        lo = T + timedelta(days=n, hours=1)
        return ChangeRow(1, "consumption", [site], [lo], [lo + timedelta(hours=5)], appended=True)

    live = ChangeRow(0, "consumption", ["W1"], [T + timedelta(days=30)], [T + timedelta(days=30)])
    rows = [day(1), live, day(1), live, day(2), live, day(3), live, day(3, "W2")]
    assert within(rows, site_days=3) == rows[:6]  # W1 on days 1, 2 and the live day
    assert within(rows, site_days=5) == rows  # …and W1, W2 on day 3
    assert within(rows, site_days=0) == rows[:1]  # the first row in any case
    spread = ChangeRow(5, "consumption", ["W1"], [T], [T + timedelta(days=40)])
    opened = ChangeRow(6, "registry", ["W1"], [T], [None])
    assert within([day(1), spread, day(2)], site_days=30) == [day(1)]
    assert within([day(1), opened], site_days=OPEN_SPAN_DAYS) == [day(1)]
    assert within([day(1), opened], site_days=OPEN_SPAN_DAYS + 1) == [day(1), opened]


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
