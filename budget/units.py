"""Volumes: ``Decimal`` cubic metres, quantized to the litre.

Why Decimal and not float: the rules compare sums of many ledger entries
against a parent's figure ("children never exceed the parent"). With floats,
0.1 + 0.2 > 0.3 and a rule could reject a change that is exactly at the limit,
or the "effective budget equals the sum of the ledger" invariant could fail
by an ulp. Decimal sums are exact at the litre, and the seed tables
(万m³ with two decimals) convert to m³ without rounding. It is fast enough:
see ``budget.benchmark``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

LITRE = Decimal("0.001")
ZERO = Decimal(0)
TEN_THOUSAND = Decimal(10_000)


def m3(value: Decimal | int | str) -> Decimal:
    """A volume in m³, quantized to the litre. Floats are refused on purpose."""
    if isinstance(value, float):  # pragma: no cover - guarded by typing too
        raise TypeError("pass volumes as Decimal, int or str, not float")
    try:
        quantity = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a volume: {value!r}") from exc
    if not quantity.is_finite():
        raise ValueError(f"not a finite volume: {value!r}")
    return quantity.quantize(LITRE)


def from_10k_m3(value: Decimal | int | str) -> Decimal:
    """万m³ (10⁴ m³, the unit of the seed tables) → m³."""
    return m3(Decimal(value) * TEN_THOUSAND)


def to_10k_m3(volume_m3: Decimal, places: int = 2) -> Decimal:
    """m³ → 万m³ rounded to ``places`` decimals, for report tables."""
    return (volume_m3 / TEN_THOUSAND).quantize(Decimal(1).scaleb(-places))
