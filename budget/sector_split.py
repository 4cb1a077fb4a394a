"""Sector split of budgets issued by source only (issue 12).

The Ganzhou township table issues every township its water by source, without
sectors (``Sector.UNSPECIFIED``, 未分行业). The ledger keeps them that way — the
split is not a budget change — and the by-sector views (appendices A and B,
6.5.3, the cut list, the reports) spread each 未分行业 cell over sectors with the
node's split:

- ``operator``: shares the water office gave for the node (not an estimate);
- ``quota``: shares of the node's zero-based quota calculation (甘州 附件1), an
  estimate;
- ``structure``: the district's published water-use structure, an estimate —
  甘州 2.(1) 合理配置用水结构: "2024 年农业用水、工业用水、居民生活用水、生态环境用水
  占比分别为 87.45％、0.31%、5.03%、7.22%", recorded by the Ganzhou import.

A node without a split of its own takes its nearest ancestor's. The four
families of a published structure go to one leaf sector each (our assumption,
the structure names no sub-sector): 农业 → 灌溉用水 (the seed's agriculture is
irrigation), 工业 → 工业, 居民生活 → 农村居民 (the table's lines are townships and
farms), 生态环境 → 城乡环境 (Ganzhou's ecological water is 公益林、绿化 irrigation;
河湖生态 is for listed rivers and lakes with flow targets, 宁夏 4.3.2 f).
Shares that do not add up to 1 (the seed's add up to 100.01 %) are divided by
their sum; the import reports that discrepancy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from budget.hierarchy import Hierarchy
from budget.kinds import Cell, Sector, SectorFamily
from budget.units import ZERO, m3

FAMILY_LEAF: Mapping[SectorFamily, Sector] = {
    SectorFamily.AGRICULTURE: Sector.IRRIGATION,
    SectorFamily.INDUSTRY: Sector.INDUSTRY,
    SectorFamily.DOMESTIC: Sector.RURAL_RESIDENTS,
    SectorFamily.ECOLOGY: Sector.URBAN_ENVIRONMENT,
}


class SplitBasis(StrEnum):
    OPERATOR = "operator"
    QUOTA = "quota"
    STRUCTURE = "structure"

    @property
    def is_estimate(self) -> bool:
        return self is not SplitBasis.OPERATOR

    @property
    def label(self) -> str:
        return {
            "operator": "水行政主管部门确定的比例",
            "quota": "零基定额测算",
            "structure": "区县用水结构配置",
        }[self.value]


class SplitError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SectorSplit:
    basis: SplitBasis
    shares: Mapping[Sector, Decimal]  # fractions of 1, every sector a leaf but 未分行业
    reference: str = ""

    def __post_init__(self) -> None:
        if not self.shares:
            raise SplitError("a split needs at least one sector")
        if Sector.UNSPECIFIED in self.shares:
            raise SplitError("未分行业 is what a split replaces, not a share of it")
        if any(v < 0 for v in self.shares.values()):
            raise SplitError("shares cannot be negative")
        if sum(self.shares.values(), ZERO) <= 0:
            raise SplitError("shares add up to 0")

    @property
    def note(self) -> str:
        """The line shown under every table that uses the split (Chinese documents)."""
        parts = "、".join(
            f"{sector.label}{(self.shares[sector] * 100).quantize(Decimal('0.01'))}%"
            for sector in Sector
            if sector in self.shares
        )
        mark = "估算" if self.basis.is_estimate else "确定"
        return (
            f"行业分配为{mark}：按{self.basis.label}将未分行业水量分到各行业（{parts}）"
            + (f"，依据：{self.reference}" if self.reference else "")
            + ("；可由水行政主管部门逐节点替换" if self.basis.is_estimate else "")
        )


def structure_split(
    percent: Mapping[SectorFamily, Decimal],
    reference: str,
    basis: SplitBasis = SplitBasis.STRUCTURE,
) -> SectorSplit:
    """A published structure (percent by family) as a split of leaf sectors,
    divided by its sum so the shares add up to 1 exactly enough for ``split_cells``."""
    total = sum(percent.values(), ZERO)
    if total <= 0:
        raise SplitError("structure shares add up to 0")
    return SectorSplit(
        basis,
        {FAMILY_LEAF[family]: share / total for family, share in percent.items() if share > 0},
        reference,
    )


def split_cells(cells: Mapping[Cell, Decimal], split: SectorSplit | None) -> dict[Cell, Decimal]:
    """``cells`` with every 未分行业 volume spread over the split's sectors, per
    source, to the litre; the parts add up to the volume exactly (the largest
    share takes the rounding), so every source total is unchanged."""
    out: dict[Cell, Decimal] = {}
    for (source, sector), volume in cells.items():
        if sector is not Sector.UNSPECIFIED or split is None or volume == ZERO:
            out[(source, sector)] = out.get((source, sector), ZERO) + volume
            continue
        weight = sum(split.shares.values(), ZERO)
        sectors = list(split.shares)
        parts = [m3(volume * split.shares[s] / weight) for s in sectors]
        largest = max(range(len(sectors)), key=lambda k: split.shares[sectors[k]])
        parts[largest] += volume - sum(parts, ZERO)
        for s, part in zip(sectors, parts, strict=True):
            out[(source, s)] = out.get((source, s), ZERO) + part
    return out


def split_of(
    hierarchy: Hierarchy, splits: Mapping[int, SectorSplit], node_id: int
) -> SectorSplit | None:
    """The node's own split, else its nearest ancestor's; None when there is none."""
    owner = next((n for n in hierarchy.path_to_root(node_id) if n in splits), None)
    return None if owner is None else splits[owner]
