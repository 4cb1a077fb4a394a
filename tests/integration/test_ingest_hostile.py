"""Hostile messages through the real broker and the real ``waterbudget ingest`` process.

Issue 11: five single messages of a few hundred bytes each crashed the ingest
process; the broker redelivered the message and the process crash-looped with
everything behind it stuck. Each must be a dead letter with its reason, the
good messages around them stored, the process alive and nothing left
unacknowledged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ingest.mqtt_source import MqttSource
from ingest.publisher import publish
from ingest.registry import load_registry_file
from ingest.registry_repository import save_registry
from ingest.service import subscription_topics
from tests.integration.ingest_support import (
    ZONE,
    rows,
    scalar,
    settings_for,
    unique_prefix,
    wait_for,
)

pytestmark = pytest.mark.integration

REGISTRY = """\
sites:
  - {{site_id: W1, name: 一号井, kind: well, source: groundwater, rated_m3h: 100}}
  - {{site_id: G1, name: 一号闸, kind: canal_gate, source: local_surface}}
meters:
  - {{meter_id: W1-F, site_id: W1, device_id: W1, channel: flow, installed_at: "{installed}",
     initial_register: 1000}}
  - {{meter_id: W1-C, site_id: W1, device_id: W1, channel: card, installed_at: "{installed}"}}
  - {{meter_id: G1-gate, site_id: G1, device_id: G1, channel: gate, installed_at: "{installed}",
     expected_interval_s: 900}}
gate_ratings:
  - {{site_id: G1, valid_from: "{installed}", kind: orifice, width_m: 2, sill_m: 100, mu: 0.6}}
"""

GOOD_FLOW = 40  # one reading a minute, before, between and after the hostile messages


def card(session_id: str, start: int, **extra: object) -> bytes:
    body = {"session_id": session_id, "card_id": "6200123400017", "start": start,
            "end": start + 600, "volume_m3": 5.0, **extra}
    return json.dumps(body).encode()


def hostile(prefix: str, t0: int) -> list[tuple[str, bytes, str]]:
    """(topic, payload, the dead letter's reason) of each message that crashed the ingestor."""
    flow, gate, card_topic = f"{prefix}/W1/flow", f"{prefix}/G1/gate", f"{prefix}/W1/card"
    deep = b"[" * 1000 + b"]" * 1000
    huge = b"9" * 400
    return [
        # (1) a rejected array element holding a lone surrogate, on flow and on gate
        (flow, b'[{"ts": "\\ud800", "total_m3": 1}]', "bad_time"),
        (gate, b'[{"ts": "\\ud800", "opening_m": 1}]', "bad_time"),
        # (2) JSON nested 1,000 deep
        (flow, deep, "invalid_json"),
        # (3) a card balance of 400 digits
        (card_topic, card("S-huge", t0).replace(b"}", b', "balance_m3": ' + huge + b"}"),
         "absurd_value"),
        # (4) an accepted card field holding a lone surrogate
        (card_topic, card("S-surrogate", t0).replace(b"S-surrogate", b"S-\\ud800"),
         "unstorable_text"),
        # (5) a gate opening of 1e-320 (a subnormal float)
        (gate, b'{"ts": %d, "upstream_m": 102, "opening_m": 1e-320}' % (t0 + 60), "absurd_value"),
        # and a NUL in a text field, which the database refuses
        (card_topic, card("S-nul", t0 + 1200, holder="王\u0000五"), "unstorable_text"),
    ]


def messages_for(prefix: str, now: datetime) -> tuple[list[tuple[str, bytes]],
                                                       list[tuple[str, bytes, str]]]:
    t0 = int((now - timedelta(hours=3)).timestamp())
    bad = hostile(prefix, t0)
    good = [(f"{prefix}/W1/flow", json.dumps({"ts": t0 + 60 * i, "total_m3": 1000 + i}).encode())
            for i in range(GOOD_FLOW)]
    good += [(f"{prefix}/W1/card", card("S-good", t0 + 3000)),
             (f"{prefix}/G1/gate",
              json.dumps({"ts": t0, "upstream_m": 102, "opening_m": 0.5}).encode())]
    per_gap = max(1, len(good) // (len(bad) + 1))  # the hostile ones spread among the good
    stream: list[tuple[str, bytes]] = []
    for index, (topic, payload) in enumerate(good):
        stream.append((topic, payload))
        slot = index // per_gap
        if index % per_gap == per_gap - 1 and slot < len(bad):
            stream.append(bad[slot][:2])
    return stream, bad


def ingest_process(database_url: str, mqtt_url: str, prefix: str, client_id: str,
                   protocol: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url,
           "WATERBUDGET_MQTT_URL": mqtt_url, "WATERBUDGET_TOPIC_PREFIX": prefix,
           "WATERBUDGET_MQTT_CLIENT_ID": client_id, "WATERBUDGET_MQTT_PROTOCOL": protocol}
    return subprocess.Popen([sys.executable, "-m", "waterbudget.cli", "ingest"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture
def process_slot() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_hostile_messages_are_dead_letters_and_ingest_goes_on(
        database_url, mqtt_url, broker, tmp_path: Path, process_slot) -> None:
    prefix, client_id = unique_prefix(), f"wbtest-hostile-{time.monotonic_ns()}"
    now = datetime.now(ZONE).replace(microsecond=0)
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY.format(installed=(now - timedelta(days=40)).isoformat()), "utf-8")
    with psycopg.connect(database_url, autocommit=True) as conn:
        save_registry(conn, load_registry_file(path, ZONE))
    stream, bad = messages_for(prefix, now)
    assert sum(1 for m in stream if m in [b[:2] for b in bad]) == len(bad)
    topics = subscription_topics(settings_for("", mqtt_url, prefix))
    session = MqttSource(mqtt_url, client_id=client_id, topics=topics, protocol=broker.protocol)
    session.start()  # the deployed ingestor's persistent session exists before devices publish
    session.stop()
    process = ingest_process(database_url, mqtt_url, prefix, client_id, broker.protocol)
    process_slot.append(process)
    assert publish(mqtt_url, stream).acked == len(stream)

    def settled() -> bool:
        assert process.poll() is None, process.communicate()[0].decode(errors="replace")
        stored = int(scalar(database_url, "SELECT count(*) FROM register_readings "
                                          "WHERE origin = 'device'"))
        return stored == GOOD_FLOW and int(scalar(database_url, "SELECT count(*) "
                                                               "FROM dead_letters")) >= len(bad)

    wait_for(settled, timeout=90, what="every good reading and every dead letter")
    time.sleep(1.0)  # a redelivery would show up here
    assert process.poll() is None, "the ingest process must still be running"
    assert scalar(database_url, "SELECT count(*) FROM card_sessions") == 1
    assert scalar(database_url, "SELECT session_id FROM card_sessions") == "S-good"
    assert scalar(database_url, "SELECT count(*) FROM gate_readings") == 1
    letters = rows(database_url, "SELECT topic, reason, detail FROM dead_letters ORDER BY id")
    assert sorted((t, r) for t, r, _ in letters) == sorted((t, r) for t, _, r in bad), letters
    assert all(detail for _, _, detail in letters)

    process.send_signal(15)
    output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert process.returncode == 0, output
    # nothing unacknowledged: the persistent session has nothing left to deliver
    session = MqttSource(mqtt_url, client_id=client_id, topics=topics, protocol=broker.protocol)
    session.start()
    try:
        left: list[object] = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            left += session.take(1000, 0.5)
        assert left == []
    finally:
        session.stop()
