"""Runs of register readings as numpy columns: the fast path for batched messages. Pure code.

A message of many readings from one meter (a data logger's upload, a
gateway's backfill after an outage) is validated as columns
(``contract.register_columns``) and kept as a ``RegisterRun``. When a meter's
readings in a batch all come after its tail (``RegisterTails``), have distinct
times, and every step from the tail on is plain — forward, within the
pump's capacity and shorter than ``consumption.CLOCK_JUMP``, the case in which
``consumption.derive_intervals`` returns the steps as they are — their
intervals are array differences and their rows are encoded for binary COPY in
one go, with the same arithmetic as the scalar rules. Anything else goes the
scalar way (``batch.runs_as_readings``), which decides every other case;
tests/integration/test_register_runs.py checks that both ways store the same
rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ingest.consumption import CLOCK_JUMP, SLACK, TOLERANCE, Point, RegisterSpec, context_size
from ingest.contract import EPOCH
from ingest.registry import Meter

RUN_MIN = 16  # shorter runs cost less the scalar way
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01, PostgreSQL's binary time origin, in Unix µs
MICROSECOND = timedelta(microseconds=1)
CLOCK_JUMP_US = CLOCK_JUMP // MICROSECOND
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RegisterRun:
    """One message's register readings of one meter, as columns in message order."""

    meter: Meter
    micros: Ints  # µs since 1970-01-01 UTC
    values: Floats  # raw register
    flows: Floats  # m³/h, NaN where the reading has none

    def __len__(self) -> int:
        return len(self.micros)


def make_run(meter: Meter, micros: list[int], values: list[float],
             flows: list[float | None]) -> RegisterRun:
    return RegisterRun(meter, np.array(micros, dtype=np.int64),
                       np.array(values, dtype=np.float64),
                       np.array([np.nan if f is None else f for f in flows], dtype=np.float64))


def as_time(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class RunRows(NamedTuple):
    copy_data: bytes  # binary COPY rows for READING_COLUMNS, no signature or trailer
    rows: int
    tail: list[Point]  # the meter's last stored readings once these are committed


def plain_run_rows(meter: Meter, tail: Sequence[Point], runs: Sequence[RegisterRun],
                   spec: RegisterSpec, coefficients: Sequence[tuple[datetime, float]],
                   received: datetime) -> RunRows | None:
    """The rows of a meter's runs when they are in-order plain steps after ``tail``; else None.

    ``received``: the new readings' ``received_at``. A step of more than ``CLOCK_JUMP``
    (rare) goes the scalar way, which tells a clock jump from a long silence.
    """
    if not tail:
        return None  # the meter's first reading ends no interval: the scalar way
    micros = np.concatenate([r.micros for r in runs])
    order = np.argsort(micros, kind="stable")
    micros, values = micros[order], np.concatenate([r.values for r in runs])[order]
    flows = np.concatenate([r.flows for r in runs])[order]
    tail_us = np.array([(p.ts - EPOCH) // MICROSECOND for p in tail], dtype=np.int64)
    if micros[0] <= tail_us[-1] or (len(micros) > 1 and not (np.diff(micros) > 0).all()):
        return None  # late or repeated readings
    all_us = np.concatenate([tail_us, micros])
    if (np.diff(all_us[len(tail) - 1:]) > CLOCK_JUMP_US).any():
        return None
    all_values = np.concatenate([np.array([p.value for p in tail]), values])
    raw = (all_values[1:] - all_values[:-1]) * spec.multiplier
    if (raw < 0).any():
        return None
    if spec.max_rate_per_h is not None:
        hours = (all_us[1:] - all_us[:-1]) / 1e6 / 3600
        if not (raw <= spec.max_rate_per_h * hours * TOLERANCE + SLACK * spec.multiplier).all():
            return None
    deltas = raw[len(tail) - 1:]  # the steps ending at the new readings
    starts = all_us[len(tail) - 1:-1]
    coefficient: Floats | None = None
    if meter.channel == "power":
        if not coefficients:
            return None
        valid = np.array([(t - EPOCH) // MICROSECOND for t, _ in coefficients], dtype=np.int64)
        index = np.searchsorted(valid, micros, side="right") - 1
        if (index < 0).any():
            return None  # no coefficient yet: quarantined the scalar way
        coefficient = np.array([c for _, c in coefficients], dtype=np.float64)[index]
    data = _encode(meter, micros, values, flows, starts, deltas, coefficient)
    k = context_size()
    last = [*tail[-k:], *(Point(as_time(int(us)), float(v), received)
                          for us, v in zip(micros[-k:], values[-k:], strict=True))][-k:]
    return RunRows(data, len(micros), last)


def _encode(meter: Meter, micros: Ints, values: Floats, flows: Floats, starts: Ints,
            deltas: Floats, coefficient: Floats | None) -> bytes:
    """Binary COPY rows: per row a field count, then per field its length (-1: NULL) and
    value, big-endian; texts are the UTF-8 bytes, times µs since 2000-01-01."""
    meter_id, site_id = meter.meter_id.encode(), meter.site_id.encode()
    method = b"converted" if coefficient is not None else b"measured"
    has_flow = ~np.isnan(flows)
    parts = []
    for with_flow in (False, True):
        pick = has_flow if with_flow else ~has_flow
        n = int(pick.sum())
        if not n:
            continue
        fields: list[tuple[str, str, object]] = [
            ("count", ">i2", 13),
            ("meter_id", f"S{len(meter_id)}", meter_id),
            ("ts", ">i8", micros[pick] - PG_EPOCH_US),
            ("value", ">f8", values[pick]),
            ("flow_m3h", ">f8", flows[pick]) if with_flow else ("flow_m3h", "", None),
            ("ts_start", ">i8", starts[pick] - PG_EPOCH_US),
            ("site_id", f"S{len(site_id)}", site_id),
            ("method", f"S{len(method)}", method),
            ("status", "S7", b"counted"),
            ("quality", "", None),
            ("register_delta", ">f8", deltas[pick]),
        ]
        if coefficient is not None:
            fields += [("kwh", ">f8", deltas[pick]), ("coefficient", ">f8", coefficient[pick]),
                       ("volume_m3", ">f8", deltas[pick] * coefficient[pick])]
        else:
            fields += [("kwh", "", None), ("coefficient", "", None),
                       ("volume_m3", ">f8", deltas[pick])]
        parts.append(_rows(n, fields))
    return b"".join(parts)


def _rows(n: int, fields: list[tuple[str, str, object]]) -> bytes:
    layout: list[tuple[str, str]] = []
    for name, kind, _ in fields:
        if name != "count":
            layout.append((f"{name}_length", ">i4"))
        if kind:
            layout.append((name, kind))
    rows = np.zeros(n, dtype=np.dtype(layout, align=False))
    for name, kind, value in fields:
        if name == "count":
            rows[name] = value
            continue
        if not kind:
            rows[f"{name}_length"] = -1
            continue
        rows[f"{name}_length"] = np.dtype(kind).itemsize
        rows[name] = value
    return rows.tobytes()
