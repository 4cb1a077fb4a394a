"""SZY206-2016 application layer: checked frames -> the same typed readings as JSON.

Pure code. The frame layer (:mod:`ingest.szy206_frame`) has already checked
start, length, end and check bytes; this module reads the user data of the
uplink frames that matter and raises :class:`ingest.contract.PayloadError`
(reason code + detail) for anything it cannot read. An unreadable value is
never turned into 0.

Uplink frames decoded (SZY206-2016 §6, application functions, AFN):

* 02H link check: one byte F0H log-in, F1H log-out, F2H keep-alive, optionally
  followed by a time label -> :class:`DeviceStatus` (online True/False);
* C0H self-reported real-time data and B0H replies to a real-time query:
  ``values | alarm word (2) | terminal-state word (2) | time label Tp (5)``.
  The control byte's parameter code says what the values are:

  ===  =================  ====================================================
  2    water level        4-byte signed BCD per point, 3 decimals, m
  3    flow / volume      per point: flow 5-byte signed BCD, 3 decimals, and
                          cumulative volume 5-byte signed BCD, integer m³
  5    gate position      3-byte BCD per point, 2 decimals, gate opening in m
  6    power              3-byte BCD per point, integer, read as the
                          cumulative electric-energy register in kWh
  13   alarm / state      no values, the two words only
  14   comprehensive      a bitmap byte, then one value per flagged parameter
  ===  =================  ====================================================

Multi-byte values are least significant byte first; the sign of a signed
field is the high nibble of its most significant byte.

Where the standard (or the public material about it) is ambiguous, we chose:

* flow unit: the standard gives instantaneous flow in m³/s; the public codec
  note in the reference labels frame 1's ``5.900`` as m³/h. The digits agree;
  we follow the standard and convert to ``flow_m3h`` with
  :data:`FLOW_M3H_PER_UNIT` (3600). A site whose terminal sends m³/h needs a
  different factor: pass ``flow_m3h_per_unit=1.0``.
* parameter code 6 is named 功率 (power). Terminals used for power-to-water
  metering report the cumulative energy register there; we read it as kWh
  and emit a POWER register reading. A terminal that reports instantaneous kW
  under code 6 must not be configured as a power-to-water source.
* sign nibble: 0H is positive, 8H or FH negative, anything else is non-BCD.
* alarm and state words are read least significant byte first (frame 1 then
  reads "AC power failure" together with "running on battery", which fits).
* comprehensive (14) bitmap, bit D0 up: rainfall (3 bytes), water level (4),
  flow/volume (10), gate position (3), wind (3), power (3), soil moisture (2),
  water quality (variable: not supported). One point per flagged parameter.
* gate position (闸位, code 5) is read as the gate opening in m with 2
  decimals (0000.00–9999.99); a terminal that reports it in another unit
  must not be used for gate discharge.
* an all-AAH value area means "nothing valid to report" -> invalid_value,
  whatever its length (reference frame 2 sends a single 5-byte marker). Any
  AAH byte inside a value field -> invalid_value, except the instantaneous
  flow beside a valid volume, which becomes ``flow_m3h=None``.
* device id: the address is A1 (3-byte BCD administrative division code, in
  transmission order, e.g. ``53 03 81`` -> 530381) and A2 (2-byte binary
  terminal number, low byte first). ``device_id = f"{A1}-{A2:05d}"``, e.g.
  ``530381-00013``. Point k ≥ 2 of a multi-point terminal gets ``":k"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import NamedTuple

from ingest.contract import (
    DEFAULT_MAX_FUTURE,
    Channel,
    DeviceStatus,
    PayloadError,
    RegisterReading,
)
from ingest.szy206_frame import (
    AFN_LINK_CHECK,
    AFN_QUERY_REPLY,
    AFN_SELF_REPORT,
    CODE_MASK,
    DIR_UPLINK,
    Frame,
)

# Terminals keep Beijing time. China has had no daylight saving since 1991, so
# a fixed UTC+8 offset is exact for any frame we can receive, and much cheaper
# than a ZoneInfo conversion per frame.
SITE_TZ = timezone(timedelta(hours=8), "CST")
FLOW_M3H_PER_UNIT = 3600.0  # the standard's m³/s -> m³/h

CODE_WATER_LEVEL = 2
CODE_FLOW = 3
CODE_GATE = 5
CODE_POWER = 6
CODE_ALARM_STATE = 13
CODE_COMPREHENSIVE = 14
KNOWN_UNSUPPORTED = {1: "rainfall", 4: "velocity", 7: "air pressure",
                     8: "wind", 9: "water temperature", 10: "water quality",
                     11: "soil moisture", 12: "evaporation", 15: "water pressure"}

LINK_FUNCTIONS = {0xF0: True, 0xF1: False, 0xF2: True}  # log-in, log-out, keep-alive -> online
WORDS_AND_TP = 9  # alarm word 2 + state word 2 + Tp 5

ALARM_BITS = ("ac_power_failure", "battery_voltage", "water_level_limit", "flow_limit",
              "water_quality_limit", "flow_meter_fault", "pump_state",
              "water_level_meter_fault", "water_pressure_limit", "spare_9", "ic_card",
              "fixed_value_control", "remaining_water_low", "box_door", "spare_14", "spare_15")

# BCD byte -> 0..99, or -1 when either nibble is above 9.
_BCD = tuple((b >> 4) * 10 + (b & 15) if b >> 4 < 10 and b & 15 < 10 else -1 for b in range(256))

_POINT_SIZE = {CODE_WATER_LEVEL: 4, CODE_FLOW: 10, CODE_GATE: 3, CODE_POWER: 3}

# comprehensive bitmap: bit -> (byte count, parameter code or None to skip)
_COMPREHENSIVE = ((3, None), (4, CODE_WATER_LEVEL), (10, CODE_FLOW), (3, CODE_GATE),
                  (3, None), (3, CODE_POWER), (2, None))


@dataclass(frozen=True, slots=True)
class LevelReading:
    """A water level in m: point k of a terminal (1 = the first)."""

    device_id: str
    ts: datetime
    level_m: float
    point: int = 1


@dataclass(frozen=True, slots=True)
class GateOpeningReading:
    """A gate opening in m (gate position, code 5)."""

    device_id: str
    ts: datetime
    opening_m: float


def alarm_names(alarm_word: int) -> tuple[str, ...]:
    """The alarms set in an alarm word (bit 0 up, see :data:`ALARM_BITS`)."""
    return tuple(name for bit, name in enumerate(ALARM_BITS) if alarm_word >> bit & 1)


def work_mode(state_word: int) -> int:
    """D1–D0 of the terminal-state word: 0 self-report, 1 self-report with
    confirmation, 2 polled, 3 maintenance."""
    return state_word & 3


def on_battery(state_word: int) -> bool:
    """D6 of the terminal-state word: 1 = running on its battery."""
    return bool(state_word >> 6 & 1)


class Decoded(NamedTuple):  # a named tuple: one per frame on the hot path
    device_id: str
    afn: int
    ts: datetime  # from the time label, or the receive time when the frame has none
    readings: tuple[RegisterReading | DeviceStatus, ...]
    levels: tuple[LevelReading, ...] = ()
    openings: tuple[GateOpeningReading, ...] = ()
    alarm_word: int | None = None
    state_word: int | None = None


@lru_cache(maxsize=65_536)
def device_id(address: bytes) -> str:
    """5-byte address -> ``"{A1 six digits}-{A2 five digits}"``."""
    a1 = address[:3].hex()
    if not a1.isdigit():
        raise PayloadError("bad_address", f"A1 {address[:3].hex(' ')} is not BCD")
    return f"{a1}-{int.from_bytes(address[3:5], 'little'):05d}"


def bcd_value(field: bytes, decimals: int, signed: bool, what: str) -> float:
    """Least-significant-byte-first BCD -> number, or PayloadError."""
    if 0xAA in field:
        raise PayloadError("invalid_value", f"{what} {field.hex(' ')} is marked invalid (AAH)")
    digits = field[::-1].hex()
    negative = False
    if signed:
        head = digits[0]
        if head == "8" or head == "f":
            negative = True
        elif head != "0":
            raise PayloadError("non_bcd", f"{what} {field.hex(' ')}: bad sign nibble {head}")
        digits = digits[1:]
    if not digits.isdigit():
        raise PayloadError("non_bcd", f"{what} {field.hex(' ')} has non-BCD digits")
    number = int(digits)
    if negative:
        number = -number
    return number / _SCALE[decimals] if decimals else float(number)


_SCALE = (1, 10, 100, 1000)


@lru_cache(maxsize=64)
def _calendar(received_at: datetime, tz: tzinfo,
              max_future: timedelta) -> tuple[datetime, int, int, int]:
    """Latest acceptable time, year, month and day of the receive time in ``tz``.

    Cached: every frame of a batch shares one receive time.
    """
    local = received_at.astimezone(tz)
    return local + max_future, local.year, local.month, local.day


def label_time(tp: bytes, *, received_at: datetime, tz: tzinfo = SITE_TZ,
               max_future: timedelta = DEFAULT_MAX_FUTURE) -> datetime:
    """Time label Tp (second, minute, hour, day BCD; delay byte) -> aware datetime.

    The label has no month or year (SZY206-2016 §6, time label Tp). We take
    the latest of next/this/previous month (in ``tz``) that has that day and
    is not later than ``received_at + max_future``. So a label "30th 23:59"
    received at 00:01 on 1 May belongs to 30 April, and "31st 23:59" received
    at 00:01 on 1 January to 31 December of the previous year; a label
    "1st 00:00:05" received at 23:59:58 on 31 March (terminal clock a little
    ahead) belongs to 1 April. A day the previous month does not have ("31st"
    received on 1 March) is rejected as bad_time, never moved two months back.
    The fifth byte, the allowed transmission delay, is not used: a late frame
    is still a valid observation (backfill after an outage).
    """
    second, minute, hour, day = _BCD[tp[0]], _BCD[tp[1]], _BCD[tp[2]], _BCD[tp[3]]
    if second < 0 or minute < 0 or hour < 0 or day < 0:
        raise PayloadError("non_bcd", f"time label {tp.hex(' ')} has non-BCD digits")
    if second > 59 or minute > 59 or hour > 23 or not 1 <= day <= 31:
        raise PayloadError("bad_time", f"time label {tp.hex(' ')} is not a time")
    limit, year, month, today = _calendar(received_at, tz, max_future)
    if day <= 28 and day >= today:  # this month (the common case), unless still ahead
        candidate = datetime(year, month, day, hour, minute, second, tzinfo=tz)
        if candidate <= limit:
            return candidate
    for step in ((1, 0, -1) if day < today else (0, -1)):
        y, m = divmod(year * 12 + month - 1 + step, 12)
        m += 1
        if day > _days_in_month(y, m):
            continue
        candidate = datetime(y, m, day, hour, minute, second, tzinfo=tz)
        if candidate <= limit:
            return candidate
    raise PayloadError("bad_time", f"day {day} {hour:02d}:{minute:02d}:{second:02d} does not "
                                   f"fit a month near {received_at.astimezone(tz).isoformat()}")


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def decode(frame: Frame, *, received_at: datetime, tz: tzinfo = SITE_TZ,
           max_future: timedelta = DEFAULT_MAX_FUTURE,
           flow_m3h_per_unit: float = FLOW_M3H_PER_UNIT) -> Decoded:
    """A checked uplink frame -> typed readings, or PayloadError."""
    if not frame.control & DIR_UPLINK:
        raise PayloadError("bad_direction", "downlink frame (DIR=0) received from a terminal")
    dev = device_id(frame.address)
    data = frame.data
    afn = frame.afn
    if afn == AFN_LINK_CHECK:
        if len(data) not in (1, 6) or data[0] not in LINK_FUNCTIONS:
            raise PayloadError("unknown_code", f"link check data {data.hex(' ')}")
        ts = (label_time(data[1:], received_at=received_at, tz=tz, max_future=max_future)
              if len(data) == 6 else received_at)
        return Decoded(dev, afn, ts, (DeviceStatus(dev, ts, LINK_FUNCTIONS[data[0]], None),))
    if afn != AFN_SELF_REPORT and afn != AFN_QUERY_REPLY:
        raise PayloadError("unknown_code", f"AFN {afn:02X}H is not decoded")
    size = len(data)
    if size < WORDS_AND_TP:
        raise PayloadError("bad_length", f"{size} data bytes, need at least {WORDS_AND_TP}")
    end = size - WORDS_AND_TP
    alarm_word = data[end] | data[end + 1] << 8
    state_word = data[end + 2] | data[end + 3] << 8
    ts = label_time(data[end + 4 :], received_at=received_at, tz=tz, max_future=max_future)
    status = DeviceStatus(dev, ts, True, alarm_word)
    code = frame.control & CODE_MASK
    if code == CODE_FLOW and end == 10:  # the common frame: one flow/volume point
        # Both fields at once, most significant digit first: volume's 10 digits, then
        # flow's. All BCD and both sign nibbles 0: read here; anything else (AAH markers,
        # non-BCD digits, negative values) goes the general way, which names the fault.
        digits = data[9::-1].hex()
        if digits.isdigit() and digits[0] == "0" and digits[10] == "0":
            flow = int(digits[11:]) / 1000 * flow_m3h_per_unit
            reading = RegisterReading(dev, Channel.FLOW, ts, float(int(digits[1:10])), flow)
        else:
            reading = _flow(data[:10], dev, ts, flow_m3h_per_unit)
        return Decoded(dev, afn, ts, (reading, status), (), (), alarm_word, state_word)
    body = data[:end]
    if body and body.count(0xAA) == end:
        raise PayloadError("invalid_value", f"value area {body.hex(' ')} is all AAH (no value)")
    points = _points(code, body)
    readings: list[RegisterReading | DeviceStatus] = []
    levels: list[LevelReading] = []
    openings: list[GateOpeningReading] = []
    for point, field_code, field in points:
        point_id = dev if point == 1 else f"{dev}:{point}"
        if field_code == CODE_FLOW:
            readings.append(_flow(field, point_id, ts, flow_m3h_per_unit))
        elif field_code == CODE_WATER_LEVEL:
            levels.append(LevelReading(dev, ts, bcd_value(field, 3, True, "water level"), point))
        elif field_code == CODE_GATE:
            openings.append(GateOpeningReading(point_id, ts,
                                               bcd_value(field, 2, False, "gate position")))
        else:
            readings.append(RegisterReading(point_id, Channel.POWER, ts,
                                            bcd_value(field, 0, False, "energy")))
    readings.append(status)
    return Decoded(dev, afn, ts, tuple(readings), tuple(levels), tuple(openings), alarm_word,
                   state_word)


def _points(code: int, body: bytes) -> list[tuple[int, int, bytes]]:
    """(point number, parameter code, value field) of each value in the frame."""
    if code == CODE_COMPREHENSIVE:
        return [(1, field_code, field) for field_code, field in _comprehensive_fields(body)]
    if code == CODE_ALARM_STATE:
        if body:
            raise PayloadError("bad_length", f"{len(body)} value bytes in an alarm/state frame")
        return []
    size = _point_size(code)
    if not body or len(body) % size:
        raise PayloadError("bad_length", f"{len(body)} value bytes for code {code}, "
                                         f"expected a multiple of {size}")
    return [(k, code, body[start : start + size])
            for k, start in enumerate(range(0, len(body), size), 1)]


def _point_size(code: int) -> int:
    size = _POINT_SIZE.get(code)
    if size is not None:
        return size
    if code in KNOWN_UNSUPPORTED:
        name = KNOWN_UNSUPPORTED[code]
        raise PayloadError("unsupported_code", f"parameter code {code} ({name}) is not decoded")
    raise PayloadError("unknown_code", f"parameter code {code} is not defined")


def _comprehensive_fields(body: bytes) -> list[tuple[int, bytes]]:
    """Bitmap byte, then one field per flagged parameter; skipped ones dropped."""
    if not body:
        raise PayloadError("bad_length", "comprehensive frame without its bitmap byte")
    bitmap, pos = body[0], 1
    if bitmap >> 7:
        raise PayloadError("unsupported_code", "water quality in a comprehensive frame")
    fields = []
    for bit, (size, code) in enumerate(_COMPREHENSIVE):
        if bitmap >> bit & 1:
            field = body[pos : pos + size]
            if len(field) < size:
                raise PayloadError("bad_length", "comprehensive frame shorter than its bitmap")
            if code is not None:
                fields.append((code, field))
            pos += size
    if pos != len(body):
        raise PayloadError("bad_length", f"{len(body) - pos} bytes beyond the bitmap's fields")
    return fields


def _flow(field: bytes, point_id: str, ts: datetime, m3h_per_unit: float) -> RegisterReading:
    """Instantaneous flow (5 bytes, 3 decimals) and cumulative volume (5 bytes, m³)."""
    volume = bcd_value(field[5:], 0, True, "volume")
    if volume < 0:
        raise PayloadError("absurd_value", f"negative cumulative volume {volume:g}")
    flow_field = field[:5]
    if 0xAA in flow_field:  # an invalid flow beside a valid volume: the volume still counts
        return RegisterReading(point_id, Channel.FLOW, ts, volume, None)
    flow = bcd_value(flow_field, 3, True, "flow")
    if flow < 0:
        raise PayloadError("absurd_value", f"negative flow {flow}")
    return RegisterReading(point_id, Channel.FLOW, ts, volume, flow * m3h_per_unit)
