"""The fast register path gives exactly what the general parser gives, or steps aside."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import contract
from ingest.contract import Channel, ParsedMessage, Topic, parse_message

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)
EPOCH = int(datetime(2026, 5, 1, 3, 0, tzinfo=UTC).timestamp())
TOPICS = [Topic("dev-1", Channel.FLOW), Topic("dev-1", Channel.POWER)]


def general(topic: Topic, payload: bytes, monkeypatch: pytest.MonkeyPatch) -> ParsedMessage:
    with monkeypatch.context() as patch:
        patch.setattr(contract, "_fast_registers", lambda *_args: None)
        return parse_message(topic, payload, tz=SHANGHAI, now=NOW)


def both(topic: Topic, payload: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = parse_message(topic, payload, tz=SHANGHAI, now=NOW)
    assert fast == general(topic, payload, monkeypatch)


EDGE_PAYLOADS = [
    b'{"ts": %d, "total_m3": 12.5}' % EPOCH,
    b'{"ts": %d, "total_kwh": 12}' % EPOCH,
    b'{"ts": %d, "total_m3": 12.5, "flow_m3h": 3}' % EPOCH,
    b'{"ts": %d, "total_m3": 12.5, "flow_m3h": null}' % EPOCH,
    b'{"ts": %d, "total_m3": 12.5, "flow_m3h": -1}' % EPOCH,
    b'{"ts": %d000, "total_m3": 1}' % EPOCH,
    b'{"ts": %d, "total_m3": 1}' % (EPOCH + 3600 * 24),
    b'{"ts": 946684799, "total_m3": 1}',
    b'{"ts": 946684800, "total_m3": 1}',
    b'{"ts": %d, "total_m3": 1e12}' % EPOCH,
    b'{"ts": %d, "total_m3": 1000000000001}' % EPOCH,
    b'{"ts": %d, "total_m3": %s}' % (EPOCH, b"1" + b"0" * 30),
    b'{"ts": %s, "total_m3": 1}' % (b"1" + b"0" * 30),
    b'{"ts": %d, "total_m3": NaN}' % EPOCH,
    b'{"ts": %d, "total_m3": 1e400}' % EPOCH,
    b'{"ts": %d, "total_m3": -0.0}' % EPOCH,
    b'{"ts": %d, "total_m3": true}' % EPOCH,
    b'{"ts": true, "total_m3": 1}',
    b'{"ts": 1.5e9, "total_m3": 1}',
    b'{"ts": "2026-05-01T11:00:00", "total_m3": 1}',
    b'{"ts": %d, "total_m3": 1, "ts": %d}' % (EPOCH, EPOCH - 60),
    b'[{"ts": %d, "total_m3": 1}, {"ts": %d, "total_m3": "x"}]' % (EPOCH, EPOCH + 60),
    b'[{"ts": %d, "total_m3": 1}, 5]' % EPOCH,
    b"[]",
    b"[" + b",".join(b'{"ts": %d, "total_m3": 1}' % EPOCH for _ in range(10_001)) + b"]",
    b'{"ts": %d, "total_m3": 1, "note": "\\ud800"}' % EPOCH,
    b'\xef\xbb\xbf{"ts": %d, "total_m3": 1}' % EPOCH,
    '{"ts": 1777604400, "total_m3": 1}'.encode("utf-16"),
    b"not json",
    b"",
    b"null",
]


@pytest.mark.parametrize("payload", EDGE_PAYLOADS)
@pytest.mark.parametrize("topic", TOPICS, ids=["flow", "power"])
def test_edge_payloads_agree(topic: Topic, payload: bytes,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    both(topic, payload, monkeypatch)


def test_the_common_shapes_take_the_fast_path() -> None:
    for payload in (b'{"ts": %d, "total_m3": 12.5}' % EPOCH,
                    b'[{"ts": %d, "total_m3": 1}, {"ts": %d, "total_m3": 2}]' % (EPOCH, EPOCH)):
        assert contract._fast_registers(TOPICS[0], payload, NOW, contract.DEFAULT_MAX_FUTURE)


numbers = st.one_of(st.integers(-10, 10**13), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.none(), st.text(max_size=3))
times = st.one_of(st.integers(EPOCH - 10**6, EPOCH + 10**4),
                  st.integers(EPOCH * 1000 - 10**9, EPOCH * 1000 + 10**7),
                  st.integers(-10**20, 10**20), st.floats(), st.none(), st.booleans())
elements = st.fixed_dictionaries({}, optional={"ts": times, "total_m3": numbers,
                                               "total_kwh": numbers, "flow_m3h": numbers})


@settings(max_examples=300, deadline=None)
@given(doc=st.one_of(elements, st.lists(elements, min_size=0, max_size=5)))
def test_random_documents_agree(doc: Any) -> None:
    payload = json.dumps(doc).encode()
    with pytest.MonkeyPatch.context() as monkeypatch:
        for topic in TOPICS:
            both(topic, payload, monkeypatch)
