"""Administrative division codes (行政区划代码) of budget nodes: what the appendix
tables and the final accounts' 用水单位名录 show as a node's code (issue 12)."""

from __future__ import annotations

from fastapi import APIRouter

from budget import repository as repo
from budget import schemas as s
from budget.api.deps import AccessDep, ConnDep
from waterbudget.web.types import Id

router = APIRouter()


@router.put(
    "/nodes/{node_id}/division-code",
    status_code=204,
    summary="Record the node's 行政区划代码 (GB/T 2260; administrators)",
)
def set_division_code(
    node_id: Id, body: s.DivisionCodeIn, conn: ConnDep, access: AccessDep
) -> None:
    access.admin()
    access.read(node_id)
    repo.set_division_code(conn, node_id=node_id, division_code=body.division_code)
