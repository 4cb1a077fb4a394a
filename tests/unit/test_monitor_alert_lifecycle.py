from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from budget.year_ledger import BUDGET_TIMEZONE
from monitor.alert_lifecycle import (
    ROLLOVER,
    RULE,
    Alert,
    AlertKey,
    Event,
    Observation,
    Severity,
    Status,
    acknowledge,
    observe,
    resolve_by_hand,
)
from monitor.execution import BudgetPeriod

PERIOD = BudgetPeriod.of_year(2024)
KEY = AlertKey("well-7", "budget_level", PERIOD)
T0 = datetime(2024, 6, 1, tzinfo=BUDGET_TIMEZONE)
HOUR = timedelta(hours=1)


def obs(hours, active=True, severity=Severity.WARNING, key=KEY):
    return Observation(key, T0 + hours * HOUR, active, severity, "d")


def run(*observations, hold=HOUR, alert=None):
    events = []
    for o in observations:
        step = observe(alert, o, hold=hold)
        alert = step.alert
        events.append(step.event)
    return alert, events


def test_open_then_repeat_updates_without_a_new_alert():
    alert, events = run(obs(0), obs(1), obs(2))
    assert events == [Event.OPENED, None, None]
    assert alert is not None
    assert (alert.seq, alert.status, alert.opened_at, alert.last_seen_at) == (
        1, Status.OPEN, T0, T0 + 2 * HOUR)


def test_clear_observation_without_an_alert_changes_nothing():
    assert run(obs(0, active=False)) == (None, [None])


def test_hold_time_prevents_flapping():
    alert, events = run(obs(0), obs(1, False), obs(1.5), obs(2, False), obs(2.5, False))
    assert events == [Event.OPENED, None, None, None, None]
    assert alert is not None
    assert alert.live
    alert, events = run(obs(3, False), alert=alert)
    assert events == [Event.RESOLVED]
    assert alert is not None
    assert (alert.status, alert.resolved_by, alert.resolved_at) == (
        Status.RESOLVED, RULE, T0 + 3 * HOUR)


def test_zero_hold_resolves_at_once_and_a_relapse_opens_the_next_seq():
    alert, events = run(obs(0), obs(1, False), obs(2), hold=timedelta(0))
    assert events == [Event.OPENED, Event.RESOLVED, Event.OPENED]
    assert alert is not None
    assert alert.seq == 2
    assert alert.opened_at == T0 + 2 * HOUR


def test_acknowledge_then_escalation_reopens():
    alert, _ = run(obs(0, severity=Severity.NOTICE))
    assert alert is not None
    step = acknowledge(alert, by="ops", at=T0 + HOUR)
    assert step.event is Event.ACKNOWLEDGED
    assert acknowledge(step.alert, by="ops", at=T0 + HOUR).event is None  # type: ignore[arg-type]
    same, events = run(obs(2, severity=Severity.NOTICE), alert=step.alert)
    assert events == [None]
    assert same is not None
    assert same.status is Status.ACKNOWLEDGED
    up, events = run(obs(3, severity=Severity.CRITICAL), alert=same)
    assert events == [Event.ESCALATED]
    assert up is not None
    assert up.status is Status.OPEN
    assert up.acknowledged_by is None
    down, events = run(obs(4, severity=Severity.NOTICE), alert=up)
    assert events == [None]
    assert down is not None
    assert down.severity is Severity.NOTICE


def test_out_of_order_observation_is_stale():
    alert, _ = run(obs(0), obs(5, False))
    again, events = run(obs(4), obs(2, False), alert=alert)
    assert events == [None, None]
    assert again == alert


def test_rollover_closes_at_the_period_end_and_never_opens():
    alert, _ = run(obs(0))
    next_year = Observation(KEY, PERIOD.end + HOUR, True)
    closed, events = run(next_year, alert=alert)
    assert events == [Event.RESOLVED]
    assert closed is not None
    assert (closed.resolved_by, closed.resolved_at) == (ROLLOVER, PERIOD.end)
    assert run(next_year) == (None, [None])
    assert run(Observation(KEY, PERIOD.end, True), alert=closed)[1] == [None]


def test_resolve_by_hand():
    alert, _ = run(obs(0))
    assert alert is not None
    step = resolve_by_hand(alert, by="ops", at=T0 + HOUR)
    assert step.event is Event.RESOLVED
    assert step.alert is not None
    assert step.alert.resolved_by == "ops"
    assert resolve_by_hand(step.alert, by="ops", at=T0 + HOUR).event is None


observations = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10_000), st.booleans(),
              st.sampled_from(list(Severity)), st.booleans()),
    max_size=40,
)


@given(observations, st.integers(min_value=0, max_value=5))
def test_never_two_live_alerts_for_one_key(steps, hold_hours):
    history: list[Alert] = []
    for hours, active, severity, ack in steps:
        latest = history[-1] if history else None
        step = observe(latest, obs(hours, active, severity), hold=hold_hours * HOUR)
        if step.alert is None:
            continue
        if latest is not None and step.alert.seq == latest.seq:
            history[-1] = step.alert
        else:
            assert step.event is Event.OPENED
            history.append(step.alert)
        if ack:
            acked = acknowledge(history[-1], by="ops", at=T0 + hours * HOUR).alert
            assert acked is not None
            history[-1] = acked
        assert sum(a.live for a in history) <= 1
        assert all(not a.live for a in history[:-1])
        assert [a.seq for a in history] == list(range(1, len(history) + 1))
        for a in history:
            assert a.opened_at <= a.last_seen_at <= a.evaluated_at
            if a.resolved_at is not None:
                assert a.resolved_at >= a.opened_at
