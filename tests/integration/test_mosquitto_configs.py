"""The Mosquitto configurations start with the system broker, the ACL holds, and
an acknowledged backlog survives a kill -9 of the broker.

Runs /usr/sbin/mosquitto (2.0.x) on spare ports: the test configuration as
is, and the production configuration with its container paths and port
rewritten to a temporary folder, its ACL as tools/mosquitto_acl.py writes it
(with one person, ``zhang``), users created with mosquitto_passwd.

Mosquitto 2.0.11 answers a forbidden QoS-1 publish with a PUBACK (on MQTT 5
with the reason "not authorized") and then closes the client's connection; the
message is dropped. Each forbidden attempt therefore has a connection of its
own, and each ACL test checks delivery: an
``observer`` account (an extra user block reading ``#``, the only addition to
the production ACL) or the spying account itself must not receive the message.
No sleeps: after the forbidden publishes are acknowledged, a permitted marker
is published; the broker handles the packets in order on its single thread, so
a forbidden message that got through would arrive before the marker.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tools.mosquitto_acl import acl_text

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
DEVICES = ("W001", "W002")
PEOPLE = ("zhang",)
SERVICES = ("ingest", "monitor", "healthcheck")
USERS = (*DEVICES, *PEOPLE, *SERVICES, "observer")
CHANNELS = ("flow", "power", "card", "status", "gate", "szy206")  # docs/mqtt-contract.md
WAIT_S = 10.0

if not Path(MOSQUITTO).exists() or not shutil.which("mosquitto_passwd"):
    pytest.skip("the mosquitto broker and mosquitto_passwd are not installed",
                allow_module_level=True)


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_broker(args: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        process = subprocess.Popen([MOSQUITTO, *args], stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)


def stop_broker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(30)


def run_broker(args: list[str], port: int, log: Path) -> Iterator[int]:
    process = start_broker(args, port, log)
    try:
        yield port
    finally:
        stop_broker(process)


def production_conf(folder: Path, port: int) -> Path:
    """deploy/mosquitto with the container's paths and port rewritten; users made."""
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    for container_path in ("/mosquitto/config/", "/mosquitto/data/"):
        conf = conf.replace(container_path, f"{folder}/")
    conf = conf.replace("\nlistener 1883\n", f"\nlistener {port} 127.0.0.1\n")
    assert f"listener {port}" in conf
    if os.geteuid() == 0:
        conf += "\nuser root\n"  # keep root's file access
    (folder / "mosquitto.conf").write_text(conf)
    acl = acl_text((ROOT / "deploy/mosquitto/acl").read_text(), PEOPLE, DEVICES)
    (folder / "acl.generated").write_text(acl + "\nuser observer\ntopic read #\n")
    passwd = folder / "passwd"
    for user in USERS:
        subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if user == USERS[0] else []),
                        str(passwd), user, f"pw-{user}"], check=True)
    return folder / "mosquitto.conf"


@pytest.fixture(scope="module")
def production_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("mosquitto-prod")
    port = spare_port()
    yield from run_broker(["-c", str(production_conf(folder, port))], port, folder / "log")


class Client:
    def __init__(self, port: int, user: str | None, password: str | None = None, *,
                 client_id: str = "", persistent: bool = False) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.reason: object = None
        # MQTT 3.1.1 unless a session is kept (the ingestor's way: v5 with a session
        # expiry). Mosquitto 2.0.11 answers a denied v5 publish with a PUBACK "not
        # authorized" on which paho 2.2 drops the connection and reconnects a second
        # later: still denied, only slower. The ACL does not depend on the version.
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5 if persistent else mqtt.MQTTv311)
        if user is not None:
            self.client.username_pw_set(user, password if password is not None else f"pw-{user}")
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload)))
        self.client.on_connect = self._on_connect
        if persistent:  # as the ingestor: clean_start=False with a session expiry
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
            self.client.connect("127.0.0.1", port, clean_start=False, properties=properties)
        else:
            self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.connected.wait(5)

    def _on_connect(self, _c: object, _u: object, _f: object, reason: object, _p: object) -> None:
        self.reason = reason
        self.connected.set()

    @property
    def accepted(self) -> bool:
        return self.connected.is_set() and not getattr(self.reason, "is_failure", True)

    def subscribe(self, *topics: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe([(topic, 1) for topic in topics])
        assert done.wait(5)

    def publish(self, topic: str, payload: bytes) -> None:
        """QoS 1, returns once the broker acknowledged (also when it then drops the message)."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(5)
        assert info.is_published()

    def wait_for(self, message: tuple[str, bytes]) -> list[tuple[str, bytes]]:
        """Everything received up to ``message`` (excluded), once it arrived."""
        deadline = time.monotonic() + WAIT_S
        while message not in self.received:
            assert time.monotonic() < deadline, f"{message} never arrived: {self.received}"
            time.sleep(0.02)
        return self.received[:self.received.index(message)]

    def wait_for_sys(self, count: int) -> list[tuple[str, bytes]]:
        """The messages received once ``count`` of them are on $SYS topics."""
        deadline = time.monotonic() + 25  # the broker publishes $SYS every 10 s
        while sum(topic.startswith("$SYS/") for topic, _ in self.received) < count:
            assert time.monotonic() < deadline, f"no $SYS message: {self.received}"
            time.sleep(0.05)
        return list(self.received)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def attempt(port: int, user: str, topic: str, payload: bytes = b"forged") -> None:
    """A publish the ACL must refuse, on a connection of its own; returns once handled.

    The broker has handled it when the PUBACK arrived or when it closed the
    connection (it does both for a refused QoS-1 publish). The network loop runs
    here, so paho does not wait to reconnect.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(user, f"pw-{user}")
    client.connect("127.0.0.1", port)
    info = None
    deadline = time.monotonic() + WAIT_S
    while client.loop(0.02) == mqtt.MQTT_ERR_SUCCESS:
        if info is None and client.is_connected():
            info = client.publish(topic, payload, qos=1)
        if info is not None and info.is_published():
            client.disconnect()
            break
        assert time.monotonic() < deadline, f"{user} publishing on {topic}: no answer"
    assert info is not None, f"{user} could not connect"


def marked(port: int, spies: dict[Client, tuple[str, bytes]],
           act: Callable[[], None]) -> dict[Client, list[tuple[str, bytes]]]:
    """What each spy received from ``act``: the monitor then sends each spy its marker."""
    act()
    monitor = Client(port, "monitor")
    for marker in spies.values():
        monitor.publish(*marker)
    result = {spy: spy.wait_for(marker) for spy, marker in spies.items()}
    monitor.stop()
    return result


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


def test_devices_publish_only_their_own_data_channels(production_broker):
    port = production_broker
    observer = Client(port, "observer")
    observer.subscribe("#")
    ingest = Client(port, "ingest")
    ingest.subscribe("$share/ingest/waterbudget/v1/#")
    device = Client(port, "W001")

    def act() -> None:
        for channel in CHANNELS:
            device.publish(f"waterbudget/v1/W001/{channel}", b"own")
        for forbidden in ("waterbudget/v1/W002/flow",  # another device's readings
                          "waterbudget/v1/W001/command",  # its own command topic
                          "waterbudget/v1/W002/command",
                          "waterbudget/v1/W001/other",  # no such channel
                          "waterbudget/v1/W001/flow/deeper",
                          "waterbudget/v1/W001",
                          "waterbudget/notify/zhang",  # a person's alerts
                          "waterbudget/v2/W001/flow"):
            attempt(port, "W001", forbidden)

    seen = marked(port, {observer: ("waterbudget/v1/W002/command", b"marker")}, act)
    expected = [(f"waterbudget/v1/W001/{channel}", b"own") for channel in CHANNELS]
    assert seen[observer] == expected
    assert ingest.wait_for(expected[-1]) == expected[:-1]
    for client in (observer, ingest, device):
        client.stop()


@pytest.mark.parametrize("user", [*SERVICES, *PEOPLE])
def test_services_and_people_cannot_publish_as_a_device_of_their_name(production_broker, user):
    port = production_broker
    observer = Client(port, "observer")
    observer.subscribe("#")

    def act() -> None:
        for channel in (*CHANNELS, "command"):
            attempt(port, user, f"waterbudget/v1/{user}/{channel}")

    seen = marked(port, {observer: ("waterbudget/v1/W002/command", b"marker")}, act)
    assert seen[observer] == []
    observer.stop()


def test_only_the_monitor_sends_commands(production_broker):
    port = production_broker
    device = Client(port, "W001")
    device.subscribe("waterbudget/v1/W001/command")

    def act() -> None:
        for user in ("W001", "W002", "ingest", "healthcheck", "zhang"):
            attempt(port, user, "waterbudget/v1/W001/command", f"forged by {user}".encode())

    seen = marked(port, {device: ("waterbudget/v1/W001/command", b"stop")}, act)
    assert seen[device] == []
    device.stop()


def test_accounts_read_only_their_own_topics(production_broker):
    port = production_broker
    ingest = Client(port, "ingest")
    ingest.subscribe("waterbudget/v1/#")
    device = Client(port, "W001")  # tries to read everything
    device.subscribe("waterbudget/v1/#", "waterbudget/notify/#", "#")
    person = Client(port, "zhang")
    person.subscribe("waterbudget/v1/#", "waterbudget/notify/#", "#")

    def act() -> None:
        other = Client(port, "W002")
        other.publish("waterbudget/v1/W002/flow", b"reading")
        other.stop()
        monitor = Client(port, "monitor")
        monitor.publish("waterbudget/v1/W002/command", b"stop W002")
        monitor.publish("waterbudget/notify/li", b"alert for li")
        monitor.stop()

    seen = marked(port, {device: ("waterbudget/v1/W001/command", b"stop W001"),
                         person: ("waterbudget/notify/zhang", b"alert for zhang")}, act)
    assert seen == {device: [], person: []}
    assert ingest.wait_for(("waterbudget/v1/W001/command", b"stop W001")) == [
        ("waterbudget/v1/W002/flow", b"reading"), ("waterbudget/v1/W002/command", b"stop W002")]
    for client in (ingest, device, person):
        client.stop()


def test_anonymous_and_wrong_passwords_are_refused(production_broker):
    assert not Client(production_broker, None).accepted
    assert not Client(production_broker, "W001", "wrong").accepted
    assert Client(production_broker, "W001").accepted


def test_the_health_check_user_reads_sys_and_nothing_else(production_broker):
    port = production_broker
    health = Client(port, "healthcheck")
    health.subscribe("$SYS/broker/uptime", "waterbudget/v1/#", "waterbudget/notify/#")
    before = len(health.wait_for_sys(1))  # the retained one, at once
    device = Client(port, "W001")
    device.publish("waterbudget/v1/W001/flow", b"reading")
    monitor = Client(port, "monitor")
    monitor.publish("waterbudget/v1/W001/command", b"stop")
    monitor.publish("waterbudget/v1/healthcheck/command", b"stop")  # as if it were a device
    monitor.publish("waterbudget/notify/zhang", b"alert")
    # The broker publishes $SYS/broker/uptime every 10 s: the next one is the marker.
    health.wait_for_sys(before + 1)
    assert {topic for topic, _ in health.received} == {"$SYS/broker/uptime"}
    for client in (health, device, monitor):
        client.stop()


def saved_state(db: Path) -> tuple[int, int] | None:
    """Identity of the persistence file; each save writes a new file and renames it."""
    try:
        stat = db.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def test_a_backlog_acknowledged_before_a_save_survives_kill_9(tmp_path):
    """Issue 11: a kill -9 inside the old 60 s autosave lost a whole acknowledged backlog.

    With autosave_on_changes the broker saves after every autosave_interval
    changes (queued messages among them). The device publishes a backlog for the
    offline ingest session, then status messages until the persistence file has
    been rewritten after the backlog's last PUBACK (bounded: 5,000 messages or
    20 s, far below the old 60 s timer), then the broker is killed with SIGKILL.
    Everything acknowledged before that save must be delivered after a restart.
    """
    port, backlog = spare_port(), 3000
    args = ["-c", str(production_conf(tmp_path, port))]
    broker = start_broker(args, port, tmp_path / "log")
    try:
        ingest = Client(port, "ingest", client_id="wb-test-ingest", persistent=True)
        ingest.subscribe("waterbudget/v1/#")
        ingest.stop()
        device = Client(port, "W001")
        infos = [device.client.publish("waterbudget/v1/W001/flow", str(n).encode(), qos=1)
                 for n in range(backlog)]
        for info in infos:
            info.wait_for_publish(WAIT_S)
        before = saved_state(tmp_path / "mosquitto.db")
        fillers, deadline = 0, time.monotonic() + 20
        while (saved_state(tmp_path / "mosquitto.db") == before and fillers < 5000
               and time.monotonic() < deadline):
            for info in [device.client.publish("waterbudget/v1/W001/status", b"{}", qos=1)
                         for _ in range(50)]:
                info.wait_for_publish(WAIT_S)
            fillers += 50
        device.stop()
        broker.send_signal(signal.SIGKILL)
        broker.wait(10)

        broker = start_broker(args, port, tmp_path / "log")
        ingest = Client(port, "ingest", client_id="wb-test-ingest", persistent=True)
        wanted = {("waterbudget/v1/W001/flow", str(n).encode()) for n in range(backlog)}
        deadline = time.monotonic() + 30
        while not wanted <= set(ingest.received) and time.monotonic() < deadline:
            time.sleep(0.05)
        ingest.stop()
        lost = wanted - set(ingest.received)
        assert len(lost) == 0, (f"{len(lost)} of {backlog} acknowledged messages lost "
                          f"({fillers} status messages sent waiting for a save)")
    finally:
        stop_broker(broker)
