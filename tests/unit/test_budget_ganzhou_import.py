from decimal import Decimal
from pathlib import Path

import pytest

from budget.ganzhou_files import DEMO_MANIFEST, load_import, read_manifest
from budget.ganzhou_import import parse_ganzhou
from budget.import_plan import ImportFormatError, describe
from budget.kinds import Sector, Source


def test_seed_table_discrepancies_are_all_reported_by_name_and_amount():
    plan = load_import()
    found = {(d.kind, d.where): d.difference for d in plan.discrepancies}
    assert found[("row", "大满镇")] == -1
    assert found[("row", "长安镇")] == 1
    assert found[("row", "南滩、胶泥洼滩")] == 1
    assert found[("total", "全区 小计")] == -3
    assert found[("total", "全区 地表水")] == -1
    assert found[("total", "全区 地下水")] == -1
    assert found[("total", "中水 合计 2023年用量")] == Decimal("20.01")
    assert found[("structure", "用水结构配置")] == Decimal("0.01")
    assert ("numbering", "allocation #23") in found
    assert len(plan.discrepancies) == 11
    assert all(describe(d) for d in plan.discrepancies)


def test_seed_import_issues_the_source_cells_as_printed():
    plan = load_import()
    issued = {(i.node_code, i.source): i.volume_m3 for i in plan.issues}
    assert issued[("ganzhou", Source.LOCAL_SURFACE)] == 429_340_000
    assert issued[("ganzhou", Source.GROUNDWATER)] == 259_660_000
    assert issued[("ganzhou", Source.RECLAIMED)] == 15_504_900
    assert issued[("daman", Source.LOCAL_SURFACE)] == 46_830_000  # not "fixed" to the subtotal
    assert ("lushuiwan", Source.GROUNDWATER) not in issued
    assert plan.year == 2024
    assert len(plan.nodes) == 36
    power_plant = [i for i in plan.issues if i.node_code == "zhangye-power-plant"]
    assert [(i.sector, i.volume_m3) for i in power_plant] == [(Sector.INDUSTRY, Decimal(4_801_000))]


def _texts():
    folder = DEMO_MANIFEST.parent
    manifest = read_manifest(DEMO_MANIFEST.read_text(encoding="utf-8"))
    allocation = (folder / "ganzhou-2024-allocation.csv").read_text(encoding="utf-8")
    return manifest, allocation


def test_malformed_rows_name_every_problem():
    manifest, allocation = _texts()
    broken = allocation.replace(
        "1,xiaoman,小满镇,township,4041,3930,111,", "1,xiaoman,小满镇,village,4041,abc,-5,"
    )
    broken = broken.replace("2,daman,", "2,xiaoman,")
    with pytest.raises(ImportFormatError) as error:
        parse_ganzhou(manifest, broken)
    problems = " | ".join(error.value.problems)
    assert "line 2 level" in problems
    assert "line 2 local_surface: 'abc' is not a number" in problems
    assert "line 2 groundwater: '-5' must be a non-negative number" in problems
    assert "line 3 code: 'xiaoman' is used twice" in problems


def test_missing_column_and_wrong_unit():
    manifest, allocation = _texts()
    manifest = {**manifest, "unit": "m3"}
    with pytest.raises(ImportFormatError) as error:
        parse_ganzhou(manifest, allocation.replace("groundwater", "ground"))
    assert any("unit" in p for p in error.value.problems)
    assert any("missing column(s) groundwater" in p for p in error.value.problems)


def test_clean_table_has_no_discrepancies(tmp_path: Path):
    manifest = {
        "year": 2025,
        "unit": "10k_m3",
        "district": {"code": "d", "name": "D"},
        "stated_totals": {"subtotal": 3, "local_surface": 2, "groundwater": 1},
        "non_conventional_factor": "0.5",
    }
    text = "seq,code,name,level,subtotal,local_surface,groundwater,note\n1,a,A,township,3,2,1,\n"
    plan = parse_ganzhou(manifest, text)
    assert plan.discrepancies == ()
    assert plan.non_conventional_factor == Decimal("0.5")
