"""宁夏 附录 A and 附录 B as data: the shared shape of both tables (``county_table``,
``region_table`` build them), ready for a report page.

A budget year of an area (``AreaYear``: revenue by source, expenditure by
source × sector, in m³) is shaped into the seed's rows and columns, with the
seed's Chinese labels, in 万m³ rounded to ``TABLE_PLACES`` decimals. Every
figure, totals included, is computed exactly in m³ and rounded once, so a
total may differ from the sum of its rounded parts by a few hundredths.

``None`` is a blank cell: a split we do not record (the irrigation schemes of
appendix A, self-supplied versus public supply) is left blank unless given,
never guessed. Volumes the seed's table has no place for (外调水 and
跨区域交易水 rows, 未分行业 volumes) get an extra row or column, only when
present, and a note — the table always adds up to the area's whole budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from budget.kinds import Cell, Sector, Source
from budget.units import ZERO, to_10k_m3

TABLE_PLACES = 2
"""万m³ with two decimals, as the seeds' tables (甘州 再生水 table: 538.26)."""
UNIT = "万m³"


class IrrigationScheme(StrEnum):
    """Irrigation-district kinds of the appendix A columns (宁夏 6.1)."""

    YELLOW_LIFT = "yellow_lift"
    RESERVOIR = "reservoir"
    WELL = "well"
    RIVER_LAKE_DIRECT = "river_lake_direct"

    @property
    def label(self) -> str:
        return {
            "yellow_lift": "引扬黄灌区",
            "reservoir": "水库灌区",
            "well": "纯井灌区",
            "river_lake_direct": "直接从河湖取水灌区",
        }[self.value]


class SupplyChannel(StrEnum):
    SELF_SUPPLIED = "self_supplied"  # 自备水源
    PUBLIC_SUPPLY = "public_supply"  # 公共供水


@dataclass(frozen=True, slots=True)
class AreaYear:
    """One area's budget year, in m³. Optional splits stay blank when not given."""

    name: str
    code: str
    revenue: Mapping[Source, Decimal]
    expenditure: Mapping[Cell, Decimal]
    irrigation_schemes: Mapping[tuple[Source, IrrigationScheme], Decimal] = field(
        default_factory=dict
    )
    supply_channels: Mapping[tuple[Source, Sector, SupplyChannel], Decimal] = field(
        default_factory=dict
    )
    traded_in_m3: Decimal | None = None  # 从区域外水权交易量 买入指标
    traded_out_m3: Decimal | None = None  # 卖出指标
    transferred_in_m3: Decimal | None = None  # 调入水量
    transferred_out_m3: Decimal | None = None  # 调出水量
    notes: tuple[str, ...] = ()  # e.g. the sector split's estimate mark (budget.sector_split)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: tuple[str, ...]  # outermost header first, as the seed's merged header cells


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    values: tuple[Decimal | None, ...]  # 万m³, aligned with the table's columns
    number: str = ""  # 序号 (appendix A)
    group: str = ""  # 行政分区 of the first level (appendix B)
    kind: str = "line"  # line | of_which | subtotal | total | extra


@dataclass(frozen=True, slots=True)
class HeaderField:
    label: str
    value: str | Decimal | None


@dataclass(frozen=True, slots=True)
class AccountingTable:
    appendix: str
    title: str
    fields: tuple[HeaderField, ...]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    unit: str = UNIT


def wan(volume: Decimal | None) -> Decimal | None:
    return None if volume is None else to_10k_m3(volume, TABLE_PLACES)


def header_fields(area: AreaYear, kind: str) -> tuple[HeaderField, ...]:
    return (
        HeaderField(f"{kind}名称", area.name),
        HeaderField(f"{kind}代码", area.code),
        HeaderField("从区域外水权交易量:买入指标", wan(area.traded_in_m3)),
        HeaderField("从区域外水权交易量:卖出指标", wan(area.traded_out_m3)),
        HeaderField("调入水量", wan(area.transferred_in_m3)),
        HeaderField("调出水量", wan(area.transferred_out_m3)),
    )


def total(volumes: Iterable[Decimal]) -> Decimal:
    return sum(volumes, ZERO)
