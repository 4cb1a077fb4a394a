"""Effective budgets and the Ningxia accounting checks of a node."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from budget import accounting_service, service
from budget import schemas as s
from budget.api.deps import AccessDep, ConnDep, aware, now
from budget.api.views import accounting_out, budget_out

router = APIRouter()


@router.get(
    "/nodes/{node_id}/budget",
    response_model=s.BudgetOut,
    summary="Effective budget of a node as of a moment, derived from the ledger",
)
def get_budget(
    node_id: int,
    conn: ConnDep,
    access: AccessDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    as_of: Annotated[datetime | None, Query(description="default: now")] = None,
    known_at: Annotated[
        datetime | None,
        Query(description="count only entries approved by then (reproduce a past view)"),
    ] = None,
) -> s.BudgetOut:
    access.read(node_id)
    moment = aware(as_of, "as_of") or now()
    view = service.effective_budget(
        conn,
        node_id=node_id,
        year=year,
        as_of=moment,
        known_at=aware(known_at, "known_at"),
        hierarchy=access.hierarchy,
    )
    return budget_out(view, aware(known_at, "known_at"))


@router.get(
    "/nodes/{node_id}/accounting",
    response_model=s.AccountingOut,
    summary="宁夏 7.1.1 balance, 6.5.3 consistency and the 7.1.2 cut list",
)
def get_accounting(
    node_id: int,
    conn: ConnDep,
    access: AccessDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    as_of: datetime | None = None,
    inflow_factor: Annotated[
        Decimal,
        Query(
            gt=0,
            le=2,
            description="what-if of 宁夏 7.4.3 a): scale the revenue (e.g. 0.85 = inflow 15 % "
            "below forecast); default 1",
        ),
    ] = Decimal(1),
) -> s.AccountingOut:
    access.read(node_id)
    view = accounting_service.accounting(
        conn,
        node_id=node_id,
        year=year,
        as_of=aware(as_of, "as_of") or now(),
        hierarchy=access.hierarchy,
        inflow_factor=inflow_factor,
    )
    return accounting_out(view)
