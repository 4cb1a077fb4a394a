"""A closed year is closed (issue 12; 甘州 3.(1): 告知—复核—下达—执行—调整—决算).

Issuing the final accounts (决算) of a root node closes its budget year. Any
ledger change dated into a closed year — a proposal, an approval, a trade, an
import — is refused with a message in Chinese until an administrator reopens
the year; the reopening is recorded (who, when, why) and the next final
accounts of the year say so, as a marked revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from budget.year_ledger import BUDGET_TIMEZONE


@dataclass(frozen=True, slots=True)
class YearEvent:
    year: int
    event: str  # closed | reopened
    at: datetime
    by: str
    reason: str = ""


class YearClosedError(ValueError):
    """A ledger change into a closed year."""


def is_closed(events: list[YearEvent]) -> bool:
    """The newest event decides; no event: open."""
    return bool(events) and events[-1].event == "closed"


def closed_message(year: int, closed: YearEvent) -> str:
    at = closed.at.astimezone(BUDGET_TIMEZONE).strftime("%Y-%m-%d %H:%M")
    return (
        f"{year}年度年终决算已于{at}出具（{closed.by}），该年度已关账，"
        f"不能再记入或批准{year}年的预算变更。如确需补录，请管理员先重新开放该年度"
        f"（POST /budget/years/{year}/reopen，说明原因），重新出具的决算将标明为重新开放后的修订。"
    )


def check_open(year: int, events: list[YearEvent]) -> None:
    if is_closed(events):
        raise YearClosedError(closed_message(year, events[-1]))


def reopenings(events: list[YearEvent]) -> list[YearEvent]:
    """Every reopening of the year, oldest first (the final accounts list them)."""
    return [e for e in events if e.event == "reopened"]
