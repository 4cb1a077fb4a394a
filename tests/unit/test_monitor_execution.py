from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.plan_profile import IRRIGATION_SEASON, UNIFORM, PlanProfile
from budget.year_ledger import BUDGET_TIMEZONE
from monitor.execution import (
    BudgetPeriod,
    PeriodError,
    evaluate_execution,
    execution_rate,
    moment_of_progress,
)

YEAR = BudgetPeriod.of_year(2024)
D = Decimal


def at(month, day=1, hour=0, year=2024):
    return datetime(year, month, day, hour, tzinfo=BUDGET_TIMEZONE)


def run(drawn, budget, when, period=YEAR, profile=IRRIGATION_SEASON):
    return evaluate_execution(node_id="n1", period=period, at=when, drawn_m3=D(drawn),
                              budget_m3=D(budget), profile=profile)


def test_rate_progress_and_projection_by_hand():
    # 1 July under the irrigation profile: Jan–Jun weights sum to 0.41.
    e = run("41000", "100000", at(7))
    assert e.execution_rate == D("0.41")
    assert e.time_progress == D("0.41")
    assert e.projected_m3 == D("100000")  # on plan: projection equals the budget
    assert e.exhaustion_at is None  # reaches the budget exactly at the year's end
    assert e.remaining_m3 == D("59000")


def test_ahead_of_plan_runs_out_before_the_year_ends():
    # 1 July, 0.41 of the plan is over, 61.5 % of the budget is drawn: pace 150 000 per year.
    e = run("61500", "100000", at(7))
    assert e.projected_m3 == D("150000")
    # exhausted when the plan reaches 0.41 × 100000 / 61500 = 0.666…; Jan–Jul 0.57, Jan–Aug 0.70
    assert e.exhaustion_at is not None
    assert at(8) < e.exhaustion_at < at(9)


def test_behind_plan_does_not_run_out():
    e = run("20000", "100000", at(7))
    assert e.projected_m3 < D("100000")
    assert e.exhaustion_at is None


def test_exactly_at_budget_is_exhausted_now():
    e = run("100000", "100000", at(7))
    assert e.execution_rate == 1
    assert e.exhaustion_at == at(7)


def test_zero_budget():
    assert execution_rate(D(5), D(0)) is None
    e = run("0", "0", at(7))
    assert e.execution_rate is None
    assert e.exhaustion_at is None
    drawn = run("5", "0", at(7))
    assert drawn.exhaustion_at == at(7)


def test_nothing_drawn_never_runs_out():
    assert run("0", "100", at(7)).exhaustion_at is None


def test_before_the_period_and_after_it():
    before = run("10", "100", at(1, 1, 0))
    assert before.time_progress == 0
    assert before.projected_m3 == D("10")
    after = run("90", "100", at(1, 1, 0, 2025))
    assert after.time_progress == 1
    assert after.projected_m3 == D("90")
    assert after.exhaustion_at is None


def test_month_period_is_rescaled_to_its_own_plan():
    june = BudgetPeriod.of_month(2024, 6)
    e = run("500", "1000", at(6, 16), period=june)
    assert e.time_progress == D("0.5")
    assert e.projected_m3 == D("1000")


def test_month_with_no_planned_use_falls_back_to_elapsed_time():
    profile = PlanProfile.of(["0"] + ["0.1"] * 9 + ["0.05", "0.05"])
    january = BudgetPeriod.of_month(2024, 1)
    e = run("10", "100", at(1, 16, 12), period=january, profile=profile)
    assert e.time_progress == D("0.5")
    assert e.projected_m3 == D("20")


def test_december_and_period_checks():
    assert BudgetPeriod.of_month(2024, 12).end == at(1, 1, 0, 2025)
    with pytest.raises(PeriodError):
        BudgetPeriod("x", at(12), at(2, 1, 0, 2025))
    with pytest.raises(PeriodError):
        BudgetPeriod("x", at(6), at(5))
    with pytest.raises(PeriodError):
        BudgetPeriod("x", datetime(2024, 1, 1), datetime(2024, 2, 1))


def test_moment_of_progress_inverts_time_progress():
    assert moment_of_progress(IRRIGATION_SEASON, 2024, D("0.04")) == at(4)
    assert moment_of_progress(IRRIGATION_SEASON, 2024, D(0)) == at(1)
    assert moment_of_progress(IRRIGATION_SEASON, 2024, D(1)) == at(1, 1, 0, 2025)
    assert moment_of_progress(UNIFORM, 2024, D("0.48")) == at(7)
    assert moment_of_progress(UNIFORM, 2024, D("0.525")) == at(7, 16, 12)  # half of July


@given(st.decimals(min_value=0, max_value=1, places=4),
       st.sampled_from([IRRIGATION_SEASON, UNIFORM]))
def test_inverse_round_trip(share, profile):
    moment = moment_of_progress(profile, 2024, share)
    assert abs(profile.time_progress(2024, moment) - share) < D("1e-6")


@given(st.integers(min_value=0, max_value=200_000), st.integers(min_value=1, max_value=200_000),
       st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=28))
def test_exhaustion_inside_the_period_iff_projection_exceeds_budget(drawn, budget, month, day):
    e = run(drawn, budget, at(month, day))
    if e.exhaustion_at is not None:
        assert YEAR.start <= e.exhaustion_at <= YEAR.end
        assert e.exhaustion_at >= e.at or drawn >= budget
        assert e.projected_m3 >= budget or e.time_progress == 0
    elif 0 < e.time_progress < 1 and drawn > 0:
        assert e.projected_m3 <= budget
