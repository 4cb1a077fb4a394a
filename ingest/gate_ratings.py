"""Gate ratings: a canal gate's discharge parameters as registry records. Pure code.

A rating is valid from ``valid_from`` until the next rating of the same site,
like a power-to-water coefficient. Three kinds (see ``ingest.gate_discharge``):

* ``orifice``: ``width_m`` (b), ``sill_m`` (sill elevation), ``mu`` (μ), optional
  ``contraction`` (ε, default 0.61) and ``mu_submerged`` (μ_s, default μ);
* ``power_law``: ``a``, ``h0``, ``b`` for Q = a·(h − h0)^b on the upstream level;
* ``table``: ``points``, (level m, Q m³/s) pairs with increasing levels, either a
  YAML list of pairs or text ``"1203.2:0 1203.5:0.8"``; ``extrapolate``
  ``refuse`` (default) or ``linear`` outside the table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.gate_discharge import (
    Extrapolation,
    GateVersion,
    OrificeGate,
    PowerLawCurve,
    Rating,
    TableCurve,
)

RATING_KINDS = ("orifice", "power_law", "table")
CSV_COLUMNS = ("site_id", "valid_from", "kind", "width_m", "sill_m", "mu", "contraction",
               "mu_submerged", "a", "h0", "b", "points", "extrapolate", "note")


class GateRatingError(ValueError):
    """A gate rating record that cannot be accepted; names the record at fault."""


@dataclass(frozen=True, slots=True)
class GateRating:
    site_id: str
    valid_from: datetime
    rating: Rating
    note: str | None = None

    @property
    def kind(self) -> str:
        return kind_of(self.rating)

    def version(self) -> GateVersion:
        return GateVersion(self.valid_from, self.rating)


def kind_of(rating: Rating) -> str:
    if isinstance(rating, OrificeGate):
        return "orifice"
    return "power_law" if isinstance(rating, PowerLawCurve) else "table"


def _optional(record: Mapping[str, Any], key: str, where: str, *,
              positive: bool = False) -> float | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GateRatingError(f"{where}: {key}={value!r} is not a number") from None
    if not math.isfinite(number):
        raise GateRatingError(f"{where}: {key} must be finite")
    if positive and number <= 0:
        raise GateRatingError(f"{where}: {key} must be positive, got {number:g}")
    return number


def _number(record: Mapping[str, Any], key: str, where: str, *, positive: bool = False) -> float:
    number = _optional(record, key, where, positive=positive)
    if number is None:
        raise GateRatingError(f"{where}: {key} is required")
    return number


def _points(value: Any, where: str) -> tuple[tuple[float, float], ...]:
    if isinstance(value, str):
        pairs: list[Any] = [p.split(":") for p in re.split(r"[\s;,]+", value.strip()) if p]
    elif isinstance(value, list):
        pairs = value
    else:
        raise GateRatingError(f"{where}: points is required for a rating table")
    try:
        points = tuple((float(h), float(q)) for h, q in pairs)
    except (TypeError, ValueError):
        raise GateRatingError(f"{where}: points must be (level, discharge) pairs") from None
    return points


def rating_from(kind: str, params: Mapping[str, Any], where: str) -> Rating:
    """The rating of a kind from its parameters (a file record or the stored JSON)."""
    if kind == "orifice":
        width = _number(params, "width_m", where, positive=True)
        sill = _number(params, "sill_m", where)
        mu = _number(params, "mu", where, positive=True)
        contraction = _optional(params, "contraction", where, positive=True)
        mu_s = _optional(params, "mu_submerged", where, positive=True)
        if mu > 1 or (mu_s is not None and mu_s > 1):
            raise GateRatingError(f"{where}: a discharge coefficient above 1 is not physical")
        if contraction is not None and contraction > 1:
            raise GateRatingError(f"{where}: contraction must be at most 1")
        return OrificeGate(width, sill, mu, 0.61 if contraction is None else contraction, mu_s)
    if kind == "power_law":
        a = _number(params, "a", where, positive=True)
        h0 = _number(params, "h0", where)
        b = _number(params, "b", where, positive=True)
        return PowerLawCurve(a, h0, b)
    if kind == "table":
        mode = str(params.get("extrapolate") or "refuse")
        if mode not in (e.value for e in Extrapolation):
            raise GateRatingError(f"{where}: extrapolate must be refuse or linear")
        try:
            return TableCurve(_points(params.get("points"), where), Extrapolation(mode))
        except ValueError as exc:
            raise GateRatingError(f"{where}: {exc}") from None
    raise GateRatingError(f"{where}: kind {kind!r} is not one of {RATING_KINDS}")


def rating_params(rating: Rating) -> dict[str, Any]:
    """The parameters to store (JSON), readable again by ``rating_from``."""
    if isinstance(rating, OrificeGate):
        return {"width_m": rating.width_m, "sill_m": rating.sill_m, "mu": rating.mu,
                "contraction": rating.contraction, "mu_submerged": rating.mu_submerged}
    if isinstance(rating, PowerLawCurve):
        return {"a": rating.a, "h0": rating.h0, "b": rating.b}
    return {"points": [list(p) for p in rating.points], "extrapolate": rating.extrapolate.value}


def gate_rating_from(record: Mapping[str, Any], where: str, valid_from: datetime) -> GateRating:
    """A YAML or CSV record -> GateRating (the registry loader reads ``valid_from``)."""
    site_id = str(record.get("site_id") or "").strip()
    if not site_id:
        raise GateRatingError(f"{where}: site_id is required")
    kind = str(record.get("kind") or "").strip()
    return GateRating(site_id, valid_from, rating_from(kind, record, where),
                      record.get("note") or None)
