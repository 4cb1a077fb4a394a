"""Canal-gate reports (闸门工况) in the MQTT contract: channel ``gate``. Pure code.

Topic ``{prefix}/{device_id}/gate``; payload one JSON object or an array of them
(backfill), each ``{"ts": …, "upstream_m": …, "downstream_m": …, "opening_m": …}``:
water level above and below the gate (elevations in m, the datum of the site's
gate rating) and the gate opening in m. ``ts`` is required, and at least one of
the three values. Times follow the rest of the contract (``contract.parse_timestamp``).
Each array element is checked on its own, like the other channels; see
docs/mqtt-contract.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from ingest.contract import (
    EARLIEST,
    MAX_ELEMENTS,
    PayloadError,
    Rejection,
    element_bytes,
    load_document,
    parse_timestamp,
)
from ingest.registry import Meter

GATE_CHANNEL = "gate"
LEVEL_RANGE_M = (-1_000.0, 10_000.0)  # elevations: the Dead Sea shore to well above any canal
MAX_OPENING_M = 100.0
# no instrument resolves less: a smaller non-zero value is an encoder fault (1e-320, a
# subnormal float, made the discharge formula divide by zero)
RESOLUTION_M = 1e-6
VALUE_FIELDS = ("upstream_m", "downstream_m", "opening_m")


class GateReport(NamedTuple):
    """What a gate's instruments reported at one time; a value not reported is None."""

    device_id: str
    ts: datetime
    upstream_m: float | None
    downstream_m: float | None
    opening_m: float | None


class GateMeterReading(NamedTuple):
    """A gate report assigned to the gate meter installed on its device at its time."""

    meter: Meter
    report: GateReport


@dataclass(frozen=True, slots=True)
class ParsedGateMessage:
    reports: list[tuple[int | None, GateReport]]  # with the index in a JSON array
    rejections: list[tuple[Rejection, bytes]]


def checked_value(name: str, number: float) -> float:
    """A level or opening within its plausible range, or PayloadError ``absurd_value``."""
    low, high = (0.0, MAX_OPENING_M) if name == "opening_m" else LEVEL_RANGE_M
    if not math.isfinite(number) or not low <= number <= high:
        raise PayloadError("absurd_value", f"{name}={number!r} is outside {low:g}..{high:g} m")
    if number != 0 and abs(number) < RESOLUTION_M:
        raise PayloadError("absurd_value", f"{name}={number!r} is below any instrument's "
                                           f"resolution ({RESOLUTION_M:g} m) but not 0")
    return number


def _value(obj: dict[str, Any], name: str) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError("wrong_type", f"{name} must be a number, got {type(value).__name__}")
    try:
        return checked_value(name, float(value))
    except OverflowError:
        raise PayloadError("absurd_value", f"{name} is beyond any gate's range") from None


def parse_gate_element(device_id: str, obj: Any, *, tz: ZoneInfo, now: datetime,
                       max_future: timedelta) -> GateReport:
    """One JSON object -> GateReport, or PayloadError."""
    if not isinstance(obj, dict):
        raise PayloadError("wrong_type", f"expected a JSON object, got {type(obj).__name__}")
    if obj.get("ts") is None:
        raise PayloadError("missing_field", "ts is required")
    ts = parse_timestamp(obj["ts"], "ts", tz)
    if ts > now + max_future:
        raise PayloadError("future_time", f"ts={ts.isoformat()} is ahead of {now.isoformat()}")
    if ts < EARLIEST:
        raise PayloadError("bad_time", f"ts={ts.isoformat()} is before {EARLIEST.year}")
    upstream, downstream, opening = (_value(obj, name) for name in VALUE_FIELDS)
    if upstream is None and downstream is None and opening is None:
        raise PayloadError("missing_field", "a gate report needs upstream_m, downstream_m "
                                            "or opening_m")
    return GateReport(device_id, ts, upstream, downstream, opening)


def parse_gate_message(device_id: str, payload: bytes, *, tz: ZoneInfo, now: datetime,
                       max_future: timedelta) -> ParsedGateMessage:
    """A whole ``gate`` payload -> accepted reports and per-element rejections."""
    try:
        doc = load_document(payload)
    except PayloadError as exc:
        return ParsedGateMessage([], [(Rejection(exc.reason, exc.detail), payload)])
    is_array = isinstance(doc, list)
    elements = doc if is_array else [doc]
    if is_array and not elements:
        return ParsedGateMessage([], [(Rejection("empty_batch", "empty JSON array"), payload)])
    if len(elements) > MAX_ELEMENTS:
        return ParsedGateMessage([], [(Rejection("too_large",
                                                 f"more than {MAX_ELEMENTS} elements"), payload)])
    reports: list[tuple[int | None, GateReport]] = []
    rejections: list[tuple[Rejection, bytes]] = []
    for index, element in enumerate(elements):
        where = index if is_array else None
        try:
            reports.append((where, parse_gate_element(device_id, element, tz=tz, now=now,
                                                      max_future=max_future)))
        except PayloadError as exc:
            raw = element_bytes(element, payload) if where is not None else payload
            rejections.append((Rejection(exc.reason, exc.detail, where), raw))
    return ParsedGateMessage(reports, rejections)
