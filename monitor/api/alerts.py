"""Alerts: list, read with their events, acknowledge, resolve by hand.

``detail`` is the alert's facts worded for the caller (``monitor.alert_text``):
Chinese by default, English with ``lang=en`` or ``Accept-Language: en``;
``facts`` are the figures themselves and ``budget`` says which budget a budget
alert is about (``total`` or the source)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from psycopg.rows import dict_row
from pydantic import BaseModel

from budget.api.deps import Access, AccessDep, ConnDep
from budget.repository.connection import Conn
from monitor import alerting
from monitor.alert_text import budget_of, decode, describe
from monitor.api.scope import action_time, visible_nodes
from monitor.enforcement import EnforcementPolicy, Enforcer
from monitor.repository import alerts as repo
from waterbudget.web.errors import ApiError, english, not_found
from waterbudget.web.types import Id, Text

router = APIRouter()


class AlertOut(BaseModel):
    alert_id: int
    subject: str
    kind: str
    period: str
    seq: int
    status: str
    severity: str
    detail: str
    facts: dict[str, Any] | None
    budget: str | None
    node_id: int | None
    site_id: str | None
    meter_id: str | None
    source: str | None
    opened_at: datetime
    last_seen_at: datetime
    evaluated_at: datetime
    clear_since: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EventOut(BaseModel):
    event_id: int
    event: str
    status: str
    severity: str
    at: datetime
    by: str
    detail: str
    facts: dict[str, Any] | None
    recorded_at: datetime


class AlertDetailOut(AlertOut):
    events: list[EventOut]


def enforcer(request: Request) -> Enforcer:
    policy = getattr(request.app.state, "monitor_enforcement", None) or EnforcementPolicy()
    return Enforcer(policy)


@router.get("/alerts", response_model=list[AlertOut], summary="Alerts the caller may see")
def list_alerts(conn: ConnDep, access: AccessDep, request: Request,
                status_: Annotated[str | None, Query(alias="status",
                                                     pattern="^(live|open|acknowledged|resolved)$"
                                                     )] = None,
                kind: Text | None = None, period: Text | None = None, node_id: Id | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    nodes = visible_nodes(access)
    if node_id is not None:
        access.read(node_id)
        nodes = [node_id]
    lang = "en" if english(request) else "zh"
    return [_worded(row, lang) for row in repo.listing(conn, node_ids=nodes, status=status_,
                                                       kind=kind, period=period, limit=limit)]


def _worded(row: dict[str, Any], lang: str, *, kind: str | None = None,
            subject: str | None = None) -> dict[str, Any]:
    """The row with its detail worded in ``lang``, its facts and (alerts) its budget."""
    kind, subject = kind or row["kind"], subject or row["subject"]
    worded = {**row, "detail": describe(kind, subject, row["detail"], lang),
              "facts": decode(row["detail"])}
    if "subject" in row:
        worded["budget"] = budget_of(subject) or None
    return worded


def owner(conn: Conn, access: Access, alert_id: int) -> int | None:
    """The alert's node, if the caller may see the alert (404 otherwise)."""
    row = conn.execute("SELECT node_id FROM monitor_alerts WHERE alert_id = %s",
                       (alert_id,)).fetchone()
    missing = not_found("alert", alert_id)
    if row is None:
        raise missing
    node_id = None if row[0] is None else int(row[0])
    if node_id is None:
        if access.principal.role != "administrator":
            raise missing
        return None
    if node_id not in access.hierarchy.nodes or not access.sees(node_id):
        raise missing
    return node_id


def _detail(conn: Conn, alert_id: int, request: Request) -> dict[str, Any]:
    lang = "en" if english(request) else "zh"
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT * FROM monitor_alerts WHERE alert_id = %s",
                          (alert_id,)).fetchone()
    assert row is not None
    events = [_worded(e, lang, kind=row["kind"], subject=row["subject"])
              for e in repo.events(conn, alert_id=alert_id)]
    return {**_worded(row, lang), "events": events}


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut,
            summary="One alert with its events (detail worded per language)")
def get_alert(alert_id: Id, conn: ConnDep, access: AccessDep,
              request: Request) -> dict[str, Any]:
    owner(conn, access, alert_id)
    return _detail(conn, alert_id, request)


def _act(action: str, alert_id: int, conn: Conn, access: Access,
         request: Request) -> dict[str, Any]:
    node = owner(conn, access, alert_id)
    if access.principal.role == "water_user":
        raise ApiError(status.HTTP_403_FORBIDDEN, "read_only")
    if node is None:
        access.admin()
    do = alerting.acknowledge if action == "acknowledge" else alerting.resolve
    do(conn, alert_id=alert_id, by=access.principal.name, at=action_time(conn),
       on_event=enforcer(request).on_event)
    return _detail(conn, alert_id, request)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertDetailOut,
             summary="Take the alert on (idempotent)")
def acknowledge(alert_id: Id, conn: ConnDep, access: AccessDep,
                request: Request) -> dict[str, Any]:
    return _act("acknowledge", alert_id, conn, access, request)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertDetailOut,
             summary="Close the alert by hand; if the condition still holds it opens anew")
def resolve(alert_id: Id, conn: ConnDep, access: AccessDep, request: Request) -> dict[str, Any]:
    return _act("resolve", alert_id, conn, access, request)
