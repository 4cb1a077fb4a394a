"""The hard rules every budget change must keep, as checks that name the rule.

Each check looks at one state (allocations at one moment) and returns the
violations it finds; ``budget.changes`` decides which states to look at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from budget.kinds import Cell, Source
from budget.ledger import by_source
from budget.units import ZERO, m3


class Rule(StrEnum):
    """A rule of the seeds; ``section`` quotes where it comes from."""

    NON_NEGATIVE = "non_negative_cell"
    CHILDREN_WITHIN_PARENT_TOTAL = "children_within_parent_total"
    CHILDREN_WITHIN_PARENT_SOURCE = "children_within_parent_source"
    WITHIN_WITHDRAWAL_PERMIT = "within_withdrawal_permit"
    WITHIN_CONTROL_FIGURE = "within_control_figure"
    TRADE_WITHIN_SURPLUS = "trade_within_surplus"
    TRADE_SAME_YEAR = "trade_same_year"
    TRADE_WITHIN_SCOPE = "trade_within_scope"
    ENTRY_WITHIN_YEAR = "entry_within_budget_year"
    POSITIVE_VOLUME = "positive_volume"

    @property
    def section(self) -> str:
        return _SECTIONS[self]


_SECTIONS = {
    Rule.NON_NEGATIVE: "甘州 3.(1)⑦: 核减 reduces an issued budget; no cell goes below zero",
    Rule.CHILDREN_WITHIN_PARENT_TOTAL: (
        "甘州 1.(1)①: 各乡镇、各用水单位水预算不得突破区政府下达的总量控制指标"
    ),
    Rule.CHILDREN_WITHIN_PARENT_SOURCE: (
        "甘州 1.(1)①: 地表水取用水量不得超过水量分配方案明确的可用水量，"
        "地下水开采量不得超过本区域地下水量控制指标"
    ),
    Rule.WITHIN_WITHDRAWAL_PERMIT: "甘州 (四)2: 确定和下达预算指标时，不得超过取水许可批准总量",
    Rule.WITHIN_CONTROL_FIGURE: (
        "甘州 1.(1)①: 全区年度水预算不得突破市政府下达的总量控制指标 (non-conventional "
        "water counted at the policy's factor, 甘州 1.(3)①)"
    ),
    Rule.TRADE_WITHIN_SURPLUS: (
        "甘州 3.(1)⑧ and (四)5②: 通过水预算管理结余的水量可进行区域内水权交易"
    ),
    Rule.TRADE_SAME_YEAR: "甘州 (四)5③: 节余量交易是一种预算年度内短周期交易",
    Rule.TRADE_WITHIN_SCOPE: "甘州 (四)5①: 限制在水预算管理范围内进行交易",
    Rule.ENTRY_WITHIN_YEAR: "宁夏 4.2.2: 核算周期为自然年，即每年1月1日-12月31日",
    Rule.POSITIVE_VOLUME: "a ledger entry moves a positive volume; its kind gives the sign",
}


@dataclass(frozen=True, slots=True)
class RuleViolation:
    rule: Rule
    node_id: int | None
    message: str
    excess_m3: Decimal = ZERO
    subject: str = ""  # the cell, source or permit concerned, when there is one

    @property
    def section(self) -> str:
        return self.rule.section


@dataclass(frozen=True, slots=True)
class Permit:
    """A withdrawal permit (取水许可) of a node for one year.

    ``source=None`` limits the node's conventional water together;
    non-conventional water needs no withdrawal permit (甘州 1.(3)①: 再生水利用
    不受用水总量指标限制), so it is never counted against a permit.
    """

    node_id: int
    year: int
    volume_m3: Decimal
    source: Source | None = None
    reference: str = ""


@dataclass(frozen=True, slots=True)
class ControlFigure:
    """A total-volume control figure (用水总量控制指标) handed down to a node from above."""

    node_id: int
    year: int
    volume_m3: Decimal


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """Per-year settings of the rules.

    ``non_conventional_factor``: 甘州 1.(3)① 使用非常规水可不纳入水预算基准额度，
    或按比例折减后计入预算总额 — 0 leaves non-conventional water out of the
    totals, 1 counts it in full, anything between discounts it.
    """

    non_conventional_factor: Decimal = ZERO
    permits: tuple[Permit, ...] = field(default=())
    control_figures: tuple[ControlFigure, ...] = field(default=())

    def __post_init__(self) -> None:
        if not ZERO <= self.non_conventional_factor <= 1:
            raise ValueError("non_conventional_factor must lie in [0, 1]")

    def permits_of(self, node_id: int, year: int) -> list[Permit]:
        return [p for p in self.permits if p.node_id == node_id and p.year == year]

    def control_figures_of(self, node_id: int, year: int) -> list[ControlFigure]:
        return [c for c in self.control_figures if c.node_id == node_id and c.year == year]


def counted_total(allocation: Mapping[Cell, Decimal], factor: Decimal) -> Decimal:
    """Total counted against a cap: non-conventional water times ``factor``."""
    conventional = ZERO
    non_conventional = ZERO
    for (source, _sector), volume in allocation.items():
        if source.is_non_conventional:
            non_conventional += volume
        else:
            conventional += volume
    return m3(conventional + non_conventional * factor)


def check_non_negative(node_id: int, allocation: Mapping[Cell, Decimal]) -> list[RuleViolation]:
    return [
        RuleViolation(
            Rule.NON_NEGATIVE,
            node_id,
            f"cell {source.value}/{sector.value} would be {volume} m³",
            -volume,
            f"{source.value}/{sector.value}",
        )
        for (source, sector), volume in allocation.items()
        if volume < ZERO
    ]


def check_children_within_parent(
    parent_id: int,
    parent: Mapping[Cell, Decimal],
    children: Iterable[Mapping[Cell, Decimal]],
    factor: Decimal,
) -> list[RuleViolation]:
    """Children's totals never exceed the parent's, per source as well."""
    children_sources: dict[Source, Decimal] = {}
    children_total = ZERO
    for child in children:
        children_total += counted_total(child, factor)
        for source, volume in by_source(child).items():
            children_sources[source] = children_sources.get(source, ZERO) + volume
    violations: list[RuleViolation] = []
    parent_total = counted_total(parent, factor)
    if children_sources and children_total > parent_total:
        violations.append(
            RuleViolation(
                Rule.CHILDREN_WITHIN_PARENT_TOTAL,
                parent_id,
                f"children hold {children_total} m³, parent has {parent_total} m³",
                children_total - parent_total,
            )
        )
    parent_sources = by_source(parent)
    for source, volume in sorted(children_sources.items()):
        limit = parent_sources.get(source, ZERO)
        if volume > limit:
            violations.append(
                RuleViolation(
                    Rule.CHILDREN_WITHIN_PARENT_SOURCE,
                    parent_id,
                    f"children hold {volume} m³ of {source.value}, parent has {limit} m³",
                    volume - limit,
                    source.value,
                )
            )
    return violations


def check_permits(
    node_id: int, allocation: Mapping[Cell, Decimal], permits: Iterable[Permit]
) -> list[RuleViolation]:
    violations: list[RuleViolation] = []
    sources = by_source(allocation)
    for permit in permits:
        if permit.source is None:
            held = sum((v for s, v in sources.items() if not s.is_non_conventional), ZERO)
            what = "conventional water"
        else:
            held = sources.get(permit.source, ZERO)
            what = permit.source.value
        if held > permit.volume_m3:
            violations.append(
                RuleViolation(
                    Rule.WITHIN_WITHDRAWAL_PERMIT,
                    node_id,
                    f"{held} m³ of {what} exceeds permit {permit.reference or ''} "
                    f"of {permit.volume_m3} m³".replace("  ", " "),
                    held - permit.volume_m3,
                    what,
                )
            )
    return violations


def check_control_figures(
    node_id: int,
    allocation: Mapping[Cell, Decimal],
    figures: Iterable[ControlFigure],
    factor: Decimal,
) -> list[RuleViolation]:
    held = counted_total(allocation, factor)
    return [
        RuleViolation(
            Rule.WITHIN_CONTROL_FIGURE,
            node_id,
            f"counted total {held} m³ exceeds the control figure of {figure.volume_m3} m³",
            held - figure.volume_m3,
            "control_figure",
        )
        for figure in figures
        if held > figure.volume_m3
    ]
