"""Monthly plan profile of a node and the time progress it gives.

Time progress at a moment is the share of the year's budget the plan expects
to be used by then: the weights of the months already over plus the elapsed
fraction of the current month's weight. Execution monitoring compares it with
the execution rate.

The default profile is an irrigation-season profile for the Hexi corridor:
irrigation runs roughly April–November with a winter irrigation round (冬灌)
in November (domain brief). The weights are our assumption, not a seed figure;
operators set a node's own profile where they know better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from budget.year_ledger import BUDGET_TIMEZONE, year_bounds


class ProfileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PlanProfile:
    """Twelve monthly weights, January first, summing to 1."""

    weights: tuple[Decimal, ...]

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
"""Roughly even use, for industry and domestic supply nodes."""
