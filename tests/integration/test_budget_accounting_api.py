"""Accounting through the API: the 7.1.2 cut list per source with its recorded
figures, the 7.1.3 surplus, appendices A and B."""

from __future__ import annotations

from decimal import Decimal

import psycopg
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


def protect(client, node_id, grain=None, flow=None, headers=None, **more):
    body = {
        "year": 2024,
        "grain_irrigation_m3": grain,
        "basic_ecological_flow_m3": flow,
        "reference": "粮食播种面积 × 定额",
        **more,
    }
    return client.put(f"/budget/nodes/{node_id}/protected-volumes", json=body, headers=headers)


def test_protected_volumes_are_recorded_and_read_back(client, shortfall_tree):
    a = shortfall_tree["a"]
    empty = client.get(f"/budget/nodes/{a}/protected-volumes", params={"year": 2024}).json()
    assert empty["recorded"] is False
    assert empty["grain_irrigation_m3"] is None  # not recorded is not zero
    stored = protect(client, a, grain="400")
    assert stored.status_code == 200, stored.text
    assert stored.json()["recorded_by"] == "admin"
    again = protect(client, a, grain="350.5").json()
    assert again["grain_irrigation_m3"] == "350.500"
    assert again["basic_ecological_flow_m3"] is None
    assert again["recorded"] is True
    more = protect(client, a, grain="1", industry_non_production_m3="20").json()
    assert more["industry_non_production_m3"] == "20.000"
    assert more["services_non_essential_m3"] is None
    bad = protect(client, a, grain="-1")
    assert bad.status_code == 422
    assert "grain_irrigation_m3" in bad.text


def test_the_cut_list_never_touches_residents_grain_or_basic_flow(client, shortfall_tree):
    tree = shortfall_tree
    assert accounting(client, tree["district"])["cuts"] is None  # balanced: nothing to cut
    unrecorded = accounting(client, tree["district"], inflow_factor="0.5")
    assert unrecorded["cuts"] == []  # nothing recorded: every line is kept, and says why
    assert unrecorded["remaining_shortfall_m3"] == "400.000"
    assert unrecorded["cut_by_source"] == [
        {
            "source_kind": "groundwater",
            "revenue_m3": "500.000",
            "expenditure_m3": "900.000",
            "shortfall_m3": "400.000",
            "cut_m3": "0",
            "remaining_m3": "400.000",
        }
    ]
    reasons = {(k["item"], k["sector"]): k["reason"] for k in unrecorded["kept"]}
    assert reasons[("b", "ecology.river_lake")].startswith("7.1.2 a)、e) 基本生态流量用水未记录")
    assert reasons[("a", "agriculture.irrigation")].startswith("7.1.2 b)、e) 粮食作物灌溉用水")
    assert "未记录" in reasons[("a", "agriculture.irrigation")]
    assert protect(client, tree["a"], grain="400").status_code == 200
    assert (
        protect(client, tree["b"], flow="150", urban_environment_baseline_m3="0").status_code == 200
    )
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
        ("a", "domestic.urban"): ("100.000", "7.1.2 e) 保留城乡居民生活用水刚性需求，不核减"),
        ("a", "agriculture.irrigation"): ("400.000", "7.1.2 b)、e) 保留粮食作物灌溉用水"),
        ("b", "ecology.river_lake"): ("150.000", "7.1.2 a)、e) 保留基本生态流量用水"),
    }


def test_protection_recorded_below_a_line_node_counts_for_it(client, shortfall_tree):
    village = node(client, "a1", "unit", shortfall_tree["a"])
    assert approve(client, issue(client, village, 300)).status_code == 200
    assert protect(client, village, grain="300").status_code == 200
    # a keeps 200 of its irrigation itself, with nothing recorded: unknown, kept whole
    partly = accounting(client, shortfall_tree["district"], inflow_factor="0.5")
    kept = {(k["item"], k["sector"]): k for k in partly["kept"]}
    assert kept[("a", "agriculture.irrigation")]["protected_m3"] == "500.000"
    assert "未记录" in kept[("a", "agriculture.irrigation")]["reason"]
    assert approve(client, issue(client, village, 200)).status_code == 200
    whole = accounting(client, shortfall_tree["district"], inflow_factor="0.5")
    kept = {(k["item"], k["sector"]): k for k in whole["kept"]}
    assert kept[("a", "agriculture.irrigation")]["protected_m3"] == "300.000"
    cuts = {(c["item"], c["sector"]): c["cut_m3"] for c in whole["cuts"]}
    assert cuts == {("a", "agriculture.irrigation"): "200.000"}


def test_a_groundwater_shortfall_cuts_groundwater_lines_only(client):
    """The issue's case: 300,000 m³ of groundwater short, surface water balanced."""
    district = node(client, "d", "district")
    town = node(client, "t", "township", district)
    for where, volume, source, sector in (
        (district, 1_000_000, "local_surface", "ecology.river_lake"),
        (district, 1_000_000, "groundwater", "agriculture.irrigation"),
        (town, 1_000_000, "local_surface", "ecology.river_lake"),
        (town, 1_000_000, "groundwater", "agriculture.irrigation"),
    ):
        response = issue(client, where, volume, source=source, sector=sector)
        assert approve(client, response).status_code == 200
    revenue = {
        "year": 2024,
        "basis": "forecast",
        "volumes": {"local_surface": "1000000", "groundwater": "700000"},
    }
    assert client.put(f"/budget/nodes/{district}/revenue", json=revenue).status_code == 200
    assert protect(client, town, grain="400000", flow="100000").status_code == 200
    result = accounting(client, district)
    assert [c["source_kind"] for c in result["cut_by_source"]] == ["groundwater"]
    assert result["cuts"] == [
        {
            "item": "t",
            "source": "groundwater",
            "sector": "agriculture.irrigation",
            "priority": "b",
            "cut_m3": "300000.000",
        }
    ]
    assert result["remaining_shortfall_m3"] == "0.000"
    assert [s["source_kind"] for s in result["surplus"]] == []


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


def test_ganzhou_demo_tables_split_the_township_table_by_the_district_structure(client):
    """Issue 12 done-check: the Ganzhou 2024 table issues by source only; appendix
    A's sector columns are the district's published structure (甘州 2.(1)), marked
    as an estimate, and add up to the source totals."""
    files = client.get("/budget/imports/ganzhou/demo").json()
    dry = client.post("/budget/imports/ganzhou", json={**files, "dry_run": True}).json()
    wheres = [d["where"] for d in dry["discrepancies"]]
    done = client.post("/budget/imports/ganzhou", json={**files, "acknowledge": wheres})
    assert done.status_code == 200, done.text
    codes = {n["code"]: n["node_id"] for n in client.get("/budget/nodes").json()}
    ganzhou = codes["ganzhou"]
    body = table(client, ganzhou, "county").json()
    assert "unspecified" not in [c["key"] for c in body["columns"]]
    estimate = [n for n in body["notes"] if n.startswith("行业分配为估算")]
    assert len(estimate) == 1
    assert "甘州 2.(1)" in estimate[0]
    for label in ("当地地表水", "地下水", "合计"):
        row = row_values(body, label)
        families = [Decimal(row[k]) for k in ("agriculture", "industry", "domestic", "ecology")]
        assert all(f > 0 for f in families), (label, row)
        # each figure rounded once from m³: the parts may differ by a few hundredths
        assert abs(sum(families) - Decimal(row["total"])) <= Decimal("0.02"), (label, row)
    assert row_values(body, "当地地表水")["total"] == "42933.00"  # the township rows as printed
    assert row_values(body, "地下水")["total"] == "25965.00"
    surface = row_values(body, "当地地表水")  # the reclaimed plan's lines have sectors
    assert Decimal(surface["agriculture"]) / Decimal(surface["total"]) == pytest.approx(
        Decimal("87.45") / Decimal("100.01"), abs=Decimal("1e-6")
    )
    region = table(client, ganzhou, "region", depth=1).json()
    assert region["rows"][-1]["kind"] == "total"
    assert len(region["rows"]) > 10
    assert "expenditure.unspecified" not in [c["key"] for c in region["columns"]]
    # the operator replaces the estimate for one township: its own split, not an estimate
    town = codes[next(c for c in codes if c != "ganzhou")]
    split = client.get(f"/budget/nodes/{town}/sector-split", params={"year": 2024}).json()
    assert (split["basis"], split["estimate"], split["from_node_id"]) == (
        "structure",
        True,
        ganzhou,
    )
    given = {"year": 2024, "shares": {"agriculture.irrigation": "0.9", "industry": "0.1"}}
    put = client.put(f"/budget/nodes/{town}/sector-split", json=given)
    assert put.status_code == 200, put.text
    assert (put.json()["basis"], put.json()["estimate"]) == ("operator", False)
    own = table(client, town, "county").json()
    assert row_values(own, "合计")["domestic"] == "0.00"
    assert [n for n in own["notes"] if n.startswith("行业分配为确定")]
    bad = client.put(
        f"/budget/nodes/{town}/sector-split",
        json={"year": 2024, "shares": {"unspecified": "1"}},
    )
    assert bad.status_code == 422


def test_attachments_get_the_sector_of_what_they_are(client, shortfall_tree, database_url):
    """Registry sites get a default sector from what they are; a card is irrigation;
    an attachment's own sector (or an explicit null) is kept."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sites (site_id, name, kind, source) VALUES "
            "('W9', 'well', 'well', 'groundwater'), ('P9', 'works', 'pump_station', 'groundwater'),"
            " ('P8', 'plant', 'pump_station', 'groundwater')"
        )
    a = shortfall_tree["a"]
    purpose = client.put("/budget/sites/P8/sector", json={"purpose": "industrial_intake"})
    assert purpose.status_code == 204, purpose.text
    assert client.put("/budget/sites/nope/sector", json={"sector": "industry"}).status_code == 404
    for body in (
        {"kind": "site", "ref": "W9"},
        {"kind": "site", "ref": "P9"},
        {"kind": "site", "ref": "P8"},
        {"kind": "card", "ref": "C9"},
        {"kind": "meter", "ref": "M-unknown"},
    ):
        assert client.post(f"/budget/nodes/{a}/attachments", json=body).status_code == 204
    explicit = {"kind": "card", "ref": "C8", "sector": None}
    assert client.post(f"/budget/nodes/{a}/attachments", json=explicit).status_code == 204
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT ref, sector FROM budget_attachments").fetchall()
    stored: dict[str, str | None] = dict(rows)
    assert stored == {
        "W9": "agriculture.irrigation",
        "P9": None,  # a pump station can serve anything: 未分行业 until said
        "P8": "industry",
        "C9": "agriculture.irrigation",
        "M-unknown": None,
        "C8": None,
    }


def test_the_budget_procedure_records_who_and_when_and_shows_late_nodes(client, shortfall_tree):
    """甘州 3.(1): 告知 → 复核 → 下达 → 调整; 45-day notice, 60-day adjustment (issue 12)."""
    a, b = shortfall_tree["a"], shortfall_tree["b"]

    def step(node_id, name, **more):
        return client.post(
            f"/budget/nodes/{node_id}/procedure", json={"year": 2024, "step": name, **more}
        )

    early = step(a, "reviewed")
    assert early.status_code == 409
    assert "复核之前须先告知" in early.json()["detail"]
    for name in ("notified", "reviewed", "issued"):
        assert step(a, name).status_code == 200
    short = step(a, "adjusted", effective_from="2000-01-01T00:00:00+08:00", note="追加")
    assert short.status_code == 200, short.text
    body = short.json()
    assert body["state"] == "adjusted"
    assert [s["label"] for s in body["steps"]] == ["告知", "复核", "下达", "调整"]
    assert {s["by"] for s in body["steps"]} == {"admin"}
    # recorded today for 2024: the notice came after 2023-11-17, the adjustment is not ahead
    assert [x["what"] for x in body["late"]] == ["notify", "adjust"]
    assert step(a, "adjusted").status_code == 422  # needs effective_from
    late = client.get(
        "/budget/procedure/late",
        params={"year": 2024, "as_of": "2024-06-01T00:00:00+08:00"},
    ).json()
    by_node = {x["node_id"]: [y["message"] for y in x["late"]] for x in late}
    assert by_node[b] == ["未告知：应于2023-11-17前告知（甘州 3.(1)① 45日）"]
    assert a in by_node
