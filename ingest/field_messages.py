"""Messages of the field channels (``gate``, ``szy206``) into the same batch as JSON readings.

The ingestor builds its batch with :func:`build_batch_with_field_messages`: messages
on ``{prefix}/{device}/gate`` (JSON gate reports, ``ingest.gate_contract``) and on
``{prefix}/{source}/szy206`` (raw SZY206-2016 frames, ``ingest.szy206_readings``)
are read here, every other message by ``ingest.batch.build_batch``. All of them
end in one ``IngestBatch``, written in one transaction with the same
idempotency, consumption derivation and dead letters. Pure code.

No message can make the build fail: the contract's rules name every defect
they know, and an exception no rule foresaw (a bug, a new kind of hostile
input) is caught here, the batch built again one message at a time, and the
message that raised it dead-lettered as ``parse_failed`` with the exception —
so the other messages still go through and the ingestor never crash-loops on
a redelivered message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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

    Never raises for a message's content: see the module's docstring.

    ``szy206_over_tcp``: the messages come from the SZY206 TCP listener, not from the
    broker. The SZY206 frames' gateway binding depends on it, never on the topic's
    text: over MQTT the topic's middle level is the publishing gateway's ID (even
    one that reads ``tcp:…``, to which no terminal can be bound).
    """
    taken = messages if isinstance(messages, Sequence) else list(messages)
    try:
        return _build(taken, registry, prefix=prefix, default_zone=default_zone, now=now,
                      max_future=max_future, szy206_over_tcp=szy206_over_tcp)
    except Exception:  # whatever it is, one message's content caused it
        pass
    batch = IngestBatch()
    for message in taken:
        try:
            batch.extend(_build([message], registry, prefix=prefix, default_zone=default_zone,
                                now=now, max_future=max_future,
                                szy206_over_tcp=szy206_over_tcp))
        except Exception as exc:
            batch.dead_letters.append(failed_message(message, "parse_failed", exc))
    return batch


def failed_message(message: ReceivedMessage, reason: str, exc: BaseException) -> DeadLetter:
    """The dead letter of a message that made the ingest code fail, naming the exception."""
    try:
        text = str(exc)
    except Exception:  # a str() that fails says nothing more
        text = ""
    return DeadLetter(message.topic, message.payload, reason,
                      f"{type(exc).__name__}: {text}"[:2000])


def _build(messages: Sequence[ReceivedMessage], registry: Registry, *, prefix: str,
           default_zone: ZoneInfo, now: datetime, max_future: timedelta,
           szy206_over_tcp: bool) -> IngestBatch:
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
