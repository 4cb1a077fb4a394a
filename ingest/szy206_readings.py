"""SZY206-2016 frames -> the rows of an ingest batch, like JSON readings. Pure code.

A message on ``{prefix}/{source}/szy206`` carries raw frames: a gateway's MQTT
payload (one or more frames back to back), or one frame a terminal sent to the
TCP listener (``source`` is then ``tcp:<host>:<port>`` of the connection). Each
frame's address names its terminal; the registry's ``terminals`` say which
device that is (``ingest.szy206_terminals``). Decoded values become the same
rows as JSON readings: flow and power registers of the device's meters, device
status with the alarm word, and gate reports (water levels, gate opening) for
the device's gate meter. Anything that cannot be read — garbage between frames,
a wrong check byte, AAH "no value" markers, non-BCD digits, unknown codes, an
unknown terminal — becomes a dead letter with that frame's raw bytes and the
reason, never a reading of 0.

Gateway binding: ``gateway`` is the gateway the payload came through (the topic's
middle level over MQTT, None from the TCP listener). A frame whose terminal is not
registered as reached that way (``Terminal.refusal``) is dead-lettered as
``wrong_gateway`` with its raw bytes: the address inside a frame is the sender's
claim, the topic (ACL: a gateway publishes only under its own ID) is not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ingest.batch import DeadLetter, IngestBatch, MeterReading
from ingest.contract import DeviceStatus, PayloadError
from ingest.gate_contract import GateMeterReading, GateReport, checked_value
from ingest.registry import Registry
from ingest.szy206_decode import Decoded, decode, device_id
from ingest.szy206_frame import Frame, StreamSplitter
from ingest.szy206_terminals import Terminal

SZY206_CHANNEL = "szy206"


def add_szy206_payload(batch: IngestBatch, topic: str, payload: bytes, registry: Registry, *,
                       gateway: str | None, now: datetime, max_future: timedelta) -> None:
    """Every frame of the payload into the batch: rows, or dead letters with the raw bytes.

    ``gateway``: the gateway ID the payload was published under, None for a frame
    from the TCP listener. ``now`` is the receive time: the month and year of the
    frames' time labels.
    """
    if not payload:
        batch.dead_letters.append(DeadLetter(topic, payload, "garbage", "empty payload"))
        return
    splitter = StreamSplitter()
    items = splitter.feed(payload)
    items += splitter.close()
    rejected = [item[0] for item in items if not isinstance(item, Frame)]
    if len(rejected) == len(items):
        # No frame at all (the TCP listener's garbage or truncated tail, a corrupt frame):
        # one dead letter with the whole payload, as the listener cut it.
        reasons = {rejection.reason for rejection in rejected}
        batch.dead_letters.append(DeadLetter(
            topic, payload, reasons.pop() if len(reasons) == 1 else "garbage",
            "; ".join(rejection.detail for rejection in rejected)))
        return
    for item in items:
        if isinstance(item, Frame):
            _add_frame(batch, topic, item, registry, gateway, now, max_future)
        else:
            rejection, raw = item
            batch.dead_letters.append(DeadLetter(topic, raw, rejection.reason, rejection.detail))


def _add_frame(batch: IngestBatch, topic: str, frame: Frame, registry: Registry,
               gateway: str | None, now: datetime, max_future: timedelta) -> None:
    try:
        address = device_id(frame.address)
        terminal = registry.terminals.get(address)
        if terminal is None:
            raise PayloadError("unknown_device", f"SZY206 terminal {address} is not in the "
                                                 f"registry's terminals")
        refusal = terminal.refusal(gateway)
        if refusal is not None:
            raise PayloadError("wrong_gateway", refusal)
        decoded = decode(frame, received_at=now, max_future=max_future,
                         flow_m3h_per_unit=terminal.flow_m3h_per_unit)
        gate = _gate_report(decoded, terminal)
    except PayloadError as exc:
        batch.dead_letters.append(DeadLetter(topic, frame.raw, exc.reason, exc.detail))
        return
    for reading in decoded.readings:
        device = terminal.device_for(reading.device_id)
        if isinstance(reading, DeviceStatus):
            batch.statuses.append(DeviceStatus(device, reading.ts, reading.online,
                                               reading.alarms))
            continue
        meter = registry.meter_for(device, reading.channel.value, reading.ts)
        if meter is None:
            batch.dead_letters.append(_no_meter(topic, frame, device, reading.channel.value,
                                                reading.ts))
        else:
            batch.registers.append(MeterReading(meter, reading.ts, reading.value,
                                                reading.flow_m3h))
    if gate is not None:
        meter = registry.meter_for(gate.device_id, "gate", gate.ts)
        if meter is None:
            batch.dead_letters.append(_no_meter(topic, frame, gate.device_id, "gate", gate.ts))
        else:
            batch.gates.append(GateMeterReading(meter, gate))


def _gate_report(decoded: Decoded, terminal: Terminal) -> GateReport | None:
    """Water levels by the roles the registry gives their points, and the gate opening."""
    if not decoded.levels and not decoded.openings:
        return None
    values: dict[str, float] = {}
    for level in decoded.levels:
        role = terminal.levels[level.point - 1] if level.point <= len(terminal.levels) else None
        if role is None:
            raise PayloadError("unmapped_level", f"water-level point {level.point} of terminal "
                                                 f"{terminal.address} has no role in the "
                                                 f"registry (levels: {terminal.levels})")
        if role != "ignore":
            values[f"{role}_m"] = checked_value(f"{role}_m", level.level_m)
    for opening in decoded.openings:
        if opening.device_id != decoded.device_id:
            raise PayloadError("unsupported_code", f"gate position of point "
                                                   f"{opening.device_id}: one gate per terminal")
        values["opening_m"] = checked_value("opening_m", opening.opening_m)
    if not values:
        return None
    return GateReport(terminal.device_id, decoded.ts, values.get("upstream_m"),
                      values.get("downstream_m"), values.get("opening_m"))


def _no_meter(topic: str, frame: Frame, device: str, channel: str, ts: datetime) -> DeadLetter:
    return DeadLetter(topic, frame.raw, "no_meter_installed",
                      f"no {channel} meter installed on device {device} at {ts.isoformat()}")
