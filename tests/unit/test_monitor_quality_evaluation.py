"""Data-quality observations from meter-days (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from monitor.quality_evaluation import meter_observations, site_observations
from monitor.repository.quality import MeterDay

Z = ZoneInfo("Asia/Shanghai")
DAY = date(2025, 6, 1)
LAST = datetime(2025, 6, 1, 20, tzinfo=Z)


def md(meter_id: str, channel: str, counted: str = "0", **extra) -> MeterDay:
    day = MeterDay(meter_id=meter_id, site_id="W1", channel=channel, day=DAY,
                   counted_m3=Decimal(counted), quarantined=0, quality_reasons=[], kwh=None,
                   running_s=None, readings=4, max_flow_m3h=None, max_ahead_s=None,
                   last_ts=LAST, rated_m3h=40.0, node_id=3)
    return replace(day, **extra)


def active(observed) -> dict[tuple[str, str], bool]:
    return {(o.observation.key.subject, o.observation.key.kind): o.observation.active
            for o in observed}


def test_meter_rules() -> None:
    found = active(meter_observations([
        md("W1-F", "flow", quarantined=2, quality_reasons=["negative_delta"],
           max_flow_m3h=49.0, max_ahead_s=600.0)]))
    assert found == {("meter/W1-F", "quarantined_use"): True,
                     ("meter/W1-F", "flow_above_capacity"): True,  # 49 > 40 × 1.2
                     ("meter/W1-F", "clock_skew"): True}  # 10 min ahead
    calm = active(meter_observations([md("W1-F", "flow", max_flow_m3h=48.0, max_ahead_s=30.0)]))
    assert set(calm.values()) == {False}


def test_a_stuck_register_while_the_pump_draws_power() -> None:
    stuck = site_observations([md("W1-F", "flow", "0"), md("W1-P", "power", kwh=Decimal(12))],
                              today=DAY)
    assert active(stuck) == {("meter/W1-F", "register_stuck"): True}


def test_card_vs_meter_only_on_complete_days() -> None:
    days = [md("W1-F", "flow", "100"), md("W1-C", "card", "90", running_s=Decimal(7200))]
    assert active(site_observations(days, today=DAY)) == {
        ("meter/W1-F", "register_stuck"): False}
    later = active(site_observations(days, today=DAY + timedelta(days=1)))
    assert later[("site/W1", "card_meter_mismatch")] is True  # 10 % apart
