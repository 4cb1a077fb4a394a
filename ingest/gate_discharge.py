"""Discharge and volume of canal gates without a flow meter. Pure code.

Discharge comes from what the gate reports (upstream and downstream water
level, gate opening) through one of:

* a sluice gate in orifice flow (闸孔出流), after the textbook treatment of a
  flat-bottomed sluice gate (吴持恭 主编《水力学》, chapter on weir and
  gate-orifice flow; Henderson, *Open Channel Flow*, 1966, ch. 6):

  - free flow ``Q = μ·b·e·√(2gH)`` with H the upstream head over the sill
    (approach velocity head neglected: canal approach velocities are small
    and the gate's μ is calibrated against that same H);
  - gate-orifice flow holds only for ``e/H ≤ 0.65``; above that the gate no
    longer controls the flow (weir flow) and we return no discharge rather
    than a wrong one;
  - submergence check: the vena contracta depth is ``h_c = ε·e`` (ε the
    contraction coefficient, ≈ 0.61–0.62 for a vertical gate); its conjugate
    depth is ``h_c'' = h_c/2·(√(1 + 8·Fr_c²) − 1)`` with
    ``Fr_c² = Q²/(g·b²·h_c³)``. If the downstream depth over the sill
    ``h_t > h_c''`` the jump is drowned into the gate: submerged flow,
    computed with the head difference, ``Q = μ_s·b·e·√(2g(H − h_t))``
    (submerged-orifice formula; μ_s defaults to μ). Without a downstream
    level the flow is computed as free and flagged ``free_unchecked``;
* a per-gate rating curve on the upstream level: a piecewise-linear table, or
  ``Q = a·(h − h₀)ᵇ``.

Gate parameters are versioned with ``valid_from`` like power-to-water
coefficients; the version valid at a sample's time is used for that sample.

Volume is the trapezoidal integral of discharge over time. An interval longer
than ``max_gap``, or touching a sample without a discharge, is not integrated:
it is returned as a :class:`Gap` with its bounds, never interpolated across.
Every volume carries the method ``computed``.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

G = 9.81  # m/s²
METHOD = "computed"
MAX_ORIFICE_RATIO = 0.65  # e/H above this: weir flow, not gate-orifice flow


class Regime(StrEnum):
    FREE = "free"
    FREE_UNCHECKED = "free_unchecked"  # no downstream level to check submergence
    SUBMERGED = "submerged"
    CLOSED = "closed"  # opening 0: Q = 0
    DRY = "dry"  # upstream level at or below the sill: Q = 0
    WEIR = "weir"  # e/H > 0.65: outside the orifice method, no Q
    NO_HEAD = "no_head"  # downstream at or above upstream: no Q
    RATING = "rating"
    OUT_OF_RANGE = "out_of_range"  # level outside the rating table: no Q
    MISSING_INPUT = "missing_input"
    NO_PARAMETERS = "no_parameters"  # no gate version valid at that time


class Extrapolation(StrEnum):
    REFUSE = "refuse"  # outside the table: no discharge
    LINEAR = "linear"  # extend the end segments (never below 0)


@dataclass(frozen=True, slots=True)
class OrificeGate:
    width_m: float  # b
    sill_m: float  # sill elevation, same datum as the levels
    mu: float  # discharge coefficient μ, free flow
    contraction: float = 0.61  # ε
    mu_submerged: float | None = None  # μ_s; None -> μ


@dataclass(frozen=True, slots=True)
class PowerLawCurve:
    """Q = a·(h − h0)^b for h > h0, 0 at or below h0."""

    a: float
    h0: float
    b: float


@dataclass(frozen=True, slots=True)
class TableCurve:
    """(level m, Q m³/s) points, levels strictly increasing, linear in between."""

    points: tuple[tuple[float, float], ...]
    extrapolate: Extrapolation = Extrapolation.REFUSE

    def __post_init__(self) -> None:
        levels = [h for h, _ in self.points]
        if len(levels) < 2 or any(b <= a for a, b in itertools.pairwise(levels)):
            raise ValueError("a rating table needs ≥ 2 points with strictly increasing levels")
        if any(q < 0 for _, q in self.points):
            raise ValueError("a rating table cannot hold negative discharge")


Rating = OrificeGate | PowerLawCurve | TableCurve


@dataclass(frozen=True, slots=True)
class GateVersion:
    valid_from: datetime
    rating: Rating


@dataclass(frozen=True, slots=True)
class GateObservation:
    ts: datetime
    upstream_m: float | None  # water level elevation
    downstream_m: float | None = None
    opening_m: float | None = None  # e; only the orifice method needs it


@dataclass(frozen=True, slots=True)
class Discharge:
    q_m3s: float | None  # None: not computable; never a made-up 0
    regime: Regime
    method: str = METHOD


def version_at(versions: Sequence[GateVersion], ts: datetime) -> GateVersion | None:
    """The gate parameters valid at ts; versions sorted by valid_from."""
    index = bisect.bisect_right([v.valid_from for v in versions], ts) - 1
    return versions[index] if index >= 0 else None


def orifice_discharge(gate: OrificeGate, *, upstream_m: float, opening_m: float,
                      downstream_m: float | None) -> Discharge:
    head = upstream_m - gate.sill_m
    if opening_m <= 0:
        return Discharge(0.0, Regime.CLOSED)
    if head <= 0:
        return Discharge(0.0, Regime.DRY)
    if opening_m / head > MAX_ORIFICE_RATIO:
        return Discharge(None, Regime.WEIR)
    free = gate.mu * gate.width_m * opening_m * math.sqrt(2 * G * head)
    if downstream_m is None:
        return Discharge(free, Regime.FREE_UNCHECKED)
    tail = downstream_m - gate.sill_m
    if tail >= head:
        return Discharge(None, Regime.NO_HEAD)
    contracted = gate.contraction * opening_m
    froude2 = free**2 / (G * gate.width_m**2 * contracted**3)
    conjugate = contracted / 2 * (math.sqrt(1 + 8 * froude2) - 1)
    if tail <= conjugate:
        return Discharge(free, Regime.FREE)
    mu_s = gate.mu if gate.mu_submerged is None else gate.mu_submerged
    return Discharge(mu_s * gate.width_m * opening_m * math.sqrt(2 * G * (head - tail)),
                     Regime.SUBMERGED)


def rating_discharge(curve: PowerLawCurve | TableCurve, level_m: float) -> Discharge:
    if isinstance(curve, PowerLawCurve):
        depth = level_m - curve.h0
        return Discharge(curve.a * depth**curve.b if depth > 0 else 0.0, Regime.RATING)
    points = curve.points
    levels = [h for h, _ in points]
    if not levels[0] <= level_m <= levels[-1] and curve.extrapolate is Extrapolation.REFUSE:
        return Discharge(None, Regime.OUT_OF_RANGE)
    i = min(max(bisect.bisect_right(levels, level_m), 1), len(points) - 1)
    (h1, q1), (h2, q2) = points[i - 1], points[i]
    q = q1 + (q2 - q1) * (level_m - h1) / (h2 - h1)
    return Discharge(max(q, 0.0), Regime.RATING)


def discharge(rating: Rating, obs: GateObservation) -> Discharge:
    if obs.upstream_m is None:
        return Discharge(None, Regime.MISSING_INPUT)
    if isinstance(rating, OrificeGate):
        if obs.opening_m is None:
            return Discharge(None, Regime.MISSING_INPUT)
        return orifice_discharge(rating, upstream_m=obs.upstream_m, opening_m=obs.opening_m,
                                 downstream_m=obs.downstream_m)
    return rating_discharge(rating, obs.upstream_m)


def discharge_series(observations: Sequence[GateObservation],
                     versions: Sequence[GateVersion]) -> list[tuple[datetime, Discharge]]:
    """Each observation with the parameters valid at its own time."""
    out = []
    for obs in observations:
        version = version_at(versions, obs.ts)
        result = (Discharge(None, Regime.NO_PARAMETERS) if version is None
                  else discharge(version.rating, obs))
        out.append((obs.ts, result))
    return out


@dataclass(frozen=True, slots=True)
class Gap:
    start: datetime
    end: datetime
    reason: str  # "silence" (longer than max_gap) | "no_discharge"


@dataclass(frozen=True, slots=True)
class GateVolume:
    volume_m3: float
    covered: timedelta  # time actually integrated
    gaps: tuple[Gap, ...]
    method: str = METHOD


def integrate(samples: Sequence[tuple[datetime, float | None]], *,
              max_gap: timedelta) -> GateVolume:
    """Trapezoidal volume (m³) of (ts, Q m³/s) samples, sorted by time here.

    Repeated timestamps with the same Q are merged; with different Q they are
    a ValueError (the caller must decide which to trust). Consecutive gaps are
    merged into one.
    """
    ordered = sorted(samples, key=lambda s: s[0])
    volume = 0.0
    covered = timedelta()
    gaps: list[Gap] = []
    for (t1, q1), (t2, q2) in itertools.pairwise(ordered):
        if t1 == t2:
            if q1 != q2:
                raise ValueError(f"two discharges at {t1.isoformat()}: {q1} and {q2}")
            continue
        reason = ("no_discharge" if q1 is None or q2 is None
                  else "silence" if t2 - t1 > max_gap else None)
        if reason is None:
            assert q1 is not None
            assert q2 is not None
            volume += (q1 + q2) / 2 * (t2 - t1).total_seconds()
            covered += t2 - t1
        elif gaps and gaps[-1].end == t1 and gaps[-1].reason == reason:
            gaps[-1] = Gap(gaps[-1].start, t2, reason)
        else:
            gaps.append(Gap(t1, t2, reason))
    return GateVolume(volume, covered, tuple(gaps))
