"""Wiring of the ingest process: settings -> broker source + ingest loop."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from ingest.contract import CHANNELS
from ingest.ingestor import IngestConfig, Ingestor
from ingest.mqtt_source import MqttSource
from waterbudget.settings import Settings

log = logging.getLogger(__name__)


def subscription_topics(settings: Settings) -> list[str]:
    """The four data channels only: command topics under the same prefix are not ours."""
    return [f"{settings.topic_prefix.rstrip('/')}/+/{channel}" for channel in CHANNELS]


def build_ingestor(settings: Settings) -> tuple[MqttSource, Ingestor]:
    source = MqttSource(settings.mqtt_url, client_id=settings.mqtt_client_id,
                        topics=subscription_topics(settings), share_group=settings.mqtt_share_group,
                        protocol=settings.mqtt_protocol,
                        receive_maximum=settings.mqtt_receive_maximum)
    config = IngestConfig(settings.database_url, settings.topic_prefix, settings.zone,
                          settings.ingest_batch_size, settings.ingest_batch_wait_ms / 1000,
                          timedelta(seconds=settings.ingest_max_future_s),
                          exclusive=not settings.mqtt_share_group)
    return source, Ingestor(source, config)


def run_ingest(settings: Settings, stop: threading.Event) -> Ingestor:
    """Run until ``stop`` is set; uncommitted messages stay unacknowledged for redelivery."""
    source, ingestor = build_ingestor(settings)
    source.start()
    try:
        ingestor.run(stop)
    finally:
        source.stop()
    return ingestor
