"""宁夏 附录 B: 自治区和地市水预算总量核算成果表 — one row per area, revenue then expenditure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from budget.accounting_tables import (
    AccountingTable,
    AreaYear,
    Column,
    Row,
    header_fields,
    total,
    wan,
)
from budget.kinds import NON_CONVENTIONAL_SOURCES, Sector, Source

S = Sector
Sources = frozenset[Source]

_IN_HEAD, _OUT_HEAD = "水预算收入量", "水预算支出量"
_B_REVENUE: tuple[tuple[str, str, Sources], ...] = (
    ("revenue.yellow_river", "黄河水", frozenset({Source.YELLOW_RIVER})),
    ("revenue.local_surface", "当地地表水", frozenset({Source.LOCAL_SURFACE})),
    ("revenue.groundwater", "地下水", frozenset({Source.GROUNDWATER})),
    ("revenue.non_conventional", "非常规水", NON_CONVENTIONAL_SOURCES),
    ("revenue.reclaimed", "其中:再生水", frozenset({Source.RECLAIMED})),
    ("revenue.mine_water", "其中:矿坑(井)水", frozenset({Source.MINE_WATER})),
    ("revenue.brackish", "其中:(微)咸水", frozenset({Source.BRACKISH})),
)
_B_EXPENDITURE: tuple[tuple[str, str, frozenset[Sector]], ...] = (
    ("agriculture", "农业", frozenset({S.IRRIGATION, S.FISH_POND, S.LIVESTOCK})),
    ("irrigation", "其中:灌溉用水", frozenset({S.IRRIGATION})),
    ("fish_pond", "其中:鱼塘补水", frozenset({S.FISH_POND})),
    ("livestock", "其中:畜禽用水", frozenset({S.LIVESTOCK})),
    ("industry", "工业", frozenset({S.INDUSTRY})),
    (
        "domestic",
        "生活",
        frozenset({S.URBAN_RESIDENTS, S.RURAL_RESIDENTS, S.CONSTRUCTION, S.SERVICES}),
    ),
    ("urban", "其中:城镇居民", frozenset({S.URBAN_RESIDENTS})),
    ("rural", "其中:农村居民", frozenset({S.RURAL_RESIDENTS})),
    ("construction", "其中:建筑业", frozenset({S.CONSTRUCTION})),
    ("services", "其中:服务业", frozenset({S.SERVICES})),
    ("ecology", "生态环境", frozenset({S.RIVER_LAKE, S.URBAN_ENVIRONMENT})),
    ("river_lake", "其中:河湖生态", frozenset({S.RIVER_LAKE})),
    ("urban_environment", "其中:城乡环境", frozenset({S.URBAN_ENVIRONMENT})),
)


@dataclass(frozen=True, slots=True)
class RegionPart:
    """A first-level division (地市) and the areas under it (县、区); no parts: a row alone."""

    area: AreaYear
    parts: Sequence[AreaYear] = ()


def region_table(region: AreaYear, parts: Sequence[RegionPart]) -> AccountingTable:
    """附录 B 自治区和地市水预算总量核算成果表: one row per area, revenue then expenditure.

    Every row shows the area's own figures (its budget by source as revenue,
    what it hands down by sector as expenditure); a 地市 row after its 县区 and
    the region row last, as the seed lays them out.
    """
    areas = [region, *(p.area for p in parts), *(a for p in parts for a in p.parts)]
    revenue = list(_B_REVENUE)
    notes: list[str] = []
    for source in (Source.TRANSFERRED, Source.TRADED):
        if any(a.revenue.get(source) for a in areas):
            revenue.append((f"revenue.{source.value}", source.label, frozenset({source})))
            notes.append(f"{source.label}：成果表无对应列，单列显示")
    expenditure = list(_B_EXPENDITURE)
    if any(sec is S.UNSPECIFIED and v for a in areas for (_, sec), v in a.expenditure.items()):
        expenditure.append(("unspecified", "未分行业", frozenset({S.UNSPECIFIED})))
        notes.append("未分行业：仅按水源下达的水量，成果表无对应列，单列显示")
    columns = (
        *(Column(key, (_IN_HEAD, label)) for key, label, _ in revenue),
        Column("revenue.total", (_IN_HEAD, "合计")),
        *(Column(f"expenditure.{key}", (_OUT_HEAD, label)) for key, label, _ in expenditure),
        Column("expenditure.total", (_OUT_HEAD, "合计")),
    )

    def values(area: AreaYear) -> tuple[Decimal | None, ...]:
        income = [total(v for s, v in area.revenue.items() if s in srcs) for _, _, srcs in revenue]
        spent = [
            total(v for (_, sec), v in area.expenditure.items() if sec in secs)
            for _, _, secs in expenditure
        ]
        return tuple(
            wan(v)
            for v in (
                *income,
                total(area.revenue.values()),
                *spent,
                total(area.expenditure.values()),
            )
        )

    rows: list[Row] = []
    for part in parts:
        rows += [Row(a.name, values(a), group=part.area.name) for a in part.parts]
        kind = "subtotal" if part.parts else "line"
        rows.append(Row(part.area.name, values(part.area), group=part.area.name, kind=kind))
    rows.append(Row(region.name, values(region), group=region.name, kind="total"))
    notes += dict.fromkeys(n for a in areas for n in a.notes)
    return AccountingTable(
        "B",
        "自治区和地市水预算总量核算成果表",
        header_fields(region, "行政区"),
        columns,
        tuple(rows),
        tuple(notes),
    )
