"""The monitor API against the real database: scopes of the three roles, execution,
alerts (acknowledge, resolve), levels, rounds, tariffs and charges, notifications."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import psycopg
import pytest
from fastapi.testclient import TestClient

from budget import repository as budget_repo
from monitor.consumer import Consumer
from monitor.repository.outbox import add_subscription
from monitor.sweep import sweep
from tests.integration.monitor_support import (
    YEAR,
    at,
    attach,
    drain,
    flow,
    issue,
    meter,
    region,
    save,
    send,
    well,
)
from waterbudget.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], object]]:
    """H1 overruns (1,100 of 1,000 m³), H2 is fine; tokens for each role."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        r = region(conn)
        save(conn, [well("W1", rated_m3h=500), well("W2", rated_m3h=500)],
             [meter("W1-F", "W1", "flow"), meter("W2-F", "W2", "flow")])
        attach(conn, r.h1, "site", "W1")
        attach(conn, r.h2, "site", "W2")
        for node, volume in ((r.district, 100_000), (r.village, 10_000), (r.h1, 1_000),
                             (r.h2, 1_000)):
            issue(conn, node, volume)
        (contact,) = conn.execute("SELECT contact_id FROM budget_contacts WHERE node_id = %s",
                                  (r.h1,)).fetchone() or (None,)
        add_subscription(conn, contact_id=contact, channel="email", address="h1@example.org")
        send(conn, "W1", "flow", flow(at(0), 0), flow(at(10), 1100))
        send(conn, "W2", "flow", flow(at(0), 0), flow(at(10), 100))
        drain(conn)
        tokens = {
            "admin": budget_repo.create_token(conn, name="admin", role="administrator",
                                              node_id=None),
            "village": budget_repo.create_token(conn, name="村干部", role="operator",
                                                node_id=r.village),
            "h1": budget_repo.create_token(conn, name="王五", role="water_user", node_id=r.h1),
            "h2": budget_repo.create_token(conn, name="赵六", role="water_user", node_id=r.h2),
        }
    headers = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    with TestClient(create_app(database_url)) as client:
        yield client, headers, r


def test_execution_per_node_and_period(world) -> None:
    client, headers, r = world
    answer = client.get(f"/monitor/nodes/{r.h1}/execution", params={"period": str(YEAR)},
                        headers=headers["h1"])
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()
    assert (row["source"], float(row["drawn_m3"]), float(row["budget_m3"]), row["level"]) == (
        "", 1100.0, 1000.0, "overrun")
    assert datetime.fromisoformat(row["at"]) == at(10)  # the data's time
    assert client.get(f"/monitor/nodes/{r.h2}/execution",
                      headers=headers["h1"]).status_code == 404  # not the caller's node
    assert client.get(f"/monitor/nodes/{r.h1}/execution").status_code == 401


def test_alerts_are_scoped_and_water_users_only_read(world) -> None:
    client, headers, r = world
    mine = client.get("/monitor/alerts", params={"status": "live"}, headers=headers["h1"]).json()
    assert {a["node_id"] for a in mine} == {r.h1}
    assert client.get("/monitor/alerts", headers=headers["h2"]).json() == []
    village = client.get("/monitor/alerts", headers=headers["village"]).json()
    assert {a["node_id"] for a in village} >= {r.h1}
    level = next(a for a in mine if a["kind"] == "budget_level")
    assert client.post(f"/monitor/alerts/{level['alert_id']}/acknowledge",
                       headers=headers["h1"]).status_code == 403
    assert client.get(f"/monitor/alerts/{level['alert_id']}",
                      headers=headers["h2"]).status_code == 404
    acked = client.post(f"/monitor/alerts/{level['alert_id']}/acknowledge",
                        headers=headers["village"])
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert (body["status"], body["acknowledged_by"]) == ("acknowledged", "村干部")
    assert [e["event"] for e in body["events"]] == ["opened", "acknowledged"]
    resolved = client.post(f"/monitor/alerts/{level['alert_id']}/resolve",
                           headers=headers["village"]).json()
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "村干部")
    log = client.get("/monitor/notifications", params={"alert_id": level["alert_id"]},
                     headers=headers["village"]).json()
    assert sorted(n["event"] for n in log) == ["acknowledged", "opened", "resolved"]
    assert all(n["status"] == "pending" for n in log)  # no sender runs in this test
    assert client.get("/monitor/notifications", headers=headers["h1"]).status_code == 403


def test_levels_rounds_tariffs_and_charges(world, database_url) -> None:
    client, headers, r = world
    assert client.put(f"/monitor/nodes/{r.h2}/levels", json={"notice": "0.05"},
                      headers=headers["village"]).status_code == 204
    assert client.put(f"/monitor/nodes/{r.h2}/levels", json={"notice": "0.95",
                                                             "warning": "0.90"},
                      headers=headers["village"]).status_code == 422
    assert client.post("/monitor/rounds", json={"label": "R1", "name": "夏灌",
                                                "first_day": f"{YEAR}-05-20",
                                                "last_day": f"{YEAR}-06-10"},
                       headers=headers["admin"]).status_code == 201
    tariff = {"year": YEAR, "source_family": "groundwater", "price_per_m3": "0.10",
              "bands": [{"up_to": "0.30", "multiplier": "1.5"},
                        {"up_to": "0.50", "multiplier": "2"},
                        {"up_to": None, "multiplier": "3"}]}
    assert client.put("/monitor/tariffs", json=tariff,
                      headers=headers["village"]).status_code == 403
    assert client.put("/monitor/tariffs", json={**tariff, "bands": [
        {"up_to": None, "multiplier": "0.5"}]}, headers=headers["admin"]).status_code == 422
    assert client.put("/monitor/tariffs", json=tariff, headers=headers["admin"]).status_code == 200
    with psycopg.connect(database_url) as conn:
        swept = sweep(conn, consumer=Consumer())
    assert swept.charges == 1  # H1 only: 100 m³ over its 1,000 m³ quota
    charges = client.get("/monitor/charges", params={"year": YEAR},
                         headers=headers["h1"]).json()
    (charge,) = charges
    # 1,000 × 0.10 + 100 × 0.10 × 1.5 (the excess is 10 % of quota: first band)
    assert (float(charge["excess_m3"]), float(charge["total_amount"])) == (100.0, 115.0)
    assert client.get("/monitor/charges", params={"year": YEAR},
                      headers=headers["h2"]).json() == []
    alerts = client.get("/monitor/alerts", params={"node_id": r.h2, "kind": "budget_level"},
                        headers=headers["admin"]).json()
    # 10 % of the year reaches H2's own notice level of 5 %; the round (20 May – 10 June)
    # plans 10.4 % of the year, of which H2 drew 96 %: a warning
    assert sorted((a["period"], a["severity"]) for a in alerts) == [
        (str(YEAR), "notice"), (f"{YEAR}-R1", "warning")]
