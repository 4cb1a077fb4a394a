"""Over-quota progressive charges (超定额累进加价), band by band, in exact Decimal.

Use within the quota is charged at the base price. The excess over the quota is
cut into bands by its share of the quota, and each band is charged at the base
price × its multiplier. Domain-brief example (set locally, not a seed figure):
on the excess ≤ 30 % ×1.3, 30–50 % ×1.5, > 50 % ×2 for surface water;
×1.5 / ×2 / ×3 for groundwater (``SURFACE_TIERS``, ``GROUNDWATER_TIERS``).

Tiers are configurable per area, source family and crop class; the most
specific match wins (``TierTable.schedule_for``). Nothing is rounded here:
invoicing rounds the total once (to the fen) so the bands still add up.
A zero quota makes every cubic metre excess, priced in the last band.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from budget.kinds import SourceFamily

ZERO = Decimal(0)


class ChargeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Band:
    up_to: Decimal | None  # upper bound of the excess as a share of quota (0.30 = 30 %); None: open
    multiplier: Decimal  # × base price on this band's volume


@dataclass(frozen=True, slots=True)
class TierSchedule:
    """Bands in ascending order; the last is open. Progressive: multipliers ≥ 1, non-decreasing."""

    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        if not self.bands or self.bands[-1].up_to is not None:
            raise ChargeError("a schedule needs bands and its last band must be open")
        bounds = [b.up_to for b in self.bands[:-1]]
        if any(b is None for b in bounds):
            raise ChargeError("only the last band may be open")
        shares = [b for b in bounds if b is not None]
        if any(s <= 0 for s in shares) or shares != sorted(set(shares)):
            raise ChargeError("band bounds must be positive and strictly increasing")
        multipliers = [b.multiplier for b in self.bands]
        if multipliers[0] < 1 or multipliers != sorted(multipliers):
            raise ChargeError("multipliers must be ≥ 1 and non-decreasing")

    @classmethod
    def of(cls, *bands: tuple[str | None, str]) -> TierSchedule:
        return cls(tuple(Band(None if up is None else Decimal(up), Decimal(m)) for up, m in bands))


SURFACE_TIERS = TierSchedule.of(("0.30", "1.3"), ("0.50", "1.5"), (None, "2"))
GROUNDWATER_TIERS = TierSchedule.of(("0.30", "1.5"), ("0.50", "2"), (None, "3"))


@dataclass(frozen=True, slots=True)
class TariffKey:
    """Where a schedule applies; ``None`` matches anything."""

    area: str | None = None
    source: SourceFamily | None = None
    crop_class: str | None = None


@dataclass(frozen=True, slots=True)
class TierTable:
    schedules: Mapping[TariffKey, TierSchedule]

    def schedule_for(self, *, area: str, source: SourceFamily, crop_class: str) -> TierSchedule:
        """Most specific match: area before source before crop class."""
        for a in (area, None):
            for s in (source, None):
                for c in (crop_class, None):
                    found = self.schedules.get(TariffKey(a, s, c))
                    if found is not None:
                        return found
        raise ChargeError(f"no tier schedule for {area}/{source.value}/{crop_class}")


DEFAULT_TABLE = TierTable({
    TariffKey(source=SourceFamily.YELLOW_RIVER): SURFACE_TIERS,
    TariffKey(source=SourceFamily.LOCAL_SURFACE): SURFACE_TIERS,
    TariffKey(source=SourceFamily.GROUNDWATER): GROUNDWATER_TIERS,
})


@dataclass(frozen=True, slots=True)
class BandCharge:
    from_m3: Decimal  # excess volume where the band starts
    to_m3: Decimal | None  # …and ends (None: open)
    volume_m3: Decimal  # of this use, in the band
    multiplier: Decimal
    amount: Decimal  # volume × base price × multiplier
    surcharge: Decimal  # amount − volume × base price


@dataclass(frozen=True, slots=True)
class ChargeBreakdown:
    use_m3: Decimal
    quota_m3: Decimal
    price_per_m3: Decimal
    within_quota_m3: Decimal
    within_quota_amount: Decimal
    bands: tuple[BandCharge, ...]

    @property
    def excess_m3(self) -> Decimal:
        return sum((b.volume_m3 for b in self.bands), ZERO)

    @property
    def surcharge(self) -> Decimal:
        return sum((b.surcharge for b in self.bands), ZERO)

    @property
    def total(self) -> Decimal:
        return self.within_quota_amount + sum((b.amount for b in self.bands), ZERO)


def progressive_charge(*, use_m3: Decimal, quota_m3: Decimal, price_per_m3: Decimal,
                       schedule: TierSchedule) -> ChargeBreakdown:
    if use_m3 < 0 or quota_m3 < 0 or price_per_m3 < 0:
        raise ChargeError("use, quota and price must be ≥ 0")
    within = min(use_m3, quota_m3)
    excess = use_m3 - within
    lines = []
    lower = ZERO
    for band in schedule.bands:
        upper = None if band.up_to is None else band.up_to * quota_m3
        volume = max(ZERO, (excess if upper is None else min(excess, upper)) - lower)
        base = volume * price_per_m3
        amount = base * band.multiplier
        lines.append(BandCharge(lower, upper, volume, band.multiplier, amount, amount - base))
        if upper is not None:
            lower = upper
    return ChargeBreakdown(use_m3, quota_m3, price_per_m3, within, within * price_per_m3,
                           tuple(lines))
