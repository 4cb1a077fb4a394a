"""Scope checks look at every object a request touches (issue 11, "an operator writes
another tenant's data", "a 409 names node codes outside the caller's scope").

Two townships under one district: TA → household A1 with well WA, TB → household B1 with
well WB and IC card CB (which has drawn water at WB). An operator of TA must not move
B's site, meters or cards to A1 — before the fix the scope was checked on the target
node only, and B's card sessions then showed on A1's page and B's draw moved to A.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.integration.scope_support import two_townships
from waterbudget.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[TestClient, dict[str, Any], str]]:
    ids = two_townships(database_url)
    with TestClient(create_app(database_url)) as client:
        yield client, ids, database_url


def holder(database_url: str, kind: str, ref: str) -> int | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT node_id FROM budget_attachments WHERE kind = %s AND ref = %s",
                           (kind, ref)).fetchone()
    return None if row is None else int(row[0])


def test_an_operator_cannot_move_another_townships_site_meter_or_card(world) -> None:
    client, ids, url = world
    target = f"/budget/nodes/{ids['a1']}/attachments"
    for kind, ref in (("card", "CB"), ("site", "WB"), ("meter", "WB-F"), ("meter", "WB-C"),
                      ("card", "CX")):
        answer = client.post(target, json={"kind": kind, "ref": ref}, headers=ids["op_a"])
        assert answer.status_code == 404, (kind, ref, answer.text)
        detail = answer.json()["detail"]
        assert "未找到" in detail
        assert ref in detail
        assert "B1-SECRET" not in answer.text
        assert "李四" not in answer.text
    assert holder(url, "card", "CB") == ids["b1"]
    assert holder(url, "site", "WB") == ids["b1"]
    assert holder(url, "meter", "WB-F") is None
    assert holder(url, "card", "CX") is None
    english = client.post(target, json={"kind": "card", "ref": "CB"},
                          headers={**ids["op_a"], "Accept-Language": "en"})
    assert english.status_code == 404
    assert "not found" in english.json()["detail"]
    # what is the operator's own, or nobody's and never drawn elsewhere, it may attach
    assert client.post(target, json={"kind": "card", "ref": "C-NEW"},
                       headers=ids["op_a"]).status_code == 204
    assert client.post(target, json={"kind": "site", "ref": "WA"},
                       headers=ids["op_a"]).status_code == 204
    # an administrator may move anything
    assert client.post(target, json={"kind": "card", "ref": "CB"},
                       headers=ids["admin"]).status_code == 204
    assert holder(url, "card", "CB") == ids["a1"]


def test_objects_reached_through_ids_are_checked_and_not_named(world) -> None:
    client, ids, _url = world
    op = ids["op_a"]
    # an alert of B: 404, not an empty list that confirms nothing and hides nothing
    answer = client.get("/monitor/notifications", params={"alert_id": ids["alert_b1"]},
                        headers=op)
    assert answer.status_code == 404, answer.text
    assert client.get("/monitor/notifications", params={"alert_id": ids["alert_b1"]},
                      headers=ids["admin"]).status_code == 200
    # an entry of B: 404 for the entry — the node it sits on is not named
    refused = client.post(f"/budget/entries/{ids['entry_b1']}/approve", headers=op)
    assert refused.status_code == 404
    assert "台账条目" in refused.json()["detail"]
    assert str(ids["b1"]) not in refused.json()["detail"].replace(str(ids["entry_b1"]), "")
    # a trade with B's household as counterparty
    trade = {"seller_id": ids["a1"], "buyer_id": ids["b1"], "year": 2025,
             "source": "groundwater", "sector": "agriculture.irrigation", "volume_m3": "1",
             "valid_from": "2025-06-01T00:00:00+08:00", "reason": "x"}
    assert client.post("/budget/trades", json=trade, headers=op).status_code == 404
    # an override naming B's well on A's township
    override = client.post("/monitor/enforcement/overrides",
                           json={"node_id": ids["ta"], "site_id": "WB", "reason": "x"},
                           headers=op)
    assert override.status_code == 404, override.text
    # a subscription for B's contact
    (contact_b1,) = ids["contacts_b1"]
    answer = client.post("/monitor/subscriptions", json={
        "contact_id": contact_b1, "channel": "email", "address": "spy@example.org"},
        headers=op)
    assert answer.status_code == 404, answer.text
    # a node under B's township
    child = {"code": "X1", "name": "x", "level": "household", "parent_id": ids["tb"]}
    assert client.post("/budget/nodes", json=child, headers=op).status_code == 404


def test_a_taken_code_is_refused_without_naming_whose_it_is(world) -> None:
    client, ids, _url = world
    body = {"code": "B1-SECRET", "name": "x", "level": "household", "parent_id": ids["ta"]}
    answer = client.post("/budget/nodes", json=body, headers=ids["op_a"])
    assert answer.status_code == 409
    assert "B1-SECRET" not in answer.text
    assert "李四" not in answer.text
