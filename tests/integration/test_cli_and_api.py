"""The entry points as a user meets them: the command line and the HTTP API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from ingest.simulator import SimConfig, build_registry, write_registry_yaml
from store.database import create_scratch_database, drop_database
from tests.integration.ingest_support import rows, scalar
from waterbudget.api import create_app

pytestmark = pytest.mark.integration


def waterbudget(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "waterbudget.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_migrate_and_registry_commands(pg_admin_url, tmp_path) -> None:
    url = create_scratch_database(pg_admin_url, timescaledb=False)
    try:
        # a scratch database is migrated already: migrate again says so, changes nothing
        done = waterbudget(url, "migrate")
        assert done.returncode == 0, done.stderr
        assert "up to date" in done.stdout
        from datetime import UTC, datetime, timedelta

        config = SimConfig(n_sites=4, seed=3, start=datetime(2026, 5, 1, tzinfo=UTC),
                           duration=timedelta(days=1))
        path = tmp_path / "registry.yaml"
        write_registry_yaml(build_registry(config), path)
        loaded = waterbudget(url, "registry", "load", str(path))
        assert loaded.returncode == 0, loaded.stderr
        assert scalar(url, "SELECT count(*) FROM sites") == 4
        power_site = rows(url, "SELECT site_id FROM meters WHERE channel = 'power' LIMIT 1")[0][0]
        coef = waterbudget(url, "registry", "add-coefficient", "--site", power_site,
                           "--valid-from", "2026-05-01T12:00:00", "--m3-per-kwh", "2.5",
                           "--method", "pump_test")
        assert coef.returncode == 0, coef.stderr
        assert "restated" in coef.stdout
        assert scalar(url, "SELECT m3_per_kwh FROM power_coefficients WHERE site_id = %s "
                           "AND valid_from = '2026-05-01T12:00:00+08:00'", (power_site,)) == 2.5
        bad = waterbudget(url, "registry", "add-coefficient", "--site", "NOPE",
                          "--valid-from", "2026-05-01", "--m3-per-kwh", "2", "--method", "x")
        assert bad.returncode == 2
        assert "unknown site NOPE" in bad.stderr
    finally:
        drop_database(pg_admin_url, url)


def test_api_health_and_budget_routes(database_url) -> None:
    client = TestClient(create_app(database_url))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/budget/nodes").status_code == 401  # no token, no data
    assert "/budget/nodes" in client.get("/openapi.json").json()["paths"]


def test_api_health_reports_an_unreachable_database() -> None:
    client = TestClient(create_app("postgresql://nobody@127.0.0.1:1/none"))
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert "database unavailable" in answer.json()["detail"]
    assert "nobody" not in answer.text  # the driver's text (host, port, user) stays in the log
    assert "127.0.0.1" not in answer.text
