"""Two ingest processes in one MQTT shared-subscription group, one SIGKILLed mid-stream.

Real broker, real database, real processes (``waterbudget ingest``). Afterwards
the stored readings and consumption intervals are compared row for row with
what was published: nothing lost, nothing doubled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingest.consumption import Point, derive_intervals
from ingest.mqtt_source import MqttSource
from ingest.registry import Registry
from ingest.registry_repository import load_registry
from ingest.service import subscription_topics
from ingest.simulator import bench_messages, bench_registry, bench_start
from tests.integration.ingest_support import (
    load_sim_registry,
    rows,
    scalar,
    settings_for,
    unique_prefix,
    wait_for,
)
from tests.integration.test_ingest_failures import Publisher

pytestmark = pytest.mark.integration

DEVICES, MESSAGES = 40, 12_000


def ingest_process(database_url: str, mqtt_url: str, prefix: str, client_id: str, group: str,
                   protocol: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url,
           "WATERBUDGET_MQTT_URL": mqtt_url, "WATERBUDGET_TOPIC_PREFIX": prefix,
           "WATERBUDGET_MQTT_CLIENT_ID": client_id, "WATERBUDGET_MQTT_SHARE_GROUP": group,
           "WATERBUDGET_MQTT_PROTOCOL": protocol, "WATERBUDGET_INGEST_BATCH_SIZE": "200"}
    return subprocess.Popen([sys.executable, "-m", "waterbudget.cli", "ingest"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def device_readings(url: str) -> int:
    return int(scalar(url, "SELECT count(*) FROM register_readings WHERE origin = 'device'"))


def expected_rows(messages: list[tuple[str, bytes]], registry: Registry,
                  installed: datetime) -> tuple[set[tuple[str, datetime, float]],
                                                dict[tuple[str, datetime, datetime], float]]:
    """Readings as published, and the intervals the pure rules derive from them."""
    readings: set[tuple[str, datetime, float]] = set()
    for topic, payload in messages:
        body = json.loads(payload)
        device = topic.rsplit("/", 2)[-2]
        readings.add((f"{device}-F1", datetime.fromtimestamp(body["ts"], UTC), body["total_m3"]))
    series: dict[str, list[Point]] = defaultdict(lambda: [Point(installed, 0.0)])
    for meter_id, ts, value in sorted(readings):
        series[meter_id].append(Point(ts, value))
    intervals = {}
    for meter_id, points in series.items():
        meter = registry.meters[meter_id]
        for iv in derive_intervals(points, registry.register_spec(meter)):
            assert iv.counted, "the benchmark stream has no anomaly"
            intervals[(meter_id, iv.ts_start, iv.ts_end)] = iv.delta
    return readings, intervals


def test_shared_subscription_with_a_member_killed_loses_and_doubles_nothing(
        database_url, mqtt_url, broker, processes) -> None:
    if broker.protocol != "5":
        pytest.skip("shared subscriptions need an MQTT 5 broker")
    prefix, group = unique_prefix(), f"wbtest{uuid.uuid4().hex[:8]}"
    start = bench_start(n_devices=DEVICES, n_messages=MESSAGES, batch=1)
    installed = start - timedelta(minutes=1)
    sim_registry = bench_registry(n_devices=DEVICES, start=installed)
    load_sim_registry(database_url, sim_registry)
    with psycopg.connect(database_url) as conn:
        registry = load_registry(conn)
    messages = bench_messages(n_devices=DEVICES, n_messages=MESSAGES, batch=1, start=start,
                              prefix=prefix)
    client_ids = [f"wbtest-share-{uuid.uuid4().hex[:8]}-{k}" for k in range(2)]
    for client_id in client_ids:  # deployed ingestors' sessions exist before devices publish
        session = MqttSource(mqtt_url, client_id=client_id,
                             topics=subscription_topics(settings_for("", mqtt_url, prefix)),
                             share_group=group, protocol=broker.protocol)
        session.start()
        session.stop()
    processes += [ingest_process(database_url, mqtt_url, prefix, c, group, broker.protocol)
                  for c in client_ids]
    # a third of the stream, the kill while it is being ingested, then the rest: the
    # broker deals a group's messages round-robin, also to a member's offline session,
    # so the survivor's share after the kill is at least half of what is published then
    # (published in one go, the stream could be nearly through before the kill landed)
    first, rest = messages[:MESSAGES // 3], messages[MESSAGES // 3:]
    publisher = Publisher(mqtt_url, first)
    wait_for(lambda: device_readings(database_url) > MESSAGES // 12, what="the stream under way")
    processes[0].send_signal(signal.SIGKILL)  # mid-stream, mid-batch: no goodbye
    processes[0].wait(10)
    killed_at = device_readings(database_url)
    assert 0 < killed_at < MESSAGES, "the kill must land mid-stream"
    publisher.join(120)
    Publisher(mqtt_url, rest).join(120)
    wait_for(lambda: device_readings(database_url) > killed_at + MESSAGES // 10,
             what="the surviving member to carry on alone")
    # the killed member comes back under its client ID and takes what waited for it
    processes.append(ingest_process(database_url, mqtt_url, prefix, client_ids[0], group,
                                    broker.protocol))
    wait_for(lambda: device_readings(database_url) >= MESSAGES, timeout=120,
             what="every reading")
    time.sleep(1.0)  # anything still redelivered must change nothing
    counts = []
    for process in processes[1:]:
        process.send_signal(signal.SIGTERM)
        try:
            output = process.communicate(timeout=30)[0].decode()
        except subprocess.TimeoutExpired as exc:  # its stacks are in the output (after 20 s)
            raise AssertionError("an ingest process outlived SIGTERM by 30 s:\n"
                                 + (exc.output or b"").decode()[-8000:]) from exc
        assert process.returncode == 0, output
        counts.append(output.strip().splitlines()[-1])
    readings, intervals = expected_rows(messages, registry, installed)
    stored = {(m, ts, v) for m, ts, v in rows(
        database_url, "SELECT meter_id, ts, value FROM register_readings WHERE origin = 'device'")}
    assert device_readings(database_url) == len(readings) == MESSAGES
    assert stored == readings
    consumption = rows(database_url, "SELECT meter_id, ts_start, ts_end, volume_m3, status, "
                                     "method FROM consumption")
    assert len(consumption) == len(intervals)
    assert {(m, a, b): v for m, a, b, v, _, _ in consumption} == pytest.approx(intervals)
    assert {(s, method) for *_, s, method in consumption} == {("counted", "measured")}
    assert scalar(database_url, "SELECT count(*) FROM dead_letters") == 0
    assert all("stopped after" in line for line in counts), counts
