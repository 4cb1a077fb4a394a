"""Water use from cumulative registers: the rules, as pure functions.

A meter's use over an interval is the difference of two consecutive register
readings (domain brief, "How water is metered"). The rules:

* A register that wraps at its maximum (``register_max``, the value at which it
  returns to 0) is a rollover: use = max − previous + current, counted if
  plausible.
* A negative delta that is not a rollover (a reset, a glitch) is never counted:
  the interval is quarantined with reason ``negative_delta``.
* A delta above what the pump can deliver (rated m³/h × hours × tolerance) is
  quarantined as ``impossible_delta``.
* An isolated outlier reading (anomalous against both neighbours, while the
  neighbours agree with each other) is quarantined as ``outlier_reading`` and
  the use is bridged from the reading before it to the reading after it.
* A clock jump: data time that advances more than ``CLOCK_JUMP`` (7 days) from
  one reading to the next, and that much more than the server's receive time
  (``received_at``) did. Readings later than the server's time are refused, so
  a jump shows as readings stamped far behind their receipt followed by one
  stamped near it. The interval is quarantined as ``clock_jump``, its delta
  kept; the intervals after it count as usual. A device offline for weeks
  advances both clocks together, and a backlog uploaded quickly advances its
  data time in small steps: neither is flagged.
  A lone jumped reading that the device's later readings overtake (its clock
  was set right again) sits between two readings that agree: like an outlier,
  the use is bridged from the reading before it to the reading after it.
* Meter replacements are separate meters: deltas are never taken across them.

The result depends only on the set of readings (each with the ``received_at``
stored with it), never on their arrival order: each interval is a function of
the readings within ``DEPENDS_BEFORE`` before and ``DEPENDS_AFTER`` after its
end, so new readings only change the intervals around them (``affected_span``),
and recomputing that span gives the same rows as recomputing everything.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

TOLERANCE = 1.2  # rated capacity may be exceeded by 20% before a delta is impossible
SLACK = 1.0  # one register unit of slack for resolution and rounding
ROLLOVER_ZONE = 0.1  # without a rated capacity: previous ≥ 90% of max and current ≤ 10%
DEPENDS_BEFORE = 3  # an interval depends on this many readings before its end…
DEPENDS_AFTER = 2  # …and this many after it
# Data time advancing more than this between two readings, and this much more than their
# receive times did, is a clock jump. A constant, not a setting: stored intervals are derived
# with it, and changing it would need every meter re-derived (``rederive_meter``).
CLOCK_JUMP = timedelta(days=7)


class Point(NamedTuple):  # a named tuple: built per reading on the hot path
    ts: datetime
    value: float  # raw register value
    received_at: datetime | None = None  # when the server stored it; None: no clock check


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """What the rules need to know of a meter."""

    register_max: float | None = None  # raw units; None: the register never wraps
    multiplier: float = 1.0  # raw units -> m³ (flow) or kWh (power)
    max_rate_per_h: float | None = None  # m³/h or kWh/h; None: no capacity check


class Interval(NamedTuple):  # a named tuple: built per reading on the hot path
    ts_start: datetime
    ts_end: datetime
    delta: float  # m³ or kWh the register moved (what would count), after the multiplier
    counted: bool
    quality: str | None  # None, 'rollover', 'bridged', or the quarantine reason


class Step(NamedTuple):  # a named tuple: built per reading on the hot path
    delta: float
    ok: bool
    quality: str | None


def plausible(delta: float, hours: float, spec: RegisterSpec) -> bool:
    if delta < 0:
        return False
    if spec.max_rate_per_h is None:
        return True
    return delta <= spec.max_rate_per_h * hours * TOLERANCE + SLACK * spec.multiplier


def clock_jumped(a: Point, b: Point) -> bool:
    """b's time is more than ``CLOCK_JUMP`` after a's, and that much more than its receipt."""
    data = b.ts - a.ts
    return (data > CLOCK_JUMP and a.received_at is not None and b.received_at is not None
            and data - (b.received_at - a.received_at) > CLOCK_JUMP)


def register_delta(a: Point, b: Point, spec: RegisterSpec) -> Step:
    """The use between two readings of one meter, a before b."""
    hours = (b.ts - a.ts).total_seconds() / 3600
    raw = (b.value - a.value) * spec.multiplier
    if clock_jumped(a, b):
        return Step(raw, False, "clock_jump")
    if raw >= 0:
        if plausible(raw, hours, spec):
            return Step(raw, True, None)
        return Step(raw, False, "impossible_delta")
    if spec.register_max is not None:
        wrapped = (spec.register_max - a.value + b.value) * spec.multiplier
        near_ends = (a.value >= spec.register_max * (1 - ROLLOVER_ZONE)
                     and b.value <= spec.register_max * ROLLOVER_ZONE)
        if plausible(wrapped, hours, spec) and (spec.max_rate_per_h is not None or near_ends):
            return Step(wrapped, True, "rollover")
    return Step(raw, False, "negative_delta")


def derive_intervals(points: Sequence[Point], spec: RegisterSpec) -> list[Interval]:
    """One interval per reading after the first, for readings sorted by time.

    Most series have no anomaly at all; their intervals are the plain steps,
    computed in one pass (``_plain_intervals``). Anything else takes the rules
    in full (``_intervals_with_anomalies``). tests/unit/test_consumption.py
    checks both against a plain transcription of the rules.
    """
    plain = _plain_intervals(points, spec)
    return plain if plain is not None else _intervals_with_anomalies(points, spec)


def _plain_intervals(points: Sequence[Point], spec: RegisterSpec) -> list[Interval] | None:
    """The intervals when every step is a plausible forward step within ``CLOCK_JUMP``
    (``register_delta`` with ``plausible`` inlined, the same arithmetic); None at the first
    step that is not."""
    multiplier, rate = spec.multiplier, spec.max_rate_per_h
    slack = SLACK * multiplier
    intervals = []
    a = points[0] if points else None
    for b in points[1:]:
        assert a is not None
        raw = (b.value - a.value) * multiplier
        if raw < 0:
            return None
        data = b.ts - a.ts
        if data > CLOCK_JUMP and clock_jumped(a, b):
            return None
        if rate is not None:
            hours = data.total_seconds() / 3600
            if not raw <= rate * hours * TOLERANCE + slack:
                return None
        intervals.append(Interval(a.ts, b.ts, raw, True, None))
        a = b
    return intervals


def _intervals_with_anomalies(points: Sequence[Point], spec: RegisterSpec) -> list[Interval]:
    n = len(points)
    steps = [register_delta(points[i - 1], points[i], spec) for i in range(1, n)]

    def anomalous(i: int) -> bool:  # the step ending at reading i
        return 1 <= i < n and not steps[i - 1].ok

    def candidate(i: int) -> bool:  # reading i disagrees with both neighbours, who agree
        return (1 <= i < n - 1 and anomalous(i)
                and (anomalous(i + 1) or steps[i - 1].quality == "clock_jump")
                and register_delta(points[i - 1], points[i + 1], spec).ok)

    def outlier(i: int) -> bool:  # isolated: its neighbours are not candidates themselves
        return candidate(i) and not candidate(i - 1) and not candidate(i + 1)

    intervals = []
    for i in range(1, n):
        step = steps[i - 1]
        a, b = points[i - 1], points[i]
        if outlier(i):
            intervals.append(Interval(a.ts, b.ts, step.delta, False,
                                      step.quality if step.quality == "clock_jump"
                                      else "outlier_reading"))
        elif i >= 2 and outlier(i - 1):
            bridge = register_delta(points[i - 2], b, spec)
            intervals.append(Interval(points[i - 2].ts, b.ts, bridge.delta, True, "bridged"))
        else:
            intervals.append(Interval(a.ts, b.ts, step.delta, step.ok, step.quality))
    return intervals


def affected_span(times: Sequence[datetime], new: Sequence[datetime]) -> tuple[int, int]:
    """Index range [first, last] of the readings whose interval the new readings change.

    ``times`` is the sorted union of stored and new reading times.
    """
    lo = bisect.bisect_left(times, min(new))
    hi = bisect.bisect_left(times, max(new))
    return max(1, lo - DEPENDS_AFTER), min(len(times) - 1, hi + DEPENDS_BEFORE)


def context_size() -> int:
    """How many stored readings to fetch on each side of new ones to recompute them."""
    return DEPENDS_BEFORE + DEPENDS_AFTER


def coefficient_at(versions: Sequence[tuple[datetime, float]], ts: datetime) -> float | None:
    """The power-to-water coefficient (m³/kWh) valid at ts; versions sorted by valid_from."""
    index = bisect.bisect_right([valid_from for valid_from, _ in versions], ts) - 1
    return versions[index][1] if index >= 0 else None


def recompute(points: Sequence[Point], new: Sequence[datetime],
              spec: RegisterSpec) -> list[Interval]:
    """The intervals that new readings change, and nothing else.

    ``points`` are the meter's readings around the new ones, sorted by time with
    unique times: the new readings, every stored reading between them, and at
    least ``context_size()`` stored readings on each side (fewer only where the
    meter has no more).
    """
    if not new:
        return []
    first, last = affected_span([p.ts for p in points], new)
    lo = max(0, first - DEPENDS_BEFORE)
    hi = min(len(points), last + DEPENDS_AFTER + 1)
    window = derive_intervals(points[lo:hi], spec)
    return [iv for k, iv in enumerate(window) if first <= lo + k + 1 <= last]
