"""Accounting checks of the Ningxia spec: 6.5.3, 7.1.1 and the cut list of 7.1.2.

Revenue is available water by source (5.7, formula 1), expenditure is the
budgets by sector (6.5.1, formula 2). All checks return findings that name the
section; none of them changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from budget.kinds import Cell, Sector, Source
from budget.units import ZERO, m3

BALANCE_TOLERANCE = Decimal("0.05")


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # e.g. "7.1.1 revenue >= expenditure"
    message: str
    amount_m3: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class BalanceResult:
    revenue_m3: Decimal
    expenditure_m3: Decimal
    deviation: Decimal | None  # (revenue − expenditure) / revenue; None when revenue is 0
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def check_balance(
    revenue: Mapping[Source, Decimal],
    expenditure: Mapping[Sector, Decimal],
    tolerance: Decimal = BALANCE_TOLERANCE,
) -> BalanceResult:
    """宁夏 7.1.1: 核心满足"收入总量 ≥ 支出总量"的刚性约束，偏差应控制在 ±5% 以内.

    The deviation is taken relative to revenue (the water there is to share);
    the spec does not say which side is the base.
    """
    income = sum(revenue.values(), ZERO)
    spending = sum(expenditure.values(), ZERO)
    findings: list[Finding] = []
    if income < spending:
        findings.append(
            Finding(
                "7.1.1 revenue >= expenditure",
                f"expenditure {spending} m³ exceeds revenue {income} m³; cut per 7.1.2",
                spending - income,
            )
        )
    deviation = None if income == ZERO else (income - spending) / income
    if deviation is not None and abs(deviation) > tolerance:
        findings.append(
            Finding(
                "7.1.1 deviation within ±5%",
                f"deviation {deviation:.4f} is outside ±{tolerance}"
                + ("; surplus handled per 7.1.3" if deviation > 0 else ""),
                abs(income - spending),
            )
        )
    if income == ZERO and spending > ZERO:
        findings.append(Finding("7.1.1 deviation within ±5%", "no revenue recorded", spending))
    return BalanceResult(income, spending, deviation, tuple(findings))


def check_sector_equals_source(
    by_sector: Mapping[Sector, Decimal],
    by_source: Mapping[Source, Decimal],
    tolerance_m3: Decimal = ZERO,
) -> list[Finding]:
    """宁夏 6.5.3: W支出总量(行业) 和 W支出总量(水源) 应相等; a gap is reported, not fixed.

    Volumes issued without a sector (``Sector.UNSPECIFIED``) are not part of
    any of the four sectors of formula (2), so they show up as a gap too.
    """
    sectors = sum((v for s, v in by_sector.items() if s is not Sector.UNSPECIFIED), ZERO)
    sources = sum(by_source.values(), ZERO)
    findings = []
    if abs(sectors - sources) > tolerance_m3:
        findings.append(
            Finding(
                "6.5.3 by-sector total == by-source total",
                f"by sector {sectors} m³, by source {sources} m³",
                sectors - sources,
            )
        )
    unspecified = by_sector.get(Sector.UNSPECIFIED, ZERO)
    if unspecified:
        findings.append(
            Finding(
                "6.5.3 by-sector total == by-source total",
                f"{unspecified} m³ are issued without a sector (未分行业)",
                unspecified,
            )
        )
    return findings


class CutPriority(StrEnum):
    """宁夏 7.1.2 a)–d), in order."""

    A_ECOLOGY_NON_ESSENTIAL = "a"  # 非必要人工生态环境用水
    B_AGRICULTURE_NON_CORE = "b"  # 非口粮作物的超额灌溉水量、泡田用水
    C_INDUSTRY_NON_PRODUCTION = "c"  # 高耗水行业非生产必需用水
    D_SERVICES_NON_BASIC = "d"  # 服务业非基本需求用水


_PRIORITY_OF_SECTOR = {
    Sector.URBAN_ENVIRONMENT: CutPriority.A_ECOLOGY_NON_ESSENTIAL,
    Sector.RIVER_LAKE: CutPriority.A_ECOLOGY_NON_ESSENTIAL,
    Sector.IRRIGATION: CutPriority.B_AGRICULTURE_NON_CORE,
    Sector.INDUSTRY: CutPriority.C_INDUSTRY_NON_PRODUCTION,
    Sector.SERVICES: CutPriority.D_SERVICES_NON_BASIC,
}


@dataclass(frozen=True, slots=True)
class ExpenditureItem:
    """One budget line that could be cut.

    ``protected_m3`` is the rigid part 7.1.2 e) keeps: the basic ecological
    flow of a river-lake line, the grain-crop share of an irrigation line.
    Residential lines are protected whole, whatever this says.
    """

    name: str
    source: Source
    sector: Sector
    volume_m3: Decimal
    protected_m3: Decimal = ZERO

    @property
    def cuttable_m3(self) -> Decimal:
        if self.sector.is_residential or self.sector not in _PRIORITY_OF_SECTOR:
            return ZERO
        return max(ZERO, self.volume_m3 - self.protected_m3)


@dataclass(frozen=True, slots=True)
class ProtectedVolumes:
    """宁夏 7.1.2 e) rigid needs recorded for a node (m³): parts of a sector a cut keeps.

    城乡居民生活用水 needs no record: residential sectors are protected whole.
    """

    grain_irrigation_m3: Decimal = ZERO  # 粮食作物灌溉用水, within agriculture.irrigation
    basic_ecological_flow_m3: Decimal = ZERO  # 基本生态流量用水, within ecology.river_lake

    def of_sector(self, sector: Sector) -> Decimal:
        if sector is Sector.IRRIGATION:
            return self.grain_irrigation_m3
        if sector is Sector.RIVER_LAKE:
            return self.basic_ecological_flow_m3
        return ZERO

    def __add__(self, other: ProtectedVolumes) -> ProtectedVolumes:
        return ProtectedVolumes(
            self.grain_irrigation_m3 + other.grain_irrigation_m3,
            self.basic_ecological_flow_m3 + other.basic_ecological_flow_m3,
        )


_PROTECTED_REASONS = {
    Sector.IRRIGATION: "7.1.2 e) protected: 粮食作物灌溉用水",
    Sector.RIVER_LAKE: "7.1.2 e) protected: 基本生态流量用水",
}


def expenditure_items(
    name: str, cells: Mapping[Cell, Decimal], protected: ProtectedVolumes = ProtectedVolumes()
) -> list[ExpenditureItem]:
    """One node's budget lines as cut-list items, its protected volumes attached.

    A protected volume belongs to a sector, the lines to (source, sector) cells:
    it is spread over the sector's sources pro rata to their volumes (the
    largest line takes the rounding), and never more than the sector holds.
    """
    lines = sorted((cell, v) for cell, v in cells.items() if v > ZERO)
    shares: dict[Cell, Decimal] = {}
    for sector in _PROTECTED_REASONS:
        in_sector = [(cell, v) for cell, v in lines if cell[1] is sector]
        sector_total = sum((v for _, v in in_sector), ZERO)
        keep = min(protected.of_sector(sector), sector_total)
        if keep <= ZERO:
            continue
        parts = [m3(v * keep / sector_total) for _, v in in_sector]
        largest = max(range(len(parts)), key=lambda k: in_sector[k][1])
        parts[largest] += keep - sum(parts, ZERO)
        shares.update((cell, part) for (cell, _), part in zip(in_sector, parts, strict=True))
    return [
        ExpenditureItem(name, source, sector, v, shares.get((source, sector), ZERO))
        for (source, sector), v in lines
    ]


@dataclass(frozen=True, slots=True)
class CutLine:
    item: ExpenditureItem
    priority: CutPriority
    cut_m3: Decimal


@dataclass(frozen=True, slots=True)
class CutProposal:
    shortfall_m3: Decimal
    cuts: tuple[CutLine, ...]
    remaining_shortfall_m3: Decimal
    untouched: tuple[tuple[ExpenditureItem, str], ...]  # item and why 7.1.2 leaves it alone
    protected: tuple[tuple[ExpenditureItem, str], ...] = ()  # items whose protected part is kept


def propose_cuts(
    items: Sequence[ExpenditureItem],
    shortfall_m3: Decimal,
    max_share: Mapping[CutPriority, Decimal] | None = None,
) -> CutProposal:
    """Cut ``shortfall_m3`` in the order a → d of 宁夏 7.1.2, pro rata within a step.

    ``max_share`` caps the share of each step's cuttable volume (核减比例应结合
    区域产业政策…确定); by default a step may be cut down to its protected part.
    """
    untouched = tuple(
        (
            item,
            "7.1.2 e) protected: 城乡居民生活用水"
            if item.sector.is_residential
            else "not named in 7.1.2 a)–d); the operator decides",
        )
        for item in items
        if item.sector.is_residential or item.sector not in _PRIORITY_OF_SECTOR
    )
    remaining = max(ZERO, shortfall_m3)
    cuts: list[CutLine] = []
    for priority in CutPriority:
        if remaining == ZERO:
            break
        share = (max_share or {}).get(priority, Decimal(1))
        step = [
            i
            for i in items
            if _PRIORITY_OF_SECTOR.get(i.sector) is priority
            and not i.sector.is_residential
            and i.cuttable_m3 > ZERO
        ]
        pool = sum((m3(i.cuttable_m3 * share) for i in step), ZERO)
        if pool == ZERO:
            continue
        take = min(remaining, pool)
        amounts = [m3(m3(i.cuttable_m3 * share) * take / pool) for i in step]
        largest = max(range(len(step)), key=lambda k: amounts[k])
        amounts[largest] += take - sum(amounts, ZERO)
        cuts += [CutLine(i, priority, a) for i, a in zip(step, amounts, strict=True) if a]
        remaining -= take
    protected = tuple(
        (item, _PROTECTED_REASONS[item.sector])
        for item in items
        if item.protected_m3 > ZERO and item.sector in _PROTECTED_REASONS
    )
    return CutProposal(max(ZERO, shortfall_m3), tuple(cuts), remaining, untouched, protected)
