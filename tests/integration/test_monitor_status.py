"""How far the monitor is behind the data: ``waterbudget monitor status`` and
``GET /monitor/status`` against the real database (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from budget import repository as budget_repo
from monitor.repository import status
from tests.integration.monitor_support import at, drain, flow, meter, region, save, send, well
from waterbudget.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def behind(conn: psycopg.Connection) -> None:
    """Readings rolled up to June 1 10:00, then readings to 20:00 waiting, recorded an
    hour ago by the server's clock, and one change row given up."""
    region(conn)
    save(conn, [well("W1")], [meter("W1-F", "W1", "flow", initial_register=0)])
    send(conn, "W1", "flow", flow(at(0), 0), flow(at(10), 100))
    drain(conn)
    send(conn, "W1", "flow", flow(at(20), 150))
    conn.execute("UPDATE monitor_changes SET recorded_at = now() - interval '1 hour'")
    conn.execute("INSERT INTO monitor_changes (kind, attempts, last_error) "
                 "VALUES ('registry', 5, 'ValueError: a poison row')")


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WATERBUDGET_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "waterbudget.cli", "monitor", "status", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_the_figures(conn) -> None:
    behind(conn)
    found = status.read(conn)
    assert (found.pending, found.given_up) == (1, 1)
    assert (found.rollup_clock, found.data_clock) == (at(10), at(20))
    assert found.oldest_pending_age is not None
    assert found.oldest_pending_age.total_seconds() >= 3600
    assert found.errors == (f"#{found.errors[0][1:].split(':')[0]}: ValueError: a poison row",)


def test_the_command_says_it_in_chinese_and_fails_when_behind(conn, database_url) -> None:
    behind(conn)
    answer = cli(database_url)
    assert answer.returncode == 1, answer.stderr
    assert "待处理变更: 1 行" in answer.stdout
    assert "汇总落后数据: 10 小时 0 分 0 秒" in answer.stdout
    assert "落后" in answer.stdout
    english = cli(database_url, "--lang", "en")
    assert "Change rows waiting: 1 rows" in english.stdout
    assert "BEHIND" in english.stdout
    conn.execute("DELETE FROM monitor_changes WHERE attempts >= 5")
    drain(conn)
    caught_up = cli(database_url)
    assert caught_up.returncode == 0, caught_up.stdout + caught_up.stderr
    assert "正常" in caught_up.stdout


def test_the_route_is_for_operators_and_administrators(conn, database_url) -> None:
    behind(conn)
    r = conn.execute("SELECT node_id FROM budget_nodes WHERE code = 'V'").fetchone()
    h = conn.execute("SELECT node_id FROM budget_nodes WHERE code = 'H1'").fetchone()
    assert r is not None
    assert h is not None
    tokens = {
        "admin": budget_repo.create_token(conn, name="admin", role="administrator",
                                          node_id=None),
        "village": budget_repo.create_token(conn, name="村干部", role="operator", node_id=r[0]),
        "h1": budget_repo.create_token(conn, name="王五", role="water_user", node_id=h[0]),
    }
    headers = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    with TestClient(create_app(database_url)) as client:
        admin = client.get("/monitor/status", headers=headers["admin"])
        assert admin.status_code == 200, admin.text
        body = admin.json()
        assert (body["pending_changes"], body["given_up_changes"]) == (1, 1)
        assert body["rollup_lag_s"] == 36_000
        assert set(body["problems"]) == {"backlog", "lag", "given_up"}
        assert len(body["errors"]) == 1
        operator = client.get("/monitor/status", headers=headers["village"]).json()
        assert operator["errors"] == []  # errors name sites anywhere
        assert client.get("/monitor/status", headers=headers["h1"]).status_code == 403
        assert client.get("/monitor/status").status_code == 401
