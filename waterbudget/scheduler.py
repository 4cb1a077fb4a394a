"""The scheduler: APScheduler 3 running the jobs each feature registers by name.

A feature declares its jobs in its own ``scheduled`` module with ``@job(name,
**cron)``; ``waterbudget scheduler`` imports the features listed in
``FEATURES``, and runs every registered job on its cron trigger in China time
(the budget's time zone). ``waterbudget scheduler --run NAME`` runs one job now.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from waterbudget.settings import Settings

FEATURES = ("reports.scheduled",)
"""Modules that register jobs; a feature adds its own line."""

JobFunction = Callable[[Settings, datetime], None]
"""A job gets the settings and the moment it runs (so a test can run it "on 2 July")."""


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    function: JobFunction
    cron: dict[str, Any]


JOBS: dict[str, Job] = {}


def job(name: str, **cron: Any) -> Callable[[JobFunction], JobFunction]:
    """Register ``function`` under ``name`` with cron fields (``day=1, hour=2`` …)."""

    def register(function: JobFunction) -> JobFunction:
        if name in JOBS and JOBS[name].function is not function:
            raise ValueError(f"two scheduled jobs are named {name!r}")
        JOBS[name] = Job(name, function, cron)
        return function

    return register


def load_jobs() -> dict[str, Job]:
    for module in FEATURES:
        importlib.import_module(module)
    return JOBS


def build_scheduler(settings: Settings) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=settings.zone)
    for registered in load_jobs().values():
        scheduler.add_job(_now_and(registered.function), CronTrigger(timezone=settings.zone,
                                                                     **registered.cron),
                          args=[settings], id=registered.name, name=registered.name,
                          coalesce=True, max_instances=1, misfire_grace_time=3600)
    return scheduler


def _now_and(function: JobFunction) -> Callable[[Settings], None]:
    def run(settings: Settings) -> None:
        function(settings, datetime.now(UTC))

    return run


def run_job(name: str, settings: Settings, now: datetime | None = None) -> None:
    jobs = load_jobs()
    if name not in jobs:
        raise ValueError(f"no scheduled job {name!r} (known: {', '.join(sorted(jobs))})")
    jobs[name].function(settings, now or datetime.now(UTC))
