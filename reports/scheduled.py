"""Scheduled jobs of the reports, registered by name (``waterbudget scheduler``).

* ``reports.monthly`` — on the 1st at 02:00 China time: the month just ended,
  for every node from district down to unit (each a revision only where the
  data changed, so a rerun is harmless);
* ``reports.refresh`` — daily at 03:00: re-issue the reports of the last
  ``REFRESH_MONTHS`` months at their own as-of, so data backfilled after a
  report was issued gives a revision that says what changed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from budget.year_ledger import BUDGET_TIMEZONE
from reports.commands import issue_reports, refresh_reports
from waterbudget.scheduler import job
from waterbudget.settings import Settings

log = logging.getLogger(__name__)
REFRESH_MONTHS = 3
BY = "scheduler"


def previous_month(now: datetime) -> str:
    local = now.astimezone(BUDGET_TIMEZONE)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year}-{month:02d}"


def first_refresh_period(now: datetime, months: int = REFRESH_MONTHS) -> str:
    local = now.astimezone(BUDGET_TIMEZONE)
    index = local.year * 12 + local.month - 1 - months
    return f"{index // 12}-{index % 12 + 1:02d}"


@job("reports.monthly", day=1, hour=2, minute=0)
def monthly_reports(settings: Settings, now: datetime) -> None:
    period = previous_month(now)
    result = issue_reports(settings.database_url, kind="monthly", period=period, built_at=now,
                           by=BY)
    log.info("monthly reports %s: %d issued, %d unchanged, %d failed", period,
             len(result.created), len(result.unchanged), len(result.failed))


@job("reports.refresh", hour=3, minute=0)
def refresh(settings: Settings, now: datetime) -> None:
    result = refresh_reports(settings.database_url, first_period=first_refresh_period(now),
                             built_at=now, by=BY)
    log.info("report refresh: %d revised, %d unchanged, %d failed", len(result.created),
             len(result.unchanged), len(result.failed))
