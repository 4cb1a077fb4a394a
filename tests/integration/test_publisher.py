"""The publisher delivers every message, QoS 1, to a real Mosquitto.

The broker is the ``mqtt_url`` fixture (tests/conftest.py): an embedded
mosquitto, or ``WATERBUDGET_TEST_MQTT_URL`` (e.g. mqtt://127.0.0.1:1883).
A QoS-1 subscriber on a fresh topic prefix collects what arrives.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.publisher import (
    parse_broker_url,
    partition_by_device,
    publish,
    publish_parallel,
    publish_realtime,
)
from ingest.simulator import SHANGHAI, SimConfig, bench_messages, bench_start, simulate_messages

pytestmark = pytest.mark.integration


class Collector:
    """A QoS-1 subscriber that records (topic, payload) of every message received."""

    def __init__(self, url: str, prefix: str) -> None:
        address = parse_broker_url(url)
        self.received: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"collector-{prefix}",
                                  protocol=mqtt.MQTTv311)
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the subscriber was not acknowledged"

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # anything beyond ``count`` would be a duplicate: give it time to show

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def prefix() -> str:
    return f"wbtest-{uuid.uuid4().hex[:8]}/v1"


@pytest.fixture
def collector(mqtt_url: str, prefix: str) -> Iterator[Collector]:
    collector = Collector(mqtt_url, prefix)
    yield collector
    collector.stop()


def test_every_simulated_message_arrives_in_order_per_device(mqtt_url, prefix, collector):
    config = SimConfig(n_sites=8, seed=3, start=datetime(2026, 7, 1, tzinfo=SHANGHAI),
                       duration=timedelta(days=2), prefix=prefix, garbage_rate=0.02)
    messages = [(m.topic, m.payload) for m in simulate_messages(config)]
    assert len(messages) > 1500

    result = publish(mqtt_url, messages, max_inflight=50)

    assert (result.sent, result.acked) == (len(messages), len(messages))
    collector.wait_for(len(messages))
    assert Counter(collector.received) == Counter(messages)
    for topic in {t for t, _ in messages}:  # MQTT keeps order per publisher and topic
        assert [p for t, p in collector.received if t == topic] == \
               [p for t, p in messages if t == topic]


def test_parallel_publishers_deliver_batches_exactly_once(mqtt_url, prefix, collector):
    start = bench_start(n_devices=20, n_messages=600, batch=100)
    messages = bench_messages(n_devices=20, n_messages=600, batch=100, start=start,
                              prefix=prefix)

    result = publish_parallel(mqtt_url, partition_by_device(messages, 2))

    assert (result.sent, result.acked) == (600, 600)
    collector.wait_for(600)
    assert Counter(collector.received) == Counter(messages)


def test_realtime_publishing_follows_simulated_time(mqtt_url, prefix, collector):
    config = SimConfig(n_sites=2, seed=1, start=datetime(2026, 7, 1, 8, tzinfo=SHANGHAI),
                       duration=timedelta(hours=1), prefix=prefix, outage_rate=0.0,
                       duplicate_rate=0.0, garbage_rate=0.0)
    messages = list(simulate_messages(config))

    result = publish_realtime(mqtt_url, messages, speedup=3600.0)  # one simulated hour: 1 s

    assert result.acked == len(messages)
    assert 0.9 < result.seconds < 5.0
    collector.wait_for(len(messages))
    assert len(collector.received) == len(messages)


def test_publishing_to_a_closed_port_fails_loudly(prefix):
    config = SimConfig(n_sites=1, seed=1, start=datetime(2026, 7, 1, tzinfo=SHANGHAI),
                       duration=timedelta(hours=1), prefix=prefix)
    with pytest.raises(ConnectionRefusedError):
        publish("mqtt://127.0.0.1:1", ((m.topic, m.payload) for m in simulate_messages(config)))


def test_broker_urls_are_parsed():
    address = parse_broker_url("mqtt://dev%40W001:s%3Acret@10.0.0.5:1884")
    assert (address.host, address.port, address.username, address.password, address.tls) == \
           ("10.0.0.5", 1884, "dev@W001", "s:cret", False)
    assert parse_broker_url("mqtts://broker").port == 8883
    assert parse_broker_url("mqtt://h").username is None
    with pytest.raises(ValueError, match="scheme"):
        parse_broker_url("http://h:1883")


def test_simulate_publishes_under_the_configured_topic_prefix(mqtt_url, prefix, collector):
    """``waterbudget simulate`` honours WATERBUDGET_TOPIC_PREFIX (it published under the
    default ``waterbudget/v1`` whatever the ingestor listened to)."""
    from waterbudget.cli import build_parser, cmd_simulate
    from waterbudget.settings import Settings

    args = build_parser().parse_args(["simulate", "--sites", "2", "--days", "0.25"])
    settings = Settings(mqtt_url=mqtt_url, topic_prefix=prefix, _env_file=None)
    assert cmd_simulate(args, settings) == 0
    collector.wait_for(10)
    assert len(collector.received) >= 10
    assert all(topic.startswith(f"{prefix}/") for topic, _ in collector.received)
