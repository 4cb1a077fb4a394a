"""The ingest client's own PUBLISH decoding gives what paho's gives, or leaves it to paho."""

from __future__ import annotations

import struct
from typing import Any

import paho.mqtt.client as mqtt
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.mqtt_source import NOT_UTF8_TOPIC, MqttSource, _IngestClient


def _publish(topic: bytes, payload: bytes, mid: int, *, qos: int = 1, v5: bool = True,
             properties: bytes = b"\x00") -> tuple[int, bytes]:
    """(fixed-header command byte, the packet after the fixed header)."""
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    if v5:
        body += properties
    return 0x30 | (qos << 1), body + payload


def _run(command: int, packet: bytes, *, v5: bool = True) -> dict[str, Any]:
    client = _IngestClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id="t",
                           protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, manual_ack=True)
    seen: dict[str, Any] = {}
    client.deliver = lambda topic, payload, mid: seen.update(fast=(topic, payload, mid))

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        seen["paho"] = (msg.topic, bytes(msg.payload), msg.mid, msg.properties)

    client.on_message = on_message
    client._in_packet["command"] = command
    client._in_packet["packet"] = bytearray(packet)
    assert client._handle_publish() == mqtt.MQTT_ERR_SUCCESS
    return seen


def test_a_qos1_publish_without_properties_is_decoded_by_the_shortcut() -> None:
    command, packet = _publish("wb/v1/井01/flow".encode(), b'{"ts": 1}', 4242)
    assert _run(command, packet) == {"fast": ("wb/v1/井01/flow", b'{"ts": 1}', 4242)}


def test_mqtt_311_and_an_empty_payload() -> None:
    command, packet = _publish(b"wb/v1/d/flow", b"", 1, v5=False)
    assert _run(command, packet, v5=False) == {"fast": ("wb/v1/d/flow", b"", 1)}


def test_properties_qos0_and_bad_topics_go_through_paho() -> None:
    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = 60
    command, packet = _publish(b"wb/v1/d/flow", b"x", 7, properties=bytes(props.pack()))
    seen = _run(command, packet)
    assert set(seen) == {"paho"}
    assert seen["paho"][:3] == ("wb/v1/d/flow", b"x", 7)
    assert seen["paho"][3].MessageExpiryInterval == 60
    command, packet = _publish(b"wb/v1/d/flow", b"x", 0, qos=0)
    assert set(_run(command, packet)) == {"paho"}
    command, packet = _publish(b"wb/\xff/flow", b"x", 3)
    source = MqttSource("mqtt://127.0.0.1:1", client_id="t", topics=["wb/#"])
    source._client._in_packet["command"] = command
    source._client._in_packet["packet"] = bytearray(packet)
    source._client._handle_publish()
    [message] = source.take(10, 0.1)
    assert (message.topic, message.payload, message.mid) == (NOT_UTF8_TOPIC, b"x", 3)


@given(topic=st.text(min_size=1, max_size=60).filter(lambda t: "\x00" not in t),
       payload=st.binary(max_size=300), mid=st.integers(1, 65_535), v5=st.booleans(),
       dup=st.booleans(), retain=st.booleans())
def test_the_shortcut_agrees_with_pahos_decoder(topic: str, payload: bytes, mid: int, v5: bool,
                                                dup: bool, retain: bool) -> None:
    command, packet = _publish(topic.encode(), payload, mid, v5=v5)
    command |= (0x08 if dup else 0) | (0x01 if retain else 0)
    expected = _packet.decode_publish(command, packet,
                                      mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
    assert _run(command, packet, v5=v5) == {
        "fast": (expected.topic.decode(), bytes(expected.payload), expected.mid)}


def _whole(command: int, body: bytes) -> bytes:
    """A whole MQTT packet: command byte, remaining length (variable byte integer), body."""
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            return bytes([command]) + bytes(encoded) + body


def test_complete_publishes_in_the_buffer_bypass_pahos_reader_up_to_anything_else() -> None:
    client = _IngestClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id="t",
                           protocol=mqtt.MQTTv5, manual_ack=True)
    seen: list[tuple[str, bytes, int]] = []
    client.deliver = lambda topic, payload, mid: seen.append((topic, payload, mid))
    big = b"x" * 300  # a two-byte remaining length
    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = 60
    stream = b"".join([
        _whole(*_publish(b"wb/a/flow", b"1", 1)),
        _whole(*_publish(b"wb/b/flow", big, 2)),
        _whole(0x3A, _publish(b"wb/c/flow", b"3", 3)[1]),  # DUP set
        _whole(*_publish(b"wb/d/flow", b"4", 4, properties=bytes(props.pack()))),  # for paho
        _whole(*_publish(b"wb/e/flow", b"5", 5)),
    ])
    client._received_bytes, client._taken = stream, 0
    assert client.deliver_buffered() == 3
    assert seen == [("wb/a/flow", b"1", 1), ("wb/b/flow", big, 2), ("wb/c/flow", b"3", 3)]
    assert client.buffered() == len(stream) - sum(len(_whole(*_publish(t, p, m))) for t, p, m in
                                                  [(b"wb/a/flow", b"1", 1),
                                                   (b"wb/b/flow", big, 2),
                                                   (b"wb/c/flow", b"3", 3)])
    # a packet cut short waits for the rest; paho mid-packet: nothing is taken
    whole = _whole(*_publish(b"wb/f/flow", b"6", 6))
    client._received_bytes, client._taken = whole[:-1], 0
    assert client.deliver_buffered() == 0
    client._received_bytes, client._taken = whole, 0
    client._in_packet["command"] = 0x32
    assert client.deliver_buffered() == 0
    client._in_packet["command"] = 0
    assert client.deliver_buffered() == 1
    assert seen[-1] == ("wb/f/flow", b"6", 6)
