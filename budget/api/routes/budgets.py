"""Effective budgets and the Ningxia accounting checks of a node."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, status

from budget import accounting_service, service
from budget import schemas as s
from budget.api.deps import AccessDep, ConnDep, aware, now
from budget.api.views import accounting_out, budget_out, table_out
from waterbudget.web.errors import ApiError
from waterbudget.web.types import Id

router = APIRouter()


@router.get(
    "/nodes/{node_id}/budget",
    response_model=s.BudgetOut,
    summary="Effective budget of a node as of a moment, derived from the ledger",
)
def get_budget(
    node_id: Id,
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
    summary="宁夏 7.1.1 balance of the recorded revenue against the expenditure, 6.5.3 "
    "consistency, the 7.1.2 cut list and the 7.4.3 a) inflow check",
)
def get_accounting(
    node_id: Id,
    conn: ConnDep,
    access: AccessDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    as_of: datetime | None = None,
    inflow_factor: Annotated[
        Decimal,
        Query(
            gt=0,
            le=2,
            description="what-if of 宁夏 7.4.3 a) on top of the recorded revenue: scale it "
            "(e.g. 0.85 = inflow 15 % below forecast); default 1",
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


@router.get(
    "/nodes/{node_id}/accounting/county-table",
    response_model=s.AccountingTableOut,
    summary="宁夏 附录 A 县(区、市)水预算总量核算成果表 of a node, in 万m³",
)
def get_county_table(
    node_id: Id,
    conn: ConnDep,
    access: AccessDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    as_of: datetime | None = None,
) -> s.AccountingTableOut:
    access.read(node_id)
    table = accounting_service.county_table_of(
        conn,
        node_id=node_id,
        year=year,
        as_of=aware(as_of, "as_of") or now(),
        hierarchy=access.hierarchy,
    )
    return table_out(table)


@router.get(
    "/nodes/{node_id}/accounting/region-table",
    response_model=s.AccountingTableOut,
    summary="宁夏 附录 B 自治区和地市水预算总量核算成果表 of a node's subdivisions, in 万m³",
)
def get_region_table(
    node_id: Id,
    conn: ConnDep,
    access: AccessDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    as_of: datetime | None = None,
    depth: Annotated[
        int, Query(ge=1, le=2, description="1: children only; 2: children and grandchildren")
    ] = 2,
) -> s.AccountingTableOut:
    access.read(node_id)
    listed = [
        n
        for child in access.hierarchy.children[node_id]
        for n in (child, *(access.hierarchy.children[child] if depth > 1 else ()))
    ]
    if not all(access.sees(n) for n in listed):
        raise ApiError(status.HTTP_403_FORBIDDEN, "region_out_of_scope")
    table = accounting_service.region_table_of(
        conn,
        node_id=node_id,
        year=year,
        as_of=aware(as_of, "as_of") or now(),
        hierarchy=access.hierarchy,
        depth=depth,
    )
    return table_out(table)
