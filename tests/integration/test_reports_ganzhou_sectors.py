"""Issue 12 done-check: the Ganzhou 2024 import plus a simulated year of readings
with sectors. Appendix A of the final accounts has non-zero sector columns that
add up to the source totals (the district structure, marked as an estimate), and
the draw lands in the sector of what the site is, not under 未分行业."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from budget import repository as budget_repo
from budget import service as budget_service
from budget.ganzhou_files import DEMO_MANIFEST, load_import
from reports import service
from reports.document import Table
from tests.integration.report_support import at, daily_use, roll_up

pytestmark = pytest.mark.integration


def values(table, label):
    row = next(r for r in table.rows if r.label == label)
    return {c.key: v for c, v in zip(table.columns, row.values, strict=True)}


def test_ganzhou_final_accounts_have_sectors(database_url):
    plan = load_import(DEMO_MANIFEST)
    with psycopg.connect(database_url) as conn:
        budget_service.apply_import(
            conn, plan=plan, by="test", now=datetime(2024, 1, 1, tzinfo=UTC), discrepancies=[]
        )
        h = budget_repo.load_hierarchy(conn)
        district = h.by_code("ganzhou")
        assert district is not None
        towns = sorted(h.children[district.node_id])
        conn.execute(
            "INSERT INTO sites (site_id, name, kind, source) VALUES "
            "('GW1', '机井', 'well', 'groundwater'), ('GT1', '斗口', 'canal_gate', 'surface')"
        )
        conn.execute(
            "INSERT INTO meters (meter_id, site_id, device_id, channel, installed_at) VALUES "
            "('GW1-F', 'GW1', 'D1', 'flow', '2023-01-01'), "
            "('GT1-F', 'GT1', 'D2', 'flow', '2023-01-01')"
        )
        for site, town in (("GW1", towns[0]), ("GT1", towns[1])):
            stored = budget_service.attach(
                conn, node_id=town, kind="site", ref=site, sector=None, given=False
            )
            assert stored is not None
            assert stored.value == "agriculture.irrigation"
        daily_use(conn, meter="GW1-F", site="GW1", first=at(4), days=150, m3=800)  # 120,000
        daily_use(conn, meter="GT1-F", site="GT1", first=at(5), days=120, m3=1500)  # 180,000
        roll_up(conn)
        issued = service.issue(
            conn,
            kind="final_accounts",
            node_id=district.node_id,
            period="2024",
            built_at=datetime(2025, 1, 5, tzinfo=UTC),
            by="test",
        )
        doc = issued.report.document
        assert doc is not None
        a = doc.section("appendix_a").table  # type: ignore[union-attr]
        assert "unspecified" not in [c.key for c in a.columns]
        for label in ("当地地表水", "地下水", "合计"):
            row = values(a, label)
            families = [row[k] for k in ("agriculture", "industry", "domestic", "ecology")]
            assert all(f > 0 for f in families), (label, row)
            assert abs(sum(families) - row["total"]) <= Decimal("0.02"), (label, row)
        assert [n for n in a.notes if n.startswith("行业分配为估算")]
        # the administrative division code, not the internal code `ganzhou`
        assert [f.value for f in a.fields if f.label == "县(区、市)代码"] == ["620702"]
        by_sector = doc.section("by_sector")
        assert isinstance(by_sector, Table)
        drawn = {r.key: r.cells[2] for r in by_sector.rows}
        assert drawn["agriculture.irrigation"] == Decimal(300_000)
        assert drawn.get("unspecified", 0) == 0
        assert [n.key for n in by_sector.notes] == ["note.sector_split.structure"]
