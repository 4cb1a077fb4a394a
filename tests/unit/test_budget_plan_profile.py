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


def test_a_node_without_its_own_profile_takes_its_dominant_sectors() -> None:
    from budget.kinds import Sector, Source
    from budget.plan_profile import EVEN, profile_for

    supply = {(Source.GROUNDWATER, Sector.URBAN_RESIDENTS): Decimal(900),
              (Source.LOCAL_SURFACE, Sector.IRRIGATION): Decimal(500),
              (Source.GROUNDWATER, Sector.IRRIGATION): Decimal(300)}
    assert profile_for(None, supply) == EVEN  # 900 m³ supply over 800 m³ irrigation
    assert profile_for(None, {**supply, (Source.YELLOW_RIVER, Sector.IRRIGATION): Decimal(101)}
                       ) == IRRIGATION_SEASON  # summed over sources: 901 m³ irrigation
    assert profile_for(None, {(Source.GROUNDWATER, Sector.INDUSTRY): Decimal(1)}) == EVEN
    assert profile_for(None, {}) == IRRIGATION_SEASON
    own = PlanProfile.of(["0.5", "0.5"] + ["0"] * 10)
    assert profile_for(own, {(Source.GROUNDWATER, Sector.INDUSTRY): Decimal(1)}) == own


def test_the_even_profile_is_the_elapsed_share_of_the_year_leap_years_too() -> None:
    from budget.plan_profile import EVEN

    assert EVEN.time_progress(2025, datetime(2025, 3, 1, tzinfo=BUDGET_TIMEZONE)) == \
        Decimal(59 * 86400) / Decimal(365 * 86400)
    assert EVEN.time_progress(2024, at(3)) == Decimal(60) / 366
    assert sum(EVEN.weights) == 1
