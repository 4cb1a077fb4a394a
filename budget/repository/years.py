"""SQL for the closing and reopening of budget years (migration 404)."""

from __future__ import annotations

from datetime import datetime

from budget.repository.connection import Conn
from budget.year_closure import YearEvent


def year_events(conn: Conn, *, year: int) -> list[YearEvent]:
    return [
        YearEvent(y, event, at, by, reason)
        for y, event, at, by, reason in conn.execute(
            "SELECT year, event, at, by_name, reason FROM budget_year_events "
            "WHERE year = %s ORDER BY event_id",
            (year,),
        )
    ]


def add_year_event(
    conn: Conn,
    *,
    year: int,
    event: str,
    at: datetime,
    by: str,
    reason: str = "",
    report_id: int | None = None,
) -> None:
    conn.execute(
        "INSERT INTO budget_year_events (year, event, at, by_name, reason, report_id) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (year, event, at, by, reason, report_id),
    )
