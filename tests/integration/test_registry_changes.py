"""Registry changes against the real database: replacements, coefficients, the truth per site.

The write path is driven directly (build_batch + write_batch), without a broker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest.batch import ReceivedMessage, build_batch
from ingest.reading_repository import Conn, WriteResult, write_batch
from ingest.registry import (
    Coefficient,
    Meter,
    Registry,
    RegistryError,
    Site,
    load_registry_file,
)
from ingest.registry_repository import (
    add_coefficient,
    load_registry,
    registry_version,
    replace_meter,
    save_registry,
)
from tests.integration.ingest_support import ZONE

pytestmark = pytest.mark.integration

PREFIX = "wb"
T0 = datetime(2026, 3, 2, tzinfo=ZONE)  # midnight, China time
NOW = T0 + timedelta(days=30)  # the receive time handed to the parser
HOUR = timedelta(hours=1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    # autocommit: write_batch's and replace_meter's transaction() are then real commits
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def well(site_id: str, rated_m3h: float | None = 40.0) -> Site:
    return Site(site_id, f"井 {site_id}", "well", "groundwater", township="甘浚镇",
                rated_m3h=rated_m3h)


def meter(meter_id: str, site_id: str, device_id: str, channel: str, installed_at: datetime = T0,
          **extra: Any) -> Meter:
    return Meter(meter_id, site_id, device_id, channel, installed_at, **extra)


def save(conn: Conn, sites: list[Site], meters: list[Meter],
         coefficients: list[Coefficient] | None = None) -> None:
    save_registry(conn, Registry.build(sites, meters, coefficients or []))


def send(conn: Conn, device_id: str, channel: str, *elements: dict[str, Any]) -> WriteResult:
    """One MQTT message (an array when several elements), through the real write path."""
    body: Any = elements[0] if len(elements) == 1 else list(elements)
    message = ReceivedMessage(f"{PREFIX}/{device_id}/{channel}", json.dumps(body).encode())
    registry = load_registry(conn)
    batch = build_batch([message], registry, prefix=PREFIX, default_zone=ZONE, now=NOW,
                        max_future=timedelta(minutes=10))
    return write_batch(conn, batch, registry)


def flow(ts: datetime, total: float) -> dict[str, Any]:
    return {"ts": ts.isoformat(), "total_m3": total}


def power(ts: datetime, total: float) -> dict[str, Any]:
    return {"ts": int(ts.timestamp()), "total_kwh": total}  # epoch seconds, as wells send


def session(session_id: str, start: datetime, end: datetime, *, volume_m3: float | None = None,
            kwh: float | None = None) -> dict[str, Any]:
    return {"session_id": session_id, "card_id": "C-001", "holder": "王五",
            "start": start.isoformat(), "end": end.isoformat(), "volume_m3": volume_m3,
            "kwh": kwh}


def consumption(conn: Conn, site_id: str) -> list[tuple[Any, ...]]:
    """(meter, ts_start, ts_end, session, method, status, quality, volume, coefficient)."""
    return conn.execute(
        "SELECT meter_id, ts_start, ts_end, session_id, method, status, quality, "
        "round(volume_m3::numeric, 6)::float8, coefficient FROM consumption "
        "WHERE site_id = %s ORDER BY meter_id, ts_end, session_id", (site_id,)).fetchall()


def volume(conn: Conn, sql_where: str, params: tuple[Any, ...]) -> float:
    row = conn.execute(f"SELECT coalesce(sum(volume_m3), 0) FROM consumption WHERE {sql_where}",
                       params).fetchone()
    assert row is not None
    return float(row[0])


def site_volume(conn: Conn, site_id: str) -> float:
    return volume(conn, "site_id = %s", (site_id,))


def readings(conn: Conn, meter_id: str) -> list[tuple[datetime, float, str]]:
    return [(ts, float(value), origin) for ts, value, origin in conn.execute(
        "SELECT ts, value, origin FROM register_readings WHERE meter_id = %s ORDER BY ts",
        (meter_id,))]


# --- (a) a back-dated meter replacement -------------------------------------------------------

SWAP = at(3.5)


def swapped_flow_meter(conn: Conn, site_id: str, device_id: str) -> None:
    """Readings of a flow meter replaced at 03:30 by one starting near 0, not yet recorded."""
    save(conn, [well(site_id)], [meter(f"{site_id}-F1", site_id, device_id, "flow",
                                       register_max=99999.0, initial_register=1000.0)])
    send(conn, device_id, "flow", flow(at(1), 1010), flow(at(2), 1020), flow(at(3), 1030))
    send(conn, device_id, "flow", flow(at(4), 5), flow(at(5), 15), flow(at(6), 25))


def test_the_swap_looks_like_a_reset_until_the_replacement_is_recorded(conn: Conn) -> None:
    swapped_flow_meter(conn, "W1", "dev-w1")
    rows = consumption(conn, "W1")
    assert [(r[2], r[5], r[6], r[7]) for r in rows] == [
        (at(1), "counted", None, 10.0),
        (at(2), "counted", None, 10.0),
        (at(3), "counted", None, 10.0),
        (at(4), "quarantined", "negative_delta", 0.0),  # the drop to 5 is never counted
        (at(5), "counted", None, 10.0),
        (at(6), "counted", None, 10.0),
    ]
    events = conn.execute("SELECT meter_id, ts_end, kind FROM quality_events").fetchall()
    assert events == [("W1-F1", at(4), "negative_delta")]


def test_a_back_dated_replacement_moves_the_readings_and_recomputes_both_meters(
        conn: Conn) -> None:
    swapped_flow_meter(conn, "W1", "dev-w1")
    version = registry_version(conn)

    new = meter("W1-F2", "W1", "dev-w1", "flow", SWAP, register_max=99999.0,
                initial_register=2.0)
    replace_meter(conn, old_meter_id="W1-F1", new=new, final_register=1035.0)

    assert registry_version(conn) == version + 1
    stored = load_registry(conn).meters
    assert (stored["W1-F1"].removed_at, stored["W1-F1"].final_register) == (SWAP, 1035.0)
    assert stored["W1-F2"].installed_at == SWAP
    # the device's readings after the swap now belong to the new meter
    assert readings(conn, "W1-F1") == [
        (T0, 1000.0, "registry"), (at(1), 1010.0, "device"), (at(2), 1020.0, "device"),
        (at(3), 1030.0, "device"), (SWAP, 1035.0, "registry")]
    assert readings(conn, "W1-F2") == [
        (SWAP, 2.0, "registry"), (at(4), 5.0, "device"), (at(5), 15.0, "device"),
        (at(6), 25.0, "device")]

    rows = consumption(conn, "W1")
    assert [(r[0], r[1], r[2], r[5], r[6], r[7]) for r in rows] == [
        ("W1-F1", T0, at(1), "counted", None, 10.0),
        ("W1-F1", at(1), at(2), "counted", None, 10.0),
        ("W1-F1", at(2), at(3), "counted", None, 10.0),
        ("W1-F1", at(3), SWAP, "counted", None, 5.0),  # up to the final register
        ("W1-F2", SWAP, at(4), "counted", None, 3.0),  # from the initial register
        ("W1-F2", at(4), at(5), "counted", None, 10.0),
        ("W1-F2", at(5), at(6), "counted", None, 10.0),
    ]
    assert conn.execute("SELECT count(*) FROM quality_events").fetchone() == (0,)
    # old use up to the final register + new use from the initial register
    assert site_volume(conn, "W1") == pytest.approx((1035 - 1000) + (25 - 2))
    # no delta is ever taken across the replacement
    assert conn.execute("SELECT count(*) FROM consumption WHERE ts_start < %s AND ts_end > %s",
                        (SWAP, SWAP)).fetchone() == (0,)


def test_readings_after_the_replacement_go_to_the_right_meter(conn: Conn) -> None:
    swapped_flow_meter(conn, "W1", "dev-w1")
    replace_meter(conn, old_meter_id="W1-F1", new=meter("W1-F2", "W1", "dev-w1", "flow", SWAP),
                  final_register=1035.0)
    send(conn, "dev-w1", "flow", flow(at(7), 40))  # new meter, live
    send(conn, "dev-w1", "flow", flow(at(3.25), 1033))  # old meter, arriving late
    assert volume(conn, "meter_id = %s", ("W1-F1",)) == pytest.approx(35.0)
    assert volume(conn, "meter_id = %s", ("W1-F2",)) == pytest.approx(40.0)
    assert [r[2] for r in consumption(conn, "W1") if r[0] == "W1-F1"][-2:] == [at(3.25), SWAP]
    assert conn.execute("SELECT count(*) FROM consumption WHERE ts_start < %s AND ts_end > %s",
                        (SWAP, SWAP)).fetchone() == (0,)


def test_back_dating_gives_what_recording_the_replacement_in_time_gives(conn: Conn) -> None:
    swapped_flow_meter(conn, "W1", "dev-w1")
    replace_meter(conn, old_meter_id="W1-F1", new=meter("W1-F2", "W1", "dev-w1", "flow", SWAP,
                                                         register_max=99999.0),
                  final_register=1035.0)
    # the same well, with the replacement on record before any reading arrives
    save(conn, [well("W2")], [
        meter("W2-F1", "W2", "dev-w2", "flow", register_max=99999.0, initial_register=1000.0,
              removed_at=SWAP, final_register=1035.0),
        meter("W2-F2", "W2", "dev-w2", "flow", SWAP, register_max=99999.0)])
    send(conn, "dev-w2", "flow", flow(at(1), 1010), flow(at(2), 1020), flow(at(3), 1030))
    send(conn, "dev-w2", "flow", flow(at(4), 5), flow(at(5), 15), flow(at(6), 25))

    def shape(site_id: str) -> list[tuple[Any, ...]]:
        return [(r[0][3:], *r[1:]) for r in consumption(conn, site_id)]

    assert shape("W1") == shape("W2")
    assert site_volume(conn, "W1") == pytest.approx(35 + 25)


def test_a_swap_that_looked_like_a_rollover_stops_counting_phantom_water(conn: Conn) -> None:
    # no rated capacity: a drop from near the register's maximum to near 0 passes as a rollover
    save(conn, [well("W3", rated_m3h=None)], [
        meter("W3-F1", "W3", "dev-w3", "flow", register_max=100_000.0,
              initial_register=95_000.0)])
    send(conn, "dev-w3", "flow", flow(at(1), 95_010), flow(at(2), 95_020), flow(at(3), 4),
         flow(at(4), 14))
    assert [r[6] for r in consumption(conn, "W3")] == [None, None, "rollover", None]
    assert site_volume(conn, "W3") == pytest.approx(10 + 10 + (100_000 - 95_020 + 4) + 10)

    replace_meter(conn, old_meter_id="W3-F1",
                  new=meter("W3-F2", "W3", "dev-w3", "flow", at(2.5), register_max=100_000.0),
                  final_register=95_025.0)
    assert [r[6] for r in consumption(conn, "W3")] == [None, None, None, None, None]
    assert site_volume(conn, "W3") == pytest.approx((95_025 - 95_000) + 14)


def test_a_replacement_that_breaks_the_registry_changes_nothing(conn: Conn) -> None:
    swapped_flow_meter(conn, "W1", "dev-w1")
    before = (consumption(conn, "W1"), readings(conn, "W1-F1"), registry_version(conn))
    with pytest.raises(RegistryError, match="keeps the device"):
        replace_meter(conn, old_meter_id="W1-F1",
                      new=meter("W1-F2", "W1", "dev-other", "flow", SWAP), final_register=1035)
    with pytest.raises(RegistryError, match="after the old meter's installation"):
        replace_meter(conn, old_meter_id="W1-F1",
                      new=meter("W1-F2", "W1", "dev-w1", "flow", T0 - HOUR), final_register=1000)
    with pytest.raises(RegistryError, match="unknown meter W1-F9"):
        replace_meter(conn, old_meter_id="W1-F9",
                      new=meter("W1-F2", "W1", "dev-w1", "flow", SWAP), final_register=1035)
    assert (consumption(conn, "W1"), readings(conn, "W1-F1"), registry_version(conn)) == before
    assert "W1-F2" not in load_registry(conn).meters


# --- (b)–(d) power-to-water coefficients --------------------------------------------------------

def power_well(conn: Conn, site_id: str, device_id: str,
               coefficients: list[Coefficient] | None = None, *, card: bool = False) -> None:
    meters = [meter(f"{site_id}-P", site_id, device_id, "power", register_max=1e6)]
    if card:
        meters.append(meter(f"{site_id}-C", site_id, device_id, "card"))
    save(conn, [well(site_id)], meters, coefficients)
    # 10 kWh every hour: well within 40 m³/h at any coefficient used here
    send(conn, device_id, "power", *(power(at(h), 10.0 * h) for h in range(1, 7)))


def restatements(conn: Conn, site_id: str) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT valid_from, intervals, round(volume_before::numeric, 6)::float8, "
                        "round(volume_after::numeric, 6)::float8 FROM coefficient_restatements "
                        "WHERE site_id = %s ORDER BY id", (site_id,)).fetchall()


def test_a_new_coefficient_restates_converted_volumes_from_its_valid_from(conn: Conn) -> None:
    power_well(conn, "P1", "dev-p1", [Coefficient("P1", T0 - timedelta(days=1), 1.5, "pump_test")])
    rows = consumption(conn, "P1")
    assert [(r[4], r[5], r[7], r[8]) for r in rows] == [("converted", "counted", 15.0, 1.5)] * 6
    assert restatements(conn, "P1") == [(T0 - timedelta(days=1), 0, 0.0, 0.0)]  # on first load

    valid_from = at(2.5)  # mid-interval: the coefficient at the interval's end applies
    add_coefficient(conn, Coefficient("P1", valid_from, 2.0, "pump_test", "重新率定"))

    rows = consumption(conn, "P1")
    assert [(r[2], r[7], r[8]) for r in rows] == [
        (at(1), 15.0, 1.5), (at(2), 15.0, 1.5),  # before valid_from: untouched
        (at(3), 20.0, 2.0), (at(4), 20.0, 2.0), (at(5), 20.0, 2.0), (at(6), 20.0, 2.0)]
    assert site_volume(conn, "P1") == pytest.approx(2 * 15 + 4 * 20)
    assert restatements(conn, "P1")[-1] == (valid_from, 4, 60.0, 80.0)
    assert load_registry(conn).coefficients["P1"] == [(T0 - timedelta(days=1), 1.5),
                                                      (valid_from, 2.0)]


def test_correcting_a_coefficient_through_the_registry_file_restates_too(
        conn: Conn, tmp_path: Path) -> None:
    power_well(conn, "P1", "dev-p1", [Coefficient("P1", T0, 1.5, "pump_test")])
    path = tmp_path / "coefficients.csv"
    path.write_text("site_id,valid_from,m3_per_kwh,method,note\n"
                    "P1,2026-03-02 00:00:00,1.8,pump_test,复测\n", encoding="utf-8")
    summary = save_registry(conn, load_registry_file(path, ZONE))
    assert summary.restated_sites == ["P1"]
    assert site_volume(conn, "P1") == pytest.approx(60 * 1.8)
    assert restatements(conn, "P1")[-1] == (T0, 6, 90.0, 108.0)
    # the same file again changes nothing and restates nothing
    assert save_registry(conn, load_registry_file(path, ZONE)).restated_sites == []
    assert len(restatements(conn, "P1")) == 2


def test_a_power_meter_without_coefficient_is_quarantined_until_one_is_recorded(
        conn: Conn) -> None:
    power_well(conn, "P2", "dev-p2")
    rows = consumption(conn, "P2")
    assert [(r[5], r[6], r[7], r[8]) for r in rows] == [
        ("quarantined", "no_coefficient", 0.0, None)] * 6
    kwh = conn.execute("SELECT sum(kwh) FROM consumption WHERE site_id = 'P2'").fetchone()
    assert kwh == (60.0,)  # kept for review
    assert conn.execute("SELECT count(*) FROM quality_events WHERE kind = 'no_coefficient'"
                        ).fetchone() == (6,)

    add_coefficient(conn, Coefficient("P2", at(2.5), 1.6, "pump_test"))  # covers 03:00 on
    assert [(r[5], r[6], r[7]) for r in consumption(conn, "P2")] == [
        ("quarantined", "no_coefficient", 0.0)] * 2 + [("counted", None, 16.0)] * 4
    assert restatements(conn, "P2") == [(at(2.5), 4, 0.0, 64.0)]

    add_coefficient(conn, Coefficient("P2", T0, 1.2, "estimate"))  # and now the rest
    assert [(r[5], r[7]) for r in consumption(conn, "P2")] == [
        ("counted", 12.0)] * 2 + [("counted", 16.0)] * 4
    assert conn.execute("SELECT count(*) FROM quality_events").fetchone() == (0,)
    assert restatements(conn, "P2")[-1] == (T0, 6, 64.0, 88.0)


def test_kwh_only_card_sessions_are_restated_too(conn: Conn) -> None:
    power_well(conn, "P3", "dev-p3", [Coefficient("P3", T0, 1.5, "pump_test")], card=True)
    send(conn, "dev-p3", "card",
         session("S-early", at(0.5), at(1.5), kwh=12.0),  # ends before valid_from
         session("S-late", at(4), at(5), kwh=10.0),  # kWh only: converted
         session("S-m3", at(5), at(6), volume_m3=30.0, kwh=20.0))  # reported in m³
    cards = {r[3]: (r[4], r[7], r[8]) for r in consumption(conn, "P3") if r[0] == "P3-C"}
    assert cards == {"S-early": ("card", 18.0, 1.5), "S-late": ("card", 15.0, 1.5),
                     "S-m3": ("card", 30.0, None)}

    add_coefficient(conn, Coefficient("P3", at(2.5), 2.0, "pump_test"))

    restated = {r[3]: (r[7], r[8]) for r in consumption(conn, "P3") if r[0] == "P3-C"}
    assert restated == {"S-early": (18.0, 1.5), "S-late": (20.0, 2.0), "S-m3": (30.0, None)}
    valid_from, _, before, after = restatements(conn, "P3")[-1]
    assert valid_from == at(2.5)
    # power intervals ending from 03:00 (4 × 10 kWh) and the kWh-only session after it; the
    # session reported in m³ is not restated, so the audit leaves it out
    assert (before, after) == (pytest.approx(60 + 15), pytest.approx(80 + 20))


def test_a_kwh_only_session_is_checked_against_the_pumps_kwh_capacity(conn: Conn) -> None:
    # a deep well: 0.5 m³/kWh, so its 40 m³/h pump draws up to 80 kWh/h
    save(conn, [well("P4")], [meter("P4-C", "P4", "dev-p4", "card")],
         [Coefficient("P4", T0, 0.5, "pump_test")])
    send(conn, "dev-p4", "card", session("S-1", at(1), at(3), kwh=120.0))  # 60 kWh/h = 30 m³/h
    assert [(r[5], r[6], r[7]) for r in consumption(conn, "P4")] == [("counted", None, 60.0)]


# --- (e) a registry file is accepted whole or not at all ---------------------------------------

REGISTRY_YAML = """\
sites:
  - {site_id: W1, name: 张家井, kind: well, source: groundwater, rated_m3h: 40}
meters:
  - {meter_id: W1-F1, site_id: W1, device_id: dev-w1, channel: flow,
     installed_at: "2026-03-02 00:00:00", initial_register: 1000}
  - {meter_id: W1-P1, site_id: W1, device_id: dev-w1, channel: power,
     installed_at: "2026-03-02 00:00:00"}
coefficients:
  - {site_id: W1, valid_from: "2026-01-01 00:00:00", m3_per_kwh: 1.5, method: pump_test}
"""


def snapshot(conn: Conn) -> dict[str, Any]:
    tables = ("sites", "meters", "power_coefficients", "register_readings", "consumption",
              "coefficient_restatements")
    state: dict[str, Any] = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                             for t in tables}
    state["version"] = registry_version(conn)
    return state


@pytest.mark.parametrize(("bad_file", "message"), [
    ("""\
sites:
  - {site_id: W2, name: 新井, kind: well, source: groundwater}
meters:
  - {meter_id: W2-F1, site_id: W2, device_id: dev-w2, channel: flow,
     installed_at: "2026-03-05 00:00:00"}
  - {meter_id: X-F1, site_id: NOWHERE, device_id: dev-x, channel: flow,
     installed_at: "2026-03-05 00:00:00"}
coefficients:
  - {site_id: W1, valid_from: "2026-03-01 00:00:00", m3_per_kwh: 2.5, method: pump_test}
""", "meter X-F1: unknown site NOWHERE"),
    ("""\
sites:
  - {site_id: W2, name: 新井, kind: well, source: groundwater}
meters:
  - {meter_id: W1-F2, site_id: W1, device_id: dev-w1, channel: flow,
     installed_at: "2026-03-05 00:00:00"}
coefficients:
  - {site_id: W1, valid_from: "2026-03-01 00:00:00", m3_per_kwh: 2.5, method: pump_test}
""", "device dev-w1 flow: meter W1-F1 is still installed when W1-F2 is installed"),
])
def test_an_inconsistent_registry_file_is_rejected_whole(
        conn: Conn, tmp_path: Path, bad_file: str, message: str) -> None:
    good = tmp_path / "registry.yaml"
    good.write_text(REGISTRY_YAML, encoding="utf-8")
    save_registry(conn, load_registry_file(good, ZONE))
    send(conn, "dev-w1", "flow", flow(at(1), 1010), flow(at(2), 1025))
    send(conn, "dev-w1", "power", power(at(1), 10), power(at(2), 20))
    before = snapshot(conn)
    assert before["consumption"]
    assert before["coefficient_restatements"]

    bad = tmp_path / "bad.yaml"
    bad.write_text(bad_file, encoding="utf-8")
    with pytest.raises(RegistryError, match=message):
        save_registry(conn, load_registry_file(bad, ZONE))

    assert snapshot(conn) == before
    assert "W2" not in load_registry(conn).sites


def test_a_site_out_of_range_is_a_registry_error(conn: Conn, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("site_id,name,kind,source,lat,lon\nW1,张家井,well,groundwater,38.9,100.4\n"
                    "W2,李家井,well,groundwater,389,100.4\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"sites\[1\]"):
        save_registry(conn, load_registry_file(path, ZONE))


def test_a_failed_save_leaves_nothing_behind_even_when_the_database_refuses(
        conn: Conn) -> None:
    before = snapshot(conn)
    # past the loader's checks: the database's own CHECK refuses the second site
    bad = Site("W2", "李家井", "well", "groundwater", lat=389.0, lon=100.4)
    with pytest.raises(psycopg.errors.CheckViolation):
        save(conn, [well("W1"), bad], [meter("W1-F1", "W1", "dev-w1", "flow")],
             [Coefficient("W1", T0, 1.5, "pump_test")])
    assert snapshot(conn) == before


# --- (f) duplicates ------------------------------------------------------------------------------

def test_a_conflicting_duplicate_keeps_the_stored_value_and_is_dead_lettered(conn: Conn) -> None:
    save(conn, [well("W1")], [meter("W1-F1", "W1", "dev-w1", "flow", initial_register=1000.0)])
    send(conn, "dev-w1", "flow", flow(at(1), 1010), flow(at(2), 1020))
    before = consumption(conn, "W1")

    exact = send(conn, "dev-w1", "flow", flow(at(1), 1010))
    assert (exact.readings_new, exact.readings_duplicate, exact.dead_letters) == (0, 1, 0)
    assert conn.execute("SELECT count(*) FROM dead_letters").fetchone() == (0,)

    conflict = send(conn, "dev-w1", "flow", flow(at(1), 1013))
    assert (conflict.readings_new, conflict.readings_duplicate, conflict.dead_letters) == (0, 1, 1)
    assert readings(conn, "W1-F1")[1] == (at(1), 1010.0, "device")
    assert consumption(conn, "W1") == before
    letters = conn.execute("SELECT topic, reason, detail, element FROM dead_letters").fetchall()
    assert len(letters) == 1
    topic, reason, detail, element = letters[0]
    assert (topic, reason, element) == ("meter/W1-F1", "conflicting_duplicate", None)
    assert "1010" in detail
    assert "kept the stored value" in detail

    send(conn, "dev-w1", "flow", flow(at(1), 1013))  # redelivered: one dead letter, not two
    assert conn.execute("SELECT count(*) FROM dead_letters").fetchone() == (1,)


def test_conflicting_readings_within_one_message_keep_the_first(conn: Conn) -> None:
    save(conn, [well("W1")], [meter("W1-F1", "W1", "dev-w1", "flow", initial_register=1000.0)])
    result = send(conn, "dev-w1", "flow", flow(at(1), 1010), flow(at(1), 1010),
                  flow(at(1), 1017), flow(at(2), 1020))
    assert (result.readings_new, result.readings_duplicate, result.dead_letters) == (2, 2, 1)
    assert [r[:2] for r in readings(conn, "W1-F1")] == [(T0, 1000.0), (at(1), 1010.0),
                                                        (at(2), 1020.0)]
    assert conn.execute("SELECT topic, reason FROM dead_letters").fetchall() == [
        ("meter/W1-F1", "conflicting_duplicate")]
    assert site_volume(conn, "W1") == pytest.approx(20.0)


def test_a_duplicate_card_session_is_written_once(conn: Conn) -> None:
    save(conn, [well("W1")], [meter("W1-C", "W1", "dev-w1", "card")])
    first = send(conn, "dev-w1", "card", session("S-1", at(1), at(2), volume_m3=20.0))
    again = send(conn, "dev-w1", "card", session("S-1", at(1), at(2), volume_m3=20.0))
    assert (first.sessions_new, again.sessions_new) == (1, 0)
    assert site_volume(conn, "W1") == pytest.approx(20.0)


def test_a_conflicting_card_session_is_dead_lettered(conn: Conn) -> None:
    save(conn, [well("W1")], [meter("W1-C", "W1", "dev-w1", "card")])
    send(conn, "dev-w1", "card", session("S-1", at(1), at(2), volume_m3=20.0))
    result = send(conn, "dev-w1", "card", session("S-1", at(1), at(2), volume_m3=35.0))
    assert (result.sessions_new, result.dead_letters) == (0, 1)
    assert site_volume(conn, "W1") == pytest.approx(20.0)
    assert conn.execute("SELECT volume_m3 FROM card_sessions").fetchall() == [(20.0,)]
    letters = conn.execute("SELECT topic, reason, detail FROM dead_letters").fetchall()
    assert [(t, r) for t, r, _ in letters] == [("meter/W1-C", "conflicting_duplicate")]
    assert "kept the stored one" in letters[0][2]


# --- (g) one source of truth per site -----------------------------------------------------------

def test_a_card_and_power_well_counts_its_water_once(conn: Conn) -> None:
    power_well(conn, "P5", "dev-p5", [Coefficient("P5", T0, 1.5, "pump_test")], card=True)
    send(conn, "dev-p5", "card", session("S-1", at(0), at(3), volume_m3=44.0),
         session("S-2", at(3), at(6), kwh=30.0))
    by_method = dict(conn.execute("SELECT method, sum(volume_m3) FROM consumption "
                                  "WHERE site_id = 'P5' GROUP BY method").fetchall())
    assert by_method == {"converted": pytest.approx(90.0), "card": pytest.approx(44.0 + 45.0)}

    truth = conn.execute("SELECT method, sum(volume_m3) FROM site_consumption "
                         "WHERE site_id = 'P5' GROUP BY method").fetchall()
    assert truth == [("card", pytest.approx(89.0))]  # the card is the truth, power reconciles


def test_a_flow_meter_is_the_truth_over_card_and_power(conn: Conn) -> None:
    power_well(conn, "P6", "dev-p6", [Coefficient("P6", T0, 1.5, "pump_test")], card=True)
    save(conn, [well("P6")], [meter("P6-F", "P6", "dev-p6", "flow")])
    send(conn, "dev-p6", "flow", flow(at(3), 40.0), flow(at(6), 85.0))
    send(conn, "dev-p6", "card", session("S-1", at(0), at(6), volume_m3=88.0))
    truth = conn.execute("SELECT method, sum(volume_m3) FROM site_consumption "
                         "WHERE site_id = 'P6' GROUP BY method").fetchall()
    assert truth == [("measured", pytest.approx(85.0))]


def test_a_flow_meter_fitted_later_does_not_erase_earlier_water(conn: Conn) -> None:
    power_well(conn, "P7", "dev-p7", [Coefficient("P7", T0, 1.5, "pump_test")])
    assert conn.execute("SELECT sum(volume_m3) FROM site_consumption WHERE site_id = 'P7'"
                        ).fetchone() == (pytest.approx(90.0),)
    fitted = at(10)
    save(conn, [well("P7")], [meter("P7-F", "P7", "dev-p7", "flow", fitted)])
    send(conn, "dev-p7", "flow", flow(at(11), 30.0))
    before_fitting = conn.execute("SELECT sum(volume_m3) FROM site_consumption "
                                  "WHERE site_id = 'P7' AND ts_end <= %s", (fitted,)).fetchone()
    assert before_fitting == (pytest.approx(90.0),)
    after_fitting = conn.execute("SELECT method, sum(volume_m3) FROM site_consumption "
                                 "WHERE site_id = 'P7' AND ts_end > %s GROUP BY method",
                                 (fitted,)).fetchall()
    assert after_fitting == [("measured", pytest.approx(30.0))]
