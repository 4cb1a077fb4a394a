"""Zero-based quota maths (甘州 附件1 不同行业类型水预算额度核算方法).

Produces a *proposed* budget; an operator then issues it as ledger entries.

- Agriculture: 农业水预算额度 = 灌溉用水定额 ÷ 农田灌溉水有效利用系数 × 灌溉面积,
  summed over crops (Ganzhou's coefficient is 0.625 in 2023, target 0.635).
- Industry and services: 工业服务业水预算额度 = 当年申报产量 × 用水定额.
- Residents: population × per-capita norm (升/(人·天)) × days ÷ 1000, its own
  line per urban or rural population. The seed caps the norms (甘州 主要目标:
  "农村生活用水定额控制在 80 升/（人·天）以内，城镇生活用水定额控制在 120 升/（人·天）
  以内"); a norm above its cap is refused.
- Fallback, when the production plan is unknown: 近三年平均用水量 … 加权平均
  调节计算 — a weighted three-year average, times an optional adjustment for
  the unit's water-saving work.
- The proposal never exceeds the unit's withdrawal permit: 以用水单位的用水权
  为预算安排的上限 (甘州 1.(1)③); when it would, it is capped and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from budget.kinds import Cell, Sector, Source
from budget.units import ZERO, m3

DEFAULT_THREE_YEAR_WEIGHTS = (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))
"""Most recent year first. The seed gives no weights; this is our default."""


class QuotaError(ValueError):
    """An input that cannot give a quota; names the field at fault."""


@dataclass(frozen=True, slots=True)
class CropLine:
    crop: str
    area_mu: Decimal  # 亩
    quota_m3_per_mu: Decimal  # net irrigation quota (田间定额)
    source: Source
    sector: Sector = Sector.IRRIGATION
    efficiency: Decimal | None = None  # this crop's coefficient; None: the proposal's


@dataclass(frozen=True, slots=True)
class ProductLine:
    product: str
    declared_output: Decimal  # in the quota's unit (t, 10⁴ kWh, beds, m² …)
    quota_m3_per_unit: Decimal
    source: Source
    sector: Sector = Sector.INDUSTRY


DOMESTIC_NORM_CAP_L = {Sector.RURAL_RESIDENTS: Decimal(80), Sector.URBAN_RESIDENTS: Decimal(120)}
"""升/(人·天), 甘州 主要目标 (农村 80, 城镇 120)."""


@dataclass(frozen=True, slots=True)
class ResidentsLine:
    """城乡居民生活用水 of a population at a per-capita norm."""

    population: Decimal  # 人
    norm_l_per_person_day: Decimal  # 升/(人·天)
    source: Source
    sector: Sector = Sector.RURAL_RESIDENTS  # or URBAN_RESIDENTS
    days: int = 365


def residents_quota(line: ResidentsLine) -> Decimal:
    if line.sector not in DOMESTIC_NORM_CAP_L:
        raise QuotaError(
            f"residents: sector must be domestic.rural or domestic.urban, got {line.sector.value}"
        )
    _positive("residents: population", line.population)
    _positive("residents: norm_l_per_person_day", line.norm_l_per_person_day)
    cap = DOMESTIC_NORM_CAP_L[line.sector]
    if line.norm_l_per_person_day > cap:
        raise QuotaError(
            f"residents: norm {line.norm_l_per_person_day} 升/(人·天) is above the "
            f"{line.sector.label} cap of {cap} (甘州 主要目标)"
        )
    if not 0 < line.days <= 366:
        raise QuotaError(f"residents: days must lie in 1..366, got {line.days}")
    return m3(line.population * line.norm_l_per_person_day * line.days / 1000)


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """Actual use of the last three years, most recent first."""

    source: Source
    sector: Sector
    used_m3: tuple[Decimal, Decimal, Decimal]
    adjustment: Decimal = Decimal(1)  # e.g. 0.95 for a completed water-saving project


@dataclass(frozen=True, slots=True)
class ProposedLine:
    source: Source
    sector: Sector
    volume_m3: Decimal
    basis: str  # how the figure was reached, for the operator


@dataclass(frozen=True, slots=True)
class ProposedBudget:
    lines: tuple[ProposedLine, ...]
    capped_by_permit: bool
    uncapped_total_m3: Decimal

    @property
    def total_m3(self) -> Decimal:
        return sum((line.volume_m3 for line in self.lines), ZERO)

    def cells(self) -> dict[Cell, Decimal]:
        out: dict[Cell, Decimal] = {}
        for line in self.lines:
            key = (line.source, line.sector)
            out[key] = out.get(key, ZERO) + line.volume_m3
        return out


def _positive(name: str, value: Decimal, *, allow_zero: bool = True) -> None:
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        raise QuotaError(f"{name} must be {'≥ 0' if allow_zero else '> 0'}, got {value}")


def irrigation_quota(line: CropLine, efficiency: Decimal) -> Decimal:
    """Gross irrigation volume of one crop: quota ÷ efficiency × area, in m³."""
    _positive(f"{line.crop}: area_mu", line.area_mu)
    _positive(f"{line.crop}: quota_m3_per_mu", line.quota_m3_per_mu)
    if not Decimal(0) < efficiency <= 1:
        raise QuotaError(f"efficiency coefficient must lie in (0, 1], got {efficiency}")
    return m3(line.quota_m3_per_mu / efficiency * line.area_mu)


def product_quota(line: ProductLine) -> Decimal:
    _positive(f"{line.product}: declared_output", line.declared_output)
    _positive(f"{line.product}: quota_m3_per_unit", line.quota_m3_per_unit)
    return m3(line.declared_output * line.quota_m3_per_unit)


def weighted_history(
    line: HistoryLine, weights: Sequence[Decimal] = DEFAULT_THREE_YEAR_WEIGHTS
) -> Decimal:
    if len(weights) != 3 or sum(weights) != 1 or any(w < 0 for w in weights):
        raise QuotaError("three-year weights must be three non-negative numbers summing to 1")
    for year_index, used in enumerate(line.used_m3):
        _positive(f"used_m3[{year_index}]", used)
    _positive("adjustment", line.adjustment, allow_zero=False)
    average = sum((w * u for w, u in zip(weights, line.used_m3, strict=True)), ZERO)
    return m3(average * line.adjustment)


def propose_budget(
    *,
    crops: Sequence[CropLine] = (),
    efficiency: Decimal | None = None,
    products: Sequence[ProductLine] = (),
    history: Sequence[HistoryLine] = (),
    residents: Sequence[ResidentsLine] = (),
    weights: Sequence[Decimal] = DEFAULT_THREE_YEAR_WEIGHTS,
    permit_m3: Decimal | None = None,
) -> ProposedBudget:
    """One unit's zero-based proposal; scaled down pro rata to its permit if over it."""
    lines: list[ProposedLine] = []
    for crop in crops:
        coefficient = crop.efficiency if crop.efficiency is not None else efficiency
        if coefficient is None:
            raise QuotaError(f"efficiency: required for crop {crop.crop!r} (none given)")
        lines.append(
            ProposedLine(
                crop.source,
                crop.sector,
                irrigation_quota(crop, coefficient),
                f"{crop.crop}: {crop.quota_m3_per_mu} m³/亩 ÷ {coefficient} × {crop.area_mu} 亩",
            )
        )
    for product in products:
        lines.append(
            ProposedLine(
                product.source,
                product.sector,
                product_quota(product),
                f"{product.product}: {product.declared_output} × {product.quota_m3_per_unit} m³",
            )
        )
    for people in residents:
        lines.append(
            ProposedLine(
                people.source,
                people.sector,
                residents_quota(people),
                f"{people.sector.label}: {people.population} 人 × "
                f"{people.norm_l_per_person_day} 升/(人·天) × {people.days} 天",
            )
        )
    for past in history:
        lines.append(
            ProposedLine(
                past.source,
                past.sector,
                weighted_history(past, weights),
                f"three-year weighted average {list(map(str, weights))} × {past.adjustment}",
            )
        )
    uncapped = sum((line.volume_m3 for line in lines), ZERO)
    if permit_m3 is None or uncapped <= permit_m3:
        return ProposedBudget(tuple(lines), False, uncapped)
    _positive("permit_m3", permit_m3)
    return ProposedBudget(_scale_to(lines, permit_m3, uncapped), True, uncapped)


def _scale_to(
    lines: list[ProposedLine], cap: Decimal, uncapped: Decimal
) -> tuple[ProposedLine, ...]:
    """Scale pro rata; the largest line takes the rounding so the sum is exactly the cap."""
    scaled = [m3(line.volume_m3 * cap / uncapped) for line in lines]
    largest = max(range(len(lines)), key=lambda i: scaled[i])
    scaled[largest] += cap - sum(scaled, ZERO)
    return tuple(
        ProposedLine(line.source, line.sector, volume, f"{line.basis}; capped at permit {cap} m³")
        for line, volume in zip(lines, scaled, strict=True)
    )
