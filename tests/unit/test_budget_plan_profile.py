from datetime import datetime
from decimal import Decimal

import pytest

from budget.plan_profile import IRRIGATION_SEASON, PlanProfile, ProfileError
from budget.year_ledger import BUDGET_TIMEZONE


def at(month, day=1, hour=0):
    return datetime(2024, month, day, hour, tzinfo=BUDGET_TIMEZONE)


def test_time_progress_of_the_irrigation_season():
    assert IRRIGATION_SEASON.time_progress(2024, at(1)) == 0
    assert IRRIGATION_SEASON.time_progress(2024, at(4)) == Decimal("0.04")
    assert IRRIGATION_SEASON.time_progress(2024, at(12)) == Decimal("0.98")
    assert IRRIGATION_SEASON.time_progress(2024, datetime(2025, 1, 2, tzinfo=BUDGET_TIMEZONE)) == 1
    mid_june = IRRIGATION_SEASON.time_progress(2024, at(6, 16))
    assert mid_june == Decimal("0.26") + Decimal("0.15") / 2


def test_progress_is_monotonic_over_the_year():
    values = [
        IRRIGATION_SEASON.time_progress(2024, at(m, d)) for m in range(1, 13) for d in (1, 10, 20)
    ]
    assert values == sorted(values)


@pytest.mark.parametrize(
    "weights", [["0.5"] * 12, ["1"] + ["0"] * 10, ["-0.1", "1.1"] + ["0"] * 10]
)
def test_bad_profiles_are_refused(weights):
    with pytest.raises(ProfileError):
        PlanProfile.of(weights)
