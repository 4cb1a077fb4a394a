"""SQL for the closing and reopening of budget years (migration 404) and the
budget procedure's steps (migration 405)."""

from __future__ import annotations

from datetime import datetime

from budget.procedure import Step, StepEvent
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


def procedure_events(conn: Conn, *, year: int, node_ids: list[int]) -> list[StepEvent]:
    return [
        StepEvent(node_id, y, Step(step), at, by, effective, note)
        for node_id, y, step, at, by, effective, note in conn.execute(
            "SELECT node_id, year, step, at, by_name, effective_from, note "
            "FROM budget_procedure_events WHERE year = %s AND node_id = ANY(%s) "
            "ORDER BY event_id",
            (year, node_ids),
        )
    ]


def add_procedure_event(conn: Conn, *, event: StepEvent) -> None:
    conn.execute(
        "INSERT INTO budget_procedure_events (node_id, year, step, at, by_name, "
        "effective_from, note) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            event.node_id,
            event.year,
            event.step.value,
            event.at,
            event.by,
            event.effective_from,
            event.note,
        ),
    )
