"""The registry as plain data: file loader (YAML, CSV), meter lookup, register specs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ingest.registry import (
    Coefficient,
    Meter,
    Registry,
    RegistryError,
    Site,
    check_consistency,
    load_registry_file,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")  # UTC+6: differs from the default zone by two hours
T0 = datetime(2026, 4, 1, tzinfo=SHANGHAI)

YAML = """\
sites:
  - site_id: W1
    name: 张家井
    kind: well
    source: groundwater
    township: 甘浚镇
    rated_m3h: 40
  - site_id: G1
    name: 一号闸
    kind: canal_gate
    source: local_surface
    timezone: Asia/Urumqi
meters:
  - meter_id: W1-flow-1
    site_id: W1
    device_id: dev-w1
    channel: flow
    installed_at: 2026-04-01 08:00:00
    removed_at: "2026-06-01T12:00:00+08:00"
    register_max: 99999.9
    multiplier: 0.1
    initial_register: 120
    final_register: 5400
    expected_interval_s: 900
  - meter_id: W1-flow-2
    site_id: W1
    device_id: dev-w1
    channel: flow
    installed_at: "2026-06-01T12:00:00+08:00"
coefficients:
  - site_id: W1
    valid_from: 2026-01-01 00:00:00
    m3_per_kwh: 1.5
    method: pump_test
    note: 2025 年抽水试验
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- YAML ------------------------------------------------------------------------------------

def test_yaml_loads_sites_meters_and_coefficients(tmp_path: Path) -> None:
    registry = load_registry_file(write(tmp_path, "r.yaml", YAML), SHANGHAI)

    assert set(registry.sites) == {"W1", "G1"}
    well = registry.sites["W1"]
    assert (well.name, well.kind, well.source, well.township, well.rated_m3h, well.timezone) == (
        "张家井", "well", "groundwater", "甘浚镇", 40.0, "Asia/Shanghai")
    assert registry.sites["G1"].timezone == "Asia/Urumqi"
    assert registry.sites["G1"].rated_m3h is None

    old = registry.meters["W1-flow-1"]
    assert old.installed_at == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)  # naive, read at +08:00
    assert old.removed_at == datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
    assert (old.register_max, old.multiplier, old.initial_register, old.final_register,
            old.expected_interval_s) == (99999.9, 0.1, 120.0, 5400.0, 900)
    new = registry.meters["W1-flow-2"]
    assert (new.removed_at, new.register_max, new.multiplier, new.initial_register,
            new.final_register, new.expected_interval_s) == (None, None, 1.0, None, None, 3600)

    coefficient = registry.coefficient_records[("W1", datetime(2025, 12, 31, 16, tzinfo=UTC))]
    assert (coefficient.m3_per_kwh, coefficient.method, coefficient.note) == (
        1.5, "pump_test", "2025 年抽水试验")
    assert registry.coefficients["W1"] == [(datetime(2025, 12, 31, 16, tzinfo=UTC), 1.5)]
    check_consistency(registry)


def test_naive_times_are_read_in_the_given_zone_when_the_site_is_not_in_the_file(
        tmp_path: Path) -> None:
    text = """\
meters:
  - {meter_id: M1, site_id: W1, device_id: d, channel: flow, installed_at: "2026-04-01 08:00:00"}
  - {meter_id: M2, site_id: W1, device_id: e, channel: flow,
     installed_at: "2026-04-01T08:00:00+08:00"}
"""
    path = write(tmp_path, "m.yaml", text)
    in_shanghai = load_registry_file(path, SHANGHAI).meters
    in_utc = load_registry_file(path, ZoneInfo("UTC")).meters
    assert in_shanghai["M1"].installed_at == datetime(2026, 4, 1, 8, tzinfo=SHANGHAI)
    assert in_utc["M1"].installed_at - in_shanghai["M1"].installed_at == timedelta(hours=8)
    # times with an offset do not depend on the zone
    assert in_shanghai["M2"].installed_at == in_utc["M2"].installed_at


def test_naive_times_are_read_in_the_site_time_zone(tmp_path: Path) -> None:
    text = """\
sites:
  - {site_id: G1, name: 一号闸, kind: canal_gate, source: local_surface, timezone: Asia/Urumqi}
  - {site_id: W1, name: 张家井, kind: well, source: groundwater}
meters:
  - {meter_id: G1-flow, site_id: G1, device_id: dev-g1, channel: flow,
     installed_at: "2026-04-01 08:00:00"}
  - {meter_id: W1-flow, site_id: W1, device_id: dev-w1, channel: flow,
     installed_at: "2026-04-01 08:00:00"}
coefficients:
  - {site_id: G1, valid_from: "2026-01-01 00:00:00", m3_per_kwh: 1.5, method: t}
"""
    registry = load_registry_file(write(tmp_path, "r.yaml", text), ZoneInfo("UTC"))
    assert registry.meters["G1-flow"].installed_at == datetime(2026, 4, 1, 8, tzinfo=URUMQI)
    assert registry.meters["W1-flow"].installed_at == datetime(2026, 4, 1, 8, tzinfo=SHANGHAI)
    assert list(registry.coefficient_records) == [("G1", datetime(2026, 1, 1, tzinfo=URUMQI))]


def test_yaml_date_only_is_midnight_in_the_zone(tmp_path: Path) -> None:
    text = """\
coefficients:
  - {site_id: W1, valid_from: 2026-05-01, m3_per_kwh: 2.0, method: pump_test}
"""
    registry = load_registry_file(write(tmp_path, "c.yaml", text), SHANGHAI)
    assert list(registry.coefficient_records) == [("W1", datetime(2026, 5, 1, tzinfo=SHANGHAI))]


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "sites: []\nmeters:\n"])
def test_an_empty_file_is_an_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "r.yaml", text)
    with pytest.raises(RegistryError) as caught:
        load_registry_file(path, SHANGHAI)
    assert caught.value.render("zh").startswith(f"{path}:1: ")
    assert "文件为空" in caught.value.render("zh") or "没有任何记录" in caught.value.render("zh")


def test_yaml_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="expected a mapping"):
        load_registry_file(write(tmp_path, "r.yaml", "- just\n- a list\n"), SHANGHAI)


# --- CSV: one file per kind, recognised by its header --------------------------------------------

def test_csv_sites(tmp_path: Path) -> None:
    path = write(tmp_path, "sites.csv",
                 "site_id,name,kind,source,township,irrigation_district,lat,lon,rated_m3h,timezone\n"
                 "W1,张家井,well,groundwater,甘浚镇,,38.9,100.4,40,\n"
                 "W2,李家井,well,groundwater,,,,,,Asia/Urumqi\n")
    registry = load_registry_file(path, SHANGHAI)
    assert registry.sites["W1"] == Site("W1", "张家井", "well", "groundwater", "甘浚镇", None,
                                        38.9, 100.4, 40.0, "Asia/Shanghai")
    assert registry.sites["W2"] == Site("W2", "李家井", "well", "groundwater",
                                        timezone="Asia/Urumqi")
    assert registry.meters == {}


def test_csv_meters(tmp_path: Path) -> None:
    path = write(tmp_path, "meters.csv",
                 "meter_id,site_id,device_id,channel,installed_at,removed_at,register_max,"
                 "multiplier,initial_register,final_register,expected_interval_s\n"
                 "M1,W1,dev-1,flow,2026-04-01 08:00,2026-06-01 08:00,99999,,10,500,900\n"
                 "M2,W1,dev-1,flow,2026-06-01 08:00,,,,0,,\n")
    registry = load_registry_file(path, SHANGHAI)
    assert registry.meters["M1"] == Meter(
        "M1", "W1", "dev-1", "flow", datetime(2026, 4, 1, 8, tzinfo=SHANGHAI),
        datetime(2026, 6, 1, 8, tzinfo=SHANGHAI), 99999.0, 1.0, 10.0, 500.0, 900)
    assert registry.meters["M2"] == Meter(
        "M2", "W1", "dev-1", "flow", datetime(2026, 6, 1, 8, tzinfo=SHANGHAI))
    assert registry.sites == {}


def test_csv_coefficients(tmp_path: Path) -> None:
    path = write(tmp_path, "coefficients.csv",
                 "site_id,valid_from,m3_per_kwh,method,note\n"
                 "W1,2026-01-01,1.5,pump_test,\n"
                 "W1,2026-07-01T00:00:00+08:00,2.0,recalibration,水位下降\n")
    registry = load_registry_file(path, SHANGHAI)
    assert registry.coefficients["W1"] == [(datetime(2026, 1, 1, tzinfo=SHANGHAI), 1.5),
                                           (datetime(2026, 7, 1, tzinfo=SHANGHAI), 2.0)]
    first, second = (registry.coefficient_records[("W1", ts)] for ts, _ in
                     registry.coefficients["W1"])
    assert first == Coefficient("W1", datetime(2026, 1, 1, tzinfo=SHANGHAI), 1.5, "pump_test")
    assert second.note == "水位下降"


# --- errors name the record at fault --------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("sites:\n  - {site_id: W1, name: w, kind: lake, source: groundwater}\n",
     r"sites\[0\]: kind 'lake'"),
    ("sites:\n  - {site_id: W1, kind: well, source: groundwater}\n",
     r"sites\[0\]: name is required"),
    ("sites:\n  - {site_id: W1, name: w, kind: well, source: g}\n"
     "  - {site_id: W2, name: w, kind: well, source: g, timezone: Mars/Olympus}\n",
     r"sites\[1\]: unknown time zone 'Mars/Olympus'"),
    ("sites:\n  - {site_id: W1, name: w, kind: well, source: g, rated_m3h: -3}\n",
     r"sites\[0\]: rated_m3h must be positive"),
    ("sites:\n  - {site_id: W1, name: w, kind: well, source: g, lat: north}\n",
     r"sites\[0\]\.lat: 'north' is not a number"),
    ("meters:\n  - {meter_id: M1, site_id: W1, device_id: d, channel: water,"
     " installed_at: 2026-01-01}\n", r"meters\[0\]: channel 'water'"),
    ("meters:\n  - {meter_id: M1, site_id: W1, device_id: d, channel: flow}\n",
     r"meters\[0\]: installed_at is required"),
    ("meters:\n  - {meter_id: M1, site_id: W1, device_id: d, channel: flow,"
     " installed_at: yesterday}\n", r"meters\[0\]\.installed_at: 'yesterday' is not an ISO 8601"),
    ("sites:\n  - {site_id: W1, name: w, kind: well, source: g, lat: 91, lon: 100}\n",
     r"sites\[0\]: lat/lon"),
    ("sites:\n  - {site_id: W1, name: w, kind: well, source: g, lat: 38, lon: -181}\n",
     r"sites\[0\]: lat/lon"),
    ("meters:\n  - {meter_id: M1, site_id: W1, device_id: d, channel: flow,"
     " installed_at: 2026-01-02, removed_at: 2026-01-01}\n",
     r"meters\[0\]: removed_at must be after installed_at"),
    ("meters:\n  - {meter_id: M1, site_id: W1, device_id: d, channel: flow,"
     " installed_at: 2026-01-01, register_max: 0}\n",
     r"meters\[0\]: register_max must be positive"),
    ("coefficients:\n  - {site_id: W1, valid_from: 2026-01-01, m3_per_kwh: 0, method: t}\n",
     r"coefficients\[0\]: m3_per_kwh must be between 0 and 100"),
    ("coefficients:\n  - {site_id: W1, valid_from: 2026-01-01, m3_per_kwh: 1.2}\n",
     r"coefficients\[0\]: method is required"),
])
def test_loader_errors_name_the_record(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        load_registry_file(write(tmp_path, "r.yaml", text), SHANGHAI)


def test_csv_errors_name_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "meters.csv",
                 "meter_id,site_id,device_id,channel,installed_at\n"
                 "M1,W1,d,flow,2026-01-01\n"
                 "M2,W1,d,flow,not-a-time\n")
    with pytest.raises(RegistryError, match=r"meters\[1\]\.installed_at"):
        load_registry_file(path, SHANGHAI)


def test_non_numeric_expected_interval_names_the_record(tmp_path: Path) -> None:
    text = ("meters:\n  - {meter_id: M1, site_id: W1, device_id: d, channel: flow,"
            " installed_at: 2026-01-01, expected_interval_s: hourly}\n")
    with pytest.raises(RegistryError, match=r"meters\[0\]"):
        load_registry_file(write(tmp_path, "r.yaml", text), SHANGHAI)


@pytest.mark.parametrize("value", ["0", "-0.1"])
def test_a_multiplier_that_is_not_positive_is_rejected(tmp_path: Path, value: str) -> None:
    text = ("meters:\n  - {meter_id: M1, site_id: W1, device_id: d, channel: flow,"
            f" installed_at: 2026-01-01, multiplier: {value}}}\n")
    with pytest.raises(RegistryError, match=r"meters\[0\]: multiplier must be positive"):
        load_registry_file(write(tmp_path, "r.yaml", text), SHANGHAI)


@pytest.mark.parametrize("value", ["0", "90.5", "-60"])
def test_an_expected_interval_that_is_not_a_positive_whole_number_is_rejected(
        tmp_path: Path, value: str) -> None:
    text = ("meters:\n  - {meter_id: M1, site_id: W1, device_id: d, channel: flow,"
            f" installed_at: 2026-01-01, expected_interval_s: {value}}}\n")
    with pytest.raises(RegistryError, match=r"meters\[0\]: expected_interval_s"):
        load_registry_file(write(tmp_path, "r.yaml", text), SHANGHAI)


# --- consistency ------------------------------------------------------------------------------

def well(rated: float | None = 40.0) -> Site:
    return Site("W1", "井", "well", "groundwater", rated_m3h=rated)


def meter(meter_id: str, installed: datetime, removed: datetime | None = None,
          channel: str = "flow", site_id: str = "W1") -> Meter:
    return Meter(meter_id, site_id, "dev-1", channel, installed, removed)


def test_consistency_names_a_meter_on_an_unknown_site() -> None:
    registry = Registry.build([well()], [meter("M9", T0, site_id="NOWHERE")], [])
    with pytest.raises(RegistryError, match="meter M9: unknown site NOWHERE"):
        check_consistency(registry)


def test_consistency_names_overlapping_meters_on_one_channel() -> None:
    registry = Registry.build([well()], [meter("M1", T0), meter("M2", T0 + timedelta(days=3))], [])
    with pytest.raises(RegistryError, match="device dev-1 flow: meter M1 is still installed "
                                            "when M2"):
        check_consistency(registry)
    removed_late = Registry.build([well()], [
        meter("M1", T0, T0 + timedelta(days=4)), meter("M2", T0 + timedelta(days=3))], [])
    with pytest.raises(RegistryError, match="meter M1 is still installed"):
        check_consistency(removed_late)


def test_consistency_accepts_a_replacement_and_other_channels() -> None:
    swap = T0 + timedelta(days=3)
    check_consistency(Registry.build([well()], [
        meter("M1", T0, swap), meter("M2", swap), meter("P1", T0, channel="power"),
        meter("C1", T0, channel="card")], []))


def test_consistency_names_a_coefficient_of_an_unknown_site() -> None:
    registry = Registry.build([well()], [], [Coefficient("W7", T0, 1.5, "pump_test")])
    with pytest.raises(RegistryError, match="coefficient for unknown site W7"):
        check_consistency(registry)


# --- lookups ----------------------------------------------------------------------------------

def installed(registry: Registry, ts: datetime, channel: str = "flow",
              device: str = "dev-1") -> str | None:
    found = registry.meter_for(device, channel, ts)
    return None if found is None else found.meter_id


def test_meter_for_follows_a_replacement() -> None:
    swap = T0 + timedelta(days=10)
    registry = Registry.build([well()], [meter("M2", swap), meter("M1", T0, swap)], [])
    second = timedelta(seconds=1)
    assert installed(registry, T0 - second) is None
    assert installed(registry, T0) == "M1"
    assert installed(registry, swap - second) == "M1"
    assert installed(registry, swap) == "M2"
    assert installed(registry, swap + timedelta(days=400)) == "M2"
    assert installed(registry, swap, channel="power") is None
    assert installed(registry, swap, device="dev-2") is None


def test_meter_for_a_removed_meter_without_successor_is_none() -> None:
    removed = T0 + timedelta(days=5)
    registry = Registry.build([well()], [meter("M1", T0, removed)], [])
    assert installed(registry, removed - timedelta(seconds=1)) == "M1"
    assert installed(registry, removed) is None


def test_zone_for_uses_the_site_time_zone() -> None:
    site = Site("G1", "闸", "canal_gate", "local_surface", timezone="Asia/Urumqi")
    registry = Registry.build([site], [meter("M1", T0, site_id="G1")], [])
    assert registry.knows_device("dev-1")
    assert not registry.knows_device("dev-2")
    assert registry.zone_for("dev-1", SHANGHAI) == URUMQI
    assert registry.zone_for("dev-2", SHANGHAI) == SHANGHAI


def test_merged_with_replaces_records_of_the_same_key() -> None:
    stored = Registry.build([well(40)], [meter("M1", T0)], [Coefficient("W1", T0, 1.5, "t")])
    incoming = Registry.build([well(55)], [meter("M2", T0, channel="power")],
                              [Coefficient("W1", T0, 1.8, "t")])
    merged = stored.merged_with(incoming)
    assert merged.sites["W1"].rated_m3h == 55
    assert set(merged.meters) == {"M1", "M2"}
    assert merged.coefficients["W1"] == [(T0, 1.8)]


# --- register specs ---------------------------------------------------------------------------

def test_register_spec_of_a_flow_meter_is_in_m3_per_hour() -> None:
    flow = Meter("M1", "W1", "dev-1", "flow", T0, register_max=99999.0, multiplier=0.1)
    registry = Registry.build([well(40)], [flow], [Coefficient("W1", T0, 2.0, "t")])
    spec = registry.register_spec(flow)
    assert (spec.register_max, spec.multiplier, spec.max_rate_per_h) == (99999.0, 0.1, 40.0)


def test_register_spec_of_a_power_meter_is_kwh_per_hour_from_the_smallest_coefficient() -> None:
    power = Meter("P1", "W1", "dev-1", "power", T0, register_max=1e6)
    coefficients = [Coefficient("W1", T0, 2.5, "t"),
                    Coefficient("W1", T0 + timedelta(days=30), 1.6, "t"),
                    Coefficient("W1", T0 + timedelta(days=60), 2.0, "t")]
    registry = Registry.build([well(40)], [power], coefficients)
    # 40 m³/h at the smallest coefficient (1.6 m³/kWh): the pump draws at most 25 kWh/h
    assert registry.register_spec(power).max_rate_per_h == pytest.approx(25.0)


def test_register_spec_of_a_card_meter_is_in_kwh_for_kwh_only_sessions() -> None:
    card = Meter("C1", "W1", "dev-1", "card", T0)
    registry = Registry.build([well(40)], [card], [Coefficient("W1", T0, 0.5, "t")])
    assert registry.register_spec(card).max_rate_per_h == pytest.approx(80.0)


def test_register_spec_of_a_power_meter_without_coefficient_or_rating_has_no_capacity() -> None:
    power = Meter("P1", "W1", "dev-1", "power", T0)
    no_coefficient = Registry.build([well(40)], [power], [])
    assert no_coefficient.register_spec(power).max_rate_per_h is None
    unrated = Registry.build([well(None)], [power], [Coefficient("W1", T0, 1.5, "t")])
    assert unrated.register_spec(power).max_rate_per_h is None
