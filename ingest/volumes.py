"""Intervals and card sessions -> consumption rows with their method. Pure code.

Methods (domain brief): ``measured`` (flow meter), ``converted`` (kWh × the
site's power-to-water coefficient valid at the interval's end), ``card``
(reported by an IC-card controller), ``estimated`` and ``computed`` (canal
gates). A converted interval with no coefficient on record is quarantined as
``no_coefficient`` and counted once a coefficient covering it is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from ingest.consumption import Interval, RegisterSpec, coefficient_at, plausible
from ingest.contract import CardSession
from ingest.registry import Meter


class IntervalFigures(NamedTuple):
    """The figures of the register interval ending at a reading, stored on that reading's row
    (``register_readings``, migration 100), in the column order of ``INTERVAL_COLUMNS``."""

    ts_start: datetime
    site_id: str
    method: str  # measured | converted
    status: str  # counted | quarantined
    quality: str | None
    register_delta: float
    kwh: float | None
    coefficient: float | None
    volume_m3: float


INTERVAL_COLUMNS = IntervalFigures._fields


class ConsumptionRow(NamedTuple):  # fields in the consumption COPY's column order
    meter_id: str
    ts_end: datetime
    ts_start: datetime
    site_id: str
    method: str
    status: str  # counted | quarantined
    quality: str | None
    register_delta: float | None
    kwh: float | None
    coefficient: float | None
    volume_m3: float
    session_id: str = ""  # card sessions only


def interval_figures(meter: Meter, interval: Interval,
                     coefficients: Sequence[tuple[datetime, float]]) -> IntervalFigures:
    """A flow meter's interval is measured m³; a power meter's is kWh converted."""
    if meter.channel == "flow":
        if interval.counted:
            return IntervalFigures(interval.ts_start, meter.site_id, "measured", "counted",
                                   interval.quality, interval.delta, None, None, interval.delta)
        return IntervalFigures(interval.ts_start, meter.site_id, "measured", "quarantined",
                               interval.quality, interval.delta, None, None, 0.0)
    row = converted_row(meter.meter_id, meter.site_id, interval.ts_start, interval.ts_end,
                        interval.delta, interval.counted, interval.quality, coefficients,
                        register_delta=interval.delta, method="converted")
    return IntervalFigures(row.ts_start, row.site_id, row.method, row.status, row.quality,
                           interval.delta, row.kwh, row.coefficient, row.volume_m3)


def converted_row(meter_id: str, site_id: str, ts_start: datetime, ts_end: datetime, kwh: float,
                  counted: bool, quality: str | None,
                  coefficients: Sequence[tuple[datetime, float]], *,
                  register_delta: float | None, method: str) -> ConsumptionRow:
    coefficient = coefficient_at(coefficients, ts_end)
    if coefficient is None and counted:
        counted, quality = False, "no_coefficient"
    volume = kwh * coefficient if counted and coefficient is not None else 0.0
    return ConsumptionRow(meter_id, ts_end, ts_start, site_id, method,
                          "counted" if counted else "quarantined", quality, register_delta, kwh,
                          coefficient, volume)


def session_row(meter: Meter, session: CardSession, spec: RegisterSpec,
                coefficients: Sequence[tuple[datetime, float]],
                rated_m3h: float | None) -> ConsumptionRow:
    """A card session's volume: as reported, else its kWh converted."""
    return _session_volume(meter, session, spec, coefficients, rated_m3h)._replace(
        session_id=session.session_id)


def _session_volume(meter: Meter, session: CardSession, spec: RegisterSpec,
                    coefficients: Sequence[tuple[datetime, float]],
                    rated_m3h: float | None) -> ConsumptionRow:
    hours = (session.ended_at - session.started_at).total_seconds() / 3600
    if session.volume_m3 is not None:
        check = RegisterSpec(None, 1.0, rated_m3h)
        ok = plausible(session.volume_m3, hours, check)
        return ConsumptionRow(meter.meter_id, session.ended_at, session.started_at,
                              meter.site_id, "card", "counted" if ok else "quarantined",
                              None if ok else "impossible_delta", None, session.kwh, None,
                              session.volume_m3 if ok else 0.0)
    kwh = session.kwh or 0.0
    ok = plausible(kwh, hours, spec)
    return converted_row(meter.meter_id, meter.site_id, session.started_at, session.ended_at, kwh,
                         ok, None if ok else "impossible_delta", coefficients,
                         register_delta=None, method="card")
