"""The budget procedure (甘州 3.(1)): 告知 → 复核 → 下达 → 调整 per node and year, who
and when, and the nodes that are late (45-day notice, 60-day adjustment; issue 12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from budget import repository as repo
from budget.api.deps import AccessDep, ConnDep, now
from budget.procedure import ProcedureError, Step, StepEvent, check_step, lateness
from waterbudget.web.types import Id, Text

router = APIRouter()
Year = Annotated[int, Query(ge=2000, le=2100)]


class StepIn(BaseModel):
    year: int = Field(ge=2000, le=2100)
    step: Literal["notified", "reviewed", "issued", "adjusted"]
    effective_from: AwareDatetime | None = Field(
        default=None, description="调整: when the adjustment takes effect (60 days ahead)"
    )
    note: Text = ""


class StepOut(BaseModel):
    step: str
    label: str
    at: datetime
    by: str
    effective_from: datetime | None
    note: str


class LateOut(BaseModel):
    what: str
    message: str


class ProcedureOut(BaseModel):
    node_id: int
    year: int
    state: str | None = Field(description="the last step done; null: not yet notified")
    steps: list[StepOut]
    late: list[LateOut]


def _out(node_id: int, year: int, events: list[StepEvent], at: datetime) -> ProcedureOut:
    return ProcedureOut(
        node_id=node_id,
        year=year,
        state=events[-1].step.value if events else None,
        steps=[
            StepOut(
                step=e.step.value,
                label=e.step.label,
                at=e.at,
                by=e.by,
                effective_from=e.effective_from,
                note=e.note,
            )
            for e in events
        ],
        late=[LateOut(what=x.what, message=x.message) for x in lateness(year, events, at)],
    )


@router.post(
    "/nodes/{node_id}/procedure",
    response_model=ProcedureOut,
    summary="Record a step of the node's budget procedure (告知 复核 下达 调整)",
)
def record_step(node_id: Id, body: StepIn, conn: ConnDep, access: AccessDep) -> ProcedureOut:
    access.write(node_id)
    step = Step(body.step)
    if step is Step.ADJUSTED and body.effective_from is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "effective_from: 调整 needs the date it takes effect",
        )
    events = repo.procedure_events(conn, year=body.year, node_ids=[node_id])
    try:
        check_step(events, step)
    except ProcedureError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    at = now()
    repo.add_procedure_event(
        conn,
        event=StepEvent(
            node_id, body.year, step, at, access.principal.name, body.effective_from, body.note
        ),
    )
    return _out(
        node_id, body.year, repo.procedure_events(conn, year=body.year, node_ids=[node_id]), at
    )


@router.get("/nodes/{node_id}/procedure", response_model=ProcedureOut)
def get_procedure(
    node_id: Id, conn: ConnDep, access: AccessDep, year: Year, as_of: AwareDatetime | None = None
) -> ProcedureOut:
    access.read(node_id)
    events = repo.procedure_events(conn, year=year, node_ids=[node_id])
    return _out(node_id, year, events, as_of or now())


@router.get(
    "/procedure/late",
    response_model=list[ProcedureOut],
    summary="Nodes in the caller's scope that are late (45-day 告知, 60-day 调整)",
)
def late_nodes(
    conn: ConnDep, access: AccessDep, year: Year, as_of: AwareDatetime | None = None
) -> list[ProcedureOut]:
    at = as_of or now()
    visible = [n for n in access.hierarchy.nodes if access.sees(n)]
    events = repo.procedure_events(conn, year=year, node_ids=visible)
    by_node: dict[int, list[StepEvent]] = {n: [] for n in visible}
    for e in events:
        by_node[e.node_id].append(e)
    outs = [_out(n, year, by_node[n], at) for n in sorted(visible)]
    return [o for o in outs if o.late]
