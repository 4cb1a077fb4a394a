"""Property-based fuzzing of every JSON channel's parser and of the whole batch path.

The property (issue 11): whatever arrives — arbitrary JSON-ish documents, lone
surrogates, NUL, nesting thousands deep, integers of hundreds of digits,
subnormal and huge floats, NaN/Infinity, arbitrary bytes — every message, and
every element of an array, ends either as rows or as a dead letter with a
reason; no exception escapes, no rule is left to the safety net
(``parse_failed``), and every row produced is storable (text without NUL or
lone surrogates, finite numbers). The SZY206 frame parser has its own fuzzing.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.batch import IngestBatch, ReceivedMessage
from ingest.contract import (
    MAX_ELEMENTS,
    CardSession,
    Channel,
    DeviceStatus,
    RegisterReading,
    Topic,
    parse_message,
)
from ingest.field_messages import build_batch_with_field_messages
from ingest.gate_contract import parse_gate_message
from ingest.registry import Meter, Registry, Site
from ingest.storable_text import escaped, text_problem

PREFIX = "wb"
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
INSTALLED = NOW - timedelta(days=400)
MAX_FUTURE = timedelta(minutes=10)
JSON_CHANNELS = ("flow", "power", "card", "status", "gate")
FIELDS = ("ts", "total_m3", "total_kwh", "flow_m3h", "session_id", "card_id", "holder", "start",
          "end", "volume_m3", "kwh", "balance_m3", "online", "alarms", "upstream_m",
          "downstream_m", "opening_m")
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def registry() -> Registry:
    sites = [Site("W1", "一号井", "well", "groundwater", rated_m3h=100.0),
             Site("G1", "一号闸", "canal_gate", "local_surface")]
    meters = [Meter("W1-F", "W1", "W1", "flow", INSTALLED),
              Meter("W1-P", "W1", "W1", "power", INSTALLED),
              Meter("W1-C", "W1", "W1", "card", INSTALLED),
              Meter("G1-gate", "G1", "G1", "gate", INSTALLED)]
    return Registry.build(sites, meters, [])


# --- what arrives ---

hostile_chars = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr),
                          st.sampled_from(["\x00", "\ufeff", "\u2028", "王"]))
texts = st.text(hostile_chars, max_size=12)
times = st.one_of(  # around now, mostly plausible, some not
    st.integers(int((NOW - timedelta(days=500)).timestamp()),
                int((NOW + timedelta(hours=1)).timestamp())),
    st.integers(int((NOW - timedelta(days=5)).timestamp()) * 1000,
                int(NOW.timestamp()) * 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 1, 1)).map(
        lambda t: t.isoformat()),
    texts)
numbers = st.one_of(
    st.integers(-10, 10**6), st.integers(), st.just(10**400), st.just(-(10**400)),
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.sampled_from([1e-320, 5e-324, 1e308, -0.0, 0.0]),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "12"]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)), max_leaves=12)


def field_value(name: str) -> st.SearchStrategy[Any]:
    if name in ("ts", "start", "end"):
        return st.one_of(times, json_values)
    if name in ("session_id", "card_id", "holder"):
        return st.one_of(texts, st.integers(), json_values)
    return st.one_of(numbers, json_values)


@st.composite
def plausible(draw: st.DrawFn) -> dict[str, Any]:
    """An element every channel accepts as it is."""
    ts = draw(st.integers(int((NOW - timedelta(days=300)).timestamp()), int(NOW.timestamp())))
    value = draw(st.floats(0, 1e6))
    return {"ts": ts, "total_m3": value, "total_kwh": value, "flow_m3h": 12.5,
            "session_id": draw(st.text(max_size=8)) + "S", "card_id": "6200123400017",
            "holder": "王五", "start": ts - 600, "end": ts, "volume_m3": 1.5, "kwh": 1.0,
            "balance_m3": -3.5, "online": True, "alarms": 0, "upstream_m": 102.5,
            "downstream_m": 100.0, "opening_m": 0.5}


@st.composite
def element(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)  # not even an object
    names = draw(st.lists(st.sampled_from(FIELDS), max_size=8, unique=True))
    obj: dict[str, Any] = draw(plausible()) if draw(st.booleans()) else {}
    obj.update({name: draw(field_value(name)) for name in names[:draw(st.integers(0, 3))]}
               if obj else {name: draw(field_value(name)) for name in names})
    if draw(st.booleans()):
        obj.update(draw(st.dictionaries(texts, json_values, max_size=2)))
    return obj


def deep(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@st.composite
def payload(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["object", "array", "array", "bytes", "deep", "edited"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "deep":
        return deep(draw(st.integers(1, 3000)), draw(st.sampled_from(["array", "object"])))
    doc = draw(element()) if kind == "object" else draw(st.lists(element(), max_size=6))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    data = text.encode("utf-8", "surrogatepass")  # lone surrogates as (invalid) UTF-8
    if kind == "edited" and data:  # a byte cut, doubled or flipped
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.binary(max_size=3)) + data[at + 1:]
    return data


# --- the properties ---

def expected_outcomes(data: bytes) -> int:
    """Rows plus dead letters a message must end as: one per element of a readable array."""
    try:
        doc = json.loads(data)
    except (RecursionError, ValueError):
        return 1
    if isinstance(doc, list) and 0 < len(doc) <= MAX_ELEMENTS:
        return len(doc)
    return 1


def assert_storable_text(*values: str | None) -> None:
    for value in values:
        assert value is None or text_problem(value) is None, repr(value)


def assert_storable_reading(reading: Any) -> None:
    if isinstance(reading, RegisterReading):
        assert math.isfinite(reading.value)
        assert reading.flow_m3h is None or math.isfinite(reading.flow_m3h)
    elif isinstance(reading, CardSession):
        assert_storable_text(reading.session_id, reading.card_id, reading.holder)
        for number in (reading.volume_m3, reading.kwh, reading.balance_m3):
            assert number is None or math.isfinite(number)
    else:
        assert isinstance(reading, DeviceStatus)
        assert reading.alarms is None or 0 <= reading.alarms < 2**31


@FUZZ
@given(channel=st.sampled_from(["flow", "power", "card", "status"]), data=payload())
def test_every_register_card_status_message_ends_as_readings_or_rejections(
        channel: str, data: bytes) -> None:
    parsed = parse_message(Topic("W1", Channel(channel)), data, tz=ZONE, now=NOW,
                           max_future=MAX_FUTURE)
    assert len(parsed.readings) + len(parsed.rejections) == expected_outcomes(data)
    for reading in parsed.readings:
        assert_storable_reading(reading)
    for rejection, raw in parsed.rejections:
        assert rejection.reason
        assert rejection.detail
        assert_storable_text(escaped(rejection.detail))
        assert isinstance(raw, bytes)


@FUZZ
@given(data=payload())
def test_every_gate_message_ends_as_reports_or_rejections(data: bytes) -> None:
    parsed = parse_gate_message("G1", data, tz=ZONE, now=NOW, max_future=MAX_FUTURE)
    assert len(parsed.reports) + len(parsed.rejections) == expected_outcomes(data)
    for _, report in parsed.reports:
        for value in (report.upstream_m, report.downstream_m, report.opening_m):
            assert value is None or value == 0 or 1e-6 <= abs(value) < 1e5
    for rejection, _ in parsed.rejections:
        assert rejection.reason
        assert rejection.detail


def outcomes(batch: IngestBatch) -> int:
    return batch.readings + len(batch.gates) + len(batch.dead_letters)


@st.composite
def message(draw: st.DrawFn) -> ReceivedMessage:
    device = draw(st.sampled_from(["W1", "G1", "X9"]))
    channel = draw(st.sampled_from(JSON_CHANNELS))
    return ReceivedMessage(f"{PREFIX}/{device}/{channel}", draw(payload()))


messages = st.lists(message(), min_size=1, max_size=8)


@settings(FUZZ, max_examples=100)
@given(batch_messages=messages)
def test_the_batch_path_accounts_for_every_message(batch_messages: list[ReceivedMessage]) -> None:
    """Each message on its own and all together: rows or dead letters, none by the safety net."""
    known = registry()
    batch = build_batch_with_field_messages(batch_messages, known, prefix=PREFIX,
                                            default_zone=ZONE, now=NOW, max_future=MAX_FUTURE)
    total = 0
    for one in batch_messages:
        alone = build_batch_with_field_messages([one], known, prefix=PREFIX, default_zone=ZONE,
                                                now=NOW, max_future=MAX_FUTURE)
        device_known = one.topic.split("/")[1] != "X9"
        assert outcomes(alone) == (expected_outcomes(one.payload) if device_known else 1)
        total += outcomes(alone)
    assert outcomes(batch) == total
    assert not [d for d in batch.dead_letters if d.reason == "parse_failed"], batch.dead_letters
    for session in batch.sessions:
        assert_storable_reading(session.session)
    for letter in batch.dead_letters:
        assert letter.reason
        assert letter.detail
        assert_storable_text(escaped(letter.topic), escaped(letter.detail))


def test_the_five_reproduced_triggers_are_rejections_with_reasons() -> None:
    """Issue 11's payloads: each a dead letter with its reason, built without an exception."""
    t0 = int((NOW - timedelta(hours=1)).timestamp())
    session = {"session_id": "S1", "card_id": "C1", "start": t0, "end": t0 + 60, "volume_m3": 1}
    cases = [
        ("W1/flow", b'[{"ts": "\\ud800", "total_m3": 1}]', "bad_time"),
        ("G1/gate", b'[{"ts": "\\ud800", "opening_m": 1}]', "bad_time"),
        ("W1/flow", deep(1000, "array"), "invalid_json"),
        ("W1/card", json.dumps({**session, "balance_m3": 10**400}).encode(), "absurd_value"),
        ("W1/card", json.dumps(session).replace("S1", "\\ud800").encode(), "unstorable_text"),
        ("G1/gate", b'{"ts": %d, "upstream_m": 102, "opening_m": 1e-320}' % t0, "absurd_value"),
        ("W1/card", json.dumps({**session, "holder": "a\u0000b"}).encode(), "unstorable_text"),
        ("W1/card", json.dumps(session).encode().replace(b"S1", b"\xed\xa0\x80"),
         "unstorable_text"),  # a surrogate encoded in the bytes: not UTF-8
    ]
    for topic, data, reason in cases:
        batch = build_batch_with_field_messages(
            [ReceivedMessage(f"{PREFIX}/{topic}", data)], registry(), prefix=PREFIX,
            default_zone=ZONE, now=NOW, max_future=MAX_FUTURE)
        assert batch.readings + len(batch.gates) == 0, topic
        assert [d.reason for d in batch.dead_letters] == [reason], (topic, batch.dead_letters)
        letter = batch.dead_letters[0]
        assert_storable_text(escaped(letter.detail))
        if letter.element is not None:  # an element's JSON is written with escapes: UTF-8
            letter.payload.decode("utf-8")


def test_an_exception_no_rule_foresaw_is_a_dead_letter_and_spares_the_others(
        monkeypatch: Any) -> None:
    """The safety net: a parser that raises costs only its own message (``parse_failed``)."""
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("ingest.field_messages.parse_gate_message", broken)
    t0 = int((NOW - timedelta(hours=1)).timestamp())
    good = ReceivedMessage(f"{PREFIX}/W1/flow", b'{"ts": %d, "total_m3": 5}' % t0)
    gate = ReceivedMessage(f"{PREFIX}/G1/gate", b'{"ts": %d, "opening_m": 1}' % t0)
    batch = build_batch_with_field_messages([good, gate, good], registry(), prefix=PREFIX,
                                            default_zone=ZONE, now=NOW, max_future=MAX_FUTURE)
    assert len(batch.registers) == 2
    assert [(d.topic, d.reason) for d in batch.dead_letters] == [(gate.topic, "parse_failed")]
    assert batch.dead_letters[0].detail == "ZeroDivisionError: a bug"


@FUZZ
@given(text=st.text(hostile_chars, max_size=30))
def test_escaped_text_is_always_storable_and_plain_text_unchanged(text: str) -> None:
    assert text_problem(escaped(text)) is None
    if text_problem(text) is None and "\\" not in text:
        assert escaped(text) == text
