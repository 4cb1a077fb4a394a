"""Revenue (available water by source, 宁夏 5) through the API, and its use in the
accounting checks: 7.1.1 balance, 7.1.2 cut list, 7.4.3 a) dynamic adjustment."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.test_budget_accounting_api import accounting, shortfall_tree
from tests.integration.test_budget_api import as_token, client, node

pytestmark = pytest.mark.integration
__all__ = ["client", "shortfall_tree"]  # fixtures shared with the other budget tests


def put_revenue(client, node_id, volumes, basis="forecast", headers=None, year=2024):
    body = {
        "year": year,
        "basis": basis,
        "volumes": {k: str(v) for k, v in volumes.items()},
        "reference": "区政府下达用水总量控制指标",
    }
    return client.put(f"/budget/nodes/{node_id}/revenue", json=body, headers=headers)


def get_revenue(client, node_id, headers=None):
    return client.get(f"/budget/nodes/{node_id}/revenue", params={"year": 2024}, headers=headers)


def test_revenue_is_recorded_superseded_and_kept_as_history(client, shortfall_tree):
    district = shortfall_tree["district"]
    empty = get_revenue(client, district).json()
    assert empty["forecast"] is None
    assert empty["history"] == []
    first = put_revenue(client, district, {"groundwater": 950, "local_surface": 50})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["forecast"]["total_m3"] == "1000.000"
    assert body["forecast"]["recorded_by"] == "admin"
    assert body["forecast"]["recorded_at"] is not None
    second = put_revenue(client, district, {"groundwater": 800}).json()
    assert second["forecast"]["volumes"] == {"groundwater": "800.000"}
    assert [r["total_m3"] for r in second["history"]] == ["1000.000", "800.000"]
    assert second["updated"] is None
    assert second["dynamic_adjustment"] is None
    region = client.get(
        f"/budget/nodes/{district}/accounting/region-table",
        params={"year": 2024, "as_of": "2024-06-01T00:00:00+08:00"},
    ).json()
    row = next(r for r in region["rows"] if r["label"] == "D")
    values = {c["key"]: v for c, v in zip(region["columns"], row["values"], strict=True)}
    assert values["revenue.groundwater"] == "0.08"  # 800 m³ recorded (issued: 1000)
    with (
        psycopg.connect(client.app.state.database_url) as conn,
        pytest.raises(psycopg.errors.RaiseException, match="never edited"),
    ):
        conn.execute("UPDATE budget_revenue_lines SET volume_m3 = 1")


@pytest.mark.parametrize(
    ("volumes", "field"),
    [
        ({"groundwater": "-1"}, "groundwater"),
        ({"snowmelt": "1"}, "snowmelt"),
        ({}, "volumes"),
        ({"groundwater": "1.0001"}, "groundwater"),
    ],
)
def test_bad_revenue_is_422_naming_the_field_and_stores_nothing(
    client, shortfall_tree, volumes, field
):
    district = shortfall_tree["district"]
    body = {"year": 2024, "volumes": volumes}
    refused = client.put(f"/budget/nodes/{district}/revenue", json=body)
    assert refused.status_code == 422
    assert field in refused.text
    assert get_revenue(client, district).json()["history"] == []


def test_revenue_is_scoped_like_the_other_routes(client, shortfall_tree):
    a, b = shortfall_tree["a"], shortfall_tree["b"]

    def token(name, role, node_id):
        secret = client.post(
            "/budget/tokens", json={"name": name, "role": role, "node_id": node_id}
        ).json()["token"]
        return as_token(client, secret)

    farmer, operator = token("farmer", "water_user", a), token("op", "operator", a)
    assert put_revenue(client, a, {"groundwater": 600}).status_code == 200
    assert get_revenue(client, a, headers=farmer).status_code == 200
    assert put_revenue(client, a, {"groundwater": 1}, headers=farmer).status_code == 403
    assert get_revenue(client, b, headers=farmer).status_code == 404
    village = node(client, "a1", "unit", a)
    assert put_revenue(client, village, {"groundwater": 5}, headers=operator).status_code == 200
    assert put_revenue(client, a, {"groundwater": 7}, headers=operator).status_code == 200
    assert put_revenue(client, b, {"groundwater": 7}, headers=operator).status_code == 404
    assert get_revenue(client, shortfall_tree["district"], headers=operator).status_code == 404
    assert get_revenue(client, a).json()["forecast"]["recorded_by"] == "op"


def test_accounting_balances_the_recorded_revenue_against_the_expenditure(client, shortfall_tree):
    district = shortfall_tree["district"]
    before = accounting(client, district)
    assert before["revenue_basis"] == "issued_budget"
    assert before["revenue_m3"] == "1000.000"
    assert before["cuts"] is None
    assert put_revenue(client, district, {"groundwater": 700}).status_code == 200
    short = accounting(client, district)
    assert short["revenue_basis"] == "forecast"
    assert short["revenue_m3"] == "700.000"
    assert short["expenditure_m3"] == "900.000"
    checks = {f["check"] for f in short["findings"]}
    assert {"7.1.1 revenue >= expenditure", "7.1.1 revenue >= expenditure by source"} <= checks
    assert short["cuts"] == []  # nothing recorded: no line may be cut (7.1.2 e)
    assert short["remaining_shortfall_m3"] == "200.000"
    assert [c["source_kind"] for c in short["cut_by_source"]] == ["groundwater"]
    assert short["dynamic_adjustment"] is None  # a forecast only, no what-if
    what_if = accounting(client, district, inflow_factor="0.5")
    assert what_if["revenue_m3"] == "350.000"  # the what-if scales the recorded revenue
    assert what_if["inflow_factor"] == "0.5"
    assert what_if["dynamic_adjustment"]["triggered"] is True
    edge = accounting(client, district, inflow_factor="0.85")
    assert edge["dynamic_adjustment"]["triggered"] is False  # exactly 15 % is not beyond


def test_an_updated_inflow_beyond_fifteen_percent_flags_a_dynamic_adjustment(
    client, shortfall_tree
):
    district = shortfall_tree["district"]
    assert put_revenue(client, district, {"groundwater": 1000}).status_code == 200
    assert put_revenue(client, district, {"groundwater": 880}, basis="updated").status_code == 200
    within = accounting(client, district)
    assert within["revenue_basis"] == "updated"
    assert within["revenue_m3"] == "880.000"
    assert within["dynamic_adjustment"]["triggered"] is False
    assert put_revenue(client, district, {"groundwater": 800}, basis="updated").status_code == 200
    beyond = accounting(client, district)
    flag = beyond["dynamic_adjustment"]
    assert flag["triggered"] is True
    assert flag["deviation"] == "-0.2"
    assert flag["by_source_kind"] == {"groundwater": "-0.2"}
    assert "7.4.3 a) inflow within ±15% of forecast" in {f["check"] for f in beyond["findings"]}
    assert beyond["cuts"] is not None  # 800 available for 900 handed down
    assert get_revenue(client, district).json()["dynamic_adjustment"]["triggered"] is True
    rain = accounting(client, district, inflow_factor="1.1")  # 880 m³: back within ±15 %
    assert rain["revenue_m3"] == "880.000"
    assert rain["dynamic_adjustment"]["triggered"] is False


def test_the_ganzhou_demo_records_the_district_revenue(client):
    files = client.get("/budget/imports/ganzhou/demo").json()
    wheres = [d["where"] for d in files_report(client, files)]
    done = client.post("/budget/imports/ganzhou", json={**files, "acknowledge": wheres})
    assert done.status_code == 200, done.text
    district = {n["code"]: n["node_id"] for n in client.get("/budget/nodes").json()}["ganzhou"]
    revenue = get_revenue(client, district).json()["forecast"]
    assert revenue["volumes"] == {"local_surface": "429340000.000", "groundwater": "259660000.000"}
    assert revenue["recorded_by"] == "admin"
    result = accounting(client, district)
    assert result["revenue_basis"] == "forecast"
    assert result["revenue_m3"] == "689000000.000"  # 68,900 万m³
    # the township cells as printed add up to 68,898 万m³; reclaimed water is left out (factor 0)
    assert result["expenditure_m3"] == "688980000.000"
    assert result["non_conventional_factor"] == "0.000"
    checks = [f["check"] for f in result["findings"]]
    assert not [c for c in checks if c.startswith("7.1.1")]
    # the table has no sectors: the district's structure splits it, an estimate (issue 12)
    assert "6.5.3 by-sector total == by-source total" not in checks
    estimate = [f["message"] for f in result["findings"] if f["check"] == "6.5.3 sector split"]
    assert len(estimate) == 1
    assert estimate[0].startswith("行业分配为估算")
    dry = accounting(client, district, inflow_factor="0.85")
    assert dry["cuts"] == []  # no grain share, basic flow … recorded: every line is kept
    assert dry["remaining_shortfall_m3"] == "103330000.000"
    assert {c["source_kind"]: c["shortfall_m3"] for c in dry["cut_by_source"]} == {
        "local_surface": "64391000.000",  # 42,933 as printed − 85 % of 42,934 万m³
        "groundwater": "38939000.000",  # 25,965 as printed − 85 % of 25,966 万m³
    }


def files_report(client, files):
    return client.post("/budget/imports/ganzhou", json={**files, "dry_run": True}).json()[
        "discrepancies"
    ]
