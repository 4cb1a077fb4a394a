"""Data-quality rules over plain inputs; each gives an ``Observation`` for the lifecycle.

Every rule answers for one subject (meter, well, device, budget node) and one
budget period at a data time: active when the problem shows, inactive when the
same check passes (so the lifecycle can resolve it after its hold time).

Rules (issue 4; Ningxia spec 8.2 a) for the last two):

* ``meter_silent`` – no reading for longer than the expected interval × tolerance.
* ``register_stuck`` – the register did not move while the pump drew power or a
  card session says it ran.
* ``flow_above_capacity`` – instantaneous flow above rated capacity × tolerance
  (the same tolerance ingestion applies to deltas, ``ingest.consumption``).
* ``card_meter_mismatch`` – card volume vs meter volume for one well differing
  by more than 5 % of the meter volume (the meter is the source of truth).
* ``clock_skew`` – device clock off the receive time beyond a threshold.
* ``quarantined_use`` – ingestion quarantined intervals (negative/impossible deltas).
* ``over_quota`` – use more than 20 % over quota (宁夏 8.2 a).
* ``off_same_period`` – use 30 % or more off the mean of the same period of past
  years (宁夏 8.2 a).

Volumes and rates are ``Decimal`` so the boundaries (exactly 5 %, exactly 20 %)
are exact; convert floats from ingestion with ``Decimal(str(x))``. Each rule's
detail is its facts (``monitor.alert_text``), worded per language at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ingest.consumption import TOLERANCE as DELTA_TOLERANCE
from monitor.alert_lifecycle import AlertKey, Observation, Severity
from monitor.alert_text import encode
from monitor.execution import BudgetPeriod

SILENCE_TOLERANCE = 2.0  # one missed report is tolerated, two are not
STUCK_MIN_KWH = Decimal("1")  # power drawn in the window that means the pump ran
STUCK_MIN_RUNNING = timedelta(minutes=30)  # card-session time in the window, likewise
CAPACITY_TOLERANCE = Decimal(str(DELTA_TOLERANCE))
CARD_METER_TOLERANCE = Decimal("0.05")
CLOCK_SKEW = timedelta(minutes=5)
OVER_QUOTA = Decimal("0.20")
OFF_SAME_PERIOD = Decimal("0.30")


def _obs(subject: str, kind: str, period: BudgetPeriod, at: datetime, active: bool,
         detail: str, severity: Severity = Severity.WARNING) -> Observation:
    return Observation(AlertKey(subject, kind, period), at, active, severity, detail)


def meter_silent(*, meter_id: str, period: BudgetPeriod, at: datetime, last_seen_at: datetime,
                 expected_interval: timedelta,
                 tolerance: float = SILENCE_TOLERANCE) -> Observation:
    """``at`` is the data time of the sweep (e.g. the latest receive time of any reading)."""
    silence = at - last_seen_at
    active = silence > expected_interval * tolerance
    return _obs(meter_id, "meter_silent", period, at, active,
                encode({"silence_s": int(silence.total_seconds()),
                        "expected_s": int(expected_interval.total_seconds())}))


def register_stuck(*, meter_id: str, period: BudgetPeriod, window_end: datetime,
                   register_delta_m3: Decimal, power_kwh: Decimal | None = None,
                   pump_running: timedelta = timedelta(0),
                   min_kwh: Decimal = STUCK_MIN_KWH,
                   min_running: timedelta = STUCK_MIN_RUNNING) -> Observation:
    """Over one window: the register moved ``register_delta_m3`` while the pump was powered
    ``power_kwh`` and card sessions ran ``pump_running``."""
    powered = power_kwh is not None and power_kwh >= min_kwh
    carded = pump_running >= min_running
    active = register_delta_m3 <= 0 and (powered or carded)
    return _obs(meter_id, "register_stuck", period, window_end, active,
                encode({"register_delta_m3": register_delta_m3, "power_kwh": power_kwh,
                        "running_s": int(pump_running.total_seconds())}))


def flow_above_capacity(*, meter_id: str, period: BudgetPeriod, at: datetime,
                        flow_m3_per_h: Decimal, rated_m3_per_h: Decimal,
                        tolerance: Decimal = CAPACITY_TOLERANCE) -> Observation:
    active = flow_m3_per_h > rated_m3_per_h * tolerance
    return _obs(meter_id, "flow_above_capacity", period, at, active,
                encode({"flow_m3_per_h": flow_m3_per_h, "rated_m3_per_h": rated_m3_per_h}))


def card_meter_mismatch(*, well_id: str, period: BudgetPeriod, at: datetime, card_m3: Decimal,
                        meter_m3: Decimal,
                        tolerance: Decimal = CARD_METER_TOLERANCE) -> Observation:
    """Card sessions and the meter of one well over the same span."""
    gap = abs(card_m3 - meter_m3)
    active = gap > 0 if meter_m3 == 0 else gap > meter_m3 * tolerance
    return _obs(well_id, "card_meter_mismatch", period, at, active,
                encode({"card_m3": card_m3, "meter_m3": meter_m3}))


@dataclass(frozen=True, slots=True)
class ClockSample:
    device_time: datetime  # the reading's own time stamp
    received_at: datetime  # when the ingestor received it
    backfill: bool = False  # part of a buffered batch after an outage


def clock_skew(*, device_id: str, period: BudgetPeriod, samples: Sequence[ClockSample],
               threshold: timedelta = CLOCK_SKEW) -> Observation | None:
    """Skew from recent samples; ``None`` without any. Network delay only adds lag, so the
    smallest lag of the live (non-backfill) samples estimates the clock offset; a device
    time ahead of its receive time is skew whatever the sample."""
    if not samples:
        return None
    at = max(s.received_at for s in samples)
    ahead = max(s.device_time - s.received_at for s in samples)
    lags = [s.received_at - s.device_time for s in samples if not s.backfill]
    behind = min(lags) if lags else timedelta(0)
    active = ahead > threshold or behind > threshold
    return _obs(device_id, "clock_skew", period, at, active,
                encode({"ahead_s": int(ahead.total_seconds()),
                        "lag_s": int(behind.total_seconds())}))


def quarantined_use(*, meter_id: str, period: BudgetPeriod, at: datetime,
                    reasons: Sequence[str]) -> Observation:
    """Intervals ingestion did not count (``negative_delta``, ``impossible_delta``, …)."""
    counts = {r: reasons.count(r) for r in sorted(set(reasons))}
    return _obs(meter_id, "quarantined_use", period, at, bool(reasons),
                encode({"reasons": counts}))


def over_quota(*, subject: str, period: BudgetPeriod, at: datetime, use_m3: Decimal,
               quota_m3: Decimal, tolerance: Decimal = OVER_QUOTA) -> Observation:
    """宁夏 8.2 a): more than 20 % over quota (exactly 20 % is not yet an anomaly)."""
    active = use_m3 > quota_m3 * (1 + tolerance)
    return _obs(subject, "over_quota", period, at, active,
                encode({"use_m3": use_m3, "quota_m3": quota_m3}))


def off_same_period(*, subject: str, period: BudgetPeriod, at: datetime, use_m3: Decimal,
                    past_m3: Sequence[Decimal],
                    threshold: Decimal = OFF_SAME_PERIOD) -> Observation | None:
    """宁夏 8.2 a): 30 % or more off the mean of the same period of past years.
    ``None`` without history to compare with."""
    if not past_m3:
        return None
    baseline = sum(past_m3, Decimal(0)) / len(past_m3)
    gap = abs(use_m3 - baseline)
    active = gap > 0 if baseline == 0 else gap >= baseline * threshold
    return _obs(subject, "off_same_period", period, at, active,
                encode({"use_m3": use_m3, "past_m3": baseline.quantize(Decimal("0.001"))}))
