"""Values as people read them: 万m³ with two decimals, % with one, China time."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from budget.accounting_tables import TABLE_PLACES
from budget.units import TEN_THOUSAND
from budget.year_ledger import BUDGET_TIMEZONE
from reports.document import Value, ValueKind
from reports.labels import text

V = ValueKind
_TWO = Decimal(1).scaleb(-TABLE_PLACES)
_ONE = Decimal("0.1")


def wan(volume_m3: Decimal) -> Decimal:
    """m³ → 万m³ with the seeds' two decimals (甘州 再生水 table: 538.26)."""
    return (volume_m3 / TEN_THOUSAND).quantize(_TWO, ROUND_HALF_UP)


def percent(rate: Decimal) -> Decimal:
    return (rate * 100).quantize(_ONE, ROUND_HALF_UP)


def local_time(moment: datetime) -> str:
    return moment.astimezone(BUDGET_TIMEZONE).strftime("%Y-%m-%d %H:%M")


def period_label(period: str, lang: str) -> str:
    """A report's period as people write it: 2024年, 2024年6月 (English: 2024, 2024-06)."""
    year, _, month = period.partition("-")
    if not year.isdigit() or (month and not month.isdigit()):
        return period
    if month:
        return text(lang, "unit.year_month", year=year, month=str(int(month)), period=period)
    return text(lang, "unit.year", year=year)


def heading(node_name: str, period: str, title: str, lang: str) -> str:
    """甘州区 2024年 水预算年终决算."""
    return f"{node_name} {period_label(period, lang)} {title}"


def display(value: Value, kind: ValueKind, lang: str) -> str:
    """One cell as text; an empty cell is blank, never 0."""
    if value is None or value == "":
        return ""
    if kind is V.LABEL:
        return text(lang, str(value))
    if kind is V.VOLUME and isinstance(value, Decimal):
        return f"{wan(value):.2f}"
    if kind is V.RATE and isinstance(value, Decimal):
        return f"{percent(value):.1f}%"
    if kind is V.POINTS and isinstance(value, Decimal):
        return text(lang, "unit.points", value=f"{percent(value):+.1f}")
    if kind is V.MONEY and isinstance(value, Decimal):
        return f"{value.quantize(_TWO, ROUND_HALF_UP):,.2f}"
    if kind is V.TIME and isinstance(value, datetime):
        return local_time(value)
    return str(value)


def number(value: Value, kind: ValueKind) -> float | int | str | None:
    """A cell for a spreadsheet: the displayed figure as a number (万m³, % as a fraction)."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        if kind is V.VOLUME:
            return float(wan(value))
        if kind in (V.RATE, V.POINTS):
            return float((value * 1000).quantize(Decimal(1), ROUND_HALF_UP) / 1000)
        return float(value.quantize(_TWO, ROUND_HALF_UP))
    if isinstance(value, datetime):
        return local_time(value)
    return value
