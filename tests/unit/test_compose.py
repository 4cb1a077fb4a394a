"""docker-compose.yml and the Dockerfile describe the full stack (no Docker engine needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return dict(doc["services"])


def test_every_part_of_the_stack_is_a_service(services):
    assert set(services) == {"timescaledb", "mosquitto", "grafana", "migrate", "ingest",
                             "ingest-2", "api", "szy206", "monitor", "scheduler"}
    assert services["timescaledb"]["image"] == "timescale/timescaledb:latest-pg15"
    assert services["mosquitto"]["image"] == "eclipse-mosquitto:2"
    assert services["grafana"]["image"].startswith("grafana/grafana-oss:11.")
    assert "./deploy/mosquitto:/mosquitto/config" in services["mosquitto"]["volumes"]
    assert any(v.startswith("./dashboards/provisioning:/etc/grafana/provisioning")
               for v in services["grafana"]["volumes"])


@pytest.mark.parametrize(("service", "probe"), [
    ("timescaledb", "pg_isready"),
    ("mosquitto", "$$SYS"),
    ("grafana", "/api/health"),
    ("api", "/healthz"),
    ("ingest", "/metrics"),
    ("ingest-2", "/metrics"),
    ("szy206", "/metrics"),
    ("monitor", "monitor.health"),
    ("scheduler", "psycopg.connect"),
])
def test_long_running_services_have_health_checks(services, service, probe):
    check = services[service]["healthcheck"]
    assert probe in " ".join(check["test"])
    assert check["interval"]
    assert check["retries"] > 0


def test_project_services_run_the_waterbudget_command_with_their_settings(services):
    for name, subcommand in (("migrate", "migrate"), ("ingest", "ingest"), ("ingest-2", "ingest"),
                             ("api", "api"), ("szy206", "szy206-listen"), ("monitor", "monitor"),
                             ("scheduler", "scheduler")):
        service = services[name]
        assert service["build"] == "."
        assert service["command"][0] == subcommand
        assert {"WATERBUDGET_DATABASE_URL", "WATERBUDGET_MQTT_URL"} <= set(service["environment"])
        assert "@timescaledb:5432/" in service["environment"]["WATERBUDGET_DATABASE_URL"]
        assert "@mosquitto:1883" in service["environment"]["WATERBUDGET_MQTT_URL"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["timescaledb"]["condition"] == "service_healthy"
    for name in ("ingest", "ingest-2", "api", "szy206", "monitor", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == \
               "service_completed_successfully"
    assert "8000:8000" in services["api"]["ports"]


def test_two_ingest_processes_share_one_subscription_group_with_their_own_sessions(services):
    ingestors = [services["ingest"], services["ingest-2"]]
    for service in ingestors:
        assert service["command"] == ["ingest"]
        assert service["environment"]["WATERBUDGET_MQTT_SHARE_GROUP"] == "ingest"
        assert service["depends_on"]["mosquitto"]["condition"] == "service_healthy"
        assert service["healthcheck"] == services["ingest"]["healthcheck"]
    client_ids = [s["environment"]["WATERBUDGET_MQTT_CLIENT_ID"] for s in ingestors]
    assert all(client_ids)
    assert len(set(client_ids)) == len(client_ids)
    # the same broker user and database as the single ingestor had
    assert services["ingest"]["environment"]["WATERBUDGET_MQTT_URL"] == \
           services["ingest-2"]["environment"]["WATERBUDGET_MQTT_URL"]


def test_dockerfile_installs_the_project_on_python_311_slim():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert "FROM python:3.11-slim" in lines
    assert any("pip install ." in line for line in lines)
    assert 'ENTRYPOINT ["waterbudget"]' in lines
