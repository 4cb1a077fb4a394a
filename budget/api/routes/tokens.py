"""API tokens (administrators)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from budget import repository as repo
from budget import schemas as s
from budget.api.deps import AccessDep, ConnDep

router = APIRouter()


@router.post(
    "/tokens",
    response_model=s.TokenOut,
    status_code=201,
    summary="Create an API token (administrators); the secret is shown once",
)
def create_token(body: s.TokenIn, conn: ConnDep, access: AccessDep) -> s.TokenOut:
    access.admin()
    if (body.role == "administrator") != (body.node_id is None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "node_id: required for operators and water users, not for admins",
        )
    if body.node_id is not None:
        access.read(body.node_id)
    secret = repo.create_token(conn, name=body.name, role=body.role, node_id=body.node_id)
    code = None
    if body.role == "water_user":
        from water_user_page.codes import shown
        from water_user_page.repository import create_code

        code = shown(create_code(conn, secret=secret))
    return s.TokenOut(token=secret, role=body.role, node_id=body.node_id, sign_in_code=code)
