"""Accounting through the API: protected shares in the cut list (宁夏 7.1.2 e)."""

from __future__ import annotations

import pytest

from tests.integration.test_budget_api import approve, client, issue, node

pytestmark = pytest.mark.integration
__all__ = ["client"]  # the fixture, shared with test_budget_api


@pytest.fixture
def shortfall_tree(client):
    """District 1000 m³ groundwater; a: irrigation 500 + urban residents 100;
    b: river-lake 200 + urban environment 100."""
    district = node(client, "d", "district")
    town_a = node(client, "a", "township", district)
    town_b = node(client, "b", "township", district)
    for where, volume, sector in (
        (district, 1000, "agriculture.irrigation"),
        (town_a, 500, "agriculture.irrigation"),
        (town_a, 100, "domestic.urban"),
        (town_b, 200, "ecology.river_lake"),
        (town_b, 100, "ecology.urban_environment"),
    ):
        assert approve(client, issue(client, where, volume, sector=sector)).status_code == 200
    return {"district": district, "a": town_a, "b": town_b}


def accounting(client, node_id, **params):
    response = client.get(
        f"/budget/nodes/{node_id}/accounting",
        params={"year": 2024, "as_of": "2024-06-01T00:00:00+08:00", **params},
    )
    assert response.status_code == 200, response.text
    return response.json()


def protect(client, node_id, grain="0", flow="0", headers=None):
    body = {
        "year": 2024,
        "grain_irrigation_m3": grain,
        "basic_ecological_flow_m3": flow,
        "reference": "粮食播种面积 × 定额",
    }
    return client.put(f"/budget/nodes/{node_id}/protected-volumes", json=body, headers=headers)


def test_protected_volumes_are_recorded_and_read_back(client, shortfall_tree):
    a = shortfall_tree["a"]
    empty = client.get(f"/budget/nodes/{a}/protected-volumes", params={"year": 2024}).json()
    assert empty["recorded"] is False
    assert empty["grain_irrigation_m3"] == "0"
    stored = protect(client, a, grain="400")
    assert stored.status_code == 200, stored.text
    assert stored.json()["recorded_by"] == "admin"
    again = protect(client, a, grain="350.5").json()
    assert again["grain_irrigation_m3"] == "350.500"
    assert again["recorded"] is True
    bad = protect(client, a, grain="-1")
    assert bad.status_code == 422
    assert "grain_irrigation_m3" in bad.text


def test_the_cut_list_never_touches_residents_grain_or_basic_flow(client, shortfall_tree):
    tree = shortfall_tree
    assert accounting(client, tree["district"])["cuts"] is None  # balanced: nothing to cut
    unprotected = accounting(client, tree["district"], inflow_factor="0.5")
    assert unprotected["remaining_shortfall_m3"] == "0.000"
    assert protect(client, tree["a"], grain="400").status_code == 200
    assert protect(client, tree["b"], flow="150").status_code == 200
    result = accounting(client, tree["district"], inflow_factor="0.5")
    assert result["revenue_m3"] == "500.000"
    assert result["expenditure_m3"] == "900.000"
    cuts = {(c["item"], c["sector"]): c["cut_m3"] for c in result["cuts"]}
    assert cuts == {
        ("b", "ecology.river_lake"): "50.000",
        ("b", "ecology.urban_environment"): "100.000",
        ("a", "agriculture.irrigation"): "100.000",
    }
    assert result["remaining_shortfall_m3"] == "150.000"
    kept = {(k["item"], k["sector"]): (k["protected_m3"], k["reason"]) for k in result["kept"]}
    assert kept == {
        ("a", "domestic.urban"): ("100.000", "7.1.2 e) protected: 城乡居民生活用水"),
        ("a", "agriculture.irrigation"): ("400.000", "7.1.2 e) protected: 粮食作物灌溉用水"),
        ("b", "ecology.river_lake"): ("150.000", "7.1.2 e) protected: 基本生态流量用水"),
    }


def test_protection_recorded_below_a_line_node_counts_for_it(client, shortfall_tree):
    village = node(client, "a1", "unit", shortfall_tree["a"])
    assert protect(client, village, grain="500").status_code == 200
    result = accounting(client, shortfall_tree["district"], inflow_factor="0.5")
    assert ("a", "agriculture.irrigation") not in {(c["item"], c["sector"]) for c in result["cuts"]}


def test_water_users_cannot_record_protection(client, shortfall_tree):
    user = client.post(
        "/budget/tokens",
        json={"name": "farmer", "role": "water_user", "node_id": shortfall_tree["a"]},
    ).json()["token"]
    refused = protect(client, shortfall_tree["a"], grain="1", headers=_bearer(user))
    assert refused.status_code == 403


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def table(client, node_id, which, headers=None, **params):
    return client.get(
        f"/budget/nodes/{node_id}/accounting/{which}-table",
        params={"year": 2024, "as_of": "2024-06-01T00:00:00+08:00", **params},
        headers=headers,
    )


def row_values(body, label):
    row = next(r for r in body["rows"] if r["label"] == label)
    return {c["key"]: v for c, v in zip(body["columns"], row["values"], strict=True)}


def test_county_and_region_tables_as_json(client, shortfall_tree):
    county = table(client, shortfall_tree["district"], "county")
    assert county.status_code == 200, county.text
    body = county.json()
    assert body["appendix"] == "A"
    assert body["unit"] == "万m³"
    assert body["fields"][0] == {"label": "县(区、市)名称", "value": "D"}
    grand = row_values(body, "合计")
    assert grand["irrigation"] == "0.05"  # 500 m³
    assert grand["urban"] == "0.01"
    assert grand["ecology"] == "0.03"
    assert grand["total"] == "0.09"
    assert grand["irrigation.yellow_lift"] is None
    assert row_values(body, "地下水")["total"] == "0.09"
    region = table(client, shortfall_tree["district"], "region").json()
    assert [(r["group"], r["label"], r["kind"]) for r in region["rows"]] == [
        ("A", "A", "line"),
        ("B", "B", "line"),
        ("D", "D", "total"),
    ]
    district = row_values(region, "D")
    assert district["revenue.groundwater"] == "0.10"
    assert district["expenditure.total"] == "0.09"
    assert row_values(region, "B")["expenditure.river_lake"] == "0.02"


def test_tables_respect_the_callers_scope(client, shortfall_tree):
    village = node(client, "a1", "unit", shortfall_tree["a"])
    user = client.post(
        "/budget/tokens", json={"name": "u", "role": "water_user", "node_id": village}
    ).json()["token"]
    assert table(client, shortfall_tree["a"], "county", _bearer(user)).status_code == 404
    assert table(client, village, "county", _bearer(user)).status_code == 200
    assert table(client, village, "region", _bearer(user)).status_code == 200


def test_ganzhou_demo_tables_show_what_the_seed_table_leaves_unsplit(client):
    files = client.get("/budget/imports/ganzhou/demo").json()
    dry = client.post("/budget/imports/ganzhou", json={**files, "dry_run": True}).json()
    wheres = [d["where"] for d in dry["discrepancies"]]
    done = client.post("/budget/imports/ganzhou", json={**files, "acknowledge": wheres})
    assert done.status_code == 200, done.text
    ganzhou = {n["code"]: n["node_id"] for n in client.get("/budget/nodes").json()}["ganzhou"]
    body = table(client, ganzhou, "county").json()
    assert body["columns"][-2]["header"] == ["未分行业"]
    assert any("未分行业" in note for note in body["notes"])
    region = table(client, ganzhou, "region", depth=1).json()
    assert region["rows"][-1]["kind"] == "total"
    assert len(region["rows"]) > 10
