"""FastAPI dependencies of the budget API: the connection, the caller, and what it may do.

Bearer tokens (``budget_api_tokens``, stored hashed) carry a role:
administrator (everything), operator (one township or irrigation district and
below: reads and proposes there, approves strictly below it), water user (own
node only, read only). A node outside the caller's scope is answered 404, as
if it did not exist. Every request runs in one transaction: a refused change
stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from budget import repository as repo
from budget.api.views import violations
from budget.hierarchy import Hierarchy, Node
from budget.service import FourEyesError
from budget.year_ledger import RuleError

_bearer = HTTPBearer(auto_error=False)


def get_conn(request: Request) -> Iterator[repo.Conn]:
    """One connection and transaction per request; rolled back on any error."""
    with psycopg.connect(request.app.state.database_url) as conn:
        yield conn


ConnDep = Annotated[repo.Conn, Depends(get_conn)]


def get_principal(
    conn: ConnDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> repo.Principal:
    found = repo.principal(conn, secret=credentials.credentials) if credentials else None
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


PrincipalDep = Annotated[repo.Principal, Depends(get_principal)]


class Access:
    """What the caller may see and do, over the current hierarchy."""

    def __init__(self, principal: repo.Principal, hierarchy: Hierarchy) -> None:
        self.principal = principal
        self.hierarchy = hierarchy

    def sees(self, node_id: int) -> bool:
        p = self.principal
        if p.role == "administrator":
            return True
        if p.node_id is None:
            return False
        if p.role == "water_user":
            return node_id == p.node_id
        return self.hierarchy.is_within(node_id, p.node_id)

    def read(self, node_id: int) -> Node:
        if node_id not in self.hierarchy.nodes or not self.sees(node_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"node {node_id} not found")
        return self.hierarchy.nodes[node_id]

    def write(self, node_id: int) -> Node:
        node = self.read(node_id)
        if self.principal.role == "water_user":
            raise HTTPException(status.HTTP_403_FORBIDDEN, "water users have read-only access")
        return node

    def approve(self, node_id: int) -> Node:
        node = self.write(node_id)
        if self.principal.role == "operator" and node_id == self.principal.node_id:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "an operator's own node is issued from above: an administrator approves it",
            )
        return node

    def admin(self) -> None:
        if self.principal.role != "administrator":
            raise HTTPException(status.HTTP_403_FORBIDDEN, "administrators only")


def get_access(conn: ConnDep, principal: PrincipalDep) -> Access:
    return Access(principal, repo.load_hierarchy(conn))


AccessDep = Annotated[Access, Depends(get_access)]


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None, field: str) -> datetime | None:
    """A query-string time must carry its zone; 422 naming the field otherwise."""
    if value is not None and value.tzinfo is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{field}: give a time zone (e.g. 2024-06-01T00:00:00+08:00)",
        )
    return value


def four_eyes_error(error: FourEyesError) -> HTTPException:
    return HTTPException(
        status.HTTP_403_FORBIDDEN,
        {"error": "rule_violation", "rule": error.rule, "message": error.message},
    )


def rule_error(error: RuleError) -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT, {"error": "rule_violation", "violations": violations(error)}
    )
