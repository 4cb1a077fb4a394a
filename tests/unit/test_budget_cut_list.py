"""宁夏 7.1.2 and 7.1.3, line by line (budget/cut_list.py).

7.1.2 当收入总量 < 支出总量时，可按以下优先级逐级核减支出预算水量：
 a) 核减非必要人工生态环境用水，如超出生态基准需求的景观补水。
 b) 核减农业非核心作物灌溉用水和作物非关键期用水，如非口粮作物的超额灌溉水量、泡田用水等。
 c) 核减工业高耗水行业非生产必需用水，如低效产能冷却用水、工业企业或园区内部景观用水。
 d) 核减服务业非基本需求用水，如特种行业非运营必需用水。
 e) 核减过程中需保留城乡居民生活用水、基本生态流量用水、粮食作物灌溉用水的刚性需求 …
7.1.1 "先总量匹配、后结构适配": every source kind is balanced against its own revenue.
"""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from budget.cut_list import (
    NOT_NAMED_REASON,
    RESIDENTIAL_REASON,
    UNSPECIFIED_REASON,
    CutPriority,
    ProtectedVolumes,
    SurplusUse,
    cut_items,
    cut_list,
    surplus_list,
)
from budget.kinds import Sector, Source, SourceFamily

GW, SW, YR = Source.GROUNDWATER, Source.LOCAL_SURFACE, Source.YELLOW_RIVER
A, B, C, D = (
    CutPriority.A_ECOLOGY_NON_ESSENTIAL,
    CutPriority.B_AGRICULTURE_NON_CORE,
    CutPriority.C_INDUSTRY_NON_PRODUCTION,
    CutPriority.D_SERVICES_NON_BASIC,
)
EVERYTHING_RECORDED = ProtectedVolumes(
    grain_irrigation_m3=Decimal(0),
    basic_ecological_flow_m3=Decimal(0),
    urban_environment_baseline_m3=Decimal(0),
    industry_non_production_m3=Decimal(0),
    services_non_essential_m3=Decimal(0),
)


def cuts_of(result):
    return {
        (c.item.name, c.item.source, c.item.sector): (c.priority, c.cut_m3) for c in result.cuts
    }


def test_a_groundwater_shortfall_never_cuts_surface_water_ecology():
    """The issue's case: 300,000 m³ short of groundwater, surface water balanced.
    The surface water's river-lake line (even with its cuttable part recorded)
    stays whole; the groundwater lines pay, in the order of 7.1.2."""
    cells = {
        (SW, Sector.RIVER_LAKE): Decimal(200_000),
        (SW, Sector.IRRIGATION): Decimal(800_000),
        (GW, Sector.RIVER_LAKE): Decimal(100_000),
        (GW, Sector.IRRIGATION): Decimal(900_000),
        (GW, Sector.RURAL_RESIDENTS): Decimal(50_000),
    }
    record = ProtectedVolumes(
        grain_irrigation_m3=Decimal(850_000),  # spread 400,000 SW / 450,000 GW
        basic_ecological_flow_m3=Decimal(150_000),  # spread 100,000 SW / 50,000 GW
    )
    items = cut_items("甘州", cells, record)
    result = cut_list({SW: Decimal(1_000_000), GW: Decimal(750_000)}, items)
    assert [s.family for s in result.sources] == [SourceFamily.GROUNDWATER]
    groundwater = result.sources[0]
    assert groundwater.shortfall_m3 == Decimal(300_000)
    assert cuts_of(result) == {
        ("甘州", GW, Sector.RIVER_LAKE): (A, Decimal(50_000)),  # a) beyond basic flow
        ("甘州", GW, Sector.IRRIGATION): (B, Decimal(250_000)),  # b) beyond the grain share
    }
    assert all(c.item.source is GW for c in result.cuts)
    assert groundwater.remaining_m3 == 0
    assert result.unbalanced == ()
    kept = {(k.source, k.sector): (k.kept_m3, k.reason) for k in result.kept}
    assert kept == {
        (GW, Sector.RIVER_LAKE): (Decimal(50_000), "7.1.2 a)、e) 保留基本生态流量用水"),
        (GW, Sector.IRRIGATION): (Decimal(450_000), "7.1.2 b)、e) 保留粮食作物灌溉用水"),
        (GW, Sector.RURAL_RESIDENTS): (Decimal(50_000), RESIDENTIAL_REASON),
    }


def test_unrecorded_protected_shares_keep_the_lines_and_say_why():
    """Nothing recorded: an unknown protected share is not zero, an unknown
    non-production share is not the whole line. Nothing is cut; the whole
    shortfall cannot be balanced and is shown."""
    cells = {
        (GW, Sector.RIVER_LAKE): Decimal(100),
        (GW, Sector.URBAN_ENVIRONMENT): Decimal(100),
        (GW, Sector.IRRIGATION): Decimal(100),
        (GW, Sector.INDUSTRY): Decimal(100),
        (GW, Sector.SERVICES): Decimal(100),
        (GW, Sector.URBAN_RESIDENTS): Decimal(100),
        (GW, Sector.LIVESTOCK): Decimal(100),
        (GW, Sector.UNSPECIFIED): Decimal(100),
    }
    result = cut_list({GW: Decimal(500)}, cut_items("乡", cells))
    assert result.cuts == ()
    assert result.remaining_shortfall_m3 == Decimal(300)
    assert [s.family for s in result.unbalanced] == [SourceFamily.GROUNDWATER]
    reasons = {k.sector: k.reason for k in result.kept}
    assert all(k.kept_m3 == k.volume_m3 for k in result.kept)
    unknown = "未记录：未知的刚性份额不按零计，本行不核减"
    assert reasons == {
        Sector.RIVER_LAKE: "7.1.2 a)、e) 基本生态流量用水" + unknown,
        Sector.URBAN_ENVIRONMENT: "7.1.2 a)、e) 城乡环境生态基准需求" + unknown,
        Sector.IRRIGATION: "7.1.2 b)、e) 粮食作物灌溉用水" + unknown,
        Sector.INDUSTRY: "7.1.2 c) 高耗水行业非生产必需用水未记录：只核减记录的部分，本行不核减",
        Sector.SERVICES: "7.1.2 d) 特种行业非运营必需用水未记录：只核减记录的部分，本行不核减",
        Sector.URBAN_RESIDENTS: RESIDENTIAL_REASON,
        Sector.LIVESTOCK: NOT_NAMED_REASON,
        Sector.UNSPECIFIED: UNSPECIFIED_REASON,
    }


def test_steps_a_to_d_in_order_each_only_its_cuttable_part():
    cells = {
        (YR, Sector.RIVER_LAKE): Decimal(100),  # basic flow 80: a) 20
        (YR, Sector.URBAN_ENVIRONMENT): Decimal(50),  # baseline 20: a) 30
        (YR, Sector.IRRIGATION): Decimal(1000),  # grain 900: b) 100
        (YR, Sector.INDUSTRY): Decimal(500),  # non-production 40: c) 40
        (YR, Sector.SERVICES): Decimal(60),  # special trades 10: d) 10
        (YR, Sector.URBAN_RESIDENTS): Decimal(700),  # e) never
        (YR, Sector.FISH_POND): Decimal(30),  # not named
    }
    record = ProtectedVolumes(
        grain_irrigation_m3=Decimal(900),
        basic_ecological_flow_m3=Decimal(80),
        urban_environment_baseline_m3=Decimal(20),
        industry_non_production_m3=Decimal(40),
        services_non_essential_m3=Decimal(10),
    )
    items = cut_items("县", cells, record)
    total = sum(cells.values())

    def cut(shortfall):
        return cut_list({YR: total - shortfall}, items)

    only_a = cut(Decimal(25))  # a) alone, pro rata 20 : 30
    assert cuts_of(only_a) == {
        ("县", YR, Sector.RIVER_LAKE): (A, Decimal(10)),
        ("县", YR, Sector.URBAN_ENVIRONMENT): (A, Decimal(15)),
    }
    into_b = cut(Decimal(90))  # a) 50 whole, then b) 40
    assert cuts_of(into_b)[("县", YR, Sector.IRRIGATION)] == (B, Decimal(40))
    everything = cut(Decimal(1000))
    assert cuts_of(everything) == {
        ("县", YR, Sector.RIVER_LAKE): (A, Decimal(20)),
        ("县", YR, Sector.URBAN_ENVIRONMENT): (A, Decimal(30)),
        ("县", YR, Sector.IRRIGATION): (B, Decimal(100)),
        ("县", YR, Sector.INDUSTRY): (C, Decimal(40)),
        ("县", YR, Sector.SERVICES): (D, Decimal(10)),
    }
    assert everything.remaining_shortfall_m3 == Decimal(800)  # cannot be balanced by 7.1.2
    kept = {k.sector: k.reason for k in everything.kept}
    assert kept[Sector.INDUSTRY] == (
        "7.1.2 c) 只核减高耗水行业非生产必需用水，其余为生产或基本需求用水"
    )
    assert kept[Sector.URBAN_RESIDENTS] == RESIDENTIAL_REASON
    assert kept[Sector.FISH_POND] == NOT_NAMED_REASON


def test_each_short_source_is_cut_from_its_own_lines_only():
    cells = {
        (SW, Sector.URBAN_ENVIRONMENT): Decimal(300),
        (GW, Sector.URBAN_ENVIRONMENT): Decimal(100),
        (YR, Sector.URBAN_ENVIRONMENT): Decimal(500),
    }
    items = cut_items("区", cells, EVERYTHING_RECORDED)
    # surface short by 50, groundwater short by 100 (it has no revenue), yellow river in surplus
    result = cut_list({SW: Decimal(250), YR: Decimal(900)}, items)
    assert [(s.family, s.shortfall_m3, s.cut_m3) for s in result.sources] == [
        (SourceFamily.LOCAL_SURFACE, Decimal(50), Decimal(50)),
        (SourceFamily.GROUNDWATER, Decimal(100), Decimal(100)),
    ]
    assert YR not in {c.item.source for c in result.cuts}


def test_a_recorded_figure_is_spread_over_the_sector_sources_and_capped_by_it():
    cells = {(GW, Sector.IRRIGATION): Decimal(1000), (SW, Sector.IRRIGATION): Decimal(3000)}
    items = cut_items("a1", cells, ProtectedVolumes(grain_irrigation_m3=Decimal(2000)))
    assert {i.source: i.kept_m3 for i in items} == {GW: Decimal(500), SW: Decimal(1500)}
    whole = cut_items("a1", cells, ProtectedVolumes(grain_irrigation_m3=Decimal(99_999)))
    assert [i.cuttable_m3 for i in whole] == [Decimal(0), Decimal(0)]
    thirds = cut_items(
        "u",
        {(GW, Sector.INDUSTRY): Decimal(1), (SW, Sector.INDUSTRY): Decimal(2)},
        ProtectedVolumes(industry_non_production_m3=Decimal(1)),
    )
    assert sum(i.cuttable_m3 for i in thirds) == Decimal(1)  # rounding kept whole


def test_a_step_can_be_capped_by_policy():
    cells = {(GW, Sector.INDUSTRY): Decimal(200), (GW, Sector.SERVICES): Decimal(100)}
    record = ProtectedVolumes(
        industry_non_production_m3=Decimal(200), services_non_essential_m3=Decimal(100)
    )
    result = cut_list({GW: Decimal(0)}, cut_items("u", cells, record), {C: Decimal("0.1")})
    assert [(c.item.sector, c.cut_m3) for c in result.cuts] == [
        (Sector.INDUSTRY, Decimal(20)),
        (Sector.SERVICES, Decimal(100)),
    ]
    assert result.remaining_shortfall_m3 == Decimal(180)


def test_nothing_short_nothing_listed():
    items = cut_items("x", {(GW, Sector.INDUSTRY): Decimal(10)}, EVERYTHING_RECORDED)
    assert cut_list({GW: Decimal(10)}, items).sources == ()


def test_unknown_stays_unknown_when_records_add_up():
    known = ProtectedVolumes.unrecorded(())
    assert known == EVERYTHING_RECORDED
    partly = ProtectedVolumes.unrecorded({Sector.IRRIGATION})
    assert partly.grain_irrigation_m3 is None
    assert partly.basic_ecological_flow_m3 == 0
    total = ProtectedVolumes(grain_irrigation_m3=Decimal(5)) + known
    assert total.grain_irrigation_m3 == Decimal(5)
    assert total.basic_ecological_flow_m3 is None
    assert (total + partly).grain_irrigation_m3 is None


def test_surplus_by_source_with_the_uses_of_7_1_3():
    revenue = {GW: Decimal(1000), SW: Decimal(500), YR: Decimal(100)}
    spent = {GW: Decimal(700), SW: Decimal(500), YR: Decimal(200)}
    unknown = surplus_list(revenue, spent)
    assert [(s.family, s.surplus_m3) for s in unknown] == [(SourceFamily.GROUNDWATER, Decimal(300))]
    assert unknown[0].uses == (SurplusUse.A_RESERVE, SurplusUse.B_TRADE)
    assert unknown[0].conditional == (SurplusUse.C_GROUNDWATER_RECHARGE,)
    overdraft = surplus_list(revenue, spent, groundwater_overdraft_area=True)
    assert overdraft[0].uses[-1] is SurplusUse.C_GROUNDWATER_RECHARGE
    assert overdraft[0].conditional == ()
    surface = surplus_list({SW: Decimal(10)}, {}, ecologically_fragile=False)
    assert surface[0].uses == (SurplusUse.A_RESERVE, SurplusUse.B_TRADE)
    assert surface[0].conditional == ()
    fragile = surplus_list({SW: Decimal(10)}, {}, ecologically_fragile=True)
    assert fragile[0].uses[-1] is SurplusUse.D_ECOLOGICAL_FLOW
    assert "甘州 3.(1)⑧" in SurplusUse.B_TRADE.text


volumes = st.integers(min_value=0, max_value=10**9).map(lambda n: Decimal(n) / 1000)
maybe = st.none() | volumes


@given(
    cells=st.dictionaries(
        st.tuples(st.sampled_from(list(Source)), st.sampled_from(list(Sector))), volumes
    ),
    revenue=st.dictionaries(st.sampled_from(list(Source)), volumes),
    record=st.builds(ProtectedVolumes, maybe, maybe, maybe, maybe, maybe),
)
def test_no_cut_leaves_its_source_or_its_cuttable_part(cells, revenue, record):
    items = cut_items("n", cells, record)
    result = cut_list(revenue, items)
    for source_cut in result.sources:
        assert source_cut.shortfall_m3 > 0
        assert source_cut.cut_m3 + source_cut.remaining_m3 == source_cut.shortfall_m3
        assert source_cut.remaining_m3 >= 0
        for line in source_cut.cuts:
            assert line.item.source.family is source_cut.family
            assert not line.item.sector.is_residential
            assert 0 < line.cut_m3 <= line.item.cuttable_m3
            unknown = record.of_sector(line.item.sector) is None
            assert not unknown
