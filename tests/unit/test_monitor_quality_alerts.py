from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from budget.year_ledger import BUDGET_TIMEZONE
from monitor.alert_text import describe
from monitor.execution import BudgetPeriod
from monitor.quality_alerts import (
    ClockSample,
    card_meter_mismatch,
    clock_skew,
    flow_above_capacity,
    meter_silent,
    off_same_period,
    over_quota,
    quarantined_use,
    register_stuck,
)

D = Decimal
P = BudgetPeriod.of_year(2024)
T = datetime(2024, 6, 1, 12, tzinfo=BUDGET_TIMEZONE)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(("silence", "active"), [(30, False), (30.5, True)])
def test_meter_silent_beyond_expected_interval_times_tolerance(silence, active):
    obs = meter_silent(meter_id="m1", period=P, at=T, last_seen_at=T - silence * MIN,
                       expected_interval=15 * MIN)
    assert obs.active is active
    assert (obs.key.subject, obs.key.kind, obs.at) == ("m1", "meter_silent", T)


@pytest.mark.parametrize(("delta", "kwh", "running", "active"), [
    ("0", "5", 0, True),  # powered, register still
    ("0", None, 45, True),  # card session says the pump ran
    ("0", "0.5", 10, False),  # too little power and time to tell
    ("0", "1", 0, True),  # exactly the minimum power
    ("0.3", "50", 120, False),  # it moved
])
def test_register_stuck(delta, kwh, running, active):
    obs = register_stuck(meter_id="m1", period=P, window_end=T, register_delta_m3=D(delta),
                         power_kwh=None if kwh is None else D(kwh), pump_running=running * MIN)
    assert obs.active is active


@pytest.mark.parametrize(("flow", "active"), [("60", False), ("60.001", True)])
def test_flow_above_rated_capacity_with_ingest_tolerance(flow, active):
    obs = flow_above_capacity(meter_id="m1", period=P, at=T, flow_m3_per_h=D(flow),
                              rated_m3_per_h=D(50))
    assert obs.active is active


@pytest.mark.parametrize(("card", "meter", "active"), [
    ("105", "100", False), ("105.001", "100", True), ("95", "100", False),
    ("94.999", "100", True), ("0", "0", False), ("1", "0", True),
])
def test_card_vs_meter_more_than_5_percent(card, meter, active):
    obs = card_meter_mismatch(well_id="w1", period=P, at=T, card_m3=D(card), meter_m3=D(meter))
    assert obs.active is active


def test_clock_skew():
    def s(device_offset_min, lag_min=0, backfill=False):
        received = T + lag_min * MIN
        return ClockSample(received - device_offset_min * MIN, received, backfill)

    assert clock_skew(device_id="d1", period=P, samples=[]) is None
    ok = clock_skew(device_id="d1", period=P, samples=[s(1), s(4)])
    assert ok is not None
    assert not ok.active
    # one slow delivery is not skew: the smallest live lag counts
    assert not clock_skew(device_id="d1", period=P, samples=[s(20), s(2, 1)]).active  # type: ignore[union-attr]
    behind = clock_skew(device_id="d1", period=P, samples=[s(6), s(7, 1)])
    assert behind is not None
    assert behind.active
    assert behind.at == T + MIN
    # backfilled readings lag by design
    assert not clock_skew(device_id="d1", period=P, samples=[s(600, 0, True), s(1)]).active  # type: ignore[union-attr]
    ahead = clock_skew(device_id="d1", period=P, samples=[s(-6, 0, True)])
    assert ahead is not None
    assert ahead.active


def test_quarantined_use():
    obs = quarantined_use(meter_id="m1", period=P, at=T,
                          reasons=["negative_delta", "impossible_delta", "negative_delta"])
    assert obs.active
    assert describe("quarantined_use", "meter/m1", obs.detail, "en") == \
        "intervals not counted: impossible_delta ×1, negative_delta ×2"
    assert describe("quarantined_use", "meter/m1", obs.detail) == \
        "未计入的读数：增量超过能力 1 次，读数倒退 2 次"
    assert not quarantined_use(meter_id="m1", period=P, at=T, reasons=[]).active


@pytest.mark.parametrize(("use", "quota", "active"), [
    ("120", "100", False), ("120.001", "100", True), ("0", "0", False), ("1", "0", True),
])
def test_ningxia_more_than_20_percent_over_quota(use, quota, active):
    obs = over_quota(subject="n1", period=P, at=T, use_m3=D(use), quota_m3=D(quota))
    assert obs.active is active


@pytest.mark.parametrize(("use", "past", "active"), [
    ("130", ["100"], True), ("129.999", ["100"], False), ("70", ["100"], True),
    ("70.001", ["100"], False), ("130", ["90", "110"], True), ("0", ["0"], False),
    ("5", ["0", "0"], True),
])
def test_ningxia_30_percent_off_the_same_period_of_past_years(use, past, active):
    obs = off_same_period(subject="n1", period=P, at=T, use_m3=D(use), past_m3=[D(p) for p in past])
    assert obs is not None
    assert obs.active is active


def test_no_history_no_verdict():
    assert off_same_period(subject="n1", period=P, at=T, use_m3=D(5), past_m3=[]) is None
