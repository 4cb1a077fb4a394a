"""Wiring of the ingest processes: settings -> a message source (the MQTT broker, or the
SZY206 TCP listener) + the ingest loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from ingest.contract import CHANNELS
from ingest.field_messages import FIELD_CHANNELS
from ingest.ingestor import IngestConfig, Ingestor
from ingest.mqtt_source import MqttSource
from ingest.szy206_listener import ListenerFailedError, Szy206Listener
from waterbudget.settings import Settings

log = logging.getLogger(__name__)


def subscription_topics(settings: Settings) -> list[str]:
    """The data channels only: command topics under the same prefix are not ours."""
    return [f"{settings.topic_prefix.rstrip('/')}/+/{channel}"
            for channel in (*CHANNELS, *FIELD_CHANNELS)]


def build_ingestor(settings: Settings) -> tuple[MqttSource, Ingestor]:
    source = MqttSource(settings.mqtt_url, client_id=settings.mqtt_client_id,
                        topics=subscription_topics(settings), share_group=settings.mqtt_share_group,
                        protocol=settings.mqtt_protocol,
                        receive_maximum=settings.mqtt_receive_maximum)
    return source, Ingestor(source, _config(settings, tails=not settings.mqtt_share_group))


def _config(settings: Settings, *, tails: bool, szy206_over_tcp: bool = False) -> IngestConfig:
    return IngestConfig(settings.database_url, settings.topic_prefix, settings.zone,
                        settings.ingest_batch_size, settings.ingest_batch_wait_ms / 1000,
                        timedelta(seconds=settings.ingest_max_future_s), try_tails=tails,
                        batch_bytes=settings.ingest_batch_bytes,
                        szy206_over_tcp=szy206_over_tcp)


def build_szy206_ingestor(settings: Settings, *, host: str, port: int,
                          on_failure: Callable[[BaseException], None] | None = None,
                          ) -> tuple[Szy206Listener, Ingestor]:
    """SZY206 terminals over TCP -> the same ingest loop as MQTT messages."""
    source = Szy206Listener(host, port, prefix=settings.topic_prefix,
                            max_unacked=settings.mqtt_receive_maximum,
                            max_outgoing_bytes=settings.szy206_max_outgoing_bytes,
                            max_connections=settings.szy206_max_connections,
                            on_failure=on_failure)
    return source, Ingestor(source, _config(settings, tails=True, szy206_over_tcp=True))


def run_szy206_listener(settings: Settings, stop: threading.Event, *, host: str,
                        port: int) -> Ingestor:
    """Run until ``stop`` is set; frames not committed by then are not confirmed.

    A dead I/O thread stops the ingest loop (even one waiting for the database) and
    raises ListenerFailedError: the process exits non-zero and its supervisor
    restarts it; what was not committed is not confirmed, so the terminals resend it.
    """
    source, ingestor = build_szy206_ingestor(settings, host=host, port=port,
                                             on_failure=lambda _exc: stop.set())
    _run(source, ingestor, stop)
    if source.failure is not None:
        raise ListenerFailedError("the SZY206 listener's I/O thread died") from source.failure
    return ingestor


def _run(source: MqttSource | Szy206Listener, ingestor: Ingestor,
         stop: threading.Event) -> Ingestor:
    source.start()
    try:
        ingestor.run(stop)
    finally:
        source.stop()
    return ingestor


def run_ingest(settings: Settings, stop: threading.Event) -> Ingestor:
    """Run until ``stop`` is set; uncommitted messages stay unacknowledged for redelivery."""
    source, ingestor = build_ingestor(settings)
    return _run(source, ingestor, stop)
