"""``waterbudget dashboards push`` against a real local HTTP server answering like
Grafana's API (tests/integration/grafana_stand_in.py): the requests
grafana-client makes, their payloads, and create-then-update. Not run against a
real Grafana (none can run here)."""

from __future__ import annotations

import pytest

from dashboards.catalog import rendered
from dashboards.datasource import DATASOURCE_TYPE, DATASOURCE_UID, FOLDER_TITLE, FOLDER_UID
from tests.integration.grafana_stand_in import GrafanaStandIn
from waterbudget import cli
from waterbudget.settings import get_settings

pytestmark = pytest.mark.integration
TOKEN = "glsa_test_token"
GRAFANA_DB = "postgresql://grafana_reader:s3cret@timescaledb:5432/waterbudget"


@pytest.fixture
def grafana(monkeypatch):
    with GrafanaStandIn(TOKEN) as stand_in:
        monkeypatch.setenv("WATERBUDGET_GRAFANA_URL", stand_in.url)
        monkeypatch.setenv("WATERBUDGET_GRAFANA_TOKEN", TOKEN)
        monkeypatch.setenv("WATERBUDGET_GRAFANA_DATABASE_URL", GRAFANA_DB)
        monkeypatch.setenv("WATERBUDGET_TIMESCALEDB", "on")
        get_settings.cache_clear()
        yield stand_in
    get_settings.cache_clear()


def _calls(stand_in: GrafanaStandIn) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in stand_in.state.requests]


def test_first_push_creates_data_source_folder_and_dashboards(grafana, capsys):
    assert cli.main(["dashboards", "push"]) == 0
    boards = rendered()
    assert _calls(grafana) == [
        ("GET", "/api/frontend/settings"),
        ("GET", f"/api/datasources/uid/{DATASOURCE_UID}"),
        ("POST", "/api/datasources"),
        ("GET", f"/api/folders/{FOLDER_UID}"),
        ("POST", "/api/folders"),
        *[("POST", "/api/dashboards/db")] * len(boards),
    ]
    assert {r.authorization for r in grafana.state.requests} == {f"Bearer {TOKEN}"}
    created = grafana.state.requests[2].body
    assert created["uid"] == DATASOURCE_UID
    assert created["type"] == DATASOURCE_TYPE
    assert created["url"] == "timescaledb:5432"
    assert created["user"] == "grafana_reader"
    assert created["jsonData"]["database"] == "waterbudget"
    assert created["jsonData"]["timescaledb"] is True
    assert created["secureJsonData"] == {"password": "s3cret"}
    assert grafana.state.requests[4].body == {"title": FOLDER_TITLE, "uid": FOLDER_UID}
    saved = [r.body for r in grafana.state.requests[5:]]
    assert [b["dashboard"]["uid"] for b in saved] == [b["uid"] for b in boards.values()]
    for body, board in zip(saved, boards.values(), strict=True):
        assert body["folderUid"] == FOLDER_UID
        assert body["overwrite"] is True
        assert body["dashboard"] == {**board, "id": None}
    out = capsys.readouterr().out
    assert "data source created, folder created" in out
    assert all(f"dashboard {b['uid']}: version 1" in out for b in boards.values())


def test_second_push_updates_in_place(grafana, capsys):
    assert cli.main(["dashboards", "push"]) == 0
    first = len(grafana.state.requests)
    assert cli.main(["dashboards", "push"]) == 0
    second = _calls(grafana)[first:]
    assert ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}") in second
    assert ("POST", "/api/datasources") not in second
    assert ("POST", "/api/folders") not in second
    assert all(d["version"] == 2 for d in grafana.state.dashboards.values())
    assert grafana.state.datasources[DATASOURCE_UID]["version"] == 2
    assert "data source updated, folder unchanged" in capsys.readouterr().out


def test_renamed_folder_is_put_back(grafana):
    assert cli.main(["dashboards", "push"]) == 0
    grafana.state.folders[FOLDER_UID]["title"] = "someone renamed it"
    assert cli.main(["dashboards", "push"]) == 0
    assert ("PUT", f"/api/folders/{FOLDER_UID}") in _calls(grafana)
    assert grafana.state.folders[FOLDER_UID]["title"] == FOLDER_TITLE


def test_wrong_token_is_a_clear_error(grafana, monkeypatch, capsys):
    monkeypatch.setenv("WATERBUDGET_GRAFANA_TOKEN", "wrong")
    get_settings.cache_clear()
    assert cli.main(["dashboards", "push"]) == 2
    err = capsys.readouterr().err
    assert "reaching Grafana" in err
    assert "401" in err
    assert not grafana.state.datasources
    assert not grafana.state.dashboards


def test_unreachable_grafana_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("WATERBUDGET_GRAFANA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("WATERBUDGET_GRAFANA_DATABASE_URL", GRAFANA_DB)
    monkeypatch.setenv("WATERBUDGET_TIMESCALEDB", "off")
    get_settings.cache_clear()
    try:
        assert cli.main(["dashboards", "push"]) == 2
    finally:
        get_settings.cache_clear()
    assert "reaching Grafana at http://127.0.0.1:9" in capsys.readouterr().err
