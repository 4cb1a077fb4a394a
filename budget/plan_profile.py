"""Monthly plan profile of a node and the time progress it gives.

Time progress at a moment is the share of the year's budget the plan expects
to be used by then: the weights of the months already over plus the elapsed
fraction of the current month's weight. Execution monitoring compares it with
the execution rate.

A node's own profile (``budget_plan_profiles``) wins. Without one, the node
takes the profile of its budget's dominant sector (``profile_for``, issue 15):
water supply (生活) and industry draw evenly through the year (``EVEN``,
exactly the elapsed share of the year), so a water utility drawing evenly
is on pace on 1 March; irrigation, fish ponds and ecological replenishment
follow the irrigation season
(``IRRIGATION_SEASON``): irrigation runs roughly April–November with a winter
irrigation round (冬灌) in November (domain brief). Livestock is watered every
day: even. Volumes issued by source only (未分行业, the Ganzhou township table)
keep the irrigation season, the old default. The weights are our assumption,
not a seed figure; operators set a node's own profile where they know better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from budget.kinds import Sector, Source
from budget.year_ledger import BUDGET_TIMEZONE, year_bounds


class ProfileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PlanProfile:
    """Twelve monthly weights, January first, summing to 1. ``by_time``: the plan is
    exactly the elapsed share of the year (leap years too); the weights then only
    describe it per month (for charts)."""

    weights: tuple[Decimal, ...]
    by_time: bool = False

    def __post_init__(self) -> None:
        if len(self.weights) != 12:
            raise ProfileError(f"a plan profile has 12 monthly weights, got {len(self.weights)}")
        if any(w < 0 for w in self.weights):
            raise ProfileError("monthly weights must be ≥ 0")
        if sum(self.weights) != 1:
            raise ProfileError(f"monthly weights must sum to 1, got {sum(self.weights)}")

    @classmethod
    def of(cls, weights: Sequence[Decimal | str | int]) -> PlanProfile:
        return cls(tuple(Decimal(w) for w in weights))

    def time_progress(self, year: int, at: datetime) -> Decimal:
        """Planned share of the year's budget used by ``at`` (0 before, 1 after the year)."""
        start, end = year_bounds(year)
        if at <= start:
            return Decimal(0)
        if at >= end:
            return Decimal(1)
        if self.by_time:
            return Decimal((at - start).total_seconds()) / Decimal((end - start).total_seconds())
        local = at.astimezone(BUDGET_TIMEZONE)
        month_start = datetime(year, local.month, 1, tzinfo=BUDGET_TIMEZONE)
        next_month = (
            datetime(year, local.month + 1, 1, tzinfo=BUDGET_TIMEZONE) if local.month < 12 else end
        )
        elapsed = Decimal((local - month_start).total_seconds()) / Decimal(
            (next_month - month_start).total_seconds()
        )
        done = sum(self.weights[: local.month - 1], Decimal(0))
        return done + self.weights[local.month - 1] * elapsed

    def planned_volume(self, budget_m3: Decimal, year: int, at: datetime) -> Decimal:
        return budget_m3 * self.time_progress(year, at)


IRRIGATION_SEASON = PlanProfile.of(
    ["0.01", "0.01", "0.02", "0.08", "0.14", "0.15", "0.16", "0.13", "0.08", "0.06", "0.14", "0.02"]
)
"""Default: Hexi-corridor irrigation season April–November with a November winter round."""

UNIFORM = PlanProfile.of(
    ["0.08", "0.08", "0.08", "0.08", "0.08", "0.08", "0.09", "0.09", "0.09", "0.09", "0.08", "0.08"]
)
"""Roughly even use by month (an operator's example; not a default)."""

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_EVEN_WEIGHTS = [(Decimal(d) / 365).quantize(Decimal("0.000001")) for d in _DAYS[:-1]]
EVEN = PlanProfile((*_EVEN_WEIGHTS, 1 - sum(_EVEN_WEIGHTS, Decimal(0))), by_time=True)
"""Even through the year, day by day: water supply and industry (issue 15)."""

SECTOR_PROFILES: dict[Sector, PlanProfile] = {
    Sector.IRRIGATION: IRRIGATION_SEASON,
    Sector.FISH_POND: IRRIGATION_SEASON,
    Sector.LIVESTOCK: EVEN,
    Sector.INDUSTRY: EVEN,
    Sector.URBAN_RESIDENTS: EVEN,
    Sector.RURAL_RESIDENTS: EVEN,
    Sector.SERVICES: EVEN,
    Sector.CONSTRUCTION: EVEN,
    Sector.RIVER_LAKE: IRRIGATION_SEASON,
    Sector.URBAN_ENVIRONMENT: IRRIGATION_SEASON,
    Sector.UNSPECIFIED: IRRIGATION_SEASON,
}
"""The default profile of each sector (used when a node has no profile of its own)."""

EVEN_SECTORS = tuple(sorted(s.value for s, p in SECTOR_PROFILES.items() if p != IRRIGATION_SEASON))
"""Sectors whose default profile is not the irrigation season."""


def dominant_sector(cells: Mapping[tuple[Source, Sector], Decimal]) -> Sector | None:
    """The sector with the largest budget over all sources (ties: the first in
    ``Sector`` order); ``None`` without any positive volume."""
    by_sector: dict[Sector, Decimal] = {}
    for (_source, sector), volume in cells.items():
        by_sector[sector] = by_sector.get(sector, Decimal(0)) + volume
    order = list(Sector)
    ranked = sorted((v, -order.index(s), s) for s, v in by_sector.items() if v > 0)
    return ranked[-1][2] if ranked else None


def profile_for(own: PlanProfile | None,
                cells: Mapping[tuple[Source, Sector], Decimal]) -> PlanProfile:
    """The node's own profile, else its dominant sector's, else the irrigation season."""
    if own is not None:
        return own
    sector = dominant_sector(cells)
    return IRRIGATION_SEASON if sector is None else SECTOR_PROFILES[sector]
