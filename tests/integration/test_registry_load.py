"""`waterbudget registry load` against the real database; a meter's first reading as baseline."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from ingest.reading_repository import Conn
from ingest.registry import load_registry_file
from ingest.registry_repository import save_registry
from tests.integration.ingest_support import ZONE
from tests.integration.test_registry_changes import at, flow, send

pytestmark = pytest.mark.integration

REGISTRY = """\
sites:
  - {site_id: W9, name: 王家庄9号井, kind: well, source: groundwater, township: 甘浚镇}
meters:
  - meter_id: W9-F
    site_id: W9
    device_id: dev-w9
    channel: flow
    installed_at: 2026-03-02 00:00:00
    register_digits: 7
    register_resolution: 0.1
"""


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def counted(conn: Conn, meter_id: str) -> list[tuple[datetime, datetime, float]]:
    return [(a, b, round(float(v), 6)) for a, b, v in conn.execute(
        "SELECT ts_start, ts_end, volume_m3 FROM consumption WHERE meter_id = %s "
        "ORDER BY ts_end", (meter_id,))]


# --- 2. a meter without a known initial register ------------------------------------------------

def test_the_first_reading_of_a_meter_without_initial_register_is_its_baseline(
        conn: Conn, tmp_path: Path) -> None:
    """Issue 15: the lifetime register (473,984.8 m³) was counted as the first interval."""
    save_registry(conn, load_registry_file(write(tmp_path, "r.yaml", REGISTRY), ZONE))
    send(conn, "dev-w9", "flow", flow(at(1), 473984.8), flow(at(2), 473990.0),
         flow(at(3), 473996.5))

    assert counted(conn, "W9-F") == [(at(1), at(2), 5.2), (at(2), at(3), 6.5)]
    stored = conn.execute("SELECT origin FROM register_readings WHERE meter_id = 'W9-F'"
                          ).fetchall()
    assert [o for (o,) in stored] == ["device"] * 3  # no installation reading


def test_reloading_without_initial_register_removes_the_installation_reading(
        conn: Conn, tmp_path: Path) -> None:
    """A meter loaded before with initial_register 0 counted its lifetime register; loaded
    again without it, the first device reading becomes its baseline and the use is redone."""
    with_zero = REGISTRY + "    initial_register: 0\n"
    save_registry(conn, load_registry_file(write(tmp_path, "a.yaml", with_zero), ZONE))
    send(conn, "dev-w9", "flow", flow(at(1), 473984.8), flow(at(2), 473990.0))
    assert round(sum(v for _, _, v in counted(conn, "W9-F")), 6) == 473990.0

    save_registry(conn, load_registry_file(write(tmp_path, "b.yaml", REGISTRY), ZONE))
    assert counted(conn, "W9-F") == [(at(1), at(2), 5.2)]


def test_a_rollover_uses_the_modulus_derived_from_the_plate(conn: Conn, tmp_path: Path) -> None:
    """7 digits of 0.1 m³: the display shows up to 999999.9 and wraps at 1,000,000."""
    text = REGISTRY.replace("register_digits: 7", "register_digits: 7\n"
                            "    initial_register: 999990.0")
    save_registry(conn, load_registry_file(write(tmp_path, "r.yaml", text), ZONE))
    send(conn, "dev-w9", "flow", flow(at(1), 999999.0), flow(at(2), 3.0))
    assert [v for _, _, v in counted(conn, "W9-F")] == [9.0, 4.0]


# --- 1. the command -----------------------------------------------------------------------------

def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "waterbudget.cli", "registry", "load", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_the_command_reports_every_problem_in_chinese_and_stores_nothing(
        database_url: str, tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", REGISTRY)
    broken = write(tmp_path, "broken.yaml", "sites: 5\nmeters:\n  - {meter_id: M1\n")
    typed = write(tmp_path, "typed.yaml", "sites: 5\n")
    empty = write(tmp_path, "empty.yaml", "")

    result = cli(database_url, str(good), str(broken), str(typed), str(empty))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{broken}:")
    assert "YAML 语法错误" in lines[0]
    assert lines[1] == f"{typed}:1: sites：应为记录列表（每项以 “- ” 开头），实际是值 '5'"
    assert lines[2] == f"{empty}:1: 文件为空：没有可导入的内容"
    assert lines[3] == "未导入任何内容：请更正以上各行后重新导入"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM sites").fetchone() == (0,)


def test_the_command_says_which_meters_take_their_first_reading_as_baseline(
        database_url: str, tmp_path: Path) -> None:
    result = cli(database_url, str(write(tmp_path, "r.yaml", REGISTRY)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'r.yaml'}：站点 1 个，计量设施 1 个，折算系数 0 个",
        "  计量设施 W9-F：未填初始读数 initial_register，以首次读数为基准，此前的用水量不计"]

    with psycopg.connect(database_url, autocommit=True) as conn:
        send(conn, "dev-w9", "flow", flow(at(1), 473984.8), flow(at(2), 473990.0))
        assert conn.execute("SELECT baseline_ts, baseline_value FROM meter_baselines "
                            "WHERE meter_id = 'W9-F'").fetchone() == (at(1), 473984.8)
    again = cli(database_url, str(tmp_path / "r.yaml"))
    assert again.stdout.splitlines()[1] == (
        "  计量设施 W9-F：未填初始读数 initial_register，以首次读数（2026-03-02 01:00 读数 "
        "473984.8）为基准，此前的用水量不计")

    english = cli(database_url, "--lang", "en", str(write(tmp_path, "e.yaml", "sites: x\n")))
    assert english.returncode == 2
    assert english.stderr.splitlines()[0] == (
        f"{tmp_path / 'e.yaml'}:1: sites: expected a list of records, got the value 'x'")


def test_a_consistency_error_names_the_file_and_line(database_url: str, tmp_path: Path) -> None:
    text = REGISTRY.replace("site_id: W9\n    device_id", "site_id: W8\n    device_id")
    result = cli(database_url, str(write(tmp_path, "r.yaml", text)))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"{tmp_path / 'r.yaml'}:4: 计量设施 W9-F：站点 W8 不存在（先导入站点）")

