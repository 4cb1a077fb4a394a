from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.kinds import SourceFamily
from monitor.charges import (
    DEFAULT_TABLE,
    GROUNDWATER_TIERS,
    SURFACE_TIERS,
    ChargeError,
    TariffKey,
    TierSchedule,
    TierTable,
    progressive_charge,
)

D = Decimal


def charge(use, quota="1000", price="0.1", schedule=SURFACE_TIERS):
    return progressive_charge(use_m3=D(use), quota_m3=D(quota), price_per_m3=D(price),
                              schedule=schedule)


def test_surface_water_band_by_band():
    c = charge("1600")
    assert c.within_quota_amount == D("100")
    assert [b.volume_m3 for b in c.bands] == [D(300), D(200), D(100)]
    assert [b.amount for b in c.bands] == [D("39"), D("30"), D("20")]
    assert c.total == D("189")
    assert c.excess_m3 == D(600)
    assert c.surcharge == D("9") + D("10") + D("10")


def test_groundwater_band_by_band():
    c = charge("1600", schedule=GROUNDWATER_TIERS)
    assert [b.amount for b in c.bands] == [D("45"), D("40"), D("30")]
    assert c.total == D("215")


@pytest.mark.parametrize(("use", "total"), [
    ("0", "0"), ("999.999", "99.9999"), ("1000", "100"), ("1300", "139"), ("1500", "169"),
])
def test_boundaries(use, total):
    assert charge(use).total == D(total)


def test_zero_quota_puts_everything_in_the_last_band():
    c = charge("10", quota="0")
    assert [b.volume_m3 for b in c.bands] == [D(0), D(0), D(10)]
    assert c.total == D("2.0")


def test_exact_arithmetic_on_litres():
    c = charge("1000.001", price="2.37")
    assert c.total == D("2370") + D("0.001") * D("2.37") * D("1.3")


def test_schedules_are_validated():
    with pytest.raises(ChargeError, match="open"):
        TierSchedule.of(("0.3", "1.3"))
    with pytest.raises(ChargeError, match="increasing"):
        TierSchedule.of(("0.5", "1.3"), ("0.3", "1.5"), (None, "2"))
    with pytest.raises(ChargeError, match="non-decreasing"):
        TierSchedule.of(("0.3", "2"), (None, "1.5"))
    with pytest.raises(ChargeError, match="only the last"):
        TierSchedule.of((None, "1.3"), (None, "1.5"))
    with pytest.raises(ChargeError, match="≥ 0"):
        charge("-1")


def test_most_specific_schedule_wins():
    special = TierSchedule.of(("0.2", "1.2"), (None, "5"))
    cash = TierSchedule.of((None, "4"))
    table = TierTable({
        **DEFAULT_TABLE.schedules,
        TariffKey(area="ganzhou", source=SourceFamily.GROUNDWATER): special,
        TariffKey(area="ganzhou", source=SourceFamily.GROUNDWATER, crop_class="cash"): cash,
    })
    gw = SourceFamily.GROUNDWATER
    assert table.schedule_for(area="ganzhou", source=gw, crop_class="cash") is cash
    assert table.schedule_for(area="ganzhou", source=gw, crop_class="grain") is special
    assert table.schedule_for(area="other", source=gw, crop_class="grain") is GROUNDWATER_TIERS
    assert table.schedule_for(area="x", source=SourceFamily.YELLOW_RIVER,
                              crop_class="grain") is SURFACE_TIERS
    with pytest.raises(ChargeError, match="no tier schedule"):
        table.schedule_for(area="x", source=SourceFamily.TRADED, crop_class="grain")


volumes = st.decimals(min_value=0, max_value=10_000_000, places=3)
prices = st.decimals(min_value=0, max_value=100, places=4)


@given(volumes, volumes, volumes, prices, st.sampled_from([SURFACE_TIERS, GROUNDWATER_TIERS]))
def test_monotone_in_use_and_bands_add_up(a, b, quota, price, schedule):
    low, high = sorted((a, b))
    c_low = progressive_charge(use_m3=low, quota_m3=quota, price_per_m3=price, schedule=schedule)
    c_high = progressive_charge(use_m3=high, quota_m3=quota, price_per_m3=price, schedule=schedule)
    assert c_low.total <= c_high.total
    for c in (c_low, c_high):
        assert c.within_quota_m3 + c.excess_m3 == c.use_m3
        assert c.within_quota_amount + sum(x.amount for x in c.bands) == c.total
        assert c.total >= c.use_m3 * price
        assert all(x.volume_m3 >= 0 for x in c.bands)
