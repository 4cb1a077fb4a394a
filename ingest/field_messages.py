"""Messages of the field channels (``gate``, ``szy206``) into the same batch as JSON readings.

The ingestor builds its batch with :func:`build_batch_with_field_messages`: messages
on ``{prefix}/{device}/gate`` (JSON gate reports, ``ingest.gate_contract``) and on
``{prefix}/{source}/szy206`` (raw SZY206-2016 frames, ``ingest.szy206_readings``)
are read here, every other message by ``ingest.batch.build_batch``. All of them
end in one ``IngestBatch``, written in one transaction with the same
idempotency, consumption derivation and dead letters. Pure code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ingest.batch import DeadLetter, IngestBatch, ReceivedMessage, build_batch
from ingest.gate_contract import GATE_CHANNEL, GateMeterReading, parse_gate_message
from ingest.registry import Registry
from ingest.szy206_readings import SZY206_CHANNEL, add_szy206_payload

FIELD_CHANNELS = (GATE_CHANNEL, SZY206_CHANNEL)
_SUFFIXES = tuple(f"/{channel}" for channel in FIELD_CHANNELS)


def field_topic(topic: str, prefix: str) -> tuple[str, str] | None:
    """``{prefix}/{source}/{gate|szy206}`` -> (source, channel); None for any other topic."""
    if not topic.endswith(_SUFFIXES):
        return None
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) != 2 or not parts[0]:
        return None
    return parts[0], parts[1]


def build_batch_with_field_messages(messages: Iterable[ReceivedMessage], registry: Registry, *,
                                    prefix: str, default_zone: ZoneInfo, now: datetime,
                                    max_future: timedelta,
                                    szy206_over_tcp: bool = False) -> IngestBatch:
    """``build_batch`` for JSON readings, plus the field channels' rows in the same batch.

    ``szy206_over_tcp``: the messages come from the SZY206 TCP listener, not from the
    broker. The SZY206 frames' gateway binding depends on it, never on the topic's
    text: over MQTT the topic's middle level is the publishing gateway's ID (even
    one that reads ``tcp:…``, to which no terminal can be bound).
    """
    plain: list[ReceivedMessage] = []
    field: list[tuple[ReceivedMessage, str, str]] = []
    for message in messages:
        found = field_topic(message.topic, prefix)
        if found is None:
            plain.append(message)
        else:
            field.append((message, *found))
    batch = build_batch(plain, registry, prefix=prefix, default_zone=default_zone, now=now,
                        max_future=max_future)
    for message, source, channel in field:
        if channel == SZY206_CHANNEL:
            add_szy206_payload(batch, message.topic, message.payload, registry,
                               gateway=None if szy206_over_tcp else source, now=now,
                               max_future=max_future)
        else:
            add_gate_payload(batch, message, source, registry, default_zone=default_zone,
                             now=now, max_future=max_future)
    return batch


def add_gate_payload(batch: IngestBatch, message: ReceivedMessage, device_id: str,
                     registry: Registry, *, default_zone: ZoneInfo, now: datetime,
                     max_future: timedelta) -> None:
    """A JSON gate message: reports for the gate meter installed at their time."""
    if not registry.knows_device(device_id):
        batch.dead_letters.append(DeadLetter(message.topic, message.payload, "unknown_device",
                                             f"device {device_id!r} is not in the registry"))
        return
    parsed = parse_gate_message(device_id, message.payload,
                                tz=registry.zone_for(device_id, default_zone), now=now,
                                max_future=max_future)
    for rejection, raw in parsed.rejections:
        batch.dead_letters.append(DeadLetter(message.topic, raw, rejection.reason,
                                             rejection.detail, rejection.element))
    for index, report in parsed.reports:
        meter = registry.meter_for(device_id, GATE_CHANNEL, report.ts)
        if meter is None:
            batch.dead_letters.append(DeadLetter(
                message.topic, message.payload, "no_meter_installed",
                f"no gate meter installed on device {device_id} at {report.ts.isoformat()}",
                index))
        else:
            batch.gates.append(GateMeterReading(meter, report))
