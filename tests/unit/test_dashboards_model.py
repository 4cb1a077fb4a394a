"""The generated dashboards: committed JSON equals what the builders produce, and
it is valid for Grafana's dashboard model; the provisioning files agree with
docker-compose.yml."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from dashboards.catalog import DASHBOARDS, rendered
from dashboards.datasource import DATASOURCE_TYPE, DATASOURCE_UID
from dashboards.generate import (
    DASHBOARD_FOLDER,
    MOUNTED_AT,
    PROVISIONING,
    dashboard_provider,
    stale_files,
)
from dashboards.model_check import (
    catalog_problems,
    datasource_problems,
    grid_problems,
    id_problems,
    panels_of,
    variable_problems,
)
from dashboards.panel_queries import all_queries

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def boards():
    return rendered()


def test_committed_provisioning_equals_what_the_builders_produce():
    assert stale_files() == [], "run `waterbudget dashboards build` and commit the result"


def test_committed_json_files_are_the_catalog():
    assert sorted(p.name for p in DASHBOARD_FOLDER.glob("*.json")) == sorted(DASHBOARDS)
    for name in DASHBOARDS:
        assert json.loads((DASHBOARD_FOLDER / name).read_text(encoding="utf-8")) == \
            rendered()[name]


def test_dashboards_are_valid_for_grafanas_model(boards):
    assert catalog_problems(boards.values()) == []


def test_every_panel_and_target_uses_the_provisioned_data_source(boards):
    for board in boards.values():
        for panel in panels_of(board):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == DATASOURCE_UID
                assert target["rawQuery"] is True
                assert target["rawSql"].strip()


def test_titles_are_chinese_with_an_english_description(boards):
    han = re.compile(r"[\u4e00-\u9fff]")
    for board in boards.values():
        for panel in panels_of(board):
            assert han.search(panel["title"]), panel["title"]
            if panel["type"] != "row":
                assert re.search(r"[A-Za-z]{3}", panel.get("description", "")), panel["title"]


def test_every_query_knows_what_its_panel_expects(boards):
    for board in boards.values():
        for query in all_queries(board):
            assert query.expectation.kind in {"time_series", "table", "numbers",
                                              "labelled_numbers", "bars", "geomap",
                                              "annotation"}
            if query.expectation.kind == "table":
                assert query.expectation.columns, query.name


# ------------------------------------------------- the checks catch what they say --

def _board(boards):
    return copy.deepcopy(boards["site-detail.json"])  # rows, tables, chained variables


def _non_row(board):
    return [p for p in board["panels"] if p["type"] != "row"]


def test_duplicate_panel_ids_are_caught(boards):
    board = _board(boards)
    board["panels"][2]["id"] = board["panels"][1]["id"]
    assert any("used twice" in p for p in id_problems(board))


def test_overlapping_or_overflowing_panels_are_caught(boards):
    board = _board(boards)
    first, second = _non_row(board)[:2]
    second["gridPos"] = dict(first["gridPos"])
    assert any("overlap" in p for p in grid_problems(board))
    board = _board(boards)
    _non_row(board)[0]["gridPos"].update(x=20, w=8)
    assert any("outside" in p for p in grid_problems(board))


def test_a_panel_on_another_data_source_is_caught(boards):
    board = _board(boards)
    _non_row(board)[0]["targets"][0]["datasource"] = {"type": "prometheus", "uid": "x"}
    assert any("not bound" in p for p in datasource_problems(board))


def test_an_undefined_variable_is_caught(boards):
    board = _board(boards)
    _non_row(board)[0]["targets"][0]["rawSql"] += " AND x = '$nowhere'"
    assert any("$nowhere" in p for p in variable_problems(board))
    board = _board(boards)
    board["templating"]["list"].reverse()  # a variable used before it is defined
    assert any("not defined before it" in p for p in variable_problems(board))


# ----------------------------------------------------------- provisioning files --

def _compose_grafana():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]


def test_compose_mounts_the_provisioning_folder_where_the_provider_looks():
    grafana = _compose_grafana()
    mounts = [v.split(":") for v in grafana["volumes"]]
    assert ["./dashboards/provisioning", MOUNTED_AT, "ro"] in mounts
    assert (ROOT / "dashboards" / "provisioning") == PROVISIONING
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "waterbudget.yaml").read_text())
    assert provider == dashboard_provider()
    path = provider["providers"][0]["options"]["path"]
    assert path.startswith(MOUNTED_AT + "/")
    assert (PROVISIONING / path.removeprefix(MOUNTED_AT + "/")) == DASHBOARD_FOLDER
    assert list(DASHBOARD_FOLDER.glob("*.json"))


def test_provisioned_data_source_is_the_one_the_panels_use_and_compose_sets_its_variables():
    text = (PROVISIONING / "datasources" / "waterbudget.yaml").read_text()
    source = yaml.safe_load(text)["datasources"][0]
    assert (source["uid"], source["type"]) == (DATASOURCE_UID, DATASOURCE_TYPE)
    assert source["jsonData"]["timescaledb"] is True
    used = set(re.findall(r"\$\{(\w+)\}", text))
    assert used == {"POSTGRES_HOST", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}
    assert used <= set(_compose_grafana()["environment"])
