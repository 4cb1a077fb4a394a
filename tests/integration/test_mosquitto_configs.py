"""The Mosquitto configurations start with the system broker, and the ACL holds.

Runs /usr/sbin/mosquitto (2.0.x) on spare ports: the test configuration as
is, and the production configuration with its container paths and port
rewritten to a temporary folder, users created with mosquitto_passwd.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
USERS = ("W001", "W002", "ingest", "monitor", "healthcheck")

if not Path(MOSQUITTO).exists() or not shutil.which("mosquitto_passwd"):
    pytest.skip("the mosquitto broker and mosquitto_passwd are not installed",
                allow_module_level=True)


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_broker(args: list[str], port: int, log: Path) -> Iterator[int]:
    output = log.open("wb")
    process = subprocess.Popen([MOSQUITTO, *args], stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        output.close()


@pytest.fixture(scope="module")
def production_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("mosquitto-prod")
    port = spare_port()
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    for container_path in ("/mosquitto/config/", "/mosquitto/data/"):
        conf = conf.replace(container_path, f"{folder}/")
    conf = conf.replace("\nlistener 1883\n", f"\nlistener {port} 127.0.0.1\n")
    assert f"listener {port}" in conf
    (folder / "mosquitto.conf").write_text(conf + "\nuser root\n")  # keep root's file access
    shutil.copy(ROOT / "deploy/mosquitto/acl", folder / "acl")
    passwd = folder / "passwd"
    for user in USERS:
        subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if user == USERS[0] else []),
                        str(passwd), user, f"pw-{user}"], check=True)
    yield from run_broker(["-c", str(folder / "mosquitto.conf")], port, folder / "log")


class Client:
    def __init__(self, port: int, user: str | None, password: str | None = None) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.reason: object = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, password if password is not None else f"pw-{user}")
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload)))
        self.client.on_connect = self._on_connect
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.connected.wait(5)

    def _on_connect(self, _c: object, _u: object, _f: object, reason: object, _p: object) -> None:
        self.reason = reason
        self.connected.set()

    @property
    def accepted(self) -> bool:
        return self.connected.is_set() and not getattr(self.reason, "is_failure", True)

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_test_configuration_starts_on_loopback_with_the_given_port(tmp_path):
    port = spare_port()
    conf = str(ROOT / "tests/mosquitto-test.conf")
    for _ in run_broker(["-c", conf, "-p", str(port)], port, tmp_path / "log"):
        listener = Client(port, None)
        listener.subscribe("t/#")
        sender = Client(port, None)
        for n in range(3000):  # more than Debian's 1000-message queue
            sender.client.publish("t/x", str(n).encode(), qos=1)
        deadline = time.monotonic() + 20
        while len(listener.received) < 3000 and time.monotonic() < deadline:
            time.sleep(0.05)
        sender.stop()
        listener.stop()
        assert len(listener.received) == 3000


def test_devices_publish_only_under_their_own_id(production_broker):
    ingest = Client(production_broker, "ingest")
    ingest.subscribe("$share/ingest/waterbudget/v1/#")
    spy = Client(production_broker, "W001")
    spy.subscribe("waterbudget/v1/W002/#")
    device = Client(production_broker, "W001")
    device.publish("waterbudget/v1/W001/flow", b"own")
    device.publish("waterbudget/v1/W002/flow", b"forged")
    Client(production_broker, "W002").publish("waterbudget/v1/W002/flow", b"other")
    time.sleep(0.5)
    assert sorted(ingest.received) == [("waterbudget/v1/W001/flow", b"own"),
                                       ("waterbudget/v1/W002/flow", b"other")]
    assert spy.received == []


def test_only_the_monitor_sends_commands(production_broker):
    device = Client(production_broker, "W001")
    device.subscribe("waterbudget/v1/W001/command")
    Client(production_broker, "W002").publish("waterbudget/v1/W001/command", b"forged")
    Client(production_broker, "monitor").publish("waterbudget/v1/W001/command", b"stop")
    time.sleep(0.5)
    assert device.received == [("waterbudget/v1/W001/command", b"stop")]


def test_anonymous_and_wrong_passwords_are_refused(production_broker):
    assert not Client(production_broker, None).accepted
    assert not Client(production_broker, "W001", "wrong").accepted
    assert Client(production_broker, "W001").accepted


def test_the_health_check_user_reads_sys(production_broker):
    health = Client(production_broker, "healthcheck")
    health.subscribe("$SYS/broker/uptime")
    deadline = time.monotonic() + 15
    while not health.received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert health.received
