"""SZY206 frames and canal-gate reports through the real broker, TCP and database."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from ingest.consumption import Point, RegisterSpec, derive_intervals
from ingest.contract import RegisterReading
from ingest.publisher import publish
from ingest.registry import load_registry_file
from ingest.registry_repository import save_registry
from ingest.szy206_decode import SITE_TZ, decode
from ingest.szy206_frame import build_frame, parse_frame
from tests.integration.ingest_support import (
    ZONE,
    rows,
    running_ingestor,
    scalar,
    settings_for,
    unique_prefix,
    wait_for,
)
from waterbudget.embedded import free_port, wait_for_port

pytestmark = pytest.mark.integration

WELL = bytes.fromhex("5303810D00")  # 530381-00013, reference frame 1's terminal (GW1)
DIRECT = bytes.fromhex("5303810E00")  # 530381-00014: no gateway, over the TCP listener only
GATE = bytes.fromhex("6401040700")  # 640104-00007
FRAME1 = bytes.fromhex("681A68B35303810D00C00059000000826110000001106000004508090A3516")
FRAME2 = bytes.fromhex("681568B34406070001C0AAAAAAAAAA004040000000000101E516")
FREE_Q = 3.75851  # m³/s: b = 2 m, e = 0.5 m, μ = 0.6, H = 2 m (test_gate_discharge.py)

REGISTRY = """\
sites:
  - {{site_id: W1, name: 一号井, kind: well, source: groundwater, rated_m3h: 100}}
  - {{site_id: G1, name: 一号闸, kind: canal_gate, source: local_surface}}
meters:
  - {{meter_id: W1-F, site_id: W1, device_id: W1, channel: flow, installed_at: "{installed}",
     initial_register: 100000}}
  - {{meter_id: G1-gate, site_id: G1, device_id: G1, channel: gate, installed_at: "{installed}",
     expected_interval_s: 900}}
terminals:
  - {{address: 530381-00013, device_id: W1, flow_unit: m3/h, gateway: GW1}}
  - {{address: 530381-00014, device_id: W1, flow_unit: m3/h}}
  - {{address: 440607-00256, device_id: W1, gateway: GW1}}
  - {{address: 640104-00007, device_id: G1, levels: [upstream, downstream], gateway: GW1}}
gate_ratings:
  - {{site_id: G1, valid_from: "{installed}", kind: orifice, width_m: 2, sill_m: 100, mu: 0.6}}
"""


def load_registry_text(url: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / f"registry-{time.monotonic_ns()}.yaml"
    path.write_text(text, "utf-8")
    with psycopg.connect(url, autocommit=True) as conn:
        save_registry(conn, load_registry_file(path, ZONE))


def prepare(url: str, tmp_path: Path) -> datetime:
    now = datetime.now(SITE_TZ).replace(microsecond=0)
    load_registry_text(url, REGISTRY.format(installed=(now - timedelta(days=40)).isoformat()),
                       tmp_path)
    return now


def bcd(value: int, size: int) -> bytes:
    return bytes.fromhex(f"{value:0{size * 2}d}")[::-1]


def label(at: datetime) -> bytes:
    at = at.astimezone(SITE_TZ)
    return bytes.fromhex(f"{at.second:02d}{at.minute:02d}{at.hour:02d}{at.day:02d}00")


def flow_frame(volume: int, at: datetime, address: bytes = WELL) -> bytes:
    return build_frame(0xB3, address, 0xC0, bcd(1200, 5) + bcd(volume, 5) + b"\0\0\0\0"
                       + label(at))


def decoded(frame: bytes, now: datetime, m3h_per_unit: float) -> RegisterReading:
    reading = decode(parse_frame(frame), received_at=now,
                     flow_m3h_per_unit=m3h_per_unit).readings[0]
    assert isinstance(reading, RegisterReading)
    return reading


def device_readings(url: str) -> list[tuple[datetime, float]]:
    return [(ts, value) for ts, value in rows(
        url, "SELECT ts, value FROM register_readings WHERE meter_id = 'W1-F' "
             "AND origin = 'device' ORDER BY ts")]


def dead_letters(url: str) -> list[tuple[str, bytes]]:
    return [(reason, bytes(payload)) for reason, payload in rows(
        url, "SELECT reason, payload FROM dead_letters ORDER BY id")]


def expected_consumption(url: str, readings: list[tuple[datetime, float]],
                         installed: datetime) -> list[tuple[datetime, str, object]]:
    """The pure derivation over the readings, with the registry's initial register, and with
    each reading's stored receive time for the clock check (FRAME1's label is a day of the
    month: weeks back, some days, behind readings of now received with it)."""
    received = dict(rows(url, "SELECT ts, received_at FROM register_readings "
                              "WHERE meter_id = 'W1-F' AND origin = 'device'"))
    points = [Point(installed, 100_000.0)] + [Point(ts, value, received[ts])
                                              for ts, value in readings]
    return [(iv.ts_end, "counted" if iv.counted else "quarantined",
             pytest.approx(iv.delta if iv.counted else 0.0))
            for iv in derive_intervals(points, RegisterSpec(None, 1.0, 100.0))]


def test_szy206_frames_over_mqtt_land_once_with_consumption(database_url, mqtt_url,
                                                            tmp_path) -> None:
    now = prepare(database_url, tmp_path)
    prefix = unique_prefix()
    hours = [now - timedelta(hours=h) for h in (3, 2, 1)]
    frames = [flow_frame(110_000 + 40 * k, at) for k, at in enumerate(hours, 1)]
    bad = frames[0][:-2] + bytes([frames[0][-2] ^ 1, 0x16])
    topic = f"{prefix}/GW1/szy206"
    messages = [(topic, frames[0] + frames[1]), (topic, b"\x00\xff" + frames[2]),
                (topic, FRAME1), (topic, FRAME2 + bad)]
    with running_ingestor(settings_for(database_url, mqtt_url, prefix)) as ingestor:
        publish(mqtt_url, messages)
        wait_for(lambda: ingestor.stats.messages >= len(messages), what="the frames")
        publish(mqtt_url, messages)  # a gateway resending: nothing changes
        wait_for(lambda: ingestor.stats.messages >= 2 * len(messages), what="the resend")
    expected = sorted([(at, 110_000.0 + 40 * k) for k, at in enumerate(hours, 1)]
                      + [(decoded(FRAME1, now, 1.0).ts, 106182.0)])
    assert device_readings(database_url) == expected
    assert rows(database_url, "SELECT ts_end, status, volume_m3 FROM consumption "
                              "WHERE meter_id = 'W1-F' AND method = 'measured' ORDER BY ts_end"
                ) == expected_consumption(database_url, expected, now - timedelta(days=40))
    assert sorted(dead_letters(database_url)) == sorted([
        ("garbage", b"\x00\xff"), ("invalid_value", FRAME2), ("bad_check", bad)])
    # one status per readable frame, with its alarm word (reference frame 1: 0x1001)
    assert rows(database_url, "SELECT count(*), max(alarms) FROM device_status "
                              "WHERE device_id = 'W1'") == [(4, 0x1001)]
    listing = subprocess.run([sys.executable, "-m", "waterbudget.cli", "deadletters"],
                             env={**os.environ, "WATERBUDGET_DATABASE_URL": database_url},
                             capture_output=True, text=True, check=True).stdout
    assert FRAME2.hex(" ").upper() in listing  # binary payloads are shown as hex


def test_a_gateway_cannot_store_readings_on_a_terminal_it_does_not_carry(database_url, mqtt_url,
                                                                        tmp_path) -> None:
    """Issue 11: the address in a frame is the sender's claim; the registry binds it."""
    now = prepare(database_url, tmp_path)
    prefix = unique_prefix()
    own = flow_frame(110_000, now - timedelta(hours=2))
    forged = flow_frame(999_000, now - timedelta(hours=1))  # GW1's terminal, sent by GW2
    direct = flow_frame(999_500, now - timedelta(minutes=30), DIRECT)  # a TCP-only terminal
    messages = [(f"{prefix}/GW2/szy206", forged + direct),
                (f"{prefix}/tcp:127.0.0.1:9206/szy206", direct),  # not the listener's
                (f"{prefix}/GW1/szy206", own)]
    with running_ingestor(settings_for(database_url, mqtt_url, prefix)) as ingestor:
        publish(mqtt_url, messages)
        wait_for(lambda: ingestor.stats.messages >= len(messages), what="the frames")
    assert device_readings(database_url) == [(now - timedelta(hours=2), 110_000.0)]
    assert rows(database_url, "SELECT count(*) FROM device_status WHERE device_id = 'W1'") == [
        (1,)]
    letters = rows(database_url, "SELECT topic, reason, payload, detail FROM dead_letters "
                                 "ORDER BY id")
    assert sorted((topic, reason, bytes(payload)) for topic, reason, payload, _ in letters) == (
        sorted([(f"{prefix}/GW2/szy206", "wrong_gateway", forged),
                (f"{prefix}/GW2/szy206", "wrong_gateway", direct),
                (f"{prefix}/tcp:127.0.0.1:9206/szy206", "wrong_gateway", direct)]))
    details = {bytes(payload): detail for _, _, payload, detail in letters}
    assert "reached through gateway 'GW1'" in details[forged]
    assert "TCP listener only" in details[direct]


def listener_process(database_url: str, port: int, prefix: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url,
           "WATERBUDGET_TOPIC_PREFIX": prefix, "WATERBUDGET_INGEST_BATCH_WAIT_MS": "20"}
    return subprocess.Popen([sys.executable, "-m", "waterbudget.cli", "szy206-listen",
                             "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def read_acks(sock: socket.socket, count: int, timeout: float = 30.0) -> list[bytes]:
    """``count`` confirmation frames (each 13 bytes: 68 08 68 C A AFN 00 CS 16)."""
    sock.settimeout(timeout)
    data = b""
    while len(data) < 13 * count:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {len(data)} bytes of acks"
        data += chunk
    return [data[i : i + 13] for i in range(0, len(data), 13)]


def test_tcp_terminal_gets_its_ack_only_after_commit(database_url, pg_admin_url,
                                                     tmp_path) -> None:
    now = prepare(database_url, tmp_path)
    port = free_port()
    process = listener_process(database_url, port, unique_prefix())
    frames = [flow_frame(100_000 + 10 * k, now - timedelta(minutes=60 - 10 * k), DIRECT)
              for k in range(1, 6)]
    gateways = flow_frame(100_100, now - timedelta(minutes=5))  # GW1's terminal: not over TCP
    stream = b"".join(frames[:3])
    bad = frames[3][:-2] + bytes([frames[3][-2] ^ 1, 0x16])
    try:
        wait_for_port(port, 30)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            # split at awkward places, several frames in one write, garbage in between
            for piece in (stream[:7], stream[7:40], stream[40:62], b"\x16\x68\x00",
                          stream[62:]):
                sock.sendall(piece)
                time.sleep(0.05)
            for ack in read_acks(sock, 3):
                reply = parse_frame(ack)
                assert (reply.afn, reply.data, reply.address, reply.uplink) == (
                    0xC0, b"\x00", DIRECT, False)
            assert len(device_readings(database_url)) == 3
            with database_cut_off(database_url, pg_admin_url):
                sock.sendall(bad + frames[3])  # a corrupt copy, then the frame intact
                sock.settimeout(3.0)
                with pytest.raises(TimeoutError):
                    sock.recv(4096)  # nothing can commit, so nothing is confirmed
            assert len(read_acks(sock, 1)) == 1  # committed now; the corrupt copy gets none
            assert len(device_readings(database_url)) == 4
            sock.sendall(gateways)  # dead-lettered, then confirmed: resending would not help
            assert len(read_acks(sock, 1)) == 1
            sock.sendall(frames[4][:9])  # the connection ends mid-frame
        wait_for(lambda: ("truncated", frames[4][:9]) in dead_letters(database_url),
                 what="the truncated frame's dead letter")
        assert device_readings(database_url) == [
            (f.ts, f.value) for f in (decoded(frame, now, 1.0) for frame in frames[:4])]
        assert sorted(dead_letters(database_url)) == sorted(
            [("garbage", b"\x16\x68\x00"), ("bad_check", bad), ("wrong_gateway", gateways),
             ("truncated", frames[4][:9])])
        assert scalar(database_url, "SELECT count(*) FROM consumption WHERE meter_id = 'W1-F' "
                                    "AND status = 'counted'") == 4
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output


@contextlib.contextmanager
def database_cut_off(database_url: str, pg_admin_url: str) -> Iterator[None]:
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def gate_message(prefix: str, at: datetime, **values: float) -> tuple[str, bytes]:
    return f"{prefix}/G1/gate", json.dumps({"ts": int(at.timestamp()), **values}).encode()


def gate_consumption(url: str) -> list[tuple[datetime, str, str | None, float]]:
    return [(ts, status, quality, float(v)) for ts, status, quality, v in rows(
        url, "SELECT ts_end, status, quality, volume_m3 FROM consumption "
             "WHERE meter_id = 'G1-gate' AND method = 'computed' ORDER BY ts_end")]


def test_gate_reports_give_computed_volumes_restated_by_a_new_rating(database_url, mqtt_url,
                                                                     tmp_path) -> None:
    now = prepare(database_url, tmp_path)
    prefix = unique_prefix()
    t0 = now - timedelta(hours=4)
    at = [t0 + timedelta(minutes=m) for m in (0, 15, 30, 120, 135)]  # 90 min silence: a gap
    flowing = {"upstream_m": 102.0, "downstream_m": 100.5, "opening_m": 0.5}
    messages = [gate_message(prefix, t, **flowing) for t in at[:4]]
    # the last report as SZY206 frames: levels, then gate position, same time label
    levels = build_frame(0xB2, GATE, 0xC0, bcd(102000, 4) + bcd(100500, 4) + b"\0\0\0\0"
                         + label(at[4]))
    position = build_frame(0xB5, GATE, 0xC0, bcd(50, 3) + b"\0\0\0\0" + label(at[4]))
    messages += [(f"{prefix}/GW1/szy206", levels), (f"{prefix}/GW1/szy206", position)]
    with running_ingestor(settings_for(database_url, mqtt_url, prefix)) as ingestor:
        for sent, message in enumerate(messages, 1):  # the position completes the stored levels
            publish(mqtt_url, [message])
            wait_for(lambda: ingestor.stats.messages >= sent, what="a gate message")  # noqa: B023
    assert rows(database_url, "SELECT upstream_m, downstream_m, opening_m FROM gate_readings "
                              "WHERE ts = %s", (at[4],)) == [(102.0, 100.5, 0.5)]
    q = FREE_Q * 900
    assert gate_consumption(database_url) == [
        (at[1], "counted", None, pytest.approx(q, rel=1e-5)),
        (at[2], "counted", None, pytest.approx(q, rel=1e-5)),
        (at[3], "quarantined", "gap", 0.0),
        (at[4], "counted", None, pytest.approx(q, rel=1e-5))]
    assert dead_letters(database_url) == []

    # a recalibrated μ from 20 minutes in: restates the intervals ending from then on
    valid_from = (t0 + timedelta(minutes=20)).isoformat()
    load_registry_text(database_url, REGISTRY.format(installed=(now - timedelta(
        days=40)).isoformat()).split("gate_ratings:")[0] + "gate_ratings:\n"
        f'  - {{site_id: G1, valid_from: "{valid_from}", kind: orifice, width_m: 2, '
        f"sill_m: 100, mu: 0.3}}\n", tmp_path)
    assert gate_consumption(database_url) == [
        (at[1], "counted", None, pytest.approx(q, rel=1e-5)),
        (at[2], "counted", None, pytest.approx(0.75 * q, rel=1e-5)),
        (at[3], "quarantined", "gap", 0.0),
        (at[4], "counted", None, pytest.approx(0.5 * q, rel=1e-5))]
    assert rows(database_url, "SELECT site_id, intervals, volume_before, volume_after "
                              "FROM gate_restatements ORDER BY id DESC LIMIT 1") == [
        ("G1", 3, pytest.approx(2 * q, rel=1e-5), pytest.approx(1.25 * q, rel=1e-5))]
    site_total = scalar(database_url, "SELECT sum(volume_m3) FROM site_consumption "
                                      "WHERE site_id = 'G1'")
    assert site_total == pytest.approx(2.25 * q, rel=1e-5)
