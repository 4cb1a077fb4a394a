"""Field channels into the ingest batch: SZY206 frames and JSON gate reports. Pure code."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ingest.batch import ReceivedMessage
from ingest.contract import DeviceStatus
from ingest.field_messages import build_batch_with_field_messages, field_topic
from ingest.gate_discharge import OrificeGate, TableCurve
from ingest.gate_ratings import GateRatingError, gate_rating_from, rating_from, rating_params
from ingest.registry import Meter, Registry, RegistryError, Site, load_registry_file
from ingest.szy206_decode import SITE_TZ
from ingest.szy206_frame import build_frame
from ingest.szy206_terminals import Terminal, TerminalError, terminal_from

PREFIX = "waterbudget/v1"
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 9, 9, 0, tzinfo=SITE_TZ)
INSTALLED = datetime(2024, 1, 1, tzinfo=SITE_TZ)
FRAME1 = bytes.fromhex("681A68B35303810D00C00059000000826110000001106000004508090A3516")
FRAME2 = bytes.fromhex("681568B34406070001C0AAAAAAAAAA004040000000000101E516")
GATE_ADDRESS = bytes.fromhex("640104") + (7).to_bytes(2, "little")
APRIL = datetime(2024, 4, 1, tzinfo=ZONE)
TP = bytes.fromhex("0000" "0000" "00300809" "00")  # alarm, state, day 09 08:30:00


def registry() -> Registry:
    sites = [Site("W1", "一号井", "well", "groundwater"),
             Site("G1", "一号闸", "canal_gate", "local_surface")]
    meters = [Meter("W1-F", "W1", "W1", "flow", INSTALLED),
              Meter("G1-gate", "G1", "G1", "gate", INSTALLED)]
    terminals = [Terminal("530381-00013", "W1", "m3/h", gateway="GW1"),
                 Terminal("640104-00007", "G1", levels=("upstream", "downstream"),
                          gateway="GW1"),
                 Terminal("530381-00014", "W1", "m3/h")]  # no gateway: TCP listener only
    return Registry.build(sites, meters, [], terminals=terminals)


def batch_of(*messages: tuple[str, bytes], over_tcp: bool = False):
    return build_batch_with_field_messages(
        [ReceivedMessage(topic, payload) for topic, payload in messages], registry(),
        prefix=PREFIX, default_zone=ZONE, now=NOW, max_future=timedelta(minutes=10),
        szy206_over_tcp=over_tcp)


def szy206(payload: bytes):
    return batch_of((f"{PREFIX}/GW1/szy206", payload))


def reasons(batch) -> list[tuple[str, bytes]]:
    return [(d.reason, d.payload) for d in batch.dead_letters]


def bcd(value: int, size: int) -> bytes:
    return bytes.fromhex(f"{value:0{size * 2}d}")[::-1]


def test_field_topics_are_recognised_and_others_left_alone():
    assert field_topic(f"{PREFIX}/GW1/szy206", PREFIX) == ("GW1", "szy206")
    assert field_topic(f"{PREFIX}/tcp:10.0.0.5:4711/szy206", PREFIX) == (
        "tcp:10.0.0.5:4711", "szy206")
    assert field_topic(f"{PREFIX}/G1/gate", PREFIX) == ("G1", "gate")
    assert field_topic(f"{PREFIX}/G1/flow", PREFIX) is None
    assert field_topic("other/G1/gate", PREFIX) is None
    assert field_topic(f"{PREFIX}/a/b/gate", PREFIX) is None


def test_reference_frame_becomes_a_register_reading_of_the_mapped_device():
    batch = szy206(FRAME1)
    assert batch.dead_letters == []
    (reading,) = batch.registers
    assert reading.meter.meter_id == "W1-F"
    assert reading.value == 106182
    assert reading.flow_m3h == pytest.approx(5.9)  # this terminal reports m³/h
    assert reading.ts == datetime(2024, 6, 9, 8, 45, tzinfo=SITE_TZ)
    assert batch.statuses == [DeviceStatus("W1", reading.ts, True, 0x1001)]


def test_frames_are_bound_to_the_gateway_of_their_terminal():
    """Issue 11: a gateway may not store readings on a terminal it does not carry."""
    direct = build_frame(0xB3, bytes.fromhex("5303810E00"), 0xC0, FRAME1[10:-2])  # -00014
    forged = batch_of((f"{PREFIX}/GW2/szy206", FRAME1 + direct))
    assert forged.registers == []
    assert forged.statuses == []
    assert reasons(forged) == [("wrong_gateway", FRAME1), ("wrong_gateway", direct)]
    assert "reached through gateway 'GW1'" in forged.dead_letters[0].detail
    assert "TCP listener only" in forged.dead_letters[1].detail
    # a topic that reads like the TCP listener's is still a gateway's over MQTT
    spoofed = batch_of((f"{PREFIX}/tcp:127.0.0.1:4000/szy206", direct))
    assert reasons(spoofed) == [("wrong_gateway", direct)]
    # from the TCP listener: the unbound terminal is accepted, the gateway's one is not
    tcp = batch_of((f"{PREFIX}/tcp:127.0.0.1:4000/szy206", direct + FRAME1), over_tcp=True)
    assert [r.value for r in tcp.registers] == [106182]
    assert reasons(tcp) == [("wrong_gateway", FRAME1)]
    assert "received over the TCP listener" in tcp.dead_letters[0].detail


def test_concatenated_frames_garbage_and_bad_check_bytes():
    bad = FRAME1[:-2] + b"\x00\x16"
    batch = szy206(b"\x01\x02" + FRAME1 + bad + FRAME2)
    assert len(batch.registers) == 1
    assert reasons(batch) == [("garbage", b"\x01\x02"), ("bad_check", bad),
                              ("unknown_device", FRAME2)]


def test_invalid_value_marker_is_a_dead_letter_never_a_zero():
    frame = build_frame(0xB3, bytes.fromhex("5303810D00"), 0xC0, b"\xaa" * 10 + TP)
    batch = szy206(frame)
    assert batch.registers == []
    assert batch.statuses == []
    assert reasons(batch) == [("invalid_value", frame)]


@pytest.mark.parametrize(("values", "reason"), [
    (bcd(5900, 5) + bytes.fromhex("826110A000"), "non_bcd"),
    (bcd(1, 3), "bad_length"),
])
def test_unreadable_values_are_dead_letters_with_the_raw_frame(values, reason):
    frame = build_frame(0xB3, bytes.fromhex("5303810D00"), 0xC0, values + TP)
    assert reasons(szy206(frame)) == [(reason, frame)]


def test_unknown_code_and_truncated_payload():
    unknown = build_frame(0xB0, bytes.fromhex("5303810D00"), 0xC0, bcd(1, 5) + TP)
    assert reasons(szy206(unknown)) == [("unknown_code", unknown)]
    assert reasons(szy206(FRAME1[:12])) == [("truncated", FRAME1[:12])]
    assert reasons(szy206(b"")) == [("garbage", b"")]


def test_water_levels_and_gate_position_become_gate_reports_of_the_gate_meter():
    levels = build_frame(0xB2, GATE_ADDRESS, 0xC0,
                         bytes.fromhex("00221000") + bytes.fromhex("00051000") + TP)
    opening = build_frame(0xB5, GATE_ADDRESS, 0xC0, bcd(35, 3) + TP)
    batch = szy206(levels + opening)
    assert batch.dead_letters == []
    reports = [g.report for g in batch.gates]
    assert [g.meter.meter_id for g in batch.gates] == ["G1-gate", "G1-gate"]
    assert [(r.upstream_m, r.downstream_m, r.opening_m) for r in reports] == [
        (pytest.approx(102.2), pytest.approx(100.5), None), (None, None, 0.35)]
    assert reports[0].ts == reports[1].ts == datetime(2024, 6, 9, 8, 30, tzinfo=SITE_TZ)


def test_a_level_point_without_a_role_rejects_the_frame():
    three = build_frame(0xB2, GATE_ADDRESS, 0xC0, bytes.fromhex("00200201") * 3 + TP)
    assert reasons(szy206(three)) == [("unmapped_level", three)]


def test_levels_from_a_terminal_without_gate_meter_are_said_not_stored():
    level = build_frame(0xB2, bytes.fromhex("5303810D00"), 0xC0, bytes.fromhex("00200201") + TP)
    batch = szy206(level)
    assert batch.gates == []
    assert reasons(batch) == [("no_meter_installed", level)]


def test_json_gate_reports_with_per_element_rejections():
    payload = json.dumps([
        {"ts": "2024-06-09 08:00:00", "upstream_m": 102.0, "downstream_m": 100.5,
         "opening_m": 0.5},
        {"ts": "2024-06-09 09:00:00", "upstream_m": "102"},
        {"ts": "2024-06-09 09:00:00"},
        {"ts": "2024-06-09 09:00:00", "opening_m": -1},
        {"ts": "2024-06-09 12:00:00", "opening_m": 0.5},
        {"ts": "2023-12-31 12:00:00", "opening_m": 0.5},
    ]).encode()
    batch = batch_of((f"{PREFIX}/G1/gate", payload))
    assert [(g.report.ts, g.report.opening_m) for g in batch.gates] == [
        (datetime(2024, 6, 9, 8, tzinfo=ZONE), 0.5)]
    assert [(d.reason, d.element) for d in batch.dead_letters] == [
        ("wrong_type", 1), ("missing_field", 2), ("absurd_value", 3), ("future_time", 4),
        ("no_meter_installed", 5)]


def test_json_gate_message_errors():
    assert [d.reason for d in batch_of((f"{PREFIX}/G1/gate", b"{")).dead_letters] == [
        "invalid_json"]
    assert [d.reason for d in batch_of((f"{PREFIX}/X9/gate", b"{}")).dead_letters] == [
        "unknown_device"]
    assert [d.reason for d in batch_of((f"{PREFIX}/G1/gate", b"[]")).dead_letters] == [
        "empty_batch"]


def test_json_and_field_messages_share_one_batch():
    flow = json.dumps({"ts": int(NOW.timestamp()) - 60, "total_m3": 10.0}).encode()
    batch = batch_of((f"{PREFIX}/W1/flow", flow), (f"{PREFIX}/GW1/szy206", FRAME1))
    assert sorted(r.value for r in batch.registers) == [10.0, 106182]


# --- registry records -------------------------------------------------------------

def test_terminal_records():
    terminal = terminal_from({"address": "530381-00013", "device_id": "W1",
                              "levels": "downstream, upstream"}, "terminals[0]")
    assert terminal.levels == ("downstream", "upstream")
    assert terminal.flow_m3h_per_unit == 3600.0
    assert terminal.device_for("530381-00013:2") == "W1:2"
    for bad in ({"address": "5303810013", "device_id": "W1"},
                {"address": "530381-99999", "device_id": "W1"},
                {"address": "530381-00013"},
                {"address": "530381-00013", "device_id": "W1", "flow_unit": "l/s"},
                {"address": "530381-00013", "device_id": "W1", "levels": "upstream,upstream"}):
        with pytest.raises(TerminalError):
            terminal_from(bad, "terminals[0]")
    assert terminal.gateway is None  # no gateway: over the TCP listener only
    assert terminal_from({"address": "530381-00013", "device_id": "W1", "gateway": " GW-1 "},
                         "terminals[0]").gateway == "GW-1"
    assert terminal_from({"address": "530381-00013", "device_id": "W1", "gateway": ""},
                         "terminals[0]").gateway is None
    for gateway in ("GW/1", "GW+", "#", "GW 1", "tcp:10.0.0.1:9206", "x" * 65, "GW\x00"):
        with pytest.raises(TerminalError, match=r"terminals\[2\]: gateway .* is not a gateway ID"):
            terminal_from({"address": "530381-00013", "device_id": "W1", "gateway": gateway},
                          "terminals[2]")


def test_gate_rating_records_round_trip_through_their_stored_form():
    orifice = gate_rating_from({"site_id": "G1", "kind": "orifice", "width_m": 2, "sill_m": 100,
                                "mu": 0.6}, "gate_ratings[0]", APRIL)
    assert orifice.rating == OrificeGate(2.0, 100.0, 0.6)
    table = gate_rating_from({"site_id": "G1", "kind": "table",
                              "points": "101:0 101.5:1.2;102:3"}, "gate_ratings[1]", APRIL)
    assert table.rating == TableCurve(((101.0, 0.0), (101.5, 1.2), (102.0, 3.0)))
    for rating in (orifice.rating, table.rating):
        assert rating_from(rating_kind(rating), rating_params(rating), "stored") == rating


def rating_kind(rating):
    return "orifice" if isinstance(rating, OrificeGate) else "table"


@pytest.mark.parametrize("record", [
    {"kind": "orifice", "width_m": 2, "sill_m": 100},
    {"kind": "orifice", "width_m": 2, "sill_m": 100, "mu": 1.4},
    {"kind": "orifice", "width_m": -2, "sill_m": 100, "mu": 0.6},
    {"kind": "power_law", "a": 2, "h0": 100, "b": "x"},
    {"kind": "table", "points": "101:0 100:1"},
    {"kind": "table", "points": "101:0 102:1", "extrapolate": "cubic"},
    {"kind": "weir"},
])
def test_bad_gate_ratings_name_the_record(record):
    with pytest.raises(GateRatingError, match=r"gate_ratings\[3\]"):
        gate_rating_from({"site_id": "G1", **record}, "gate_ratings[3]", APRIL)


YAML = """\
sites:
  - {site_id: G1, name: 一号闸, kind: canal_gate, source: local_surface}
meters:
  - {meter_id: G1-gate, site_id: G1, device_id: G1, channel: gate,
     installed_at: 2024-01-01, expected_interval_s: 900}
terminals:
  - {address: 640104-00007, device_id: G1, levels: [upstream, downstream], gateway: GW1}
gate_ratings:
  - {site_id: G1, valid_from: 2024-04-01, kind: orifice, width_m: 2, sill_m: 100, mu: 0.6}
  - {site_id: G1, valid_from: 2024-07-01, kind: power_law, a: 2, h0: 101, b: 1.5}
"""


def test_registry_file_with_gate_meter_terminals_and_ratings(tmp_path: Path):
    path = tmp_path / "registry.yaml"
    path.write_text(YAML, "utf-8")
    loaded = load_registry_file(path, ZONE)
    assert loaded.meters["G1-gate"].channel == "gate"
    assert loaded.terminals["640104-00007"].device_id == "G1"
    assert loaded.terminals["640104-00007"].gateway == "GW1"
    versions = loaded.gate_versions("G1")
    assert [v.valid_from for v in versions] == [APRIL, APRIL.replace(month=7)]
    merged = Registry().merged_with(loaded)
    assert merged.gate_versions("G1") == versions
    assert merged.terminals == loaded.terminals


def test_registry_csv_for_terminals_and_gate_ratings(tmp_path: Path):
    terminals = tmp_path / "terminals.csv"
    terminals.write_text("address,device_id,flow_unit,levels,gateway\n"
                         "640104-00007,G1,m3/h,upstream,GW1\n640104-00008,G1,,,\n", "utf-8")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("site_id,valid_from,kind,points,extrapolate\n"
                       "G1,2024-04-01,table,101:0 102:3,linear\n", "utf-8")
    loaded = load_registry_file(terminals, ZONE).terminals
    assert (loaded["640104-00007"].flow_unit, loaded["640104-00007"].gateway) == ("m3/h", "GW1")
    assert loaded["640104-00008"].gateway is None
    (rating,) = load_registry_file(ratings, ZONE).gate_ratings.values()
    assert rating.kind == "table"
    assert rating.valid_from == APRIL
    missing = tmp_path / "no-time.csv"
    missing.write_text("site_id,valid_from,kind\nG1,,table\n", "utf-8")
    with pytest.raises(RegistryError, match=r"gate_ratings\[0\]: valid_from is required"):
        load_registry_file(missing, ZONE)


def test_terminal_of_a_device_without_meters_is_refused():
    from ingest.registry import check_consistency

    lonely = Registry.build([], [], [], terminals=[Terminal("640104-00007", "nowhere")])
    with pytest.raises(TerminalError, match="nowhere"):
        check_consistency(lonely)
    rated = Registry.build([], [], [], gate_ratings=[gate_rating_from(
        {"site_id": "X", "kind": "power_law", "a": 1, "h0": 0, "b": 1}, "r", APRIL)])
    with pytest.raises(RegistryError, match="unknown site X"):
        check_consistency(rated)
