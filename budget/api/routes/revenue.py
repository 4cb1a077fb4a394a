"""Revenue of a node's budget year (宁夏 5): available water by source, recorded
by an operator or administrator; a new record supersedes, the history is kept."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from budget import repository as repo
from budget import schemas as s
from budget.api.deps import AccessDep, ConnDep
from budget.api.views import revenue_out
from budget.kinds import Source
from budget.revenue import RevenueBasis
from budget.units import m3
from waterbudget.web.types import Id

router = APIRouter()


@router.get(
    "/nodes/{node_id}/revenue",
    response_model=s.RevenueOut,
    summary="Recorded revenue (available water by source) of a node's budget year, "
    "with its history and the 宁夏 7.4.3 a) inflow check",
)
def get_revenue(
    node_id: Id, conn: ConnDep, access: AccessDep, year: Annotated[int, Query(ge=2000, le=2100)]
) -> s.RevenueOut:
    access.read(node_id)
    return revenue_out(node_id, year, repo.revenue_records(conn, year=year, node_id=node_id))


@router.put(
    "/nodes/{node_id}/revenue",
    response_model=s.RevenueOut,
    summary="Record the revenue of a node's budget year (supersedes the previous record "
    "of the same basis; nothing is overwritten)",
)
def put_revenue(node_id: Id, body: s.RevenueIn, conn: ConnDep, access: AccessDep) -> s.RevenueOut:
    access.write(node_id)
    repo.record_revenue(
        conn,
        node_id=node_id,
        year=body.year,
        basis=RevenueBasis(body.basis),
        volumes={Source(k): m3(v) for k, v in body.volumes.items()},
        reference=body.reference,
        by=access.principal.name,
    )
    return revenue_out(
        node_id, body.year, repo.revenue_records(conn, year=body.year, node_id=node_id)
    )
