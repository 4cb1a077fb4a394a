"""甘州 3.(1): 告知 → 复核 → 下达 → 调整, the 45-day notice and the 60-day adjustment."""

from datetime import datetime

import pytest

from budget.procedure import ProcedureError, Step, StepEvent, check_step, lateness, notify_deadline
from budget.year_ledger import BUDGET_TIMEZONE


def at(y, m, d):
    return datetime(y, m, d, 9, tzinfo=BUDGET_TIMEZONE)


def event(step, when, effective=None):
    return StepEvent(1, 2025, step, when, "甘州区水务局", effective)


def test_the_steps_go_in_order_and_adjustments_repeat():
    with pytest.raises(ProcedureError, match="复核之前须先告知"):
        check_step([], Step.REVIEWED)
    done = [event(Step.NOTIFIED, at(2024, 11, 1)), event(Step.REVIEWED, at(2024, 12, 1))]
    with pytest.raises(ProcedureError, match="已告知"):
        check_step(done, Step.NOTIFIED)
    with pytest.raises(ProcedureError, match="调整之前须先下达"):
        check_step(done, Step.ADJUSTED)
    issued = [*done, event(Step.ISSUED, at(2025, 1, 5))]
    check_step(issued, Step.ADJUSTED)
    check_step([*issued, event(Step.ADJUSTED, at(2025, 3, 1), at(2025, 6, 1))], Step.ADJUSTED)


def test_the_notice_is_due_45_days_before_the_applications():
    assert notify_deadline(2025) == datetime(2024, 11, 17, tzinfo=BUDGET_TIMEZONE)
    assert lateness(2025, [], at(2024, 11, 16)) == []
    [missing] = lateness(2025, [], at(2024, 11, 18))
    assert missing.message.startswith("未告知：应于2024-11-17前告知")
    [late] = lateness(2025, [event(Step.NOTIFIED, at(2024, 12, 1))], at(2024, 12, 2))
    assert late.message.startswith("告知逾期：2024-12-01告知")
    assert lateness(2025, [event(Step.NOTIFIED, at(2024, 11, 1))], at(2025, 1, 1)) == []


def test_an_adjustment_asked_less_than_60_days_ahead_is_late():
    on_time = event(Step.ADJUSTED, at(2025, 3, 1), at(2025, 5, 1))  # 61 days
    short = event(Step.ADJUSTED, at(2025, 3, 1), at(2025, 4, 1))  # 31 days
    notified = event(Step.NOTIFIED, at(2024, 11, 1))
    assert lateness(2025, [notified, on_time], at(2025, 3, 2)) == []
    [late] = lateness(2025, [notified, short], at(2025, 3, 2))
    assert late.what == "adjust"
    assert "仅提前31天" in late.message
