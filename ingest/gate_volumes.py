"""Gate reports -> consumption intervals with method ``computed``. Pure code.

A canal gate without a flow meter reports water levels and its opening; its
discharge at each report comes from the gate rating valid at that report's time
(``ingest.gate_discharge``), and the volume of an interval between two
consecutive reports is the trapezoidal integral of the two discharges. Gaps are
explicit, never interpolated across:

* two reports further apart than ``GAP_FACTOR`` × the meter's
  ``expected_interval_s`` -> the interval is quarantined as ``gap`` (0 m³);
* a report without a discharge (no rating valid then, weir flow, level outside
  the rating table, a missing value, downstream at or above upstream) -> the
  intervals on both sides are quarantined with that regime as the reason
  (``no_parameters``, ``weir``, ``out_of_range``, ``missing_input``, ``no_head``);
* a mean discharge above the site's rated capacity (× the register rules'
  tolerance) -> ``impossible_delta``, as a meter spike would be.

Counted intervals computed without a submergence check (no downstream level)
carry the quality ``free_unchecked``. Each interval depends only on its two end
reports and the ratings valid at their times, so a new report changes the
interval ending at it and the one after it, and a new rating changes the
intervals ending at or after its ``valid_from``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from ingest.consumption import TOLERANCE
from ingest.gate_discharge import (
    METHOD,
    Discharge,
    GateObservation,
    GateVersion,
    Regime,
    discharge_series,
    integrate,
)
from ingest.registry import Meter
from ingest.volumes import ConsumptionRow

GAP_FACTOR = 3  # reports further apart than 3 × the expected interval: a gap


class GatePoint(NamedTuple):
    ts: datetime
    upstream_m: float | None
    downstream_m: float | None
    opening_m: float | None


class GateInterval(NamedTuple):
    ts_start: datetime
    ts_end: datetime
    volume_m3: float  # what would count (0 when no discharge is known)
    counted: bool
    quality: str | None


def max_gap(meter: Meter) -> timedelta:
    return timedelta(seconds=GAP_FACTOR * meter.expected_interval_s)


def _uncomputable(d1: Discharge, d2: Discharge) -> str:
    return (d2 if d2.q_m3s is None else d1).regime.value


def gate_intervals(points: Sequence[GatePoint], versions: Sequence[GateVersion], *,
                   gap: timedelta, rated_m3h: float | None) -> list[GateInterval]:
    """One interval per report after the first, for reports sorted by time."""
    observations = [GateObservation(p.ts, p.upstream_m, p.downstream_m, p.opening_m)
                    for p in points]
    series = discharge_series(observations, versions)
    intervals = []
    for (t1, d1), (t2, d2) in itertools.pairwise(series):
        seconds = (t2 - t1).total_seconds()
        volume = integrate([(t1, d1.q_m3s), (t2, d2.q_m3s)], max_gap=gap)
        if volume.gaps:
            reason = "gap" if volume.gaps[0].reason == "silence" else _uncomputable(d1, d2)
            intervals.append(GateInterval(t1, t2, 0.0, False, reason))
            continue
        if rated_m3h is not None and volume.volume_m3 > rated_m3h * seconds / 3600 * TOLERANCE:
            intervals.append(GateInterval(t1, t2, volume.volume_m3, False, "impossible_delta"))
            continue
        unchecked = Regime.FREE_UNCHECKED in (d1.regime, d2.regime)
        intervals.append(GateInterval(t1, t2, volume.volume_m3, True,
                                      "free_unchecked" if unchecked else None))
    return intervals


def gate_row(meter: Meter, interval: GateInterval) -> ConsumptionRow:
    """A quarantined interval keeps the volume it would have counted, where one is known,
    in ``register_delta`` (as register intervals keep their delta) for review."""
    if interval.counted:
        return ConsumptionRow(meter.meter_id, interval.ts_end, interval.ts_start, meter.site_id,
                              METHOD, "counted", interval.quality, None, None, None,
                              interval.volume_m3)
    return ConsumptionRow(meter.meter_id, interval.ts_end, interval.ts_start, meter.site_id,
                          METHOD, "quarantined", interval.quality,
                          interval.volume_m3 or None, None, None, 0.0)
