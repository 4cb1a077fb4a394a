"""The MQTT contract: topic and JSON payload -> typed readings, or a rejection.

Pure code: no broker, no database. See docs/mqtt-contract.md for the contract
as devices and gateways see it.

Topic: ``{prefix}/{device_id}/{channel}`` where channel is one of
``flow`` (flow-meter register), ``power`` (electricity-meter register),
``card`` (IC-card pump session) or ``status`` (online/offline, alarm bits).
A payload is one JSON object or a JSON array of objects (backfill after an
outage). Each element is parsed on its own: good elements go through, bad ones
are rejected with their index and a reason, so one bad element never drops its
neighbours and never stops the message.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson

from ingest.iso_times import iso_datetime, iso_micros
from ingest.storable_text import encoded, text_problem

CHANNELS = ("flow", "power", "card", "status")
MAX_ELEMENTS = 10_000
MAX_REGISTER = 1e12  # m³ or kWh; anything larger is not a meter register
MAX_SESSION = timedelta(days=7)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_MAX_FUTURE = timedelta(minutes=10)


class Channel(StrEnum):
    FLOW = "flow"
    POWER = "power"
    CARD = "card"
    STATUS = "status"


class RegisterReading(NamedTuple):
    """A cumulative register value: m³ for a flow meter, kWh for a power meter.

    A named tuple, not a frozen dataclass: one is built per reading on the hot path.
    """

    device_id: str
    channel: Channel  # FLOW or POWER
    ts: datetime  # aware
    value: float
    flow_m3h: float | None = None


@dataclass(frozen=True, slots=True)
class CardSession:
    """One pumping session reported by an IC-card pump controller."""

    device_id: str
    session_id: str
    card_id: str
    holder: str | None
    started_at: datetime
    ended_at: datetime
    volume_m3: float | None
    kwh: float | None
    balance_m3: float | None


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    device_id: str
    ts: datetime
    online: bool | None
    alarms: int | None


Reading = RegisterReading | CardSession | DeviceStatus


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message, or one element of it, was not accepted."""

    reason: str  # short code, used as a metrics label
    detail: str
    element: int | None = None  # index in a JSON array, None for the whole message


@dataclass(frozen=True, slots=True)
class Topic:
    device_id: str
    channel: Channel


class PayloadError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_topic(topic: str, prefix: str) -> Topic:
    """``{prefix}/{device_id}/{channel}`` -> Topic, or PayloadError."""
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        raise PayloadError("bad_topic", f"topic {topic!r} is not under {prefix!r}")
    parts = topic[len(head) :].split("/")
    if len(parts) != 2 or not parts[0]:
        raise PayloadError("bad_topic", f"topic {topic!r} is not {prefix}/<device>/<channel>")
    device_id, channel = parts
    if channel not in CHANNELS:
        raise PayloadError("bad_topic", f"unknown channel {channel!r} (expected one of {CHANNELS})")
    return Topic(device_id, Channel(channel))


def parse_timestamp(value: Any, field: str, tz: ZoneInfo) -> datetime:
    """Epoch seconds (or milliseconds above 1e11), or ISO 8601.

    ISO times without an offset are read in ``tz``, the site's time zone.
    """
    if isinstance(value, bool):
        raise PayloadError("wrong_type", f"{field} must be a time, got a boolean")
    if isinstance(value, int | float):
        try:
            if not math.isfinite(value):
                raise PayloadError("bad_time", f"{field} is not finite")
            seconds = value / 1000 if abs(value) > 1e11 else value
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise PayloadError("bad_time", f"{field}={str(value)[:40]}: {exc}") from None
    if isinstance(value, str):
        try:
            return iso_datetime(value, tz)
        except ValueError:
            raise PayloadError("bad_time", f"{field}={value!r} is not ISO 8601") from None
    raise PayloadError("wrong_type", f"{field} must be epoch seconds or ISO 8601 text")


def _number(obj: dict[str, Any], field: str, *, required: bool) -> float | None:
    value = obj.get(field)
    if value is None:
        if required:
            raise PayloadError("missing_field", f"{field} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError("wrong_type", f"{field} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise PayloadError("absurd_value", f"{field} is beyond any meter's range") from None
    if not math.isfinite(number) or number < 0 or number > MAX_REGISTER:
        raise PayloadError("absurd_value", f"{field}={value!r} is outside 0..{MAX_REGISTER:g}")
    return number


def _text(obj: dict[str, Any], field: str, *, required: bool) -> str | None:
    value = obj.get(field)
    if value is None:
        if required:
            raise PayloadError("missing_field", f"{field} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError("wrong_type", f"{field} must be text, got {type(value).__name__}")
    text = str(value).strip()
    if not text or len(text) > 200:
        raise PayloadError("absurd_value", f"{field} must be 1..200 characters")
    problem = text_problem(text)
    if problem is not None:
        raise PayloadError("unstorable_text", f"{field} {problem}")
    return text


def _time(obj: dict[str, Any], field: str, tz: ZoneInfo, now: datetime, max_future: timedelta,
          *, required: bool = True) -> datetime | None:
    value = obj.get(field)
    if value is None:
        if required:
            raise PayloadError("missing_field", f"{field} is required")
        return None
    ts = parse_timestamp(value, field, tz)
    if ts > now + max_future:
        raise PayloadError("future_time", f"{field}={ts.isoformat()} is ahead of {now.isoformat()}")
    if ts < EARLIEST:
        raise PayloadError("bad_time", f"{field}={ts.isoformat()} is before {EARLIEST.year}")
    return ts


def parse_element(topic: Topic, obj: Any, *, tz: ZoneInfo, now: datetime,
                  max_future: timedelta = DEFAULT_MAX_FUTURE) -> Reading:
    """One JSON object of a payload -> a typed reading, or PayloadError."""
    if not isinstance(obj, dict):
        raise PayloadError("wrong_type", f"expected a JSON object, got {type(obj).__name__}")
    if topic.channel in (Channel.FLOW, Channel.POWER):
        ts = _time(obj, "ts", tz, now, max_future)
        assert ts is not None
        field = "total_m3" if topic.channel is Channel.FLOW else "total_kwh"
        value = _number(obj, field, required=True)
        assert value is not None
        flow = _number(obj, "flow_m3h", required=False) if topic.channel is Channel.FLOW else None
        return RegisterReading(topic.device_id, topic.channel, ts, value, flow)
    if topic.channel is Channel.CARD:
        return _card_session(topic.device_id, obj, tz, now, max_future)
    ts = _time(obj, "ts", tz, now, max_future, required=False) or now
    online = obj.get("online")
    if online is not None and not isinstance(online, bool):
        raise PayloadError("wrong_type", "online must be true or false")
    alarms = obj.get("alarms")
    if alarms is not None and (isinstance(alarms, bool) or not isinstance(alarms, int)
                               or not 0 <= alarms < 2**31):
        raise PayloadError("wrong_type", "alarms must be a non-negative integer bit field")
    return DeviceStatus(topic.device_id, ts, online, alarms)


def _card_session(device_id: str, obj: dict[str, Any], tz: ZoneInfo, now: datetime,
                  max_future: timedelta) -> CardSession:
    session_id = _text(obj, "session_id", required=True)
    card_id = _text(obj, "card_id", required=True)
    holder = _text(obj, "holder", required=False)
    started = _time(obj, "start", tz, now, max_future)
    ended = _time(obj, "end", tz, now, max_future)
    assert session_id
    assert card_id
    assert started
    assert ended
    if ended < started:
        raise PayloadError("absurd_value", "end is before start")
    if ended - started > MAX_SESSION:
        raise PayloadError("absurd_value", f"session longer than {MAX_SESSION.days} days")
    volume = _number(obj, "volume_m3", required=False)
    kwh = _number(obj, "kwh", required=False)
    if volume is None and kwh is None:
        raise PayloadError("missing_field", "a card session needs volume_m3 or kwh")
    return CardSession(device_id, session_id, card_id, holder, started, ended, volume, kwh,
                       _balance(obj))


def _balance(obj: dict[str, Any]) -> float | None:
    """``balance_m3``: any number within ±MAX_REGISTER (a balance may be negative)."""
    balance = obj.get("balance_m3")
    if balance is None:
        return None
    if isinstance(balance, bool) or not isinstance(balance, int | float):
        raise PayloadError("wrong_type", "balance_m3 must be a number")
    try:
        number = float(balance)
    except OverflowError:
        raise PayloadError("absurd_value", "balance_m3 is beyond any card's range") from None
    if not math.isfinite(number) or abs(number) > MAX_REGISTER:
        raise PayloadError("absurd_value",
                           f"balance_m3={number!r} is outside ±{MAX_REGISTER:g}")
    return number


def load_document(payload: bytes) -> Any:
    """The JSON document of a payload; every way it can be unreadable is ``invalid_json``.

    ``json.loads`` rather than orjson: the contract's reasons for NaN, Infinity and
    numbers beyond a float (``bad_time``, ``absurd_value``) need them parsed.
    Nesting deeper than the interpreter's recursion limit is unreadable too.
    """
    try:
        return json.loads(payload)
    except RecursionError:
        raise PayloadError("invalid_json", "invalid JSON: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError("invalid_json", f"invalid JSON: {exc}") from None


def element_bytes(element: Any, payload: bytes) -> bytes:
    """A rejected array element as JSON for its dead letter; the whole payload if it has none.

    Lone surrogates are written as JSON escapes, so the bytes are always UTF-8.
    """
    try:
        return encoded(json.dumps(element, ensure_ascii=False))
    except (RecursionError, ValueError):
        return payload


class ParsedMessage(NamedTuple):  # a named tuple: one per message on the hot path
    readings: list[Reading]
    elements: list[int | None]  # each reading's index in a JSON array (None: not an array)
    rejections: list[tuple[Rejection, bytes]]  # with the raw bytes of what was rejected


class RegisterColumns(NamedTuple):
    """The readings of a plainly valid register payload, as columns."""

    micros: list[int]  # µs since 1970-01-01 UTC
    values: list[float]
    flows: list[float | None]
    is_array: bool


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST_US = (EARLIEST - EPOCH) // timedelta(microseconds=1)
_MICROSECOND = timedelta(microseconds=1)


def register_columns(topic: Topic, payload: bytes, now: datetime, max_future: timedelta,
                     tz: ZoneInfo | None = None) -> RegisterColumns | None:
    """The common register payload, when every element is plainly valid; else None.

    Only a shortcut: it accepts an element only where ``parse_element`` would
    accept it with the same result (an integer epoch ``ts`` in range — or, given
    the zone of naive times ``tz``, ISO 8601 text, ``ingest.iso_times``; a number
    within 0..MAX_REGISTER, no or a valid ``flow_m3h``), and gives up on
    anything else, so the general path below decides every other case with its
    own parser and messages. orjson is only trusted for what it accepts.
    Times are compared in whole microseconds, which is what a parsed time is.
    """
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if type(doc) is dict:
        elements: list[Any] = [doc]
        is_array = False
    elif type(doc) is list and 0 < len(doc) <= MAX_ELEMENTS:
        elements = doc
        is_array = True
    else:
        return None
    latest = (now + max_future - EPOCH) // _MICROSECOND
    flow = topic.channel is Channel.FLOW
    field = "total_m3" if flow else "total_kwh"
    micros: list[int] = []
    values: list[float] = []
    flows: list[float | None] = []
    texts: list[str] = []  # ISO 8601 times, read as one column below
    for obj in elements:
        if type(obj) is not dict:
            return None
        ts = obj.get("ts")
        value = obj.get(field)
        if type(ts) is str and tz is not None:
            texts.append(ts)
            us = 0  # the text's time, read with the others below
        elif type(ts) is int and 0 < ts < 10**14:
            us = ts * 1000 if ts > 10**11 else ts * 1_000_000  # milliseconds above 1e11
            if us > latest or us < _EARLIEST_US:
                return None
        else:
            return None
        if type(value) is int:
            value = float(value)
        if type(value) is not float or not 0.0 <= value <= MAX_REGISTER:
            return None
        rate = obj.get("flow_m3h") if flow else None
        if rate is not None:
            if type(rate) is int:
                rate = float(rate)
            if type(rate) is not float or not 0.0 <= rate <= MAX_REGISTER:
                return None
        micros.append(us)
        values.append(value)
        flows.append(rate)
    if texts and tz is not None:
        parsed = iso_micros(texts, tz)
        if parsed is None or min(parsed) < _EARLIEST_US or max(parsed) > latest:
            return None
        if len(parsed) == len(micros):
            micros = parsed
        else:  # epoch numbers and text mixed
            times = iter(parsed)
            micros = [us if us else next(times) for us in micros]
    return RegisterColumns(micros, values, flows, is_array)


def _fast_registers(topic: Topic, payload: bytes, now: datetime,
                    max_future: timedelta) -> ParsedMessage | None:
    """``register_columns`` as readings: epoch times only (a reading from ISO text keeps
    the text's offset, which dead letters about it show)."""
    columns = register_columns(topic, payload, now, max_future)
    if columns is None:
        return None
    device, channel = topic.device_id, topic.channel
    readings: list[Reading] = [
        RegisterReading(device, channel, EPOCH + timedelta(0, 0, us), value, rate)
        for us, value, rate in zip(columns.micros, columns.values, columns.flows, strict=True)]
    indices: list[int | None] = (list(range(len(readings))) if columns.is_array else [None])
    return ParsedMessage(readings, indices, [])


def parse_message(topic: Topic, payload: bytes, *, tz: ZoneInfo, now: datetime,
                  max_future: timedelta = DEFAULT_MAX_FUTURE) -> ParsedMessage:
    """A whole MQTT payload -> accepted readings and per-element rejections."""
    if topic.channel is Channel.FLOW or topic.channel is Channel.POWER:
        fast = _fast_registers(topic, payload, now, max_future)
        if fast is not None:
            return fast
    try:
        doc = load_document(payload)
    except PayloadError as exc:
        return ParsedMessage([], [], [(Rejection(exc.reason, exc.detail), payload)])
    if isinstance(doc, list):
        if not doc:
            return ParsedMessage([], [], [(Rejection("empty_batch", "empty JSON array"), payload)])
        if len(doc) > MAX_ELEMENTS:
            too_large = Rejection("too_large", f"more than {MAX_ELEMENTS} elements")
            return ParsedMessage([], [], [(too_large, payload)])
        elements = doc
    else:
        elements = [doc]
    readings: list[Reading] = []
    indices: list[int | None] = []
    rejections: list[tuple[Rejection, bytes]] = []
    for index, element in enumerate(elements):
        where = index if isinstance(doc, list) else None
        try:
            readings.append(parse_element(topic, element, tz=tz, now=now, max_future=max_future))
            indices.append(where)
        except PayloadError as exc:
            raw = element_bytes(element, payload) if where is not None else payload
            rejections.append((Rejection(exc.reason, exc.detail, where), raw))
    return ParsedMessage(readings, indices, rejections)
