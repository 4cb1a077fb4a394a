"""宁夏 附录 A and B from hand-built budgets: labels, 万m³ with two decimals, totals, blanks."""

from decimal import Decimal

from budget.accounting_tables import AreaYear, IrrigationScheme, SupplyChannel
from budget.county_table import county_table
from budget.kinds import Sector, Source
from budget.region_table import RegionPart, region_table

YR, SW, GW, RC = Source.YELLOW_RIVER, Source.LOCAL_SURFACE, Source.GROUNDWATER, Source.RECLAIMED


def cells(table, row_label):
    row = next(r for r in table.rows if r.label == row_label)
    return {c.key: v for c, v in zip(table.columns, row.values, strict=True)}


COUNTY = AreaYear(
    "永宁县",
    "640121",
    revenue={YR: Decimal(30_000_000), GW: Decimal(5_000_000), RC: Decimal(1_000_000)},
    expenditure={
        (YR, Sector.IRRIGATION): Decimal(25_000_000),
        (YR, Sector.URBAN_RESIDENTS): Decimal(1_234_567),
        (GW, Sector.RURAL_RESIDENTS): Decimal(800_000),
        (GW, Sector.INDUSTRY): Decimal(3_000_000),
        (RC, Sector.URBAN_ENVIRONMENT): Decimal(600_000),
        (RC, Sector.INDUSTRY): Decimal(400_000),
    },
    traded_in_m3=Decimal(0),
)


def test_county_table_has_the_seed_rows_and_columns():
    table = county_table(COUNTY)
    assert table.appendix == "A"
    assert table.title == "县(区、市)水预算总量核算成果表"
    assert table.unit == "万m³"
    assert [(r.number, r.label) for r in table.rows] == [
        ("1", "黄河水"),
        ("2", "当地地表水"),
        ("3", "地下水"),
        ("4", "非常规水"),
        ("5", "其中:再生水"),
        ("6", "其中:矿坑(井)水"),
        ("7", "其中:(微)咸水"),
        ("8", "其中:集蓄雨水"),
        ("", "合计"),
    ]
    headers = [c.header for c in table.columns]
    assert len(headers) == 23
    assert headers[0] == ("农业预算水量", "灌溉用水", "引扬黄灌区")
    assert headers[4] == ("农业预算水量", "灌溉用水", "小计")
    assert headers[11] == ("生活预算水量", "服务业用水", "自备水源")
    assert headers[18] == ("生活预算水量", "合计")
    assert headers[-1] == ("总计",)
    assert [f.label for f in table.fields][:2] == ["县(区、市)名称", "县(区、市)代码"]
    assert table.fields[0].value == "永宁县"
    assert table.notes == ()


def test_county_figures_are_10k_m3_with_two_decimals_and_add_up():
    table = county_table(COUNTY)
    yellow = cells(table, "黄河水")
    assert yellow["irrigation"] == Decimal("2500.00")
    assert yellow["agriculture"] == Decimal("2500.00")
    assert yellow["urban"] == Decimal("123.46")  # 1,234,567 m³
    assert yellow["total"] == Decimal("2623.46")
    assert yellow["irrigation.yellow_lift"] is None  # not recorded: blank, not 0
    assert yellow["industry.self_supplied"] is None
    assert cells(table, "地下水")["domestic"] == Decimal("80.00")
    assert cells(table, "非常规水")["industry"] == Decimal("40.00")
    assert cells(table, "其中:再生水")["ecology"] == Decimal("60.00")
    assert cells(table, "其中:矿坑(井)水")["total"] == Decimal("0.00")
    grand = cells(table, "合计")
    assert grand["industry"] == Decimal("340.00")
    assert grand["total"] == Decimal("3103.46")
    assert str(grand["total"]) == "3103.46"


def test_recorded_splits_fill_the_blank_columns_and_a_bad_split_is_reported():
    county = AreaYear(
        "x",
        "x",
        revenue={},
        expenditure={
            (YR, Sector.IRRIGATION): Decimal(100_000),
            (GW, Sector.INDUSTRY): Decimal(50_000),
        },
        irrigation_schemes={(YR, IrrigationScheme.YELLOW_LIFT): Decimal(90_000)},
        supply_channels={(GW, Sector.INDUSTRY, SupplyChannel.SELF_SUPPLIED): Decimal(50_000)},
    )
    table = county_table(county)
    yellow = cells(table, "黄河水")
    assert yellow["irrigation.yellow_lift"] == Decimal("9.00")
    assert yellow["irrigation.reservoir"] == Decimal("0.00")
    assert cells(table, "地下水")["industry.self_supplied"] == Decimal("5.00")
    assert cells(table, "地下水")["industry.public_supply"] == Decimal("0.00")
    assert table.notes == (
        "黄河水灌溉用水：记录的分项合计 90000 m³，预算为 100000 m³，不一致",
    )


def test_volumes_the_seed_has_no_place_for_get_their_own_row_and_column():
    county = AreaYear(
        "x",
        "x",
        revenue={},
        expenditure={
            (Source.TRANSFERRED, Sector.INDUSTRY): Decimal(10_000),
            (SW, Sector.UNSPECIFIED): Decimal(20_000),
        },
    )
    table = county_table(county)
    assert [r.label for r in table.rows][-3:] == ["其中:集蓄雨水", "外调水", "合计"]
    extra = next(r for r in table.rows if r.kind == "extra")
    assert (extra.number, extra.label) == ("9", "外调水")
    assert table.columns[-2].header == ("未分行业",)
    grand = cells(table, "合计")
    assert grand["unspecified"] == Decimal("2.00")
    assert grand["total"] == Decimal("3.00")
    assert len(table.notes) == 2


def area(name, revenue, spent):
    return AreaYear(name, name, {GW: Decimal(revenue)}, {(GW, Sector.IRRIGATION): Decimal(spent)})


def test_region_table_lists_counties_then_their_city_then_the_region():
    yinchuan = RegionPart(
        area("银川市", 900_000, 800_000),
        [area("兴庆区", 500_000, 500_000), area("西夏区", 300_000, 300_000)],
    )
    hongsibao = RegionPart(area("红寺堡区", 100_000, 100_000))
    table = region_table(area("宁夏", 1_000_000, 1_000_000), [yinchuan, hongsibao])
    assert table.appendix == "B"
    assert table.title == "自治区和地市水预算总量核算成果表"
    assert [(r.group, r.label, r.kind) for r in table.rows] == [
        ("银川市", "兴庆区", "line"),
        ("银川市", "西夏区", "line"),
        ("银川市", "银川市", "subtotal"),
        ("红寺堡区", "红寺堡区", "line"),
        ("宁夏", "宁夏", "total"),
    ]
    labels = [c.header for c in table.columns]
    assert labels[:8] == [
        ("水预算收入量", x)
        for x in (
            "黄河水",
            "当地地表水",
            "地下水",
            "非常规水",
            "其中:再生水",
            "其中:矿坑(井)水",
            "其中:(微)咸水",
            "合计",
        )
    ]
    assert labels[8] == ("水预算支出量", "农业")
    assert labels[-1] == ("水预算支出量", "合计")
    assert len(labels) == 22
    city = cells(table, "银川市")
    assert city["revenue.groundwater"] == Decimal("90.00")
    assert city["revenue.total"] == Decimal("90.00")
    assert city["expenditure.agriculture"] == Decimal("80.00")
    assert city["expenditure.irrigation"] == Decimal("80.00")
    assert city["expenditure.industry"] == Decimal("0.00")
    assert cells(table, "宁夏")["expenditure.total"] == Decimal("100.00")
    assert table.fields[0].label == "行政区名称"
