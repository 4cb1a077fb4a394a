from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.plan_profile import IRRIGATION_SEASON
from budget.year_ledger import BUDGET_TIMEZONE
from monitor.alert_lifecycle import Event, Severity, observe
from monitor.alert_text import describe
from monitor.budget_alerts import (
    LEVEL_KIND,
    PACE_KIND,
    AlertLevels,
    Level,
    budget_level,
    held_level,
    level_observation,
    pace_observation,
    runs_out_early,
)
from monitor.execution import BudgetPeriod, evaluate_execution

D = Decimal
YEAR = BudgetPeriod.of_year(2024)


def at(month, day=1):
    return datetime(2024, month, day, tzinfo=BUDGET_TIMEZONE)


def execution(drawn, budget="1000", when=None):
    return evaluate_execution(node_id="n1", period=YEAR, at=when or at(10), drawn_m3=D(drawn),
                              budget_m3=D(budget), profile=IRRIGATION_SEASON)


@pytest.mark.parametrize(("drawn", "level"), [
    ("0", None), ("799.999", None), ("800", Level.NOTICE), ("899.999", Level.NOTICE),
    ("900", Level.WARNING), ("999.999", Level.WARNING), ("1000", Level.OVERRUN),
    ("5000", Level.OVERRUN),
])
def test_default_levels_exactly_at_the_threshold(drawn, level):
    assert budget_level(execution(drawn)) is level


def test_zero_budget_levels():
    assert budget_level(execution("0", "0")) is None
    assert budget_level(execution("0.001", "0")) is Level.OVERRUN


def test_hysteresis_keeps_a_held_level_within_the_margin():
    assert budget_level(execution("885")) is Level.NOTICE
    assert budget_level(execution("885"), held=Level.WARNING) is Level.WARNING
    assert budget_level(execution("879.999"), held=Level.WARNING) is Level.NOTICE
    assert budget_level(execution("790"), held=Level.NOTICE) is Level.NOTICE
    assert budget_level(execution("779.999"), held=Level.NOTICE) is None
    assert budget_level(execution("995"), held=Level.NOTICE) is Level.WARNING  # no early overrun


def test_configurable_levels_are_checked():
    custom = AlertLevels(notice=D("0.5"), warning=D("0.7"), overrun=D("1"), margin=D(0))
    assert budget_level(execution("600"), custom) is Level.NOTICE
    with pytest.raises(ValueError, match="levels"):
        AlertLevels(notice=D("0.9"), warning=D("0.8"))
    with pytest.raises(ValueError, match="margin"):
        AlertLevels(margin=D("0.9"))


def test_pace_alert_when_the_projection_runs_out_before_the_year_ends():
    # 1 July: 0.41 of the plan is over; 615 of 1000 drawn → 1500 projected.
    ahead = execution("615", when=at(7))
    assert runs_out_early(ahead)
    obs = pace_observation(ahead)
    assert obs.active
    assert obs.key.kind == PACE_KIND
    assert describe(PACE_KIND, "node/1", obs.detail, "en").endswith("runs out on 2024-08-24")
    assert "预计 2024-08-24 用完" in describe(PACE_KIND, "node/1", obs.detail)
    assert not runs_out_early(execution("410", when=at(7)))  # on plan
    assert not runs_out_early(execution("1000", when=at(7)))  # overrun is its own alert


def test_level_observations_escalate_one_alert():
    alert = None
    events = []
    for drawn in ("700", "810", "905", "1001"):
        held = held_level(alert.severity if alert else None)
        step = observe(alert, level_observation(execution(drawn), held=held))
        alert = step.alert
        events.append(step.event)
    assert events == [None, Event.OPENED, Event.ESCALATED, Event.ESCALATED]
    assert alert is not None
    assert (alert.key.kind, alert.seq, alert.severity) == (LEVEL_KIND, 1, Severity.CRITICAL)
    worded = describe(LEVEL_KIND, "node/1", alert.detail)
    assert worded.startswith("总量预算：已超预算：已用 1,001 m³")


@given(st.integers(min_value=0, max_value=3000), st.integers(min_value=0, max_value=3000))
def test_levels_are_monotone_in_draw(a, b):
    rank = {None: -1, Level.NOTICE: 0, Level.WARNING: 1, Level.OVERRUN: 2}
    low, high = sorted((a, b))
    assert rank[budget_level(execution(low))] <= rank[budget_level(execution(high))]
