"""Enforcement: the command log, and operators' overrides (keep a node's wells running)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from budget.api.deps import AccessDep, ConnDep
from monitor.api.alerts import enforcer
from monitor.api.scope import action_time, visible_nodes
from monitor.repository import enforcement as repo
from waterbudget.web.errors import not_found
from waterbudget.web.types import Id, Text

router = APIRouter()


@router.get("/enforcement/commands", summary="Every shut-off and resume command")
def list_commands(conn: ConnDep, access: AccessDep,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return repo.commands(conn, node_ids=visible_nodes(access), limit=limit)


class OverrideIn(BaseModel):
    node_id: Id
    site_id: Text | None = Field(None, description="one of the node's wells; default: all")
    reason: Text = Field(min_length=1)
    until: datetime | None = None


@router.post("/enforcement/overrides", status_code=201,
             summary="Keep a node's wells (or one site) running; resumes wells already off")
def add_override(body: OverrideIn, conn: ConnDep, access: AccessDep,
                 request: Request) -> dict[str, int]:
    access.write(body.node_id)
    if body.site_id is not None and body.site_id not in {
            c.site_id for c in repo.controllers(conn, node_id=body.node_id)}:
        raise not_found("site", body.site_id)  # not a well of this node (or of the caller)
    if body.until is not None and body.until.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "until: give a time zone")
    override_id = enforcer(request).override(conn, node_id=body.node_id, site_id=body.site_id,
                                             reason=body.reason, by=access.principal.name,
                                             until=body.until, at=action_time(conn))
    return {"override_id": override_id}


@router.delete("/enforcement/overrides/{override_id}", status_code=204,
               summary="Revoke an override (an overrun still live shuts the wells again)")
def revoke_override(override_id: Id, conn: ConnDep, access: AccessDep,
                    request: Request) -> None:
    row = conn.execute("SELECT node_id FROM monitor_enforcement_overrides WHERE override_id = %s",
                       (override_id,)).fetchone()
    if row is None:
        raise not_found("override", override_id)
    access.write(int(row[0]), what="override", ref=override_id)
    if not enforcer(request).revoke(conn, override_id=override_id, by=access.principal.name,
                                    at=action_time(conn)):
        raise HTTPException(status.HTTP_409_CONFLICT, f"override {override_id} already revoked")
