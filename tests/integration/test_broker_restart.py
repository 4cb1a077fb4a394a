"""The ingestor's own network loop reconnects and subscribes again after a broker restart."""

from __future__ import annotations

import pytest

from ingest.mqtt_source import MqttSource
from ingest.publisher import publish
from tests.integration.ingest_support import (
    running_ingestor,
    scalar,
    settings_for,
    unique_prefix,
    wait_for,
)
from tests.integration.test_ingest_failures import MESSAGES, assert_exact, prepare
from waterbudget.embedded import free_port, start_mosquitto

pytestmark = pytest.mark.integration


def test_a_broker_restart_loses_and_doubles_nothing_that_was_acknowledged(
        database_url: str) -> None:
    prefix = unique_prefix()
    messages, expected_total = prepare(database_url, prefix)
    half = MESSAGES // 2
    port = free_port()
    broker = start_mosquitto(port)
    try:
        settings = settings_for(database_url, broker.url, prefix)
        with running_ingestor(settings) as ingestor:
            publish(broker.url, messages[:half])
            wait_for(lambda: ingestor.stats.messages >= half, what="the first half committed")
            broker.stop()  # a throw-away broker: its sessions and queues are gone with it
            broker = start_mosquitto(port)
            source = ingestor.source
            assert isinstance(source, MqttSource)
            wait_for(lambda: source.subscribed_session >= 2, what="subscribed on the new broker")
            # subscribed again on the new broker: the second half arrives
            publish(broker.url, messages[half:])
            wait_for(lambda: scalar(database_url, "SELECT count(*) FROM register_readings "
                                    "WHERE origin = 'device'") >= MESSAGES,
                     what="the second half committed")
        assert_exact(database_url, expected_total)
    finally:
        broker.stop()
