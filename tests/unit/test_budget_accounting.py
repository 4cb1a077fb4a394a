from decimal import Decimal

from budget.accounting import (
    CutPriority,
    ExpenditureItem,
    check_balance,
    check_sector_equals_source,
    propose_cuts,
)
from budget.kinds import Sector, Source

GW, SW = Source.GROUNDWATER, Source.LOCAL_SURFACE


def test_balanced_within_five_percent():
    result = check_balance({GW: Decimal(100), SW: Decimal(0)}, {Sector.IRRIGATION: Decimal(96)})
    assert result.ok
    assert result.deviation == Decimal("0.04")


def test_shortfall_and_large_surplus_are_both_findings():
    short = check_balance({GW: Decimal(100)}, {Sector.IRRIGATION: Decimal(101)})
    assert [f.check for f in short.findings] == ["7.1.1 revenue >= expenditure"]
    assert short.findings[0].amount_m3 == 1
    surplus = check_balance({GW: Decimal(100)}, {Sector.IRRIGATION: Decimal(90)})
    assert [f.check for f in surplus.findings] == ["7.1.1 deviation within ±5%"]


def test_sector_total_must_equal_source_total_and_unspecified_shows():
    assert check_sector_equals_source({Sector.INDUSTRY: Decimal(5)}, {GW: Decimal(5)}) == []
    findings = check_sector_equals_source(
        {Sector.INDUSTRY: Decimal(5), Sector.UNSPECIFIED: Decimal(2)}, {GW: Decimal(7)}
    )
    assert len(findings) == 2
    assert findings[0].amount_m3 == -2


def test_cuts_follow_7_1_2_order_and_spare_protected_water():
    items = [
        ExpenditureItem("城区居民", SW, Sector.URBAN_RESIDENTS, Decimal(500)),
        ExpenditureItem("湿地补水", SW, Sector.RIVER_LAKE, Decimal(100), protected_m3=Decimal(80)),
        ExpenditureItem("景观", SW, Sector.URBAN_ENVIRONMENT, Decimal(30)),
        ExpenditureItem("灌区", GW, Sector.IRRIGATION, Decimal(1000), protected_m3=Decimal(900)),
        ExpenditureItem("电厂", GW, Sector.INDUSTRY, Decimal(200)),
        ExpenditureItem("洗车", GW, Sector.SERVICES, Decimal(10)),
        ExpenditureItem("畜禽", GW, Sector.LIVESTOCK, Decimal(10)),
    ]
    proposal = propose_cuts(items, Decimal(140))
    cut = {line.item.name: (line.priority, line.cut_m3) for line in proposal.cuts}
    # a) 20 + 30 = 50, b) 100 − 90 = 10 … then c) takes the remaining 40 of 200.
    assert cut["湿地补水"] == (CutPriority.A_ECOLOGY_NON_ESSENTIAL, Decimal(20))
    assert cut["景观"] == (CutPriority.A_ECOLOGY_NON_ESSENTIAL, Decimal(30))
    assert cut["灌区"] == (CutPriority.B_AGRICULTURE_NON_CORE, Decimal(90))
    assert "电厂" not in cut
    assert "城区居民" not in cut
    assert "洗车" not in cut
    assert sum(line.cut_m3 for line in proposal.cuts) == 140
    assert proposal.remaining_shortfall_m3 == 0
    assert {item.name for item, _ in proposal.untouched} == {"城区居民", "畜禽"}


def test_cut_share_caps_and_remaining_shortfall_is_reported():
    items = [
        ExpenditureItem("电厂", GW, Sector.INDUSTRY, Decimal(200)),
        ExpenditureItem("宾馆", GW, Sector.SERVICES, Decimal(100)),
    ]
    proposal = propose_cuts(
        items, Decimal(500), {CutPriority.C_INDUSTRY_NON_PRODUCTION: Decimal("0.1")}
    )
    cuts = [(c.item.name, c.cut_m3) for c in proposal.cuts]
    assert cuts == [("电厂", Decimal(20)), ("宾馆", Decimal(100))]
    assert proposal.remaining_shortfall_m3 == 380
