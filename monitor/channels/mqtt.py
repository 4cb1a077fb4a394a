"""MQTT publisher of the monitor: the only monitor module that imports paho.

Publishes notifications to a per-user topic (``<notify prefix>/<address>``)
and enforcement commands to a device's command topic, QoS 1, waiting for the
broker's acknowledgement. One connection, reconnected on demand.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from monitor import messages
from monitor.channels import DeliveryError
from monitor.repository.outbox import Due

CONNECT_TIMEOUT_S = 10.0
PUBLISH_TIMEOUT_S = 10.0


class MqttPublisher:
    def __init__(self, url: str, *, client_id: str, protocol: str = "5") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"MQTT URL must be mqtt://host[:port], got {url!r}")
        self._host = parts.hostname
        self._port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        version = mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=version)
        if parts.username:
            self._client.username_pw_set(unquote(parts.username),
                                         unquote(parts.password) if parts.password else None)
        if parts.scheme == "mqtts":
            self._client.tls_set()
        self._connected = threading.Event()
        self._client.on_connect = lambda *a: self._connected.set()
        self._client.on_disconnect = lambda *a: self._connected.clear()
        self._lock = threading.Lock()
        self._started = False

    def _ensure_connected(self) -> None:
        if not self._started:
            self._client.connect_async(self._host, self._port, keepalive=30)
            self._client.loop_start()
            self._started = True
        if not self._connected.wait(CONNECT_TIMEOUT_S):
            raise DeliveryError(f"broker {self._host}:{self._port} not reachable")

    def publish(self, topic: str, payload: dict[str, Any]) -> str:
        with self._lock:
            self._ensure_connected()
            info = self._client.publish(topic, json.dumps(payload, ensure_ascii=False).encode(),
                                        qos=1)
            try:
                info.wait_for_publish(PUBLISH_TIMEOUT_S)
            except (RuntimeError, ValueError) as exc:
                raise DeliveryError(f"publish to {topic}: {exc}") from exc
            if not info.is_published():
                raise DeliveryError(f"publish to {topic}: no acknowledgement from the broker")
        return f"published to {topic} (mid {info.mid})"

    def stop(self) -> None:
        if self._started:
            self._client.loop_stop()
            self._client.disconnect()
            self._started = False


class MqttChannel:
    """Notifications to ``<prefix>/<address>``: one topic per user."""

    def __init__(self, publisher: MqttPublisher, prefix: str) -> None:
        self.publisher = publisher
        self.prefix = prefix.rstrip("/")

    def send(self, due: Due) -> str:
        if any(c in due.address for c in "+#") or not due.address:
            raise DeliveryError(f"not a topic level: {due.address!r}")
        body = messages.mqtt_message(due.note, due.idempotency_key, due.title, due.body,
                                       due.language)
        return self.publisher.publish(f"{self.prefix}/{due.address}", body)
