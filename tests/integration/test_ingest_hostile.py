"""Hostile messages through the real broker and the real ``waterbudget ingest`` process.

Issue 11: five single messages of a few hundred bytes each crashed the ingest
process; the broker redelivered the message and the process crash-looped with
everything behind it stuck. Each must be a dead letter with its reason, the
good messages around them stored, the process alive and nothing left
unacknowledged.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import hypothesis
import psycopg
import pytest
from prometheus_client import REGISTRY as REGISTRY_METRICS

from ingest.batch import DeadLetter, IngestBatch, ReceivedMessage
from ingest.ingestor import IngestConfig, Ingestor
from ingest.mqtt_source import MqttSource
from ingest.publisher import publish
from ingest.reading_repository import WriteResult, insert_dead_letters, write_batch
from ingest.registry import load_registry_file
from ingest.registry_repository import save_registry
from ingest.service import subscription_topics
from ingest.storable_text import escaped
from tests.integration.ingest_support import (
    ZONE,
    rows,
    scalar,
    settings_for,
    unique_prefix,
    wait_for,
)
from tests.unit import test_ingest_fuzz as fuzz

pytestmark = pytest.mark.integration

REGISTRY = """\
sites:
  - {{site_id: W1, name: 一号井, kind: well, source: groundwater, rated_m3h: 100}}
  - {{site_id: G1, name: 一号闸, kind: canal_gate, source: local_surface}}
  - {{site_id: W2, name: 二号井, kind: well, source: groundwater, rated_m3h: 100}}
meters:
  - {{meter_id: W1-F, site_id: W1, device_id: W1, channel: flow, installed_at: "{installed}",
     initial_register: 1000}}
  - {{meter_id: W1-C, site_id: W1, device_id: W1, channel: card, installed_at: "{installed}"}}
  - {{meter_id: W2-F, site_id: W2, device_id: W2, channel: flow, installed_at: "{installed}"}}
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


# --- the writer: a batch the database (or our own code) refuses is bisected ---

def load_registry(database_url: str, tmp_path: Path, now: datetime) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY.format(installed=(now - timedelta(days=40)).isoformat()), "utf-8")
    with psycopg.connect(database_url, autocommit=True) as conn:
        save_registry(conn, load_registry_file(path, ZONE))


def ingestor_for(database_url: str, prefix: str) -> Ingestor:
    return Ingestor(NoSource(), IngestConfig(database_url, prefix, ZONE, try_tails=False))


class NoSource:
    def take(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]:
        return []

    def ack(self, messages: Sequence[ReceivedMessage]) -> int:
        return len(messages)


def counted_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every write_batch the ingestor calls (one transaction each): its number of rows."""
    calls: list[int] = []

    def counting(conn: Any, batch: IngestBatch, *args: Any) -> WriteResult:
        calls.append(batch.readings)
        return write_batch(conn, batch, *args)

    monkeypatch.setattr("ingest.ingestor.write_batch", counting)
    return calls


N_MESSAGES = 64


@pytest.mark.parametrize("poison", ["nul_in_text", "exception_in_derivation"])
def test_a_poison_message_is_found_by_bisection(database_url, tmp_path: Path, poison: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """One message the database refuses (a NUL the contract let through) or our own code
    fails on (a gate opening of 1e-320 dividing by zero) among 64: about 2·log2(64)
    transactions, not one per message (issue 11: one batch -> 1,500 commits)."""
    now = datetime.now(ZONE).replace(microsecond=0)
    load_registry(database_url, tmp_path, now)
    prefix = unique_prefix()
    t0 = int((now - timedelta(hours=3)).timestamp())
    messages = [ReceivedMessage(f"{prefix}/W1/flow",
                                json.dumps({"ts": t0 + 60 * i, "total_m3": 1000 + i}).encode())
                for i in range(N_MESSAGES - 1)]
    if poison == "nul_in_text":  # as if the contract did not know PostgreSQL's text
        monkeypatch.setattr("ingest.contract.text_problem", lambda text: None)
        bad = ReceivedMessage(f"{prefix}/W1/card", card("S-nul", t0, holder="王\u0000五"))
    else:  # as if the contract did not know an instrument's resolution
        monkeypatch.setattr("ingest.gate_contract.RESOLUTION_M", 0.0)
        bad = ReceivedMessage(f"{prefix}/G1/gate",
                              b'{"ts": %d, "upstream_m": 102, "downstream_m": 100.5, '
                              b'"opening_m": 1e-320}' % t0)
    messages.insert(N_MESSAGES // 3, bad)
    writes = counted_writes(monkeypatch)
    ingestor = ingestor_for(database_url, prefix)
    try:
        assert ingestor.commit(ingestor._build(messages), threading.Event())
    finally:
        ingestor._drop_connection()
    bound = 2 * math.ceil(math.log2(N_MESSAGES)) + 1
    assert len(writes) <= bound, f"{len(writes)} transactions for one poison message"
    assert ingestor.stats.transactions == len(writes) + 1  # and one for the dead letter
    assert ingestor.stats.messages == N_MESSAGES
    assert ingestor.stats.readings_new == N_MESSAGES - 1
    assert scalar(database_url, "SELECT count(*) FROM register_readings "
                                "WHERE origin = 'device'") == N_MESSAGES - 1
    letters = rows(database_url, "SELECT topic, payload, reason, detail FROM dead_letters")
    assert len(letters) == 1
    topic, payload, reason, detail = letters[0]
    assert (topic, bytes(payload), reason) == (bad.topic, bad.payload, "write_failed")
    expected = "0x00" if poison == "nul_in_text" else "ZeroDivisionError"
    assert expected in detail, detail


def test_readings_new_counts_both_paths(database_url, tmp_path: Path) -> None:
    """A batch of a long message (the column path) and short ones of another meter (the
    scalar path): every new reading counted once (issue 11: 47,400 of 50,000 reported;
    the scalar path's count replaced the column path's)."""
    now = datetime.now(ZONE).replace(microsecond=0)
    load_registry(database_url, tmp_path, now)
    prefix = unique_prefix()
    t0 = int((now - timedelta(days=2)).timestamp())
    long_message = [{"ts": t0 + 60 * i, "total_m3": 1000 + i} for i in range(100)]
    messages = [ReceivedMessage(f"{prefix}/W1/flow", json.dumps(long_message).encode())]
    messages += [ReceivedMessage(f"{prefix}/W2/flow",  # another meter, the scalar way
                                 json.dumps({"ts": t0 + 60 * i, "total_m3": 50 + i}).encode())
                 for i in range(10)]
    messages += [ReceivedMessage(f"{prefix}/G1/gate",
                                 json.dumps({"ts": t0 + 900 * i, "upstream_m": 102,
                                             "opening_m": 0.5}).encode()) for i in range(5)]
    messages += [ReceivedMessage(f"{prefix}/W1/card", card(f"S-{i}", t0 + 900 * i))
                 for i in range(3)]
    before = REGISTRY_METRICS.get_sample_value("waterbudget_ingest_readings_total",
                                               {"outcome": "new"}) or 0.0
    ingestor = ingestor_for(database_url, prefix)
    try:
        assert ingestor.commit(ingestor._build(messages), threading.Event())
        # a second batch: the long message's meter has readings now, so these go the scalar way
        later = [ReceivedMessage(f"{prefix}/W1/flow",
                                 json.dumps({"ts": t0 + 6000 + 60 * i,
                                             "total_m3": 1100 + i}).encode()) for i in range(7)]
        later.append(ReceivedMessage(f"{prefix}/W1/flow", json.dumps(
            [{"ts": t0 + 7000 + 60 * i, "total_m3": 1200 + i} for i in range(20)]).encode()))
        assert ingestor.commit(ingestor._build(later), threading.Event())
    finally:
        ingestor._drop_connection()
    stored = int(scalar(database_url, "SELECT count(*) FROM register_readings "
                                      "WHERE origin = 'device'"))
    assert stored == 100 + 10 + 7 + 20
    sessions = int(scalar(database_url, "SELECT count(*) FROM card_sessions"))
    gates = int(scalar(database_url, "SELECT count(*) FROM gate_readings"))
    assert (sessions, gates) == (3, 5)
    assert ingestor.stats.readings_new == stored + sessions + gates
    after = REGISTRY_METRICS.get_sample_value("waterbudget_ingest_readings_total",
                                              {"outcome": "new"}) or 0.0
    assert after - before == stored + sessions + gates


# --- fuzzed batches through the real writer ---

def test_fuzzed_batches_are_committed_or_dead_lettered(database_url, tmp_path: Path) -> None:
    """Hypothesis batches (tests/unit/test_ingest_fuzz.py) written to the real database
    through the ingestor: every message committed or dead-lettered, every dead letter the
    build named stored, no row refused by the database (no ``write_failed``)."""
    path = tmp_path / "registry.yaml"  # installed long before the fuzzed times
    path.write_text(REGISTRY.format(installed=(fuzz.INSTALLED - timedelta(days=1)).isoformat()),
                    "utf-8")
    with psycopg.connect(database_url, autocommit=True) as conn:
        save_registry(conn, load_registry_file(path, ZONE))

    stored_rows: list[int] = []
    # one plainly good reading per example, so that rows are written in every run
    # (40 random examples once produced none); its times lie in a day of their own
    good_base = int((fuzz.INSTALLED + timedelta(hours=1)).timestamp())

    @hypothesis.settings(max_examples=40, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(fuzz.messages)
    def write(drawn: list[ReceivedMessage]) -> None:
        prefix = unique_prefix()
        messages = [m._replace(topic=prefix + m.topic.removeprefix(fuzz.PREFIX)) for m in drawn]
        n = len(stored_rows)
        messages.append(ReceivedMessage(
            f"{prefix}/W1/flow",
            f'{{"ts": {good_base + 60 * n}, "total_m3": {n}.5}}'.encode()))
        ingestor = ingestor_for(database_url, prefix)
        try:
            built = ingestor._build(messages)
            assert ingestor.commit(built, threading.Event())
        finally:
            ingestor._drop_connection()
        assert ingestor.stats.messages == len(messages)
        stored = rows(database_url, "SELECT DISTINCT topic, reason FROM dead_letters "
                                    "WHERE topic LIKE %s", (prefix + "/%",))
        pure = ingestor._build(messages).batch.dead_letters
        assert sorted(stored) == sorted({(escaped(d.topic), d.reason) for d in pure})
        stored_rows.append(ingestor.stats.readings_new)

    write()
    assert sum(stored_rows) > 0, "the fuzzed batches must also produce rows, not only letters"


def test_a_dead_letter_about_unstorable_text_is_storable(database_url) -> None:
    """Topic, reason and detail go in escaped; the payload as received (bytea)."""
    payload = '{"holder": "王\u0000五", "x": "\\ud800"}'.encode()
    letter = DeadLetter("wb/W1/card\u0000", payload, "unstorable_text",
                        "holder holds \u0000 and \ud800 and 王")
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.transaction():
            assert insert_dead_letters(conn, [letter]) == 1
        stored = conn.execute("SELECT topic, payload, detail FROM dead_letters").fetchall()
    assert stored == [("wb/W1/card\\u0000", payload, "holder holds \\u0000 and \\ud800 and 王")]
