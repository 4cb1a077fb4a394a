"""Nothing lost, nothing doubled: a killed ingestor and a database outage mid-stream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from ingest.mqtt_source import MqttSource
from ingest.publisher import publish
from ingest.service import subscription_topics
from ingest.simulator import bench_messages, bench_registry, bench_start
from tests.integration.ingest_support import (
    load_sim_registry,
    running_ingestor,
    scalar,
    settings_for,
    unique_prefix,
    wait_for,
)

pytestmark = pytest.mark.integration

DEVICES, MESSAGES = 40, 12_000


def stream(prefix: str, start: datetime) -> tuple[list[tuple[str, bytes]], float]:
    messages = bench_messages(n_devices=DEVICES, n_messages=MESSAGES, batch=1, start=start,
                              prefix=prefix)
    last: dict[str, float] = {}
    for topic, payload in messages:
        last[topic] = json.loads(payload)["total_m3"]
    return messages, sum(last.values())


def prepare(database_url: str, prefix: str) -> tuple[list[tuple[str, bytes]], float]:
    start = bench_start(n_devices=DEVICES, n_messages=MESSAGES, batch=1)
    # installed a minute before the first reading, so every device reading is a row of its own
    installed = start - timedelta(minutes=1)
    load_sim_registry(database_url, bench_registry(n_devices=DEVICES, start=installed))
    return stream(prefix, start)


def device_readings(url: str) -> int:
    return int(scalar(url, "SELECT count(*) FROM register_readings WHERE origin = 'device'"))


def assert_exact(url: str, expected_total: float) -> None:
    assert device_readings(url) == MESSAGES
    assert scalar(url, "SELECT count(*) FROM consumption") == MESSAGES
    assert scalar(url, "SELECT count(*) FROM consumption WHERE status <> 'counted'") == 0
    assert scalar(url, "SELECT sum(volume_m3) FROM consumption") == pytest.approx(expected_total)
    assert scalar(url, "SELECT count(*) FROM dead_letters") == 0


class Publisher(threading.Thread):
    """Publishes in the background; join() re-raises what went wrong, never hides it."""

    def __init__(self, mqtt_url: str, messages: list[tuple[str, bytes]]) -> None:
        super().__init__(daemon=True)
        self.args_ = (mqtt_url, messages)
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            result = publish(*self.args_)
            assert result.acked == len(self.args_[1])
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        assert not self.is_alive(), "the publisher did not finish"
        if self.error:
            raise self.error


def ingest_process(database_url: str, mqtt_url: str, prefix: str, client_id: str,
                   protocol: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url,
           "WATERBUDGET_MQTT_URL": mqtt_url, "WATERBUDGET_TOPIC_PREFIX": prefix,
           "WATERBUDGET_MQTT_CLIENT_ID": client_id, "WATERBUDGET_MQTT_PROTOCOL": protocol,
           "WATERBUDGET_INGEST_BATCH_SIZE": "500"}
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


def test_killed_ingestor_loses_and_duplicates_nothing(database_url, mqtt_url, broker,
                                                      processes) -> None:
    prefix, client_id = unique_prefix(), f"wbtest-kill-{time.monotonic_ns()}"
    messages, total = prepare(database_url, prefix)
    # a deployed ingestor's persistent session exists before devices publish
    session = MqttSource(mqtt_url, client_id=client_id,
                         topics=subscription_topics(settings_for("", mqtt_url, prefix)),
                         protocol=broker.protocol)
    session.start()
    session.stop()
    processes.append(ingest_process(database_url, mqtt_url, prefix, client_id, broker.protocol))
    publisher = Publisher(mqtt_url, messages)
    wait_for(lambda: device_readings(database_url) > MESSAGES // 4, what="a quarter in")
    processes[0].send_signal(signal.SIGKILL)  # mid-stream, mid-batch: no goodbye
    processes[0].wait(10)
    killed_at = device_readings(database_url)
    assert 0 < killed_at < MESSAGES, "the kill must land mid-stream"
    publisher.join(120)
    processes.append(ingest_process(database_url, mqtt_url, prefix, client_id, broker.protocol))
    wait_for(lambda: device_readings(database_url) >= MESSAGES, timeout=120,
             what="the restarted ingestor to catch up")
    time.sleep(1.0)  # anything still redelivered must change nothing
    processes[1].send_signal(signal.SIGTERM)
    output = processes[1].communicate(timeout=30)[0].decode()
    assert processes[1].returncode == 0, output
    assert_exact(database_url, total)


def test_database_outage_mid_stream_loses_nothing(database_url, pg_admin_url, mqtt_url,
                                                  broker) -> None:
    prefix = unique_prefix()
    messages, total = prepare(database_url, prefix)
    name = conninfo_to_dict(database_url)["dbname"]
    settings = settings_for(database_url, mqtt_url, prefix, broker.protocol,
                            ingest_batch_size=500)
    with running_ingestor(settings) as ingestor:
        publisher = Publisher(mqtt_url, messages)
        wait_for(lambda: ingestor.stats.readings_new > MESSAGES // 4, what="a quarter in")
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            wait_for(lambda: ingestor.stats.db_failures >= 2, what="the ingestor to notice")
            during = ingestor.stats.messages
            time.sleep(1.5)
            assert ingestor.stats.messages == during, "nothing is committed during the outage"
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        publisher.join(120)
        wait_for(lambda: ingestor.stats.readings_new >= MESSAGES, timeout=120,
                 what="catch-up after the outage")
    assert_exact(database_url, total)
