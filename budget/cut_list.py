"""宁夏 7.1.2 (the cut list when revenue falls short) and 7.1.3 (a surplus), per source.

7.1.1 asks first for the totals to match and then the structure ("先总量匹配、后结构
适配"): each source kind (4.3.1 a–f) is its own account. A shortfall of one kind
is cut from the lines drawing on that kind only — never from another source's
water: a groundwater shortfall cuts groundwater lines, the surface water's
ecological flow is not touched by it. A surplus of one kind is listed with the
7.1.3 dispositions that fit it.

Only the parts 7.1.2 names may be cut, in the order a) → d):

- a) ecology.river_lake: beyond the recorded basic ecological flow
  (基本生态流量用水, e) — ``basic_ecological_flow_m3``;
- a) ecology.urban_environment: beyond the recorded ecological baseline
  (生态基准需求) — ``urban_environment_baseline_m3``;
- b) agriculture.irrigation: beyond the recorded grain-crop share
  (粮食作物灌溉用水, e) — ``grain_irrigation_m3``;
- c) industry: only the recorded non-production use of high-water-use industry
  (高耗水行业非生产必需用水) — ``industry_non_production_m3``;
- d) domestic.services: only the recorded non-essential use of special trades
  (特种行业非运营必需用水) — ``services_non_essential_m3``.

Residential water (城镇居民, 农村居民) is never cut (e). A line whose figure is not
recorded is kept whole and the list says why: an unknown protected share is not
zero, and an unknown non-production share is not the whole line. Sectors 7.1.2
does not name (鱼塘, 畜禽, 建筑业, 未分行业) are kept for the operator. What the
cuttable parts cannot cover stays as the source's remaining shortfall: the part
that cannot be balanced by 7.1.2.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum

from budget.kinds import Cell, Sector, Source, SourceFamily
from budget.units import ZERO, m3


class CutPriority(StrEnum):
    """宁夏 7.1.2 a)–d), in order."""

    A_ECOLOGY_NON_ESSENTIAL = "a"  # 非必要人工生态环境用水
    B_AGRICULTURE_NON_CORE = "b"  # 非口粮作物的超额灌溉水量、泡田用水
    C_INDUSTRY_NON_PRODUCTION = "c"  # 高耗水行业非生产必需用水
    D_SERVICES_NON_BASIC = "d"  # 服务业非基本需求用水


@dataclass(frozen=True, slots=True)
class ProtectedVolumes:
    """What a node records for the cut list of a budget year, m³; ``None`` = not recorded.

    Protected parts (kept; the rest of the sector may be cut): grain-crop
    irrigation, basic ecological flow, the urban environment's ecological
    baseline. Cuttable parts (only these may be cut): high-water-use industry's
    non-production use, special trades' non-essential use. Residential water
    needs no record: it is never cut.
    """

    grain_irrigation_m3: Decimal | None = None  # 粮食作物灌溉用水 (b, e)
    basic_ecological_flow_m3: Decimal | None = None  # 基本生态流量用水 (a, e)
    urban_environment_baseline_m3: Decimal | None = None  # 城乡环境 生态基准需求 (a)
    industry_non_production_m3: Decimal | None = None  # 高耗水行业非生产必需用水 (c)
    services_non_essential_m3: Decimal | None = None  # 特种行业非运营必需用水 (d)

    def of_sector(self, sector: Sector) -> Decimal | None:
        rule = _RULES.get(sector)
        return None if rule is None else getattr(self, rule.field)

    def __add__(self, other: ProtectedVolumes) -> ProtectedVolumes:
        """Sum of two records; unknown on either side stays unknown."""
        return ProtectedVolumes(
            *(
                None if a is None or b is None else a + b
                for a, b in ((getattr(self, f.name), getattr(other, f.name)) for f in fields(self))
            )
        )

    @classmethod
    def unrecorded(cls, held: Collection[Sector]) -> ProtectedVolumes:
        """What a node without a record contributes: unknown for the sectors it
        holds, a known zero for the others (nothing there to protect or cut)."""
        return cls(
            **{rule.field: None if sector in held else ZERO for sector, rule in _RULES.items()}
        )


@dataclass(frozen=True, slots=True)
class _Rule:
    priority: CutPriority
    field: str
    protects: bool  # True: the record is kept, the rest cut; False: the record alone is cut
    what: str  # the recorded figure's name, in Chinese


_RULES: dict[Sector, _Rule] = {
    Sector.RIVER_LAKE: _Rule(
        CutPriority.A_ECOLOGY_NON_ESSENTIAL, "basic_ecological_flow_m3", True, "基本生态流量用水"
    ),
    Sector.URBAN_ENVIRONMENT: _Rule(
        CutPriority.A_ECOLOGY_NON_ESSENTIAL,
        "urban_environment_baseline_m3",
        True,
        "城乡环境生态基准需求",
    ),
    Sector.IRRIGATION: _Rule(
        CutPriority.B_AGRICULTURE_NON_CORE, "grain_irrigation_m3", True, "粮食作物灌溉用水"
    ),
    Sector.INDUSTRY: _Rule(
        CutPriority.C_INDUSTRY_NON_PRODUCTION,
        "industry_non_production_m3",
        False,
        "高耗水行业非生产必需用水",
    ),
    Sector.SERVICES: _Rule(
        CutPriority.D_SERVICES_NON_BASIC,
        "services_non_essential_m3",
        False,
        "特种行业非运营必需用水",
    ),
}

RESIDENTIAL_REASON = "7.1.2 e) 保留城乡居民生活用水刚性需求，不核减"
NOT_NAMED_REASON = "7.1.2 a)–d) 未列此类用水，不核减，由水行政主管部门决定"
UNSPECIFIED_REASON = "未分行业：行业不明，无法按 7.1.2 判断，不核减"


def _unknown_reason(rule: _Rule) -> str:
    if rule.protects:
        return (
            f"7.1.2 {rule.priority.value})、e) {rule.what}未记录："
            "未知的刚性份额不按零计，本行不核减"
        )
    return f"7.1.2 {rule.priority.value}) {rule.what}未记录：只核减记录的部分，本行不核减"


def _known_reason(rule: _Rule) -> str:
    if rule.protects:
        return f"7.1.2 {rule.priority.value})、e) 保留{rule.what}"
    return f"7.1.2 {rule.priority.value}) 只核减{rule.what}，其余为生产或基本需求用水"


@dataclass(frozen=True, slots=True)
class CutItem:
    """One budget line (a node's source × sector cell) as the cut list sees it."""

    name: str
    source: Source
    sector: Sector
    volume_m3: Decimal
    cuttable_m3: Decimal
    reason: str  # why the rest (volume − cuttable) is kept; "" when all of it may be cut

    @property
    def kept_m3(self) -> Decimal:
        return self.volume_m3 - self.cuttable_m3

    @property
    def priority(self) -> CutPriority | None:
        rule = _RULES.get(self.sector)
        return None if rule is None else rule.priority


def _spread(lines: Sequence[tuple[Cell, Decimal]], total: Decimal) -> dict[Cell, Decimal]:
    """``total`` (at most the lines' sum) spread over the lines pro rata; the
    largest line takes the rounding."""
    volume = sum((v for _, v in lines), ZERO)
    if not lines or volume <= ZERO:
        return {}
    keep = min(total, volume)
    parts = [m3(v * keep / volume) for _, v in lines]
    largest = max(range(len(parts)), key=lambda k: lines[k][1])
    parts[largest] += keep - sum(parts, ZERO)
    return {cell: part for (cell, _), part in zip(lines, parts, strict=True)}


def cut_items(
    name: str, cells: Mapping[Cell, Decimal], record: ProtectedVolumes = ProtectedVolumes()
) -> list[CutItem]:
    """One node's budget lines with their cuttable parts.

    A recorded figure belongs to a sector, the lines to (source, sector) cells:
    it is spread over the sector's sources pro rata to their volumes (our
    assumption: the seeds do not say which source the grain share draws on),
    and never more than the sector holds.
    """
    lines = sorted((cell, v) for cell, v in cells.items() if v > ZERO)
    items = []
    for sector in dict.fromkeys(s for (_, s), _ in lines):
        in_sector = [(cell, v) for cell, v in lines if cell[1] is sector]
        rule = _RULES.get(sector)
        recorded = record.of_sector(sector)
        spread = {} if recorded is None else _spread(in_sector, recorded)
        for (source, _), volume in in_sector:
            if sector.is_residential:
                cuttable, reason = ZERO, RESIDENTIAL_REASON
            elif sector is Sector.UNSPECIFIED:
                cuttable, reason = ZERO, UNSPECIFIED_REASON
            elif rule is None:
                cuttable, reason = ZERO, NOT_NAMED_REASON
            elif recorded is None:
                cuttable, reason = ZERO, _unknown_reason(rule)
            else:
                share = spread.get((source, sector), ZERO)
                cuttable = volume - share if rule.protects else share
                reason = "" if cuttable == volume else _known_reason(rule)
            items.append(CutItem(name, source, sector, volume, cuttable, reason))
    return items


@dataclass(frozen=True, slots=True)
class CutLine:
    item: CutItem
    priority: CutPriority
    cut_m3: Decimal


@dataclass(frozen=True, slots=True)
class SourceCut:
    """The cut list of one short source kind."""

    family: SourceFamily
    revenue_m3: Decimal
    expenditure_m3: Decimal
    cuts: tuple[CutLine, ...]
    kept: tuple[CutItem, ...]  # this source's lines kept whole or in part, with the reason

    @property
    def shortfall_m3(self) -> Decimal:
        return self.expenditure_m3 - self.revenue_m3

    @property
    def cut_m3(self) -> Decimal:
        return sum((c.cut_m3 for c in self.cuts), ZERO)

    @property
    def remaining_m3(self) -> Decimal:
        """What 7.1.2 cannot balance: left to the operator (7.2 structure, supplements)."""
        return self.shortfall_m3 - self.cut_m3


@dataclass(frozen=True, slots=True)
class CutList:
    sources: tuple[SourceCut, ...]  # one per short source kind, in 4.3.1 order

    @property
    def shortfall_m3(self) -> Decimal:
        return sum((s.shortfall_m3 for s in self.sources), ZERO)

    @property
    def cuts(self) -> tuple[CutLine, ...]:
        return tuple(c for s in self.sources for c in s.cuts)

    @property
    def kept(self) -> tuple[CutItem, ...]:
        return tuple(k for s in self.sources for k in s.kept)

    @property
    def remaining_shortfall_m3(self) -> Decimal:
        return sum((s.remaining_m3 for s in self.sources), ZERO)

    @property
    def unbalanced(self) -> tuple[SourceCut, ...]:
        """The source kinds 7.1.2 cannot balance."""
        return tuple(s for s in self.sources if s.remaining_m3 > ZERO)


def by_family(volumes: Mapping[Source, Decimal]) -> dict[SourceFamily, Decimal]:
    out: dict[SourceFamily, Decimal] = {}
    for source, volume in volumes.items():
        out[source.family] = out.get(source.family, ZERO) + volume
    return out


def _cut_source(
    family: SourceFamily,
    revenue: Decimal,
    items: Sequence[CutItem],
    max_share: Mapping[CutPriority, Decimal],
) -> SourceCut:
    own = [i for i in items if i.source.family is family]
    expenditure = sum((i.volume_m3 for i in own), ZERO)
    remaining = expenditure - revenue
    cuts: list[CutLine] = []
    for priority in CutPriority:
        if remaining <= ZERO:
            break
        share = max_share.get(priority, Decimal(1))
        step = [i for i in own if i.priority is priority and i.cuttable_m3 > ZERO]
        pools = [m3(i.cuttable_m3 * share) for i in step]
        pool = sum(pools, ZERO)
        if pool == ZERO:
            continue
        take = min(remaining, pool)
        amounts = [m3(p * take / pool) for p in pools]
        largest = max(range(len(step)), key=lambda k: amounts[k])
        amounts[largest] += take - sum(amounts, ZERO)
        cuts += [CutLine(i, priority, a) for i, a in zip(step, amounts, strict=True) if a]
        remaining -= take
    kept = tuple(i for i in own if i.reason)
    return SourceCut(family, revenue, expenditure, tuple(cuts), kept)


def cut_list(
    revenue: Mapping[Source, Decimal],
    items: Sequence[CutItem],
    max_share: Mapping[CutPriority, Decimal] | None = None,
) -> CutList:
    """宁夏 7.1.2 per short source kind: for every kind whose lines exceed its
    revenue, cut that kind's lines in the order a → d, pro rata within a step,
    at most their cuttable parts. ``items`` are all the expenditure lines (at the
    same counting as ``revenue``); ``max_share`` caps the share of each step's
    cuttable volume (核减比例应结合区域产业政策…确定), 1 by default."""
    income = by_family(revenue)
    spent: dict[SourceFamily, Decimal] = {}
    for item in items:
        spent[item.source.family] = spent.get(item.source.family, ZERO) + item.volume_m3
    return CutList(
        tuple(
            _cut_source(family, income.get(family, ZERO), items, max_share or {})
            for family in SourceFamily
            if spent.get(family, ZERO) > income.get(family, ZERO)
        )
    )


class SurplusUse(StrEnum):
    """宁夏 7.1.3 a)–d)."""

    A_RESERVE = "a"
    B_TRADE = "b"
    C_GROUNDWATER_RECHARGE = "c"
    D_ECOLOGICAL_FLOW = "d"

    @property
    def text(self) -> str:
        return _SURPLUS_TEXT[self]


_SURPLUS_TEXT = {
    SurplusUse.A_RESERVE: "纳入区域水资源储备额度，用于应对枯水年应急供水或重大项目新增用水需求",
    SurplusUse.B_TRADE: "按水权交易相关规定纳入区域水权交易储备，向缺水区域或行业流转"
    "（甘州 3.(1)⑧：结余水量可进行区域内水权交易）",
    SurplusUse.C_GROUNDWATER_RECHARGE: "对地下水超采区，用于地下水回补，核减后续年度地下水开采水量",
    SurplusUse.D_ECOLOGICAL_FLOW: "对生态脆弱区域，用于河湖生态流量补充",
}


@dataclass(frozen=True, slots=True)
class SurplusLine:
    """The surplus of one source kind and the 7.1.3 uses open to it."""

    family: SourceFamily
    revenue_m3: Decimal
    expenditure_m3: Decimal
    uses: tuple[SurplusUse, ...]
    conditional: tuple[SurplusUse, ...]  # open if the area qualifies, which is not recorded

    @property
    def surplus_m3(self) -> Decimal:
        return self.revenue_m3 - self.expenditure_m3


def surplus_list(
    revenue: Mapping[Source, Decimal],
    expenditure: Mapping[Source, Decimal],
    *,
    groundwater_overdraft_area: bool | None = None,
    ecologically_fragile: bool | None = None,
) -> tuple[SurplusLine, ...]:
    """宁夏 7.1.3 per source kind with revenue beyond its expenditure.

    a) reserve and b) trade are open to every kind; c) recharge only to a
    groundwater surplus of an overdraft area (not drawing it is the recharge,
    and it lowers the following years' abstraction); d) ecological flow only
    to water that can reach a river or lake (every kind but groundwater) of an
    ecologically fragile area. Whether the area is either is not recorded
    (``None``): the use is listed as conditional.
    """
    income = by_family(revenue)
    spent = by_family(expenditure)
    lines = []
    for family in SourceFamily:
        have, used = income.get(family, ZERO), spent.get(family, ZERO)
        if have <= used:
            continue
        uses = [SurplusUse.A_RESERVE, SurplusUse.B_TRADE]
        conditional = []
        for use, applies, flag in (
            (
                SurplusUse.C_GROUNDWATER_RECHARGE,
                family is SourceFamily.GROUNDWATER,
                groundwater_overdraft_area,
            ),
            (
                SurplusUse.D_ECOLOGICAL_FLOW,
                family is not SourceFamily.GROUNDWATER,
                ecologically_fragile,
            ),
        ):
            if applies and flag is None:
                conditional.append(use)
            elif applies and flag:
                uses.append(use)
        lines.append(SurplusLine(family, have, used, tuple(uses), tuple(conditional)))
    return tuple(lines)
