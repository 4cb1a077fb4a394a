"""A key's alert as a function of the data, whatever the arrival order (pure, hypothesis)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alert_history import fold, needs_everything, reconcile, settle
from monitor.alert_lifecycle import Alert, AlertKey, Event, Observation, Severity
from monitor.execution import BudgetPeriod
from monitor.periods import latest_complete_day
from monitor.quality_evaluation import day_observations, same_day_or_before, series_of
from monitor.repository.quality import MeterDay

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


# --- the quality rules themselves, as the monitor evaluates them -------------------------

def well_day(day: int, card: int, flow: int, quarantined: int, flow_readings: int
             ) -> list[MeterDay]:
    """One day of a card well: flow meter and card controller (figures in m³)."""
    when = date(2025, 6, 1) + timedelta(days=day)
    last = datetime(2025, 6, 1, 20, tzinfo=Z) + timedelta(days=day)
    flow_day = MeterDay("W1-F", "W1", "flow", when, Decimal(flow), quarantined,
                        ["negative_delta"] * quarantined, None, None, flow_readings, None, None,
                        last, 40.0, 3)
    card_day = MeterDay("W1-C", "W1", "card", when, Decimal(card), 0, [], None,
                        Decimal(3600 * 4), 0, None, None, last, 40.0, 3)
    return [flow_day, card_day]


def evaluate(days: dict[int, list[MeterDay]], order: list[int], cuts: list[int]
             ) -> dict[tuple[str, str, str], tuple[bool, Severity | None]]:
    """What ``quality_evaluation.evaluate_touched`` does, over plain data: each batch of
    arriving days evaluates the days it touched and the days its data clock completed;
    the store settles each key with everything known so far."""
    known: dict[int, list[MeterDay]] = {}
    store: dict[tuple[str, str, str], Alert | None] = {}
    clock: datetime | None = None
    bounds = sorted({c % (len(order) + 1) for c in cuts} | {0, len(order)})
    for lo, hi in itertools.pairwise(bounds):
        batch = order[lo:hi]
        for i in batch:
            known[i] = days[i]
        before = clock
        clock = max(m.last_ts for rows in known.values() for m in rows if m.last_ts)
        through = latest_complete_day(clock)
        after = latest_complete_day(before) if before is not None else through
        touched = [m for i in set(batch) for m in known[i]]
        touched += [m for i, rows in known.items() if i not in batch for m in rows
                    if after < m.day <= through]
        series = series_of(day_observations(touched, complete_through=through))
        everything = series_of(day_observations([m for rows in known.values() for m in rows],
                                                 complete_through=through))
        for key, item in series.items():
            stored = store.get(key)
            needed = needs_everything(stored, item.observations, revisit=same_day_or_before)
            store[key] = settle(stored, item.observations, everything[key].observations,
                                at=clock, needed=needed).alert
    return {k: outcome(a) for k, a in store.items() if outcome(a)[0]}


figures = st.lists(st.tuples(st.integers(80, 110), st.just(100), st.sampled_from([0, 0, 0, 2]),
                             st.sampled_from([1, 4])), min_size=1, max_size=12)


@settings(max_examples=1000, deadline=None)
@given(values=figures, data=st.data())
def test_the_quality_rules_end_the_same_for_any_arrival(values, data) -> None:
    """card_meter_mismatch and quarantined_use over days of a card well, arriving in any
    order, with duplicates and replays, at any batch boundaries: the live alerts at the
    end are those of the days folded in data-time order."""
    days = {i: well_day(i, *v) for i, v in enumerate(values)}
    n = len(days)
    order = list(data.draw(st.permutations(range(n))))
    order += data.draw(st.lists(st.integers(0, n - 1), max_size=n))
    cuts = data.draw(st.lists(st.integers(0, len(order)), max_size=len(order)))
    reference = evaluate(days, sorted(set(order)), list(range(len(order) + 1)))
    assert evaluate(days, order, cuts) == reference
    # and the reference is the fold of every day's observations
    everything = series_of(day_observations(
        [m for rows in days.values() for m in rows],
        complete_through=latest_complete_day(max(m.last_ts for rows in days.values()
                                                 for m in rows if m.last_ts))))
    folded = {k: outcome(fold(None, s.observations)[0]) for k, s in everything.items()}
    assert reference == {k: v for k, v in folded.items() if v[0]}
