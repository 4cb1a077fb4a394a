"""A key's alert as a function of the data, whatever the arrival order (pure, hypothesis)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alert_history import fold, needs_everything, reconcile, settle
from monitor.alert_lifecycle import AlertKey, Event, Observation, Severity
from monitor.execution import BudgetPeriod
from monitor.periods import latest_complete_day
from monitor.quality_evaluation import same_day_or_before

Z = ZoneInfo("Asia/Shanghai")
PERIOD = BudgetPeriod("2025", datetime(2025, 1, 1, tzinfo=Z), datetime(2026, 1, 1, tzinfo=Z))
KEY = AlertKey("site/W1", "card_meter_mismatch", PERIOD)
DAY0 = datetime(2025, 6, 1, 20, tzinfo=Z)


def obs(day: int, active: bool, severity: Severity = Severity.WARNING) -> Observation:
    return Observation(KEY, DAY0 + timedelta(days=day), active, severity,
                       f"day {day}: {'active' if active else 'clear'}")


def outcome(alert) -> tuple[bool, Severity | None]:
    return (alert is not None and alert.live,
            alert.severity if alert is not None and alert.live else None)


def deliver(days: list[Observation], order: list[int], cuts: list[int]) -> object:
    """Days arrive in ``order`` (indices, repeats allowed: duplicates and replays), evaluated
    in batches cut at ``cuts``; each evaluation knows every day that arrived so far."""
    known: dict[int, Observation] = {}
    stored = None
    bounds = sorted({c % (len(order) + 1) for c in cuts} | {0, len(order)})
    for lo, hi in itertools.pairwise(bounds):
        batch = order[lo:hi]
        for i in batch:
            known[i] = days[i]
        new = [days[i] for i in batch]
        needed = needs_everything(stored, new, revisit=same_day_or_before)
        stored = settle(stored, new, list(known.values()), at=max(o.at for o in known.values()),
                        needed=needed).alert
    return stored


day_values = st.lists(st.tuples(st.booleans(), st.sampled_from(list(Severity))),
                      min_size=1, max_size=20)


@settings(max_examples=300, deadline=None)
@given(values=day_values, data=st.data())
def test_the_alert_at_the_end_is_a_function_of_the_data(values, data) -> None:
    days = [obs(i, active, severity) for i, (active, severity) in enumerate(values)]
    n = len(days)
    order = data.draw(st.permutations(range(n)))
    extra = data.draw(st.lists(st.integers(0, n - 1), max_size=n))  # duplicates, replays
    order = list(order) + extra
    cuts = data.draw(st.lists(st.integers(0, len(order)), max_size=len(order)))
    expected, _ = fold(None, days)
    assert outcome(deliver(days, order, cuts)) == outcome(expected)


@settings(max_examples=200, deadline=None)
@given(values=day_values, cut=st.integers(0, 20))
def test_in_data_time_order_nothing_is_replayed_and_each_transition_is_kept(values, cut
                                                                            ) -> None:
    days = [obs(i, active, severity) for i, (active, severity) in enumerate(values)]
    cut = min(cut, len(days))
    expected, expected_steps = fold(None, days)
    first, steps = fold(None, days[:cut])
    second, more = fold(first, days[cut:])
    assert second == expected
    assert [(s.event, s.at) for s in steps + more] == [(s.event, s.at) for s in expected_steps]


def test_a_late_problem_since_cleared_is_recorded_at_its_data_times() -> None:
    days = [obs(0, False), obs(1, True), obs(2, False), obs(3, False)]
    ideal, steps = fold(None, days)
    latest, recorded = reconcile(None, ideal, steps, at=days[-1].at)
    assert latest is not None
    assert not latest.live
    assert [(s.event, s.at) for s in recorded] == [(Event.OPENED, days[1].at),
                                                   (Event.RESOLVED, days[3].at)]
    # settled again with the same data: nothing new is recorded
    again, more = reconcile(latest, ideal, steps, at=days[-1].at)
    assert more == []
    assert again == latest


def test_late_escalations_are_recorded_when_they_happened() -> None:
    days = [obs(0, True, Severity.NOTICE), obs(1, True, Severity.WARNING),
            obs(2, True, Severity.CRITICAL)]
    stored, _ = fold(None, days[:1])
    late = settle(stored, days[1:], days, at=days[-1].at,
                  needed=True)  # as if days 1 and 2 came after a later evaluation
    assert [(s.event, s.alert.severity, s.at) for s in late.steps] == [
        (Event.ESCALATED, Severity.WARNING, days[1].at),
        (Event.ESCALATED, Severity.CRITICAL, days[2].at)]


def test_the_latest_complete_day_at_midnight() -> None:
    assert latest_complete_day(datetime(2025, 6, 10, tzinfo=Z)) == date(2025, 6, 9)
    assert latest_complete_day(datetime(2025, 6, 9, 23, 59, tzinfo=Z)) == date(2025, 6, 8)
