"""Registry files checked as a whole: file, line and field in every error; plate registers."""

from __future__ import annotations

import string
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.registry import Registry, RegistryError, load_registry_file

SHANGHAI = ZoneInfo("Asia/Shanghai")

SITE = "  - {site_id: W1, name: 张家井, kind: well, source: groundwater}\n"


def meter_yaml(extra: str = "") -> str:
    return ("meters:\n  - meter_id: M1\n    site_id: W1\n    device_id: d1\n"
            f"    channel: flow\n    installed_at: 2026-03-01\n{extra}")


def load(tmp_path: Path, text: str, name: str = "r.yaml") -> Registry:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_registry_file(path, SHANGHAI)


def error(tmp_path: Path, text: str, name: str = "r.yaml") -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        load(tmp_path, text, name)
    return caught.value


# --- 1. whole-file validation with file:line ------------------------------------------------

def test_a_yaml_syntax_error_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    text = "sites:\n" + SITE + "meters:\n  - {meter_id: M1, site_id: W1\n  - oops: [\n"
    exc = error(tmp_path, text)
    lines = exc.render("zh").splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path / 'r.yaml'}:")
    assert "YAML 语法错误" in lines[0]
    line = int(lines[0].split(":")[1])
    assert 4 <= line <= 5  # where the flow mapping is broken
    assert "YAML syntax error" in exc.render("en")


def test_a_list_that_is_a_number_names_the_field_and_line(tmp_path: Path) -> None:
    exc = error(tmp_path, "meters:\nsites: 5\n")
    assert str(exc) == (f"{tmp_path / 'r.yaml'}:2: sites: expected a list of records, "
                        f"got the value '5'")
    assert "sites：应为记录列表" in exc.render("zh")


def test_a_field_error_points_at_the_fields_line(tmp_path: Path) -> None:
    exc = error(tmp_path, "sites:\n" + SITE + meter_yaml("    multiplier: many\n"))
    assert exc.render("en") == (f"{tmp_path / 'r.yaml'}:9: meters[0].multiplier: "
                                f"'many' is not a number")
    assert exc.render("zh") == f"{tmp_path / 'r.yaml'}:9: meters[0].multiplier：'many' 不是数字"


def test_every_problem_of_the_file_is_reported_at_once(tmp_path: Path) -> None:
    text = ("sites:\n"
            "  - {site_id: W1, name: 井, kind: lake, source: g}\n"
            "  - {site_id: W2, name: 井, kind: well, source: g, rated_m3h: -1}\n"
            "  - just text\n"
            "meters:\n"
            "  - {meter_id: M1, site_id: W1, device_id: d, channel: flow, intial_register: 5,"
            " installed_at: 2026-01-01}\n"
            "coefficients:\n"
            "  - {site_id: W1, valid_from: 2026-02-30, m3_per_kwh: 1.5, method: t}\n")
    exc = error(tmp_path, text)
    where = [p.where.rsplit(":", 1)[1] for p in exc.problems]
    assert where == ["2", "3", "4", "6", "8"]
    zh = exc.render("zh")
    for expected in ("kind 'lake' 不是", "rated_m3h 必须大于 0", "应为一条记录",
                     "未知字段 'intial_register'"):
        assert expected in zh
    assert "无法读取值 '2026-02-30'" in zh


def test_a_mapping_where_a_value_belongs_is_an_error(tmp_path: Path) -> None:
    exc = error(tmp_path, "sites:\n  - {site_id: {a: 1}, name: n, kind: well, source: g}\n")
    assert "sites[0].site_id：应为单个值" in exc.render("zh")


def test_a_record_given_twice_in_one_file_is_an_error(tmp_path: Path) -> None:
    exc = error(tmp_path, "sites:\n" + SITE + SITE)
    assert exc.render("zh").startswith(f"{tmp_path / 'r.yaml'}:3: sites[1]：site W1 在 ")


def test_csv_errors_carry_the_line_and_unknown_columns_are_named(tmp_path: Path) -> None:
    text = ("meter_id,site_id,device_id,channel,installed_at,initial_registr\n"
            "M1,W1,d,flow,2026-01-01,0\n"
            "M2,W1,d,flow,not-a-time,0\n")
    exc = error(tmp_path, text, "meters.csv")
    rendered = exc.render("en").splitlines()
    assert rendered[0].startswith(f"{tmp_path / 'meters.csv'}:1: column 'initial_registr'")
    assert rendered[1] == (f"{tmp_path / 'meters.csv'}:3: meters[1].installed_at: "
                           f"'not-a-time' is not an ISO 8601 time")


@pytest.mark.parametrize(("name", "text"), [("r.yaml", ""), ("r.csv", ""),
                                            ("r.yaml", "meters: []\n"),
                                            ("sites.csv", "site_id,name,kind,source\n")])
def test_an_empty_file_is_an_error(tmp_path: Path, name: str, text: str) -> None:
    exc = error(tmp_path, text, name)
    assert exc.render("en").startswith(f"{tmp_path / name}:1: ")


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes("sites:\n  - {name: 张家井}\n".encode("gbk"))
    with pytest.raises(RegistryError, match="not UTF-8"):
        load_registry_file(path, SHANGHAI)


# --- fuzz: anything YAML-ish is a registry or a RegistryError with a location ----------------

FRAGMENTS = ["sites:", "meters:", "coefficients:", "terminals:", "gate_ratings:", "  - ",
             "    ", "site_id: W1", "name: 井", "kind: well", "source: g", "meter_id: M1",
             "device_id: d", "channel: flow", "installed_at: 2026-03-01", "register_digits: 6",
             "register_resolution: 0.1", "register_display_max: 99999.9", "register_max: 0",
             "valid_from: 2026-13-01", "m3_per_kwh: 1.5", "method: t", "points: [[1, 2], [3]]",
             "levels: [upstream, x]", "address: 530381-00013", "{", "}", "[", "]", ",", ": ",
             "&a", "*a", "!!python/object:os.system", "!!binary ~", "'", '"', "\t", "- ",
             "1e999", ".nan", "~", "null", "yes", "2026-02-30", "<<: *a", "---", "...", "#"]


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.sampled_from(["\n"] * 3),
                          st.text(string.printable + "井\x00\x85\ufeff", max_size=6)),
                max_size=40))
def test_fuzzed_yaml_is_a_registry_or_a_located_error(tmp_path: Path, parts: list[str]) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text("".join(parts), encoding="utf-8")
    problems = []
    registry = None
    try:
        registry = load_registry_file(path, SHANGHAI)
    except RegistryError as exc:
        problems = exc.problems
        assert problems
    for problem in problems:
        prefix, line = problem.where.rsplit(":", 1)
        assert prefix == str(path)
        assert line.isdigit()
        assert int(line) >= 1
        assert "\n" not in problem.zh
        assert "\n" not in problem.en
    if registry is not None:
        assert registry.sites or registry.meters or registry.coefficients or \
            registry.terminals or registry.gate_ratings


# --- 3. registers described as on the plate ---------------------------------------------------

@pytest.mark.parametrize(("fields", "modulus"), [
    ("    register_digits: 6\n    register_resolution: 0.1\n", 100000.0),
    ("    register_digits: 5\n", 100000.0),
    ("    register_digits: 8\n    register_resolution: 0.01\n", 1000000.0),
    ("    register_display_max: 99999.9\n", 100000.0),
    ("    register_display_max: 9999\n", 10000.0),
    ("    register_display_max: 99999.99\n    register_resolution: 0.01\n", 100000.0),
    ("    register_max: 100000\n", 100000.0),
    ("    register_max: 99999.9\n", 99999.9),  # the modulus itself, as it always meant
])
def test_the_rollover_modulus_is_derived_from_the_plate(tmp_path: Path, fields: str,
                                                         modulus: float) -> None:
    meter = load(tmp_path, "sites:\n" + SITE + meter_yaml(fields)).meters["M1"]
    assert meter.register_max == modulus


def test_plate_registers_in_csv(tmp_path: Path) -> None:
    text = ("meter_id,site_id,device_id,channel,installed_at,register_digits,"
            "register_resolution,register_display_max\n"
            "M1,W1,d,flow,2026-01-01,6,0.1,\n"
            "M2,W1,d2,flow,2026-01-01,,,99999.9\n"
            "M3,W1,d3,flow,2026-01-01,,,9999.99\n")
    registry = load(tmp_path, text, "meters.csv")
    assert registry.meters["M1"].register_max == 100000.0
    assert registry.meters["M2"].register_max == 100000.0
    assert registry.meters["M3"].register_max == 10000.0


@pytest.mark.parametrize(("fields", "message"), [
    ("    register_max: 100000\n    register_digits: 6\n", "only one"),
    ("    register_resolution: 0.1\n", "register_resolution needs"),
    ("    register_display_max: 99999.95\n    register_resolution: 0.1\n", "not a multiple"),
    ("    register_digits: 6.5\n", "whole number"),
    ("    register_display_max: -1\n", "must be positive"),
])
def test_contradictory_register_fields_are_errors(tmp_path: Path, fields: str,
                                                  message: str) -> None:
    exc = error(tmp_path, "sites:\n" + SITE + meter_yaml(fields))
    assert message in str(exc).replace("give one of", "only one")
    assert exc.problems[0].where.startswith(f"{tmp_path / 'r.yaml'}:")


# --- 2. an unknown initial register -----------------------------------------------------------

def test_a_meter_without_initial_register_has_none(tmp_path: Path) -> None:
    registry = load(tmp_path, "sites:\n" + SITE + meter_yaml())
    assert registry.meters["M1"].initial_register is None
    with_zero = load(tmp_path, "sites:\n" + SITE + meter_yaml("    initial_register: 0\n"))
    assert with_zero.meters["M1"].initial_register == 0.0


def test_the_docs_yaml_examples_load_and_their_register_wraps_at_the_modulus(
        tmp_path: Path) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "registry.md").read_text("utf-8")
    blocks = [b.split("```", 1)[0] for b in docs.split("```yaml\n")[1:]]
    assert len(blocks) >= 2
    loaded = [load(tmp_path, block) for block in blocks]
    assert loaded[0].meters["W001-F1"].register_max == 100000.0
    assert loaded[0].meters["W001-F1"].initial_register == 1520.4


CSV_FRAGMENTS = ["meter_id", "site_id", "device_id", "channel", "installed_at", "address",
                 "m3_per_kwh", "valid_from", "register_digits", "M1", "W1", "flow",
                 "2026-01-01", "6", "0.1", "-1", "nan", ",", "\n", '"', '""', "\r\n", "\x00"]


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(CSV_FRAGMENTS),
                          st.text(string.printable + "井", max_size=4)), max_size=40))
def test_fuzzed_csv_is_a_registry_or_a_located_error(tmp_path: Path, parts: list[str]) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_text("".join(parts), encoding="utf-8")
    try:
        load_registry_file(path, SHANGHAI)
    except RegistryError as exc:
        where = [p.where.rsplit(":", 1) for p in exc.problems]
        assert where
        assert all(prefix == str(path) and line.isdigit() for prefix, line in where)
