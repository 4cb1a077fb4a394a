"""Raw broker messages -> the rows one database transaction writes. Pure code.

Nothing is dropped: every message, and every element of a batched message,
ends either as a row or as a dead letter with its reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, cast
from zoneinfo import ZoneInfo

from ingest.contract import (
    CardSession,
    Channel,
    DeviceStatus,
    PayloadError,
    Reading,
    RegisterReading,
    Topic,
    parse_message,
    parse_topic,
    register_columns,
)
from ingest.gate_contract import GateMeterReading
from ingest.register_runs import RUN_MIN, RegisterRun, as_time, make_run
from ingest.registry import Meter, Registry


class ReceivedMessage(NamedTuple):  # a named tuple: one per message on the hot path
    """A broker message as the rest of the code sees it (no paho types past the edge)."""

    topic: str
    payload: bytes
    mid: int = 0
    session: int = 0  # broker connection it arrived on: acks are only valid there


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    payload: bytes
    reason: str
    detail: str
    element: int | None = None


class MeterReading(NamedTuple):  # a named tuple: one per reading on the hot path
    meter: Meter
    ts: datetime
    value: float
    flow_m3h: float | None


@dataclass(frozen=True, slots=True)
class MeterSession:
    meter: Meter
    session: CardSession


@dataclass
class IngestBatch:
    registers: list[MeterReading] = field(default_factory=list)
    sessions: list[MeterSession] = field(default_factory=list)
    statuses: list[DeviceStatus] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    gates: list[GateMeterReading] = field(default_factory=list)  # ingest/field_messages.py
    runs: list[RegisterRun] = field(default_factory=list)  # long register messages as columns

    def extend(self, other: IngestBatch) -> None:
        """Add another batch's rows and dead letters after this one's."""
        self.registers += other.registers
        self.sessions += other.sessions
        self.statuses += other.statuses
        self.dead_letters += other.dead_letters
        self.gates += other.gates
        self.runs += other.runs

    @property
    def readings(self) -> int:
        return (len(self.registers) + sum(len(r) for r in self.runs) + len(self.sessions)
                + len(self.statuses))


def _resolve(topic_name: str, registry: Registry, prefix: str,
             default_zone: ZoneInfo) -> tuple[Topic, ZoneInfo] | DeadLetter:
    try:
        topic = parse_topic(topic_name, prefix)
    except PayloadError as exc:
        return DeadLetter(topic_name, b"", exc.reason, exc.detail)
    if not registry.knows_device(topic.device_id):
        return DeadLetter(topic_name, b"", "unknown_device",
                          f"device {topic.device_id!r} is not in the registry")
    return topic, registry.zone_for(topic.device_id, default_zone)


def build_batch(messages: Iterable[ReceivedMessage], registry: Registry, *, prefix: str,
                default_zone: ZoneInfo, now: datetime, max_future: timedelta) -> IngestBatch:
    batch = IngestBatch()
    topics: dict[str, tuple[Topic, ZoneInfo] | DeadLetter] = {}  # devices repeat in a batch
    for message in messages:
        known = topics.get(message.topic)
        if known is None:
            known = topics[message.topic] = _resolve(message.topic, registry, prefix,
                                                      default_zone)
        if isinstance(known, DeadLetter):
            batch.dead_letters.append(DeadLetter(message.topic, message.payload, known.reason,
                                                 known.detail))
            continue
        topic, zone = known
        if _plain_registers(topic, message.payload, registry, now, max_future, zone, batch):
            continue
        parsed = parse_message(topic, message.payload, tz=zone, now=now, max_future=max_future)
        for rejection, raw in parsed.rejections:
            batch.dead_letters.append(DeadLetter(message.topic, raw, rejection.reason,
                                                 rejection.detail, rejection.element))
        if _one_meter(parsed.readings, topic, registry, batch.registers):
            continue
        for index, reading in zip(parsed.elements, parsed.readings, strict=True):
            if isinstance(reading, DeviceStatus):
                batch.statuses.append(reading)
                continue
            ts = reading.ts if isinstance(reading, RegisterReading) else reading.ended_at
            meter = registry.meter_for(topic.device_id, topic.channel.value, ts)
            if meter is None:
                batch.dead_letters.append(DeadLetter(
                    message.topic, message.payload, "no_meter_installed",
                    f"no {topic.channel.value} meter installed on device {topic.device_id} "
                    f"at {ts.isoformat()}", index))
            elif isinstance(reading, RegisterReading):
                batch.registers.append(MeterReading(meter, reading.ts, reading.value,
                                                    reading.flow_m3h))
            else:
                batch.sessions.append(MeterSession(meter, reading))
    return batch


def _plain_registers(topic: Topic, payload: bytes, registry: Registry, now: datetime,
                     max_future: timedelta, zone: ZoneInfo, batch: IngestBatch) -> bool:
    """A plainly valid register payload of one meter (the usual message): added, True.

    Long ones as columns (``RegisterRun``), short ones as readings; anything else
    (a bad element, readings across a meter replacement) is left to the general
    path, which decides and says why.
    """
    if topic.channel is not Channel.FLOW and topic.channel is not Channel.POWER:
        return False
    columns = register_columns(topic, payload, now, max_future, zone)
    if columns is None:
        return False
    micros = columns.micros
    first, last = (micros[0], micros[0]) if len(micros) == 1 else (min(micros), max(micros))
    meter = registry.meter_for(topic.device_id, topic.channel.value, as_time(first))
    if meter is None or (last != first and not meter.active_at(as_time(last))):
        return False
    if len(micros) >= RUN_MIN:
        batch.runs.append(make_run(meter, micros, columns.values, columns.flows))
    else:
        batch.registers += [MeterReading(meter, as_time(us), value, flow) for us, value, flow
                            in zip(micros, columns.values, columns.flows, strict=True)]
    return True


def runs_as_readings(runs: Iterable[RegisterRun]) -> list[MeterReading]:
    """Runs as the scalar path's readings."""
    return [MeterReading(run.meter, as_time(int(us)), float(value),
                         None if math.isnan(flow) else float(flow))
            for run in runs
            for us, value, flow in zip(run.micros, run.values, run.flows, strict=True)]


def _one_meter(readings: list[Reading], topic: Topic, registry: Registry,
               into: list[MeterReading]) -> bool:
    """Register readings that all fall to one meter (the usual case): added, True.

    A meter is installed over one span of time, so when the earliest and the
    latest reading belong to it, every reading between does.
    """
    if not readings or (topic.channel is not Channel.FLOW and topic.channel is not Channel.POWER):
        return False
    registers = cast(list[RegisterReading], readings)
    if len(registers) == 1:
        r = registers[0]
        meter = registry.meter_for(topic.device_id, topic.channel.value, r.ts)
        if meter is None:
            return False
        into.append(MeterReading(meter, r.ts, r.value, r.flow_m3h))
        return True
    first, last = min(r.ts for r in registers), max(r.ts for r in registers)
    meter = registry.meter_for(topic.device_id, topic.channel.value, first)
    if meter is None or not meter.active_at(last):
        return False
    into += [MeterReading(meter, r.ts, r.value, r.flow_m3h) for r in registers]
    return True
