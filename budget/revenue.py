"""Revenue of a budget year (宁夏 5, 5.7): the available water of a node by source,
and the dynamic-adjustment trigger of 7.4.3 a).

Pure: records come in as values, findings go out. An operator records the
revenue of a node and year; ``forecast`` is the cap handed down plus the
forecast inflow, ``updated`` an actual or updated inflow during the year. The
newest record of each basis supersedes the older ones (kept as history).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from budget.accounting import Finding
from budget.kinds import Cell, Source, SourceFamily
from budget.units import ZERO, m3

INFLOW_DEVIATION_TRIGGER = Decimal("0.15")  # 宁夏 7.4.3 a): 偏差超过 ±15%


class RevenueBasis(StrEnum):
    FORECAST = "forecast"  # 下达指标 + 来水预测
    UPDATED = "updated"  # 来水实况 / 更新预报 during the year


@dataclass(frozen=True, slots=True)
class RevenueRecord:
    """One recorded revenue of a node and year, by source (m³)."""

    node_id: int
    year: int
    basis: RevenueBasis
    volumes: Mapping[Source, Decimal]
    reference: str = ""
    recorded_by: str = ""
    recorded_at: datetime | None = None
    record_id: int = 0

    @property
    def total_m3(self) -> Decimal:
        return sum(self.volumes.values(), ZERO)


def latest(records: Sequence[RevenueRecord], basis: RevenueBasis) -> RevenueRecord | None:
    """The record of ``basis`` that supersedes the others: the newest one (highest id)."""
    of_basis = [r for r in records if r.basis is basis]
    return max(of_basis, key=lambda r: r.record_id) if of_basis else None


def counted_revenue(
    volumes: Mapping[Source, Decimal], factor: Decimal, inflow_factor: Decimal = Decimal(1)
) -> dict[Source, Decimal]:
    """Revenue as the balance counts it: non-conventional water at the year's factor
    (甘州 1.(3)①, as the expenditure), then scaled by a 7.4.3 a) what-if."""
    counted = {
        s: m3(v * (factor if s.is_non_conventional else Decimal(1)) * inflow_factor)
        for s, v in volumes.items()
    }
    return {s: v for s, v in counted.items() if v}


def counted_cells(cells: Mapping[Cell, Decimal], factor: Decimal) -> dict[Cell, Decimal]:
    """Expenditure cells with non-conventional water at the year's factor (0: left out)."""
    counted = {
        cell: m3(v * factor) if cell[0].is_non_conventional else v for cell, v in cells.items()
    }
    return {cell: v for cell, v in counted.items() if v}


def by_family(volumes: Mapping[Source, Decimal]) -> dict[SourceFamily, Decimal]:
    out: dict[SourceFamily, Decimal] = {}
    for source, volume in volumes.items():
        out[source.family] = out.get(source.family, ZERO) + volume
    return out


def check_source_structure(
    revenue: Mapping[Source, Decimal], expenditure: Mapping[Source, Decimal]
) -> list[Finding]:
    """宁夏 7.1.1 先总量匹配、后结构适配 (and 7.2.1 b: 地下水严格按管控指标):
    per source kind (4.3.1 a–f), what is spent never exceeds what is available."""
    have, spend = by_family(revenue), by_family(expenditure)
    return [
        Finding(
            "7.1.1 revenue >= expenditure by source",
            f"{family.label} ({family.value}): expenditure {spent} m³ exceeds revenue "
            f"{have.get(family, ZERO)} m³",
            spent - have.get(family, ZERO),
        )
        for family, spent in sorted(spend.items())
        if spent > have.get(family, ZERO)
    ]


@dataclass(frozen=True, slots=True)
class InflowDeviation:
    """7.4.3 a): the updated inflow against the forecast, in total and by source kind."""

    forecast_m3: Decimal
    updated_m3: Decimal
    deviation: Decimal | None  # (updated − forecast) / forecast; None when forecast is 0
    by_family: Mapping[SourceFamily, Decimal | None] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    @property
    def triggered(self) -> bool:
        return bool(self.findings)


def _deviation(forecast: Decimal, updated: Decimal) -> Decimal | None:
    return None if forecast == ZERO else (updated - forecast) / forecast


def check_inflow_deviation(
    forecast: Mapping[Source, Decimal],
    updated: Mapping[Source, Decimal],
    threshold: Decimal = INFLOW_DEVIATION_TRIGGER,
) -> InflowDeviation:
    """宁夏 7.4.3 a): 来水与预测值偏差超过 ±15% triggers a dynamic adjustment.

    Checked on the total and on every source kind (a Yellow River shortfall
    matters even when groundwater makes the total look fine). "超过" is strict:
    exactly 15 % does not trigger. A kind with no forecast but an updated
    inflow is reported too (no base to compare with)."""
    f_total, u_total = sum(forecast.values(), ZERO), sum(updated.values(), ZERO)
    findings: list[Finding] = []
    total_dev = _deviation(f_total, u_total)
    if total_dev is not None and abs(total_dev) > threshold:
        findings.append(
            Finding(
                "7.4.3 a) inflow within ±15% of forecast",
                f"total inflow {u_total} m³ deviates {total_dev:+.4f} from the forecast "
                f"{f_total} m³: dynamic adjustment of the budget is triggered",
                u_total - f_total,
            )
        )
    f_fam, u_fam = by_family(forecast), by_family(updated)
    devs: dict[SourceFamily, Decimal | None] = {}
    for family in sorted(set(f_fam) | set(u_fam)):
        f, u = f_fam.get(family, ZERO), u_fam.get(family, ZERO)
        dev = devs[family] = _deviation(f, u)
        if (dev is None and u > ZERO) or (dev is not None and abs(dev) > threshold):
            findings.append(
                Finding(
                    "7.4.3 a) inflow within ±15% of forecast",
                    f"{family.label} ({family.value}): inflow {u} m³ against forecast {f} m³"
                    + (f" ({dev:+.4f})" if dev is not None else " (no forecast)"),
                    u - f,
                )
            )
    return InflowDeviation(f_total, u_total, total_dev, devs, tuple(findings))
