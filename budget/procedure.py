"""The budget procedure of a node and year (甘州 3.(1) 规范预算程序, issue 12):
告知 → 复核 → 下达 → 调整, with who did what and when, and the seed's deadlines.

- ① "区水行政主管部门在水预算申请前 45 日内，告知纳入预算管理的取水单位提出水预算申请";
  ② applications are due "每年年底前" for the next year. So a node must be
  notified (告知) 45 days before the end of the year before: by 16 November.
- ⑦ "各取水单位调整年度水预算的，提前 60 天向区水行政主管部门提出追加和核减预算申请":
  an adjustment (调整) requested less than 60 days before it takes effect is late.

Pure: events in, state and lateness out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from budget.year_ledger import BUDGET_TIMEZONE

NOTIFY_DAYS_BEFORE_APPLICATION = 45
ADJUST_DAYS_AHEAD = 60


class Step(StrEnum):
    NOTIFIED = "notified"  # 告知
    REVIEWED = "reviewed"  # 复核
    ISSUED = "issued"  # 下达
    ADJUSTED = "adjusted"  # 调整

    @property
    def label(self) -> str:
        return {"notified": "告知", "reviewed": "复核", "issued": "下达", "adjusted": "调整"}[
            self.value
        ]


_BEFORE = {Step.REVIEWED: Step.NOTIFIED, Step.ISSUED: Step.REVIEWED, Step.ADJUSTED: Step.ISSUED}


class ProcedureError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StepEvent:
    node_id: int
    year: int
    step: Step
    at: datetime
    by: str
    effective_from: datetime | None = None  # 调整: when the adjustment is to take effect
    note: str = ""


def notify_deadline(year: int) -> datetime:
    """告知 of ``year``'s budget: 45 days before the applications are due (year − 1's end)."""
    applications_due = datetime(year, 1, 1, tzinfo=BUDGET_TIMEZONE)
    return applications_due - timedelta(days=NOTIFY_DAYS_BEFORE_APPLICATION)


def check_step(events: list[StepEvent], step: Step) -> None:
    """The steps go in order; 调整 may repeat once 下达."""
    done = {e.step for e in events}
    before = _BEFORE.get(step)
    if before is not None and before not in done:
        raise ProcedureError(f"{step.label}之前须先{before.label}")
    if step is not Step.ADJUSTED and step in done:
        raise ProcedureError(f"已{step.label}")


@dataclass(frozen=True, slots=True)
class Lateness:
    what: str  # notify | adjust
    message: str


def lateness(year: int, events: list[StepEvent], now: datetime) -> list[Lateness]:
    """What is late on a node: 告知 missing or after its 45-day deadline; each 调整
    requested less than 60 days ahead of its effect."""
    found = []
    deadline = notify_deadline(year)
    notified = next((e for e in events if e.step is Step.NOTIFIED), None)
    if notified is None and now > deadline:
        found.append(
            Lateness("notify", f"未告知：应于{deadline:%Y-%m-%d}前告知（甘州 3.(1)① 45日）")
        )
    elif notified is not None and notified.at > deadline:
        found.append(
            Lateness(
                "notify",
                f"告知逾期：{notified.at.astimezone(BUDGET_TIMEZONE):%Y-%m-%d}告知，"
                f"应于{deadline:%Y-%m-%d}前（甘州 3.(1)① 45日）",
            )
        )
    for e in events:
        if e.step is Step.ADJUSTED and e.effective_from is not None:
            ahead = e.effective_from - e.at
            if ahead < timedelta(days=ADJUST_DAYS_AHEAD):
                found.append(
                    Lateness(
                        "adjust",
                        f"调整申请不足60天：{e.at.astimezone(BUDGET_TIMEZONE):%Y-%m-%d}申请，"
                        f"{e.effective_from.astimezone(BUDGET_TIMEZONE):%Y-%m-%d}生效，"
                        f"仅提前{ahead.days}天（甘州 3.(1)⑦）",
                    )
                )
    return found
