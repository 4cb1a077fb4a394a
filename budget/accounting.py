"""Accounting checks of the Ningxia spec: 6.5.3 and 7.1.1 (the cut list of 7.1.2
and the surplus of 7.1.3: ``budget.cut_list``).

Revenue is available water by source (5.7, formula 1), expenditure is the
budgets by sector (6.5.1, formula 2). All checks return findings that name the
section; none of them changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from budget.kinds import Sector, Source
from budget.units import ZERO

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
