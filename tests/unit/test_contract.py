"""The MQTT contract: topics and JSON payloads -> readings or rejections, without a broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ingest.contract import (
    MAX_ELEMENTS,
    CardSession,
    Channel,
    DeviceStatus,
    ParsedMessage,
    PayloadError,
    RegisterReading,
    Topic,
    parse_message,
    parse_timestamp,
    parse_topic,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
EPOCH = int(datetime(2026, 5, 1, 3, 0, tzinfo=UTC).timestamp())  # an hour before NOW
FLOW = Topic("dev-1", Channel.FLOW)
POWER = Topic("dev-1", Channel.POWER)
CARD = Topic("dev-1", Channel.CARD)
STATUS = Topic("dev-1", Channel.STATUS)


def parse(topic: Topic, payload: Any, *, raw: bool = False) -> ParsedMessage:
    data = payload if raw else json.dumps(payload).encode()
    return parse_message(topic, data, tz=SHANGHAI, now=NOW)


def reasons(parsed: ParsedMessage) -> list[tuple[str, int | None]]:
    return [(rejection.reason, rejection.element) for rejection, _ in parsed.rejections]


def only_reading(parsed: ParsedMessage) -> Any:
    assert parsed.rejections == []
    assert len(parsed.readings) == 1
    return parsed.readings[0]


# --- topics -----------------------------------------------------------------------------------

def test_topic_names_device_and_channel() -> None:
    assert parse_topic("wb/v1/dev-1/flow", "wb/v1") == Topic("dev-1", Channel.FLOW)
    assert parse_topic("wb/v1/dev-1/status", "wb/v1/") == Topic("dev-1", Channel.STATUS)


@pytest.mark.parametrize("topic", [
    "wb/v1/dev-1/pressure",  # unknown channel
    "other/dev-1/flow",  # another prefix
    "wb/v1/flow",  # no device
    "wb/v1//flow",  # empty device
    "wb/v1/site/dev-1/flow",  # too deep
])
def test_bad_topics_are_rejected(topic: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_topic(topic, "wb/v1")
    assert caught.value.reason == "bad_topic"


def test_unknown_channel_is_named() -> None:
    with pytest.raises(PayloadError, match="unknown channel 'pressure'"):
        parse_topic("wb/v1/dev-1/pressure", "wb/v1")


# --- timestamps -------------------------------------------------------------------------------

def test_epoch_seconds_and_milliseconds() -> None:
    expected = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
    assert parse_timestamp(EPOCH, "ts", SHANGHAI) == expected
    assert parse_timestamp(EPOCH * 1000, "ts", SHANGHAI) == expected
    assert parse_timestamp(EPOCH + 0.5, "ts", SHANGHAI) == expected + timedelta(seconds=0.5)
    assert parse_timestamp(EPOCH * 1000 + 250, "ts", SHANGHAI) == expected + timedelta(
        milliseconds=250)


def test_milliseconds_start_above_1e11() -> None:
    assert parse_timestamp(100_000_000_000, "ts", SHANGHAI).year == 5138  # still seconds
    assert parse_timestamp(100_000_000_001, "ts", SHANGHAI).year == 1973  # milliseconds


def test_iso_with_and_without_offset() -> None:
    expected = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
    assert parse_timestamp("2026-05-01T11:00:00+08:00", "ts", SHANGHAI) == expected
    assert parse_timestamp("2026-05-01T03:00:00Z", "ts", SHANGHAI) == expected
    assert parse_timestamp("2026-05-01T03:00:00z", "ts", SHANGHAI) == expected
    assert parse_timestamp(" 2026-05-01 11:00:00 ", "ts", SHANGHAI) == expected
    # naive: read in the given (site) zone
    naive = parse_timestamp("2026-05-01T11:00:00", "ts", SHANGHAI)
    assert naive == expected
    assert naive.utcoffset() == timedelta(hours=8)
    assert parse_timestamp("2026-05-01T11:00:00", "ts", ZoneInfo("UTC")) == expected + timedelta(
        hours=8)


@pytest.mark.parametrize(("value", "reason"), [
    ("yesterday", "bad_time"),
    ("2026-13-01T00:00:00", "bad_time"),
    (float("nan"), "bad_time"),
    (float("inf"), "bad_time"),
    (1e20, "bad_time"),  # milliseconds beyond year 9999
    (True, "wrong_type"),
    (None, "wrong_type"),
    ([EPOCH], "wrong_type"),
])
def test_bad_timestamps(value: Any, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_timestamp(value, "ts", SHANGHAI)
    assert caught.value.reason == reason
    assert "ts" in caught.value.detail


def test_future_and_too_old_times_are_rejected() -> None:
    ahead = int((NOW + timedelta(minutes=11)).timestamp())
    almost = int((NOW + timedelta(minutes=9)).timestamp())
    assert reasons(parse(FLOW, {"ts": ahead, "total_m3": 1})) == [("future_time", None)]
    assert only_reading(parse(FLOW, {"ts": almost, "total_m3": 1})).value == 1.0
    assert reasons(parse(FLOW, {"ts": "1999-12-31T23:00:00Z", "total_m3": 1})) == [
        ("bad_time", None)]
    assert reasons(parse(FLOW, {"ts": 0, "total_m3": 1})) == [("bad_time", None)]
    assert reasons(parse(FLOW, {"ts": -5, "total_m3": 1})) == [("bad_time", None)]


def test_max_future_is_configurable() -> None:
    ahead = int((NOW + timedelta(minutes=11)).timestamp())
    parsed = parse_message(FLOW, json.dumps({"ts": ahead, "total_m3": 1}).encode(), tz=SHANGHAI,
                           now=NOW, max_future=timedelta(hours=1))
    assert only_reading(parsed).ts == datetime.fromtimestamp(ahead, UTC)


# --- register readings ------------------------------------------------------------------------

def test_flow_register_with_instant_flow() -> None:
    reading = only_reading(parse(FLOW, {"ts": EPOCH, "total_m3": 1234.5, "flow_m3h": 36}))
    assert reading == RegisterReading("dev-1", Channel.FLOW,
                                      datetime.fromtimestamp(EPOCH, UTC), 1234.5, 36.0)
    assert parse(FLOW, {"ts": EPOCH, "total_m3": 7}).elements == [None]


def test_power_register_reads_total_kwh_and_ignores_flow() -> None:
    reading = only_reading(parse(POWER, {"ts": EPOCH, "total_kwh": 88, "flow_m3h": 36}))
    assert reading == RegisterReading("dev-1", Channel.POWER,
                                      datetime.fromtimestamp(EPOCH, UTC), 88.0, None)
    assert reasons(parse(POWER, {"ts": EPOCH, "total_m3": 88})) == [("missing_field", None)]


@pytest.mark.parametrize(("element", "reason"), [
    ({"total_m3": 5}, "missing_field"),
    ({"ts": EPOCH}, "missing_field"),
    ({"ts": EPOCH, "total_m3": None}, "missing_field"),
    ({"ts": EPOCH, "total_m3": "5"}, "wrong_type"),
    ({"ts": EPOCH, "total_m3": True}, "wrong_type"),  # a boolean is not a number
    ({"ts": EPOCH, "total_m3": False}, "wrong_type"),
    ({"ts": True, "total_m3": 5}, "wrong_type"),
    ({"ts": EPOCH, "total_m3": [5]}, "wrong_type"),
    ({"ts": EPOCH, "total_m3": -0.1}, "absurd_value"),
    ({"ts": EPOCH, "total_m3": 2e12}, "absurd_value"),
    ({"ts": EPOCH, "total_m3": 5, "flow_m3h": -1}, "absurd_value"),
    ({"ts": EPOCH, "total_m3": 5, "flow_m3h": "fast"}, "wrong_type"),
    ("5", "wrong_type"),
    (None, "wrong_type"),
])
def test_bad_register_elements(element: Any, reason: str) -> None:
    assert reasons(parse(FLOW, element)) == [(reason, None)]


def test_nan_and_infinity_are_rejected() -> None:
    # Python's json module accepts these non-standard tokens, so they must be checked
    for token in (b"NaN", b"Infinity", b"-Infinity"):
        payload = b'{"ts": %d, "total_m3": %s}' % (EPOCH, token)
        assert reasons(parse(FLOW, payload, raw=True)) == [("absurd_value", None)]
        payload = b'{"ts": %s, "total_m3": 5}' % token
        assert reasons(parse(FLOW, payload, raw=True)) == [("bad_time", None)]


def test_integers_beyond_float_range_are_rejected_not_raised() -> None:
    huge = b"1" + b"0" * 400
    payload = b'[{"ts": %d, "total_m3": 5}, {"ts": %d, "total_m3": %s}, {"ts": %s, "total_m3": 5}]'
    parsed = parse(FLOW, payload % (EPOCH, EPOCH, huge, huge), raw=True)
    assert len(parsed.readings) == 1
    assert reasons(parsed) == [("absurd_value", 1), ("bad_time", 2)]


# --- arrays (backfill) --------------------------------------------------------------------------

def test_an_array_keeps_the_good_elements_and_rejects_the_bad_one_with_its_index() -> None:
    elements: list[dict[str, Any]] = [{"ts": EPOCH + 60 * i, "total_m3": 100 + i}
                                      for i in range(5)]
    elements[2] = {"ts": EPOCH + 120, "total_m3": "lots"}
    parsed = parse(FLOW, elements)
    assert [r.value for r in parsed.readings if isinstance(r, RegisterReading)] == [
        100, 101, 103, 104]
    assert parsed.elements == [0, 1, 3, 4]
    assert reasons(parsed) == [("wrong_type", 2)]
    rejection, raw = parsed.rejections[0]
    assert json.loads(raw) == {"ts": EPOCH + 120, "total_m3": "lots"}  # the element, not the array
    assert "total_m3" in rejection.detail


def test_a_single_bad_object_keeps_the_whole_payload() -> None:
    payload = json.dumps({"ts": EPOCH, "total_m3": -3}).encode()
    parsed = parse(FLOW, payload, raw=True)
    assert parsed.rejections[0][1] == payload


def test_array_limits() -> None:
    assert reasons(parse(FLOW, [])) == [("empty_batch", None)]
    too_many = [{"ts": EPOCH, "total_m3": 1}] * (MAX_ELEMENTS + 1)
    assert reasons(parse(FLOW, too_many)) == [("too_large", None)]
    assert parse(FLOW, too_many).readings == []
    at_limit = [{"ts": EPOCH, "total_m3": i} for i in range(MAX_ELEMENTS)]
    assert len(parse(FLOW, at_limit).readings) == MAX_ELEMENTS


@pytest.mark.parametrize("payload", [b"{not json", b"", b"\xff\xfe{}", b'{"ts": 1,}'])
def test_invalid_json(payload: bytes) -> None:
    parsed = parse(FLOW, payload, raw=True)
    assert reasons(parsed) == [("invalid_json", None)]
    assert parsed.rejections[0][1] == payload
    assert parsed.readings == []


# --- card sessions ----------------------------------------------------------------------------

SESSION = {"session_id": "S-1", "card_id": "C-007", "holder": "王五",
           "start": "2026-05-01T09:00:00", "end": "2026-05-01T10:30:00",
           "volume_m3": 42.5, "kwh": 30, "balance_m3": 157.5}


def test_card_session() -> None:
    session = only_reading(parse(CARD, SESSION))
    assert session == CardSession("dev-1", "S-1", "C-007", "王五",
                                  datetime(2026, 5, 1, 1, 0, tzinfo=UTC),
                                  datetime(2026, 5, 1, 2, 30, tzinfo=UTC), 42.5, 30.0, 157.5)


def test_card_session_with_kwh_only_and_numeric_ids() -> None:
    element = {**SESSION, "session_id": 981, "card_id": 7, "volume_m3": None, "holder": None}
    session = only_reading(parse(CARD, element))
    assert (session.session_id, session.card_id, session.holder) == ("981", "7", None)
    assert (session.volume_m3, session.kwh) == (None, 30.0)


@pytest.mark.parametrize(("change", "reason"), [
    ({"session_id": None}, "missing_field"),
    ({"card_id": ""}, "absurd_value"),
    ({"card_id": "x" * 201}, "absurd_value"),
    ({"card_id": True}, "wrong_type"),
    ({"end": None}, "missing_field"),
    ({"end": "2026-05-01T08:59:00"}, "absurd_value"),  # before start
    ({"start": "2026-04-20T09:00:00"}, "absurd_value"),  # longer than 7 days
    ({"volume_m3": None, "kwh": None}, "missing_field"),
    ({"volume_m3": -1}, "absurd_value"),
    ({"kwh": True}, "wrong_type"),
    ({"balance_m3": "lots"}, "wrong_type"),
    ({"balance_m3": False}, "wrong_type"),
    ({"end": "2026-05-01T12:11:00"}, "future_time"),
])
def test_bad_card_sessions(change: dict[str, Any], reason: str) -> None:
    assert reasons(parse(CARD, {**SESSION, **change})) == [(reason, None)]


def test_a_negative_balance_is_accepted() -> None:  # overdrawn card: the controller reports it
    assert only_reading(parse(CARD, {**SESSION, "balance_m3": -2})).balance_m3 == -2.0


# --- status -----------------------------------------------------------------------------------

def test_status_without_ts_uses_the_receive_time() -> None:
    status = only_reading(parse(STATUS, {"online": False}))
    assert status == DeviceStatus("dev-1", NOW, False, None)


def test_status_with_ts_and_alarms() -> None:
    status = only_reading(parse(STATUS, {"ts": EPOCH, "online": True, "alarms": 5}))
    assert status == DeviceStatus("dev-1", datetime.fromtimestamp(EPOCH, UTC), True, 5)


@pytest.mark.parametrize("element", [
    {"online": "yes"}, {"online": 1}, {"alarms": -1}, {"alarms": 2**31}, {"alarms": 1.5},
    {"alarms": True},
])
def test_bad_status(element: dict[str, Any]) -> None:
    assert reasons(parse(STATUS, element)) == [("wrong_type", None)]
