from decimal import Decimal

from budget.accounting import check_balance, check_sector_equals_source
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
