"""Sectors everywhere (issue 12): the split of budgets issued by source only, the
default sector of what a site is."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget.hierarchy import Hierarchy, Node, NodeLevel
from budget.kinds import Sector, SectorFamily, Source
from budget.sector_split import (
    SectorSplit,
    SplitBasis,
    SplitError,
    split_cells,
    split_of,
    structure_split,
)
from budget.site_sectors import SitePurpose, default_sector

GW, SW = Source.GROUNDWATER, Source.LOCAL_SURFACE
U = Sector.UNSPECIFIED
GANZHOU_2024 = {  # 甘州 2.(1) 合理配置用水结构, percent
    SectorFamily.AGRICULTURE: Decimal("87.45"),
    SectorFamily.INDUSTRY: Decimal("0.31"),
    SectorFamily.DOMESTIC: Decimal("5.03"),
    SectorFamily.ECOLOGY: Decimal("7.22"),
}


def test_the_ganzhou_structure_splits_a_township_and_keeps_its_source_totals():
    split = structure_split(GANZHOU_2024, "甘州区2024年用水结构配置")
    assert split.basis.is_estimate
    # 新墩镇 as printed: 874 万m³ surface, 456 万m³ ground
    cells = {(SW, U): Decimal(8_740_000), (GW, U): Decimal(4_560_000)}
    out = split_cells(cells, split)
    assert U not in {sector for _, sector in out}
    assert sum(v for (s, _), v in out.items() if s is SW) == Decimal(8_740_000)
    assert sum(v for (s, _), v in out.items() if s is GW) == Decimal(4_560_000)
    # the seed's shares add up to 100.01 %: divided by their sum
    assert out[(SW, Sector.IRRIGATION)] == Decimal("7642365.763")  # 8,740,000 × 87.45 / 100.01
    assert out[(SW, Sector.INDUSTRY)] == Decimal("27091.291")
    assert out[(SW, Sector.RURAL_RESIDENTS)] == Decimal("439578.042")
    assert out[(SW, Sector.URBAN_ENVIRONMENT)] == Decimal("630964.904")
    assert "农村居民5.03%" in split.note  # shown as shares of the whole (5.0295 %)


def test_the_note_is_chinese_and_marks_an_estimate():
    estimate = structure_split({SectorFamily.AGRICULTURE: Decimal(100)}, "甘州 2.(1)")
    assert estimate.note == (
        "行业分配为估算：按区县用水结构配置将未分行业水量分到各行业（灌溉用水100.00%），"
        "依据：甘州 2.(1)；可由水行政主管部门逐节点替换"
    )
    given_split = SectorSplit(SplitBasis.OPERATOR, {Sector.INDUSTRY: Decimal(1)})
    assert given_split.note.startswith("行业分配为确定")
    assert "估算" not in given_split.note


def test_cells_with_sectors_are_left_alone_and_no_split_changes_nothing():
    cells = {(GW, Sector.INDUSTRY): Decimal(5), (GW, U): Decimal(10)}
    assert split_cells(cells, None) == cells
    split = SectorSplit(SplitBasis.OPERATOR, {Sector.INDUSTRY: Decimal(1)})
    assert split_cells(cells, split) == {(GW, Sector.INDUSTRY): Decimal(15)}


@pytest.mark.parametrize(
    "shares",
    [{}, {Sector.UNSPECIFIED: Decimal(1)}, {Sector.INDUSTRY: Decimal(-1)}, {Sector.INDUSTRY: 0}],
)
def test_a_bad_split_is_refused(shares):
    with pytest.raises(SplitError):
        SectorSplit(SplitBasis.OPERATOR, shares)


def test_a_node_takes_its_own_split_else_its_nearest_ancestors():
    hierarchy = Hierarchy.of(
        [
            Node(1, "gz", "甘州区", NodeLevel.DISTRICT),
            Node(2, "xd", "新墩镇", NodeLevel.TOWNSHIP, 1),
            Node(3, "xd1", "村", NodeLevel.UNIT, 2),
            Node(4, "ms", "明永镇", NodeLevel.TOWNSHIP, 1),
        ]
    )
    district = structure_split(GANZHOU_2024, "")
    township = SectorSplit(SplitBasis.OPERATOR, {Sector.IRRIGATION: Decimal(1)})
    splits = {1: district, 2: township}
    assert split_of(hierarchy, splits, 3) is township
    assert split_of(hierarchy, splits, 4) is district
    assert split_of(hierarchy, {}, 4) is None


shares = st.dictionaries(
    st.sampled_from([s for s in Sector if s is not U]),
    st.integers(1, 10_000).map(Decimal),
    min_size=1,
)


@given(volume=st.integers(0, 10**12).map(lambda n: Decimal(n) / 1000), weights=shares)
def test_a_split_never_changes_a_source_total(volume, weights):
    split = SectorSplit(SplitBasis.QUOTA, weights)
    out = split_cells({(GW, U): volume, (SW, Sector.INDUSTRY): Decimal(1)}, split)
    assert sum(v for (s, _), v in out.items() if s is GW) == volume
    assert out.get((SW, Sector.INDUSTRY)) == Decimal(1)


def test_what_a_site_is_gives_its_default_sector():
    assert default_sector("site", site_kind="well") is Sector.IRRIGATION
    assert default_sector("meter", site_kind="canal_gate") is Sector.IRRIGATION
    assert default_sector("site", site_kind="pump_station") is None  # 未分行业 until said
    for purpose, sector in (
        (SitePurpose.IRRIGATION_WELL, Sector.IRRIGATION),
        (SitePurpose.CANAL_OUTLET, Sector.IRRIGATION),
        (SitePurpose.PUBLIC_SUPPLY, Sector.URBAN_RESIDENTS),
        (SitePurpose.INDUSTRIAL_INTAKE, Sector.INDUSTRY),
        (SitePurpose.ECOLOGICAL_OUTLET, Sector.RIVER_LAKE),
    ):
        assert default_sector("site", site_kind="well", purpose=purpose) is sector
    overridden = default_sector(
        "site", site_kind="well", purpose="irrigation_well", site_sector="industry"
    )
    assert overridden is Sector.INDUSTRY
    assert default_sector("card") is Sector.IRRIGATION  # card households irrigate
    assert default_sector("site", site_kind=None) is None  # not in the registry
