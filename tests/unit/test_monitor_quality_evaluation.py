"""Data-quality observations from meter-days (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from monitor.alert_text import describe
from monitor.quality_evaluation import day_observations, meter_observations, site_observations
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
                              complete_through=DAY)
    assert active(stuck) == {("meter/W1-F", "register_stuck"): True}


def test_card_vs_meter_only_on_complete_days() -> None:
    days = [md("W1-F", "flow", "100"), md("W1-C", "card", "90", running_s=Decimal(7200))]
    assert active(site_observations(days, complete_through=DAY - timedelta(days=1))) == {}
    later = active(site_observations(days, complete_through=DAY))
    assert later[("site/W1", "card_meter_mismatch")] is True  # 10 % apart
    assert later[("meter/W1-F", "register_stuck")] is False


def test_a_register_that_moved_only_in_quarantined_intervals_is_not_stuck() -> None:
    """Issue 14.2: four intervals quarantined as impossible_delta moved the register
    294.2 m³; the counted volume is 0. Failed before the fix ("register moved 0 m³")."""
    days = [md("W1-F", "flow", "0", quarantined=4, quarantined_delta=Decimal("294.2"),
               quality_reasons=["impossible_delta"] * 4),
            md("W1-C", "card", "0", running_s=Decimal(4 * 3600))]
    found = {(o.observation.key.subject, o.observation.key.kind): o.observation
             for o in site_observations(days, complete_through=DAY)}
    stuck = found[("meter/W1-F", "register_stuck")]
    assert stuck.active is False
    assert "register moved 294.2 m³" in describe("register_stuck", "meter/W1-F", stuck.detail,
                                                 "en")
    still = site_observations([replace(days[0], quarantined=0, quarantined_delta=None,
                                       quality_reasons=[]), days[1]], complete_through=DAY)
    assert active(still)[("meter/W1-F", "register_stuck")] is True  # really still


def test_quarantined_use_counts_every_interval() -> None:
    """Issue 14.2: "impossible_delta ×1" where four intervals were quarantined."""
    [use] = [o for o in meter_observations([md("W1-F", "flow", quarantined=4,
                                               quality_reasons=["impossible_delta"] * 4)])
             if o.observation.key.kind == "quarantined_use"]
    assert describe("quarantined_use", "meter/W1-F", use.observation.detail,
                    "en") == "intervals not counted: impossible_delta ×4"


def test_the_day_in_progress_raises_but_never_clears() -> None:
    quarantined = md("W1-F", "flow", quarantined=1, quality_reasons=["negative_delta"])
    calm = md("W1-F", "flow")
    yesterday = DAY - timedelta(days=1)
    assert active(day_observations([quarantined], complete_through=yesterday)) == {
        ("meter/W1-F", "quarantined_use"): True}
    assert active(day_observations([calm], complete_through=yesterday)) == {}
    assert active(day_observations([calm], complete_through=DAY)) == {
        ("meter/W1-F", "quarantined_use"): False}


def test_power_without_a_coefficient_is_evidence_a_power_register_jump_is_not() -> None:
    still = md("W1-F", "flow", "0")
    converted = md("W1-P", "power", kwh=Decimal(30), quarantined=8,
                   quality_reasons=["no_coefficient"] * 8)
    jumped = replace(converted, quality_reasons=["impossible_delta"] * 8)
    assert active(site_observations([still, converted], complete_through=DAY)) == {
        ("meter/W1-F", "register_stuck"): True}
    assert active(site_observations([still, jumped], complete_through=DAY)) == {
        ("meter/W1-F", "register_stuck"): False}
    once = replace(still, readings=1)  # read once that day: not seen standing still
    assert active(site_observations([once, converted], complete_through=DAY)) == {}
