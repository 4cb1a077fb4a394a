"""Zero-based quota proposals through the API; an operator then issues them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest

from budget import repository as repo
from budget.rules import Permit
from tests.integration.test_budget_api import approve, budget, client, node

pytestmark = pytest.mark.integration
__all__ = ["client"]  # the fixture, shared with test_budget_api

BODY: dict[str, Any] = {
    "year": 2024,
    "efficiency": "0.625",
    "crops": [
        {"crop": "玉米制种", "area_mu": "1000", "quota_m3_per_mu": "350", "source": "groundwater"},
        {
            "crop": "小麦",
            "area_mu": "200",
            "quota_m3_per_mu": "300",
            "efficiency": "0.8",
            "source": "local_surface",
        },
    ],
    "products": [
        {
            "product": "宾馆床位",
            "declared_output": "120",
            "quota_m3_per_unit": "36.5",
            "source": "groundwater",
            "sector": "domestic.services",
        }
    ],
}


def proposal(client, node_id, body, headers=None):
    return client.post(f"/budget/nodes/{node_id}/quota-proposal", json=body, headers=headers)


def test_a_proposal_shows_its_working_and_is_issued_through_the_ledger(client):
    district = node(client, "d", "district")
    unit = node(client, "u", "unit", district)
    assert (
        approve(
            client,
            client.post(
                "/budget/entries",
                json={
                    "node_id": district,
                    "year": 2024,
                    "kind": "issue",
                    "source": "groundwater",
                    "sector": "unspecified",
                    "volume_m3": "1000000",
                    "valid_from": "2024-01-01T00:00:00+08:00",
                    "reason": "cap",
                },
            ),
        ).status_code
        == 200
    )
    district_surface = client.post(
        "/budget/entries",
        json={
            "node_id": district,
            "year": 2024,
            "kind": "issue",
            "source": "local_surface",
            "sector": "unspecified",
            "volume_m3": "100000",
            "valid_from": "2024-01-01T00:00:00+08:00",
            "reason": "cap",
        },
    )
    assert approve(client, district_surface).status_code == 200
    response = proposal(client, unit, BODY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [line["volume_m3"] for line in body["lines"]] == ["560000.000", "75000.000", "4380.000"]
    assert body["lines"][0]["basis"] == "玉米制种: 350 m³/亩 ÷ 0.625 × 1000 亩"
    assert body["lines"][1]["basis"] == "小麦: 300 m³/亩 ÷ 0.8 × 200 亩"
    assert body["by_sector"] == {
        "agriculture.irrigation": "635000.000",
        "domestic.services": "4380.000",
    }
    assert body["total_m3"] == "639380.000"
    assert body["capped_by_permit"] is False
    assert budget(client, unit).json()["total_m3"] == "0"  # nothing stored
    for draft in body["entries"]:
        assert approve(client, client.post("/budget/entries", json=draft)).status_code == 200
    issued = budget(client, unit, as_of="2024-06-01T00:00:00+08:00").json()
    assert issued["total_m3"] == "639380.000"


def test_a_proposal_is_capped_at_the_withdrawal_permit(client, database_url):
    unit = node(client, "u", "unit")
    with psycopg.connect(database_url) as conn:
        repo.add_permit(conn, permit=Permit(unit, 2024, Decimal(500_000)))
    body = proposal(client, unit, BODY).json()
    assert body["capped_by_permit"] is True
    assert body["permit_m3"] == "500000.000"
    assert body["total_m3"] == "500000.000"
    assert body["uncapped_total_m3"] == "639380.000"
    assert "capped at permit" in body["lines"][0]["basis"]


def test_bad_quota_input_is_422_naming_the_field(client):
    unit = node(client, "u", "unit")
    cases = [
        ({**BODY, "efficiency": "1.2"}, "efficiency"),
        ({**BODY, "crops": [{**BODY["crops"][0], "area_mu": "-1"}]}, "area_mu"),
        ({**BODY, "crops": [{**BODY["crops"][0], "sector": "industry"}]}, "sector"),
        ({**BODY, "products": [{**BODY["products"][0], "quota_m3_per_unit": "x"}]}, "quota"),
        ({**BODY, "efficiency": None}, "efficiency"),
        ({**BODY, "typo": 1}, "typo"),
    ]
    for bad, field in cases:
        response = proposal(client, unit, bad)
        assert response.status_code == 422, (field, response.text)
        assert field in response.text, (field, response.text)


def test_water_users_may_not_ask_for_proposals(client):
    unit = node(client, "u", "unit")
    token = client.post(
        "/budget/tokens", json={"name": "f", "role": "water_user", "node_id": unit}
    ).json()["token"]
    refused = proposal(client, unit, BODY, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403


def test_residents_are_their_own_line_and_the_proposal_can_record_a_quota_split(client):
    """Issue 12: per-capita domestic norms as a quota line; where the quota inputs
    exist, their sector shares replace the district structure for the node."""
    district = node(client, "d", "district")
    unit = node(client, "u", "unit", district)
    body = {
        **BODY,
        "residents": [
            {"population": "1000", "norm_l_per_person_day": "80", "source": "groundwater"}
        ],
        "record_split": True,
    }
    answer = proposal(client, unit, body)
    assert answer.status_code == 200, answer.text
    lines = {(x["sector"], x["volume_m3"]) for x in answer.json()["lines"]}
    assert ("domestic.rural", "29200.000") in lines  # 1,000 人 × 80 升 × 365 天
    split = client.get(f"/budget/nodes/{unit}/sector-split", params={"year": 2024}).json()
    assert (split["basis"], split["estimate"], split["from_node_id"]) == ("quota", True, unit)
    total = Decimal(answer.json()["total_m3"])
    assert Decimal(split["shares"]["domestic.rural"]) == Decimal(29200) / total
    too_much = {
        **BODY,
        "residents": [{"population": "10", "norm_l_per_person_day": "81", "source": "groundwater"}],
    }
    refused = proposal(client, unit, too_much)
    assert refused.status_code == 422
    assert "80" in refused.text
