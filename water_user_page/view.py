"""What the water-user page shows, as plain data: pure, no database, no HTTP.

My budget this year, my use so far, what remains (or, past the budget, how
much I used over it: 超用 N m³, never a negative remainder), the level reached
(the monitor's 80/90/100 % levels), the over-quota charge so far in 元 band by
band (``monitor_charges``: which band, its multiplier, the amount), my card's
balance explained against the budget, my warnings (budget level and pace: what
I can act on) apart from notes on the meter and the data (a meter offline, the
宁夏 8.2 a "超定额20%以上" check: information, not blame), and my card sessions
with their dates (both dates when a session crosses midnight). Volumes are
m³ here, not 万m³: a household's budget is a few thousand m³ (0.12 万m³ would
mean nothing to a farmer); the officials' reports keep 万m³.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from budget.hierarchy import Node
from budget.ledger import Allocation
from budget.plan_profile import PlanProfile
from budget.year_ledger import BUDGET_TIMEZONE
from monitor.budget_alerts import Level, budget_level
from monitor.charges import BandCharge
from monitor.execution import BudgetPeriod, evaluate_execution
from reports.breakdown import source_key
from reports.inputs import AlertRecord
from reports.labels import text
from reports.rollup import counted, counted_budget


@dataclass(frozen=True, slots=True)
class CardSession:
    card_id: str
    started_at: datetime
    ended_at: datetime
    volume_m3: Decimal | None
    balance_m3: Decimal | None


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    """One ``monitor_charges`` row: a source family's use over quota, priced band by band."""

    source_family: str
    quota_m3: Decimal
    excess_m3: Decimal
    price_per_m3: Decimal
    total_amount: Decimal  # the whole year's water at this family's prices, yuan
    surcharge: Decimal  # of which over-quota mark-up, yuan
    bands: tuple[BandCharge, ...]


# The farmer's own warnings: about the budget, something they can act on. Every other
# alert kind on the node is about the meter or the data and is shown as a note.
OWN_KINDS = frozenset({"budget_level", "budget_pace"})


@dataclass(frozen=True, slots=True)
class SourceLine:
    label: str
    budget: str
    used: str


@dataclass(frozen=True, slots=True)
class AlertLine:
    kind: str
    severity: str  # notice | warning | critical
    opened: str
    live: bool


@dataclass(frozen=True, slots=True)
class NoteLine:
    kind: str
    text: str
    opened: str
    live: bool


@dataclass(frozen=True, slots=True)
class BandLine:
    band: str  # e.g. 超出定额 30%–50%（600–1,000 m³）
    volume: str  # m³ of my excess in this band
    multiplier: str  # ×1.5
    amount: str  # yuan, this band's volume × base price × multiplier
    current: bool  # the band my use has reached


@dataclass(frozen=True, slots=True)
class ChargeLines:
    source: str
    excess: str  # m³
    price: str  # yuan per m³
    amount: str  # yuan for the excess, all bands
    surcharge: str  # yuan of mark-up above the base price
    bands: tuple[BandLine, ...]


@dataclass(frozen=True, slots=True)
class SessionLine:
    time: str
    volume: str
    balance: str


@dataclass(frozen=True, slots=True)
class MyWater:
    """The page, every figure already text in the page's language."""

    lang: str
    name: str
    code: str
    year: int
    budget: str
    used: str
    remaining: str  # '' when over budget
    over: str  # 超用 m³, '' within budget
    percent_used: int  # 0..100 for the bar (capped)
    rate: str
    level: str  # '' | notice | warning | overrun
    message: str
    overrun: bool
    by_source: tuple[SourceLine, ...]
    alerts: tuple[AlertLine, ...]
    notes: tuple[NoteLine, ...]
    charges: tuple[ChargeLines, ...]
    charge_total: str  # yuan over quota so far, '' without a priced excess
    balance_note: str  # the card's balance against the budget, '' without a card balance
    sessions: tuple[SessionLine, ...]
    as_of: str


def _m3(volume: Decimal | None) -> str:
    if volume is None:
        return ""
    return f"{volume.quantize(Decimal(1), ROUND_HALF_UP):,}"


def _yuan(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


def _time(moment: datetime) -> str:
    return moment.astimezone(BUDGET_TIMEZONE).strftime("%m-%d %H:%M")


def session_time(started_at: datetime, ended_at: datetime, *, year: int) -> str:
    """Start date and time – end time; the end's date too when the session crosses midnight,
    the year too when the session is not in the page's year."""
    start = started_at.astimezone(BUDGET_TIMEZONE)
    end = ended_at.astimezone(BUDGET_TIMEZONE)
    day = "%Y-%m-%d" if start.year != year or end.year != year else "%m-%d"
    if start.date() == end.date():
        return f"{start.strftime(day + ' %H:%M')}–{end.strftime('%H:%M')}"
    return f"{start.strftime(day + ' %H:%M')} – {end.strftime(day + ' %H:%M')}"


def _share(volume: Decimal, quota: Decimal) -> str:
    return f"{(volume / quota * 100).quantize(Decimal(1), ROUND_HALF_UP)}%"


def band_label(lang: str, band: BandCharge, quota_m3: Decimal) -> str:
    """Where a band lies in the excess: its share of the quota and its m³."""
    if quota_m3 <= 0:  # no quota: every m³ is over it, in the last band
        return text(lang, "page.band_no_quota")
    if band.to_m3 is None:
        return text(lang, "page.band_open", share=_share(band.from_m3, quota_m3),
                    m3=_m3(band.from_m3))
    return text(lang, "page.band", lower=_share(band.from_m3, quota_m3),
                upper=_share(band.to_m3, quota_m3), m3_lower=_m3(band.from_m3),
                m3_upper=_m3(band.to_m3))


def charge_lines(lang: str, charge: ChargeRecord) -> ChargeLines:
    """The bands my excess reached: volume, multiplier, amount; the last one reached is
    the current band."""
    reached = [b for b in charge.bands if b.volume_m3 > 0]
    return ChargeLines(
        source=text(lang, f"source_family.{charge.source_family}"),
        excess=_m3(charge.excess_m3), price=_yuan(charge.price_per_m3),
        amount=_yuan(sum((b.amount for b in reached), Decimal(0))),
        surcharge=_yuan(charge.surcharge),
        bands=tuple(BandLine(band_label(lang, b, charge.quota_m3), _m3(b.volume_m3),
                             f"×{b.multiplier.normalize()}", _yuan(b.amount), b is reached[-1])
                    for b in reached))


def balance_note(lang: str, *, balance_m3: Decimal | None, budget_m3: Decimal,
                 used_m3: Decimal) -> str:
    """What the card's balance is, what the budget is, how they relate, with both figures."""
    if balance_m3 is None:
        return ""
    left = budget_m3 - used_m3
    tail = (text(lang, "page.balance_over", over=_m3(-left)) if left < 0
            else text(lang, "page.balance_left", remaining=_m3(left)))
    return text(lang, "page.balance_note", balance=_m3(balance_m3), budget=_m3(budget_m3),
                used=_m3(used_m3)) + tail


def note_text(lang: str, kind: str) -> str:
    """A note on the meter or the data, worded as information (no blame)."""
    found = text(lang, f"page.note.{kind}")
    return found if found != f"page.note.{kind}" else text(lang, f"alert.{kind}")


def my_water(*, lang: str, node: Node, year: int, as_of: datetime, budget: Allocation,
             used_by_source: Mapping[str, Decimal], factor: Decimal, profile: PlanProfile,
             alerts: Sequence[AlertRecord], sessions: Sequence[CardSession],
             charges: Sequence[ChargeRecord] = ()) -> MyWater:
    budget_m3 = counted_budget(budget, factor)
    used_m3 = sum((counted(s, v, factor) for s, v in used_by_source.items()), Decimal(0))
    execution = evaluate_execution(node_id=node.code, period=BudgetPeriod.of_year(year),
                                   at=as_of, drawn_m3=used_m3, budget_m3=budget_m3,
                                   profile=profile)
    level = budget_level(execution)
    rate = execution.execution_rate
    budget_by_source: dict[str, Decimal] = {}
    for (source, _), volume in budget.items():
        budget_by_source[source.value] = budget_by_source.get(source.value, Decimal(0)) + volume
    sources = sorted(set(budget_by_source) | set(used_by_source))
    over_m3 = used_m3 - budget_m3
    priced = [c for c in charges if c.excess_m3 > 0]
    charge_total = sum((c.surcharge for c in priced), Decimal(0))
    if level is Level.OVERRUN and over_m3 > 0:
        message = text(lang, "page.level.overrun", over=_m3(over_m3))
        message += (text(lang, "page.overrun_charged", surcharge=_yuan(charge_total)) if priced
                    else text(lang, "page.overrun_not_priced"))
    elif level is Level.OVERRUN:  # exactly at the budget: nothing over yet
        message = text(lang, "page.level.used_up")
    else:
        message = text(lang, f"page.level.{level.value}") if level else ""
    card_balance = next((s.balance_m3 for s in sessions if s.balance_m3 is not None), None)
    return MyWater(
        lang=lang, name=node.name, code=node.code, year=year, budget=_m3(budget_m3),
        used=_m3(used_m3), remaining="" if over_m3 > 0 else _m3(-over_m3),
        over=_m3(over_m3) if over_m3 > 0 else "",
        percent_used=0 if rate is None else int(min(rate, Decimal(1)) * 100),
        rate="" if rate is None else f"{rate * 100:.0f}%",
        level=level.value if level else "",
        message=message,
        overrun=level is Level.OVERRUN,
        by_source=tuple(SourceLine(text(lang, source_key(s)), _m3(budget_by_source.get(s)),
                                   _m3(used_by_source.get(s, Decimal(0)))) for s in sources),
        alerts=tuple(AlertLine(text(lang, f"alert.{a.kind}"), a.severity, _time(a.opened_at),
                               a.resolved_at is None) for a in alerts if a.kind in OWN_KINDS),
        notes=tuple(NoteLine(a.kind, note_text(lang, a.kind), _time(a.opened_at),
                             a.resolved_at is None) for a in alerts if a.kind not in OWN_KINDS),
        charges=tuple(charge_lines(lang, c) for c in priced),
        charge_total=_yuan(charge_total) if priced else "",
        balance_note=balance_note(lang, balance_m3=card_balance, budget_m3=budget_m3,
                                  used_m3=used_m3),
        sessions=tuple(SessionLine(session_time(s.started_at, s.ended_at, year=year),
                                   _m3(s.volume_m3), _m3(s.balance_m3)) for s in sessions),
        as_of=as_of.astimezone(BUDGET_TIMEZONE).strftime("%Y-%m-%d %H:%M"),
    )
