"""What a Mosquitto autosave setting costs in throughput and loses on kill -9.

Starts the installed mosquitto with deploy/mosquitto/mosquitto.conf (container
paths and port rewritten to a temporary folder, its ACL as tools/mosquitto_acl.py
writes it, users made with mosquitto_passwd), with the autosave lines replaced
by each setting given, and for each:

1. backlog: the ingest user subscribes with a persistent session (QoS 1) and
   goes away; one device publishes MESSAGES QoS-1 readings (libmosquitto, all
   acknowledged by the broker: the publish rate is measured here); the broker
   is killed with SIGKILL right after the last PUBACK, restarted on the same
   persistence folder, and the ingest session reconnects and counts what is
   delivered;
2. online (--online): the same stream with the ingest session connected and
   acknowledging; the publish rate again (here the Python subscriber, slower
   than the C publisher, lets a backlog build up all the same);
3. --save-time N: a backlog of N messages without autosave, then one save
   forced with SIGUSR1, timed from the signal to the file's rename at its end:
   the broker (one thread) serves no one meanwhile; and the file's size.

Usage (from the repository root):
    python -m tools.measure_broker_durability --messages 50000 \\
        --setting 60s --setting changes:1000
A setting is ``<N>s`` (autosave every N seconds, autosave_on_changes false)
or ``changes:<N>`` (autosave_on_changes true, autosave_interval N).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest.libmosquitto_publisher import LibmosquittoSession
from tools.mosquitto_acl import acl_text

ROOT = Path(__file__).resolve().parents[1]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PAYLOAD = b'{"ts": 1777604400, "total_m3": 123456.7, "flow_m3h": 38.2}'
TOPIC = "waterbudget/v1/W001/flow"


def autosave_lines(setting: str) -> str:
    if setting.startswith("changes:"):
        return f"autosave_on_changes true\nautosave_interval {int(setting[8:])}\n"
    if setting.endswith("s"):
        return f"autosave_on_changes false\nautosave_interval {int(setting[:-1])}\n"
    raise SystemExit(f"setting {setting!r} is neither <N>s nor changes:<N>")


def production_config(folder: Path, port: int, setting: str) -> Path:
    lines = []
    for line in (ROOT / "deploy/mosquitto/mosquitto.conf").read_text().splitlines():
        if line.startswith(("autosave_interval", "autosave_on_changes")):
            continue
        lines.append(line.replace("/mosquitto/config/", f"{folder}/")
                     .replace("/mosquitto/data/", f"{folder}/")
                     .replace("listener 1883", f"listener {port} 127.0.0.1"))
    text = "\n".join(lines) + "\n" + autosave_lines(setting)
    if os.geteuid() == 0:
        text += "user root\n"  # keep root's access to the temporary folder
    conf = folder / "mosquitto.conf"
    conf.write_text(text)
    template = (ROOT / "deploy/mosquitto/acl").read_text()
    (folder / "acl.generated").write_text(acl_text(template, [], ["W001"]))
    for n, user in enumerate(("ingest", "W001")):
        subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if n == 0 else []),
                        str(folder / "passwd"), user, f"pw-{user}"], check=True)
    return conf


def start(conf: Path, port: int) -> subprocess.Popen[bytes]:
    broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return broker
        except OSError:
            if broker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("mosquitto did not start") from None
            time.sleep(0.05)


class Ingest:
    """The ingestor's kind of session: MQTT 5, clean_start=False, a session expiry."""

    def __init__(self, port: int) -> None:
        self.received: set[int] = set()
        self.count = 0
        connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="measure-ingest",
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set("ingest", "pw-ingest")
        self.client.on_connect = lambda *_: connected.set()
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.loop_start()
        if not connected.wait(10):
            raise SystemExit("the ingest session did not connect")

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        self.count += 1

    def subscribe(self) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe("waterbudget/v1/#", qos=1)
        done.wait(10)

    def wait_quiet(self, expected: int, quiet_s: float = 2.0, limit_s: float = 120) -> int:
        deadline, last, since = time.monotonic() + limit_s, -1, time.monotonic()
        while self.count < expected and time.monotonic() < deadline:
            if self.count != last:
                last, since = self.count, time.monotonic()
            elif time.monotonic() - since > quiet_s:
                break
            time.sleep(0.1)
        return self.count

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(port: int, messages: int) -> float:
    session = LibmosquittoSession(f"mqtt://W001:pw-W001@127.0.0.1:{port}", qos=1,
                                  max_inflight=1000)
    started = time.perf_counter()
    for _ in range(messages):
        session.send(TOPIC, PAYLOAD)
    session.drain()
    elapsed = time.perf_counter() - started
    session.close()
    return messages / elapsed


def backlog_then_kill(setting: str, messages: int) -> str:
    with tempfile.TemporaryDirectory(prefix="wb-broker-") as tmp:
        folder, port = Path(tmp), spare_port()
        conf = production_config(folder, port, setting)
        broker = start(conf, port)
        ingest = Ingest(port)
        ingest.subscribe()
        ingest.stop()
        rate = publish(port, messages)
        broker.send_signal(signal.SIGKILL)
        broker.wait()
        db = folder / "mosquitto.db"
        size = db.stat().st_size if db.exists() else 0
        broker = start(conf, port)
        ingest = Ingest(port)
        delivered = ingest.wait_quiet(messages)
        ingest.stop()
        broker.terminate()
        broker.wait(60)
        return (f"{setting:>14}  backlog of {messages}: {rate:8,.0f} msg/s acknowledged, "
                f"kill -9 right after the last PUBACK: {messages - delivered:,} lost, "
                f"{delivered:,} delivered; persistence file {size / 1e6:.1f} MB")


def online(setting: str, messages: int) -> str:
    with tempfile.TemporaryDirectory(prefix="wb-broker-") as tmp:
        folder, port = Path(tmp), spare_port()
        broker = start(production_config(folder, port, setting), port)
        ingest = Ingest(port)
        ingest.subscribe()
        rate = publish(port, messages)
        delivered = ingest.wait_quiet(messages)
        ingest.stop()
        broker.terminate()
        broker.wait(60)
        return (f"{setting:>14}  subscriber online: {rate:8,.0f} msg/s acknowledged "
                f"({delivered:,} delivered)")


def save_time(messages: int) -> str:
    with tempfile.TemporaryDirectory(prefix="wb-broker-") as tmp:
        folder, port = Path(tmp), spare_port()
        broker = start(production_config(folder, port, "0s"), port)  # 0: no autosave
        ingest = Ingest(port)
        ingest.subscribe()
        ingest.stop()
        publish(port, messages)
        db = folder / "mosquitto.db"
        started = time.perf_counter()
        broker.send_signal(signal.SIGUSR1)  # save now: the file appears by rename at the end
        while not db.exists():
            if time.perf_counter() - started > 300:
                raise SystemExit("no save within 300 s")
            time.sleep(0.001)
        stalled = time.perf_counter() - started
        size = db.stat().st_size
        broker.send_signal(signal.SIGKILL)
        broker.wait()
        return (f"save of a backlog of {messages:,}: {size / 1e6:.1f} MB, "
                f"broker unresponsive for {stalled:.2f} s")


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--setting", action="append", default=[])
    parser.add_argument("--online", action="store_true",
                        help="also measure with the subscriber connected")
    parser.add_argument("--save-time", type=int, action="append", default=[],
                        metavar="N", help="time one save of a backlog of N messages")
    args = parser.parse_args()
    print(subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True).stdout
          .splitlines()[0])
    for messages in args.save_time:
        print(save_time(messages), flush=True)
    if args.save_time and not args.setting:
        return
    for setting in args.setting or ["60s", "changes:1000"]:
        print(backlog_then_kill(setting, args.messages), flush=True)
        if args.online:
            print(online(setting, args.messages), flush=True)


if __name__ == "__main__":
    main()
