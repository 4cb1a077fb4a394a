"""宁夏 附录 A: 县(区、市)水预算总量核算成果表 — expenditure, sources down, sectors across."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from budget.accounting_tables import (
    UNIT,
    AccountingTable,
    AreaYear,
    Column,
    IrrigationScheme,
    Row,
    SupplyChannel,
    header_fields,
    total,
    wan,
)
from budget.kinds import NON_CONVENTIONAL_SOURCES, Sector, Source
from budget.units import ZERO

Sources = frozenset[Source]
_A_ROWS: tuple[tuple[str, str, Sources, str], ...] = (
    ("1", "黄河水", frozenset({Source.YELLOW_RIVER}), "line"),
    ("2", "当地地表水", frozenset({Source.LOCAL_SURFACE}), "line"),
    ("3", "地下水", frozenset({Source.GROUNDWATER}), "line"),
    ("4", "非常规水", NON_CONVENTIONAL_SOURCES, "line"),
    ("5", "其中:再生水", frozenset({Source.RECLAIMED}), "of_which"),
    ("6", "其中:矿坑(井)水", frozenset({Source.MINE_WATER}), "of_which"),
    ("7", "其中:(微)咸水", frozenset({Source.BRACKISH}), "of_which"),
    ("8", "其中:集蓄雨水", frozenset({Source.RAINWATER}), "of_which"),
)
_A_EXTRA_ROWS = (("9", Source.TRANSFERRED), ("10", Source.TRADED))

Figure = Callable[[AreaYear, Sources], Decimal | None]
"""A column's figure over the sources of one row, in m³ (None: a blank cell)."""


@dataclass(frozen=True, slots=True)
class _ColumnRule:
    column: Column
    figure: Figure


def _sectors(*sectors: Sector) -> Figure:
    def figure(area: AreaYear, sources: Sources) -> Decimal:
        return total(
            v for (src, sec), v in area.expenditure.items() if src in sources and sec in sectors
        )

    return figure


def _scheme(scheme: IrrigationScheme) -> Figure:
    def figure(area: AreaYear, sources: Sources) -> Decimal | None:
        if not area.irrigation_schemes:
            return None
        return total(
            v for (src, s), v in area.irrigation_schemes.items() if src in sources and s is scheme
        )

    return figure


def _channel(sector: Sector, channel: SupplyChannel) -> Figure:
    def figure(area: AreaYear, sources: Sources) -> Decimal | None:
        recorded = [(k, v) for k, v in area.supply_channels.items() if k[1] is sector]
        if not recorded:
            return None
        return total(v for (src, _, c), v in recorded if src in sources and c is channel)

    return figure


S = Sector
_AG, _IN, _DO, _EC = "农业预算水量", "工业预算水量", "生活预算水量", "生态环境预算水量"
_A_COLUMNS: tuple[_ColumnRule, ...] = (
    *(
        _ColumnRule(Column(f"irrigation.{k.value}", (_AG, "灌溉用水", k.label)), _scheme(k))
        for k in IrrigationScheme
    ),
    _ColumnRule(Column("irrigation", (_AG, "灌溉用水", "小计")), _sectors(S.IRRIGATION)),
    _ColumnRule(Column("fish_pond", (_AG, "鱼塘补水")), _sectors(S.FISH_POND)),
    _ColumnRule(Column("livestock", (_AG, "畜禽用水")), _sectors(S.LIVESTOCK)),
    _ColumnRule(
        Column("agriculture", (_AG, "合计")), _sectors(S.IRRIGATION, S.FISH_POND, S.LIVESTOCK)
    ),
    _ColumnRule(
        Column("industry.self_supplied", (_IN, "自备水源")),
        _channel(S.INDUSTRY, SupplyChannel.SELF_SUPPLIED),
    ),
    _ColumnRule(
        Column("industry.public_supply", (_IN, "公共供水")),
        _channel(S.INDUSTRY, SupplyChannel.PUBLIC_SUPPLY),
    ),
    _ColumnRule(Column("industry", (_IN, "合计")), _sectors(S.INDUSTRY)),
    _ColumnRule(
        Column("services.self_supplied", (_DO, "服务业用水", "自备水源")),
        _channel(S.SERVICES, SupplyChannel.SELF_SUPPLIED),
    ),
    _ColumnRule(
        Column("services.public_supply", (_DO, "服务业用水", "公共供水")),
        _channel(S.SERVICES, SupplyChannel.PUBLIC_SUPPLY),
    ),
    _ColumnRule(Column("services", (_DO, "服务业用水", "小计")), _sectors(S.SERVICES)),
    _ColumnRule(Column("construction", (_DO, "建筑业用水")), _sectors(S.CONSTRUCTION)),
    _ColumnRule(Column("urban", (_DO, "居民生活用水", "城镇居民")), _sectors(S.URBAN_RESIDENTS)),
    _ColumnRule(Column("rural", (_DO, "居民生活用水", "农村居民")), _sectors(S.RURAL_RESIDENTS)),
    _ColumnRule(
        Column("residents", (_DO, "居民生活用水", "小计")),
        _sectors(S.URBAN_RESIDENTS, S.RURAL_RESIDENTS),
    ),
    _ColumnRule(
        Column("domestic", (_DO, "合计")),
        _sectors(S.SERVICES, S.CONSTRUCTION, S.URBAN_RESIDENTS, S.RURAL_RESIDENTS),
    ),
    _ColumnRule(Column("river_lake", (_EC, "河湖生态")), _sectors(S.RIVER_LAKE)),
    _ColumnRule(Column("urban_environment", (_EC, "城乡环境")), _sectors(S.URBAN_ENVIRONMENT)),
    _ColumnRule(Column("ecology", (_EC, "合计")), _sectors(S.RIVER_LAKE, S.URBAN_ENVIRONMENT)),
)
_A_UNSPECIFIED = _ColumnRule(Column("unspecified", ("未分行业",)), _sectors(S.UNSPECIFIED))
_A_TOTAL = _ColumnRule(Column("total", ("总计",)), _sectors(*Sector))


def county_table(area: AreaYear) -> AccountingTable:
    """附录 A 县(区、市)水预算总量核算成果表: expenditure, sources down, sectors across."""
    notes: list[str] = []
    rules = list(_A_COLUMNS)
    unspecified = total(v for (_, sec), v in area.expenditure.items() if sec is S.UNSPECIFIED)
    if unspecified:
        rules.append(_A_UNSPECIFIED)
        notes.append(
            f"未分行业：{wan(unspecified)} {UNIT} 仅按水源下达，成果表无对应列，单列显示并计入总计"
        )
    rules.append(_A_TOTAL)
    row_specs = list(_A_ROWS)
    for number, source in _A_EXTRA_ROWS:
        extra = total(v for (src, _), v in area.expenditure.items() if src is source)
        if extra:
            row_specs.append((number, source.label, frozenset({source}), "extra"))
            notes.append(
                f"{source.label}：{wan(extra)} {UNIT}，成果表无对应行"
                "（可纳入黄河水、地下水等指标），单列一行并计入合计"
            )
    row_specs.append(("", "合计", frozenset(Source), "total"))
    rows = tuple(
        Row(label, tuple(wan(rule.figure(area, sources)) for rule in rules), number, kind=kind)
        for number, label, sources, kind in row_specs
    )
    notes += _split_notes(area)
    notes += area.notes
    return AccountingTable(
        "A",
        "县(区、市)水预算总量核算成果表",
        header_fields(area, "县(区、市)"),
        tuple(rule.column for rule in rules),
        rows,
        tuple(notes),
    )


def _split_notes(area: AreaYear) -> list[str]:
    """A recorded split that does not add up to its subtotal is reported, never fixed."""
    notes = []
    checks: list[tuple[str, Sector, Decimal | None, Decimal | None]] = []
    for source in Source:
        sources = frozenset({source})
        irrigation = _sectors(S.IRRIGATION)(area, sources)
        if area.irrigation_schemes:
            schemes = [_scheme(k)(area, sources) or ZERO for k in IrrigationScheme]
            checks.append((source.label, S.IRRIGATION, total(schemes), irrigation))
        for sector in (S.INDUSTRY, S.SERVICES):
            first = _channel(sector, SupplyChannel.SELF_SUPPLIED)(area, sources)
            if first is not None:
                second = _channel(sector, SupplyChannel.PUBLIC_SUPPLY)(area, sources) or ZERO
                checks.append(
                    (source.label, sector, first + second, _sectors(sector)(area, sources))
                )
    for where, sector, parts, whole in checks:
        if parts != whole:
            notes.append(
                f"{where}{sector.label}：记录的分项合计 {parts} m³，预算为 {whole} m³，不一致"
            )
    return notes
